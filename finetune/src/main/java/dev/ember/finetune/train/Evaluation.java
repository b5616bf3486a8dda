package dev.ember.finetune.train;

import dev.ember.autograd.Loss;
import dev.ember.autograd.NoGrad;
import dev.ember.autograd.Variable;
import dev.ember.engine.BufferPool;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;
import dev.ember.engine.TensorScope;
import dev.ember.loaders.data.DataLoader;
import dev.ember.loaders.data.LabeledData;
import dev.ember.nn.Module;

import java.util.function.UnaryOperator;

/**
 * Scores a classifier on a labeled set: eval mode, no graph, batches in data order, unweighted mean cross-entropy.
 * The model's training mode is restored afterwards.
 */
public final class Evaluation {
    private Evaluation() {}

    /** Loss, accuracy, macro-F1, per-class precision/recall and confusion of {@code model} on {@code data}. */
    public static ClassificationMetrics metrics(Module model, LabeledData data, int batchSize) {
        return metrics(model, data, batchSize, UnaryOperator.identity());
    }

    /** As {@link #metrics(Module, LabeledData, int)}, each input batch passed through {@code toModel} (normalization) first. */
    public static ClassificationMetrics metrics(Module model, LabeledData data, int batchSize, UnaryOperator<Tensor> toModel) {
        return metrics(model, data, batchSize, toModel, null);
    }

    /**
     * As above, each batch's arrays drawn from and given back to {@code pool} (null: this thread's own). A caller that
     * scores every epoch keeps one pool for it, so that the epoch's training steps do not make the pool let the
     * validation shapes go.
     */
    static ClassificationMetrics metrics(Module model, LabeledData data, int batchSize, UnaryOperator<Tensor> toModel, BufferPool pool) {
        int c = data.classes();
        long[][] confusion = new long[c][c];
        double lossSum = 0;
        boolean wasTraining = model.isTraining();
        model.eval();
        try (NoGrad g = NoGrad.enter()) {
            for (DataLoader.Batch b : new DataLoader(data, batchSize, false, null)) {
                try (TensorScope scope = pool == null ? TensorScope.open() : TensorScope.open(pool)) {   // the next batch reuses their arrays
                    Variable logits = model.forward(Variable.of(toModel.apply(b.inputs())));   // logits (B, C)
                    checkLogits(logits.data(), c);
                    lossSum += Loss.crossEntropy(logits, b.labels()).item() * b.size();
                    long[] predicted = logits.data().argMax(1).toLongArray();
                    long[] y = b.labels().toLongArray();
                    for (int i = 0; i < y.length; i++) confusion[(int) y[i]][(int) predicted[i]]++;
                }
            }
        } finally {
            model.train(wasTraining);
        }
        return ClassificationMetrics.of(data.size() == 0 ? Double.NaN : lossSum / data.size(), confusion);
    }

    /** Fraction of {@code data} whose arg-max prediction is the label. */
    public static double accuracy(Module model, LabeledData data, int batchSize) { return metrics(model, data, batchSize).accuracy(); }

    static void checkLogits(Tensor logits, int classes) {
        if (logits.rank() != 2 || logits.dim(1) != classes) {
            throw new ShapeException("the model's output " + logits.shape() + " is not (N, " + classes + ") logits for the data's " + classes + " classes");
        }
    }
}
