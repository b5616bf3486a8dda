package dev.ember.tools;

import dev.ember.autograd.Loss;
import dev.ember.autograd.NoGrad;
import dev.ember.autograd.Variable;
import dev.ember.engine.BufferPool;
import dev.ember.engine.EmberException;
import dev.ember.engine.Tensor;
import dev.ember.engine.TensorScope;
import dev.ember.loaders.data.DataLoader;
import dev.ember.loaders.data.LabeledData;
import dev.ember.nn.Module;
import dev.ember.optim.LrSchedule;
import dev.ember.optim.Optimizer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.IntConsumer;

/** The plain supervised loop: cross-entropy, one optimizer step per batch, accuracy on held-out data. */
public final class ClassifierTraining {
    private ClassifierTraining() {}

    /**
     * Trains one epoch and returns the loss of every step; a non-finite loss stops with an error naming the step.
     * {@code schedule} (may be null) sets the learning rate before each step from the global step count, which
     * starts at {@code firstStep}.
     */
    public static List<Float> trainEpoch(Module model, DataLoader loader, Optimizer optimizer, LrSchedule schedule, long firstStep,
                                         IntConsumer afterStep) {
        model.train();
        List<Float> losses = new ArrayList<>();
        int step = 0;
        for (Iterator<DataLoader.Batch> batches = loader.iterator(); batches.hasNext(); ) {
            if (schedule != null) schedule.apply(optimizer, firstStep + step);
            float value;
            int size;
            try (TensorScope scope = TensorScope.open()) {   // the step's tensors, its batch's too, die with it; the next reuses their arrays
                DataLoader.Batch b = batches.next();
                size = b.size();
                optimizer.zeroGrad();
                Variable loss = Loss.crossEntropy(model.forward(Variable.of(b.inputs())), b.labels());
                value = loss.item();
                if (!Float.isFinite(value)) {
                    throw new EmberException("loss became " + value + " at step " + step + " of the epoch; lower the learning rate");
                }
                optimizer.backwardAndStep(loss);   // each parameter stepped once its gradient is whole: fewer arrays alive
            }
            losses.add(value);
            if (afterStep != null) afterStep.accept(size);
            step++;
        }
        return losses;
    }

    /** Fraction of {@code data} whose arg-max prediction equals the label (eval mode, no graph). */
    public static double accuracy(Module model, LabeledData data, int batchSize) { return accuracy(model, data, batchSize, null); }

    /**
     * As above, each batch's arrays from {@code pool} (null: this thread's own). A caller that scores every epoch keeps
     * one pool for it: in the thread's pool the epoch's training steps let the scoring shapes go, and every epoch
     * allocated them again (the CNN demo's 500-image batches: tens of MB a layer, straight into the old generation).
     */
    public static double accuracy(Module model, LabeledData data, int batchSize, BufferPool pool) {
        boolean wasTraining = model.isTraining();
        model.eval();
        long correct = 0;
        try (NoGrad g = NoGrad.enter()) {
            for (Iterator<DataLoader.Batch> batches = new DataLoader(data, batchSize, false, null).iterator(); batches.hasNext(); ) {
                try (TensorScope scope = pool == null ? TensorScope.open() : TensorScope.open(pool)) {
                    DataLoader.Batch b = batches.next();
                    Tensor logits = model.forward(Variable.of(b.inputs())).data();
                    long[] pred = logits.argMax(1).toLongArray();
                    long[] y = b.labels().toLongArray();
                    for (int i = 0; i < y.length; i++) if (pred[i] == y[i]) correct++;
                }
            }
        } finally {
            model.train(wasTraining);
        }
        return data.size() == 0 ? 0 : (double) correct / data.size();
    }
}
