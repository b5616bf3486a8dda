package dev.ember.finetune.train;

import dev.ember.autograd.Loss;
import dev.ember.autograd.Variable;
import dev.ember.engine.BufferPool;
import dev.ember.engine.Device;
import dev.ember.engine.EmberException;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.engine.TensorScope;
import dev.ember.finetune.data.Augmentation;
import dev.ember.finetune.data.ClassWeights;
import dev.ember.finetune.data.SampleSet;
import dev.ember.finetune.data.Sampler;
import dev.ember.loaders.checkpoint.AtomicFile;
import dev.ember.loaders.checkpoint.SafeTensors;
import dev.ember.loaders.checkpoint.TrainingCheckpoint;
import dev.ember.loaders.data.LabeledData;
import dev.ember.loaders.onnx.train.OnnxModule;
import dev.ember.nn.Module;
import dev.ember.optim.Adam;
import dev.ember.optim.AdamW;
import dev.ember.optim.GradClip;
import dev.ember.optim.Optimizer;
import dev.ember.optim.ParamGroup;
import dev.ember.optim.Sgd;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * The supervised fine-tuning loop: gradual unfreezing, discriminative learning rates, class balance, augmentation,
 * validation every epoch, best-model keeping, early stopping, crash-safe checkpoints, then the test, robustness and
 * forgetting reports.
 *
 * <p>Order of use: {@code new FineTuner(config)}, optionally {@link #progress}, {@link #sourceTask}, {@link #resume};
 * then {@link #run} with a {@link TunableModel} (its new head in place) and the train / validation / test sets.
 *
 * <p>Per epoch e (from 0): the last {@code trainable(e)} block groups train ({@code head}: 1, {@code all}: every one,
 * {@code gradual}: {@code 1 + e / unfreezeEvery}); BatchNorm layers of frozen groups stay in eval mode (for an
 * {@link OnnxModule}, whose BatchNormalization nodes follow one module-wide mode, the whole graph runs in inference
 * form while any group is frozen, and in training form once all are trainable). The optimizer holds every group from
 * the start, group g at {@code lr * lrFactor^(G-1-g)}; frozen parameters get no gradient and so no update and no
 * optimizer state. The sampler orders the epoch, batches are augmented, the loss is (weighted or focal)
 * cross-entropy, gradients are clipped, one step per batch. Then the validation metrics; an epoch that improves the
 * stop metric is written to {@code best.safetensors}; {@code checkpoint.safetensors} (model, optimizer, Rng streams,
 * history) and {@code metrics.jsonl} are rewritten atomically. Training stops after {@code patience} epochs without
 * improvement, and the best weights are loaded back.
 *
 * <p>Resuming: with {@link #resume} and a checkpoint in the output folder, a run restores everything the checkpoint
 * holds and continues with the next epoch; it ends with the same history and bit-identical weights as a run never
 * interrupted (the head's dropout is a {@link ResumableDropout}; other Dropout layers' masks cannot be restored).
 */
public final class FineTuner {
    /** Called after every training batch: samples done so far in the whole run, the run's total, this batch's loss. */
    @FunctionalInterface
    public interface Progress {
        void update(long samplesDone, long samplesTotal, double loss);
    }

    public static final String METRICS_FILE = "metrics.jsonl";
    public static final String BEST_FILE = "best.safetensors";
    public static final String CHECKPOINT_FILE = "checkpoint.safetensors";

    private static final String CONFIG_KEY = "config";
    private static final String HISTORY_KEY = "history";
    private static final String BEST_EPOCH_KEY = "best_epoch";
    private static final String STOPPED_KEY = "stopped";
    private static final String RECALL_BEFORE_KEY = "recall_before";
    private static final String SOURCE_BEFORE_KEY = "source_accuracy_before";
    private static final String ORDER_RNG = "order";
    private static final String AUGMENT_RNG = "augment";
    private static final String DROPOUT_RNG = "dropout.";

    private final FineTuneConfig config;
    private Progress progress = (done, total, loss) -> {};
    private SampleSet sourceSet;
    private boolean resume;
    private Device device = Device.CPU;

    public FineTuner(FineTuneConfig config) { this.config = config; }

    public FineTuneConfig config() { return config; }

    public FineTuner progress(Progress progress) {
        this.progress = progress == null ? (done, total, loss) -> {} : progress;
        return this;
    }

    /** The source task's evaluation set, scored by the {@link TunableModel#sourceModel()} before and after training. */
    public FineTuner sourceTask(SampleSet sourceEvaluationSet) {
        this.sourceSet = sourceEvaluationSet;
        return this;
    }

    /**
     * Where training and evaluation run (default the CPU). {@link #train} moves the model, and the source model, there;
     * batches are read and augmented on the host and moved there one at a time; checkpoints are written from there.
     */
    public FineTuner device(Device device) {
        this.device = device == null ? Device.CPU : device;
        return this;
    }

    /** Continue from the output folder's checkpoint when there is one (otherwise start fresh). */
    public FineTuner resume(boolean on) {
        this.resume = on;
        return this;
    }

    /** What training produced, before any test: the history and the best epoch (from 1); the model holds the best weights. */
    public record Training(List<EpochRecord> epochs, int bestEpoch, ClassificationMetrics bestValidation, double[] recallBefore,
                           double sourceAccuracyBefore) {}

    /**
     * Trains {@code m} on {@code train}, validating on {@code val}, then tests the best model on {@code test}: test
     * metrics, robustness curves, recall per class before and after, source-task accuracy before and after (NaN
     * without a source task). Writes {@code metrics.jsonl}, {@code best.safetensors} and
     * {@code checkpoint.safetensors} to {@code outDir}.
     */
    public FineTuneResult run(TunableModel m, SampleSet train, SampleSet val, SampleSet test, Path outDir) throws IOException {
        if (test == null || test.size() == 0) throw new EmberException("the test set is empty: nothing to report on");
        requireSameClasses("test", train, test);
        Training t = train(m, train, val, test, outDir);
        UnaryOperator<Tensor> toModel = evaluationTransform();
        ClassificationMetrics testMetrics = Evaluation.metrics(m.model(), test.data(), config.batchSize(), toModel);
        Map<Double, Double> noise = Robustness.noise(m.model(), test.data(), toModel, config.noiseSigmas(), config.seed(), config.batchSize());
        Map<Double, Double> fgsm = Robustness.fgsm(m.model(), test.data(), toModel, config.fgsmEpsilons(), config.batchSize());
        double sourceAfter = sourceAccuracy(m);
        Map<String, Path> files = new LinkedHashMap<>();
        files.put("metrics", outDir.resolve(METRICS_FILE));
        files.put("best", outDir.resolve(BEST_FILE));
        files.put("checkpoint", outDir.resolve(CHECKPOINT_FILE));
        return new FineTuneResult(train.classNames(), t.epochs(), t.bestEpoch(), testMetrics, noise, fgsm, t.recallBefore(),
                testMetrics.recall(), t.sourceAccuracyBefore(), sourceAfter, Map.of(), List.of(), config.asMap(), files);
    }

    /**
     * Only the training part of {@link #run}, for hyperparameter search: no test look. {@code test} may be null; when
     * given, only the recall per class of the untrained model is measured on it (for the report's "before").
     *
     * <p>Memory: each step runs in a {@link TensorScope} (its tensors and gradients are reused by the next step), as
     * do validation batches; before the first step it asks the JVM for one full collection, so that what loading the
     * model left behind does not stay in the heap under the training arrays.
     */
    public Training train(TunableModel m, SampleSet train, SampleSet val, SampleSet test, Path outDir) throws IOException {
        if (train.size() == 0) throw new EmberException("the training set is empty");
        if (val == null || val.size() == 0) throw new EmberException("the validation set is empty: early stopping and best-model keeping need one");
        requireSameClasses("validation", train, val);
        Files.createDirectories(outDir);
        Module model = m.model().to(device);   // before the optimizer: its state is made where the parameters are
        if (m.sourceModel() != null) m.sourceModel().to(device);
        BlockGroups groups = m.groups();
        Optimizer optimizer = optimizer(groups);
        Augmentation augmentation = Augmentation.parse(config.augment());
        UnaryOperator<Tensor> toModel = evaluationTransform();
        Balance balance = Balance.parse(config.balance());
        Sampler sampler = switch (balance.kind()) {
            case OVERSAMPLE -> Sampler.oversample();
            case UNDERSAMPLE -> Sampler.undersample();
            default -> Sampler.shuffle();
        };
        Tensor classWeights = switch (balance.kind()) {
            case WEIGHTED_INVERSE -> ClassWeights.inverseFrequency(train.classCounts());
            case WEIGHTED_EFFECTIVE -> ClassWeights.effectiveNumber(train.classCounts(), balance.parameter());
            default -> null;
        };
        List<ResumableDropout> dropouts = new ArrayList<>();
        for (Module sub : model.namedModules().values()) if (sub instanceof ResumableDropout d) dropouts.add(d);

        Rng seeds = new Rng(config.seed());
        Rng orderRng = seeds.split(), augmentRng = seeds.split();
        for (ResumableDropout d : dropouts) d.setRngState(seeds.split().state());

        Path checkpoint = outDir.resolve(CHECKPOINT_FILE), best = outDir.resolve(BEST_FILE);
        List<EpochRecord> history = new ArrayList<>();
        int bestEpoch = 0;   // from 1; 0 = none yet
        boolean stopped = false;
        double[] recallBefore;
        double sourceBefore;
        int firstEpoch = 0;
        if (resume && Files.exists(checkpoint)) {
            TrainingCheckpoint.TrainingState s = TrainingCheckpoint.readState(checkpoint);
            String savedConfig = s.scalars().get(CONFIG_KEY);
            if (!fingerprint().equals(savedConfig)) {
                throw new EmberException("cannot resume from " + checkpoint + ": it was written with other settings (" + savedConfig
                        + "), this run has " + fingerprint());
            }
            s = TrainingCheckpoint.load(checkpoint, model, optimizer);
            orderRng = s.rng(ORDER_RNG);
            augmentRng = s.rng(AUGMENT_RNG);
            for (int i = 0; i < dropouts.size(); i++) dropouts.get(i).setRngState(s.rng(DROPOUT_RNG + i).state());
            history.addAll(HistoryCodec.decode(s.scalars().get(HISTORY_KEY)));
            bestEpoch = Integer.parseInt(s.scalars().get(BEST_EPOCH_KEY));
            stopped = Boolean.parseBoolean(s.scalars().get(STOPPED_KEY));
            recallBefore = HistoryCodec.doubles(s.scalars().get(RECALL_BEFORE_KEY));
            sourceBefore = Double.parseDouble(s.scalars().get(SOURCE_BEFORE_KEY));
            firstEpoch = Math.toIntExact(s.epoch());
            if (history.size() != firstEpoch) throw new EmberException("checkpoint " + checkpoint + " holds " + history.size() + " epochs of history for epoch " + firstEpoch);
            writeMetrics(outDir, history);   // the kill may have come between the checkpoint and the metrics file
        } else {
            recallBefore = test == null ? new double[0] : Evaluation.metrics(model, test.data(), config.batchSize(), toModel).recall();
            sourceBefore = sourceAccuracy(m);
        }

        // What loading left behind (a parsed model, a rewritten graph: resnet18's come to ~300 MB) would otherwise stay in
        // the old generation under the training arrays until it fills; one full collection here keeps the peak near the
        // live data (resnet18 training step: 859 -> 645 MB). It runs once per run, ~0.1 s.
        System.gc();
        long[] labels = train.data().labels().toLongArray();
        int epochLength = sampler.epochOrder(labels, new Rng(0)).length;
        long totalSamples = (long) epochLength * config.epochs();
        long samplesDone = (long) epochLength * firstEpoch;
        // Shapes that come back once an epoch keep pools of their own, kept from epoch to epoch: in the thread's pool the
        // epoch's full batches let them go, so every epoch allocated them anew and they died in the old generation.
        BufferPool validationPool = new BufferPool(), shortBatchPool = new BufferPool();
        Map<String, Tensor> atEpochStart = null;   // the weights to restore when the loss diverges; one copy, reused
        for (int e = firstEpoch; e < config.epochs() && !stopped; e++) {
            long start = System.nanoTime();
            int trainable = trainableGroups(e, groups.size());
            groups.setTrainable(trainable);
            if (!config.unfreezeGlob().isEmpty()) model.unfreeze(config.unfreezeGlob());
            model.train();
            groups.freezeNormStatistics(trainable);
            if (model instanceof OnnxModule && trainable < groups.size()) model.eval();
            atEpochStart = copyInto(model.stateDict(), atEpochStart);

            int[] order = sampler.epochOrder(labels, orderRng);
            double lossSum = 0;
            long correct = 0;
            int step = 0;
            for (int lo = 0; lo < order.length; lo += config.batchSize(), step++) {
                int[] idx = Arrays.copyOfRange(order, lo, Math.min(order.length, lo + config.batchSize()));
                float value;
                // the step's tensors die with it; the next step of its batch size reuses their arrays
                try (TensorScope scope = idx.length < config.batchSize() ? TensorScope.open(shortBatchPool) : TensorScope.open()) {
                    LabeledData batch = train.data().select(idx);
                    Tensor x = (augmentation.isIdentity() ? batch.inputs() : augmentation.apply(batch.inputs(), augmentRng)).to(device);
                    optimizer.zeroGrad();
                    Variable logits = model.forward(Variable.of(x));   // logits (B, C)
                    Evaluation.checkLogits(logits.data(), train.data().classes());
                    Variable loss = loss(logits, batch.labels(), balance, classWeights);
                    value = loss.item();
                    if (!Float.isFinite(value)) throw diverged("the training loss", value, e, step, model, atEpochStart);
                    if (config.maxGradNorm() > 0) {   // clipping needs every gradient before any update
                        loss.backward();
                        float norm = GradClip.clipGlobalNorm(groups.parameters(), config.maxGradNorm());
                        if (!Float.isFinite(norm)) throw diverged("the gradient norm", norm, e, step, model, atEpochStart);
                        optimizer.step();
                    } else {
                        optimizer.backwardAndStep(loss);   // the same update, without every gradient alive at once
                    }
                    long[] predicted = logits.data().argMax(1).toLongArray();
                    long[] y = batch.labels().toLongArray();
                    for (int i = 0; i < y.length; i++) if (predicted[i] == y[i]) correct++;
                }
                lossSum += (double) value * idx.length;
                samplesDone += idx.length;
                progress.update(samplesDone, totalSamples, value);
            }
            optimizer.zeroGrad();

            ClassificationMetrics validation = Evaluation.metrics(model, val.data(), config.batchSize(), toModel, validationPool);
            double[] lrs = new double[groups.size()];
            for (int g = 0; g < lrs.length; g++) lrs[g] = optimizer.groups().get(g).lr();
            List<String> names = groups.names().subList(groups.size() - trainable, groups.size());
            EpochRecord record = new EpochRecord(e + 1, lossSum / order.length, (double) correct / order.length, validation, lrs,
                    List.copyOf(names), (System.nanoTime() - start) / 1e9);
            history.add(record);
            if (bestEpoch == 0 || improves(validation, history.get(bestEpoch - 1).validation())) {
                bestEpoch = e + 1;
                Map<String, String> meta = new LinkedHashMap<>();
                meta.put("ember.epoch", Integer.toString(bestEpoch));
                meta.put("ember.metric", config.stopMetric().name().toLowerCase() + "=" + config.stopMetric().score(validation));
                SafeTensors.write(best, model.stateDict(), meta);
            }
            stopped = e + 1 - bestEpoch >= config.patience() || e + 1 == config.epochs();

            TrainingCheckpoint.TrainingState state = TrainingCheckpoint.TrainingState.of(samplesDone, e + 1)
                    .withRng(ORDER_RNG, orderRng).withRng(AUGMENT_RNG, augmentRng)
                    .withScalar(CONFIG_KEY, fingerprint()).withScalar(HISTORY_KEY, HistoryCodec.encode(history))
                    .withScalar(BEST_EPOCH_KEY, Integer.toString(bestEpoch)).withScalar(STOPPED_KEY, Boolean.toString(stopped))
                    .withScalar(RECALL_BEFORE_KEY, HistoryCodec.doubles(recallBefore)).withScalar(SOURCE_BEFORE_KEY, Double.toString(sourceBefore));
            for (int i = 0; i < dropouts.size(); i++) state = state.withRngState(DROPOUT_RNG + i, dropouts.get(i).rngState());
            TrainingCheckpoint.save(checkpoint, model, optimizer, state);
            writeMetrics(outDir, history);
        }

        model.loadStateDict(SafeTensors.read(best).tensors(), true);
        groups.setTrainable(groups.size());
        model.eval();
        return new Training(List.copyOf(history), bestEpoch, history.get(bestEpoch - 1).validation(), recallBefore, sourceBefore);
    }

    // ---- pieces ----

    /** How many groups, counted from the head, train in epoch {@code e} (from 0). */
    int trainableGroups(int e, int groupCount) {
        return switch (config.unfreeze()) {
            case HEAD -> 1;
            case ALL -> groupCount;
            case GRADUAL -> Math.min(groupCount, 1 + e / config.unfreezeEvery());
        };
    }

    private Optimizer optimizer(BlockGroups groups) {
        int n = groups.size();
        ParamGroup[] pgs = new ParamGroup[n];
        for (int g = 0; g < n; g++) {
            float lr = (float) (config.lr() * Math.pow(config.lrFactor(), n - 1 - g));
            pgs[g] = new ParamGroup(new ArrayList<>(groups.groups().get(g).parameters().values())).lr(lr).weightDecay(config.weightDecay());
        }
        return switch (config.optimizer()) {
            case SGD -> new Sgd(Sgd.options(config.lr()).momentum(config.momentum()).weightDecay(config.weightDecay()), pgs);
            case ADAM -> new Adam(Adam.options(config.lr()).weightDecay(config.weightDecay()), pgs);
            case ADAMW -> new AdamW(AdamW.options(config.lr()).weightDecay(config.weightDecay()), pgs);
        };
    }

    private Variable loss(Variable logits, Tensor labels, Balance balance, Tensor classWeights) {
        if (balance.kind() == Balance.Kind.FOCAL) return Loss.focal(logits, labels, (float) balance.parameter(), null);
        return Loss.crossEntropy(logits, labels, new Loss.CrossEntropyOptions(classWeights, config.labelSmoothing(), -100, Loss.Reduction.MEAN));
    }

    private boolean improves(ClassificationMetrics now, ClassificationMetrics best) {
        double a = config.stopMetric().score(now), b = config.stopMetric().score(best);
        return !Double.isNaN(a) && (Double.isNaN(b) || a > b);
    }

    /** The deterministic part of the augmentation (normalization), for every input that is not trained on, then the move to the device. */
    UnaryOperator<Tensor> evaluationTransform() {
        Augmentation evaluation = Augmentation.parse(config.augment()).forEvaluation();
        Device d = device;
        if (evaluation.isIdentity()) return x -> x.to(d);
        Rng unused = new Rng(0);
        return x -> evaluation.apply(x, unused).to(d);
    }

    /** Source-task accuracy of {@code m}'s source model with the fine-tuned backbone copied in; NaN without a source task. */
    private double sourceAccuracy(TunableModel m) {
        if (sourceSet == null || m.sourceModel() == null) return Double.NaN;
        Map<String, Tensor> tuned = m.model().stateDict();
        java.util.Set<String> head = m.groups().head().parameters().keySet();
        Map<String, Tensor> shared = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : m.sourceModel().stateDict().entrySet()) {
            Tensor t = tuned.get(e.getKey());
            if (t != null && t != e.getValue() && !head.contains(e.getKey()) && t.shape().equals(e.getValue().shape())) shared.put(e.getKey(), t);
        }
        m.sourceModel().loadStateDict(shared, false);
        return Evaluation.metrics(m.sourceModel(), sourceSet.data(), config.batchSize(), evaluationTransform()).accuracy();
    }

    private NonFiniteLossException diverged(String what, float value, int epoch, int step, Module model, Map<String, Tensor> atEpochStart) {
        model.loadStateDict(atEpochStart, true);
        model.zeroGrad();
        return new NonFiniteLossException(what, value, epoch + 1, step + 1);
    }

    private String fingerprint() {
        Map<String, String> m = new LinkedHashMap<>(config.asMap());
        m.remove("noise_sigmas");
        m.remove("fgsm_epsilons");
        return m.toString();
    }

    private static void writeMetrics(Path outDir, List<EpochRecord> history) throws IOException {
        StringBuilder b = new StringBuilder();
        for (EpochRecord r : history) b.append(MetricsJson.line(r)).append('\n');
        byte[] bytes = b.toString().getBytes(StandardCharsets.UTF_8);
        AtomicFile.write(outDir.resolve(METRICS_FILE), out -> out.write(bytes));
    }

    /**
     * {@code state}'s values copied into {@code into} when it holds the same names and shapes, else into new tensors. A
     * copy made each epoch lived an epoch, long enough to be promoted, and then stayed as garbage in the old generation,
     * which the Serial collector grows rather than collects (resnet18 fine-tuning: ~150 MB more heap each epoch).
     */
    private static Map<String, Tensor> copyInto(Map<String, Tensor> state, Map<String, Tensor> into) {
        boolean fits = into != null && into.keySet().equals(state.keySet())
                && state.entrySet().stream().allMatch(e -> into.get(e.getKey()).shape().equals(e.getValue().shape())
                        && into.get(e.getKey()).dtype() == e.getValue().dtype());
        if (!fits) {
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (Map.Entry<String, Tensor> e : state.entrySet()) out.put(e.getKey(), e.getValue().copy());
            return out;
        }
        for (Map.Entry<String, Tensor> e : state.entrySet()) into.get(e.getKey()).copyFrom(e.getValue());
        return into;
    }

    private static void requireSameClasses(String what, SampleSet train, SampleSet other) {
        if (!other.classNames().equals(train.classNames())) {
            throw new EmberException("the " + what + " set's classes " + other.classNames() + " differ from the training set's " + train.classNames());
        }
    }
}
