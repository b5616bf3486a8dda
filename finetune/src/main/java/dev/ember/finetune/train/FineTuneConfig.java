package dev.ember.finetune.train;

import dev.ember.engine.EmberException;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every setting of a fine-tuning run. Start from {@link #defaults()} and change what you need with the withers:
 * {@code FineTuneConfig.defaults().epochs(20).lr(3e-4f).unfreeze(Unfreeze.GRADUAL, 2)}. Checked on construction,
 * with an error naming the setting.
 *
 * <ul>
 *   <li>{@code unfreeze}: {@link Unfreeze#HEAD} trains the head only, {@link Unfreeze#ALL} everything from the start,
 *       {@link Unfreeze#GRADUAL} one more block group every {@code unfreezeEvery} epochs, the last block first;
 *       {@code unfreezeGlob} (a {@link dev.ember.nn.Module#freeze} glob over full parameter names, empty for none)
 *       names parameters that train from the first epoch whatever their group;</li>
 *   <li>{@code lrFactor}: discriminative learning rates: group g of G (the head is G-1) trains at
 *       {@code lr * lrFactor^(G-1-g)}; 1 means one lr for all;</li>
 *   <li>{@code balance}: a {@link Balance} spec: {@code none}, {@code weighted} (= {@code weighted-inverse}),
 *       {@code weighted-effective:0.999}, {@code focal:2}, {@code oversample}, {@code undersample};</li>
 *   <li>{@code augment}: the data package's augmentation spec ({@code flip,rotate:10,noise:0.05}); empty for none;</li>
 *   <li>{@code maxGradNorm}: global gradient-norm clipping; 0 for none;</li>
 *   <li>{@code noiseSigmas}, {@code fgsmEpsilons}: the robustness report's Gaussian-noise strengths and FGSM
 *       epsilons, in input units.</li>
 * </ul>
 */
public record FineTuneConfig(int epochs, int batchSize, OptimizerKind optimizer, float lr, float momentum, float weightDecay,
                             Unfreeze unfreeze, int unfreezeEvery, float lrFactor, float headDropout, int patience,
                             StopMetric stopMetric, String balance, float labelSmoothing, String augment, long seed,
                             float maxGradNorm, List<Double> noiseSigmas, List<Double> fgsmEpsilons, String unfreezeGlob) {

    public enum OptimizerKind { SGD, ADAM, ADAMW }

    public enum Unfreeze { HEAD, ALL, GRADUAL }

    /** The validation metric that picks the best epoch and drives early stopping. */
    public enum StopMetric {
        ACCURACY, MACRO_F1, LOSS;

        /** The metric's value, oriented so that larger is better. */
        public double score(ClassificationMetrics m) {
            return switch (this) {
                case ACCURACY -> m.accuracy();
                case MACRO_F1 -> m.macroF1();
                case LOSS -> -m.loss();
            };
        }
    }

    public FineTuneConfig {
        require(epochs >= 1, "epochs must be >= 1, got " + epochs);
        require(batchSize >= 1, "batchSize must be >= 1, got " + batchSize);
        require(optimizer != null && unfreeze != null && stopMetric != null, "optimizer, unfreeze and stopMetric must be set");
        require(lr > 0 && Float.isFinite(lr), "lr must be > 0, got " + lr);
        require(momentum >= 0 && momentum < 1, "momentum must be in [0, 1), got " + momentum);
        require(weightDecay >= 0, "weightDecay must be >= 0, got " + weightDecay);
        require(unfreezeEvery >= 1, "unfreezeEvery must be >= 1, got " + unfreezeEvery);
        require(lrFactor > 0 && lrFactor <= 1, "lrFactor must be in (0, 1], got " + lrFactor);
        require(headDropout >= 0 && headDropout < 1, "headDropout must be in [0, 1), got " + headDropout);
        require(patience >= 1, "patience must be >= 1, got " + patience);
        require(labelSmoothing >= 0 && labelSmoothing < 1, "labelSmoothing must be in [0, 1), got " + labelSmoothing);
        require(maxGradNorm >= 0, "maxGradNorm must be >= 0 (0 for none), got " + maxGradNorm);
        balance = balance == null ? "none" : balance.trim();
        Balance.parse(balance);
        augment = augment == null ? "" : augment.trim();
        unfreezeGlob = unfreezeGlob == null ? "" : unfreezeGlob.trim();
        noiseSigmas = List.copyOf(noiseSigmas);
        fgsmEpsilons = List.copyOf(fgsmEpsilons);
        for (double s : noiseSigmas) require(s >= 0, "noise sigmas must be >= 0, got " + s);
        for (double e : fgsmEpsilons) require(e >= 0, "FGSM epsilons must be >= 0, got " + e);
    }

    /**
     * 10 epochs of 32, AdamW at lr 1e-3 with weight decay 1e-4, gradual unfreezing one group per epoch with lr halved
     * per group below the head, head dropout 0.2, early stopping on macro-F1 with patience 4, no balancing, no
     * augmentation, seed 42, gradient norm clipped to 5; noise sigmas 0, 0.05, 0.1, 0.2, 0.3 and FGSM epsilons 0, 0.01,
     * 0.02, 0.05, 0.1; no extra unfreeze glob.
     */
    public static FineTuneConfig defaults() {
        return new FineTuneConfig(10, 32, OptimizerKind.ADAMW, 1e-3f, 0.9f, 1e-4f, Unfreeze.GRADUAL, 1, 0.5f, 0.2f, 4,
                StopMetric.MACRO_F1, "none", 0f, "", 42, 5f, List.of(0.0, 0.05, 0.1, 0.2, 0.3), List.of(0.0, 0.01, 0.02, 0.05, 0.1), "");
    }

    public FineTuneConfig epochs(int v) { return new FineTuneConfig(v, batchSize, optimizer, lr, momentum, weightDecay, unfreeze, unfreezeEvery, lrFactor, headDropout, patience, stopMetric, balance, labelSmoothing, augment, seed, maxGradNorm, noiseSigmas, fgsmEpsilons, unfreezeGlob); }
    public FineTuneConfig batchSize(int v) { return new FineTuneConfig(epochs, v, optimizer, lr, momentum, weightDecay, unfreeze, unfreezeEvery, lrFactor, headDropout, patience, stopMetric, balance, labelSmoothing, augment, seed, maxGradNorm, noiseSigmas, fgsmEpsilons, unfreezeGlob); }
    public FineTuneConfig optimizer(OptimizerKind v) { return new FineTuneConfig(epochs, batchSize, v, lr, momentum, weightDecay, unfreeze, unfreezeEvery, lrFactor, headDropout, patience, stopMetric, balance, labelSmoothing, augment, seed, maxGradNorm, noiseSigmas, fgsmEpsilons, unfreezeGlob); }
    public FineTuneConfig lr(float v) { return new FineTuneConfig(epochs, batchSize, optimizer, v, momentum, weightDecay, unfreeze, unfreezeEvery, lrFactor, headDropout, patience, stopMetric, balance, labelSmoothing, augment, seed, maxGradNorm, noiseSigmas, fgsmEpsilons, unfreezeGlob); }
    public FineTuneConfig momentum(float v) { return new FineTuneConfig(epochs, batchSize, optimizer, lr, v, weightDecay, unfreeze, unfreezeEvery, lrFactor, headDropout, patience, stopMetric, balance, labelSmoothing, augment, seed, maxGradNorm, noiseSigmas, fgsmEpsilons, unfreezeGlob); }
    public FineTuneConfig weightDecay(float v) { return new FineTuneConfig(epochs, batchSize, optimizer, lr, momentum, v, unfreeze, unfreezeEvery, lrFactor, headDropout, patience, stopMetric, balance, labelSmoothing, augment, seed, maxGradNorm, noiseSigmas, fgsmEpsilons, unfreezeGlob); }
    public FineTuneConfig unfreeze(Unfreeze v) { return new FineTuneConfig(epochs, batchSize, optimizer, lr, momentum, weightDecay, v, unfreezeEvery, lrFactor, headDropout, patience, stopMetric, balance, labelSmoothing, augment, seed, maxGradNorm, noiseSigmas, fgsmEpsilons, unfreezeGlob); }
    public FineTuneConfig unfreeze(Unfreeze v, int every) { return unfreeze(v).unfreezeEvery(every); }
    public FineTuneConfig unfreezeEvery(int v) { return new FineTuneConfig(epochs, batchSize, optimizer, lr, momentum, weightDecay, unfreeze, v, lrFactor, headDropout, patience, stopMetric, balance, labelSmoothing, augment, seed, maxGradNorm, noiseSigmas, fgsmEpsilons, unfreezeGlob); }
    public FineTuneConfig lrFactor(float v) { return new FineTuneConfig(epochs, batchSize, optimizer, lr, momentum, weightDecay, unfreeze, unfreezeEvery, v, headDropout, patience, stopMetric, balance, labelSmoothing, augment, seed, maxGradNorm, noiseSigmas, fgsmEpsilons, unfreezeGlob); }
    public FineTuneConfig headDropout(float v) { return new FineTuneConfig(epochs, batchSize, optimizer, lr, momentum, weightDecay, unfreeze, unfreezeEvery, lrFactor, v, patience, stopMetric, balance, labelSmoothing, augment, seed, maxGradNorm, noiseSigmas, fgsmEpsilons, unfreezeGlob); }
    public FineTuneConfig patience(int v) { return new FineTuneConfig(epochs, batchSize, optimizer, lr, momentum, weightDecay, unfreeze, unfreezeEvery, lrFactor, headDropout, v, stopMetric, balance, labelSmoothing, augment, seed, maxGradNorm, noiseSigmas, fgsmEpsilons, unfreezeGlob); }
    public FineTuneConfig stopMetric(StopMetric v) { return new FineTuneConfig(epochs, batchSize, optimizer, lr, momentum, weightDecay, unfreeze, unfreezeEvery, lrFactor, headDropout, patience, v, balance, labelSmoothing, augment, seed, maxGradNorm, noiseSigmas, fgsmEpsilons, unfreezeGlob); }
    public FineTuneConfig balance(String v) { return new FineTuneConfig(epochs, batchSize, optimizer, lr, momentum, weightDecay, unfreeze, unfreezeEvery, lrFactor, headDropout, patience, stopMetric, v, labelSmoothing, augment, seed, maxGradNorm, noiseSigmas, fgsmEpsilons, unfreezeGlob); }
    public FineTuneConfig labelSmoothing(float v) { return new FineTuneConfig(epochs, batchSize, optimizer, lr, momentum, weightDecay, unfreeze, unfreezeEvery, lrFactor, headDropout, patience, stopMetric, balance, v, augment, seed, maxGradNorm, noiseSigmas, fgsmEpsilons, unfreezeGlob); }
    public FineTuneConfig augment(String v) { return new FineTuneConfig(epochs, batchSize, optimizer, lr, momentum, weightDecay, unfreeze, unfreezeEvery, lrFactor, headDropout, patience, stopMetric, balance, labelSmoothing, v, seed, maxGradNorm, noiseSigmas, fgsmEpsilons, unfreezeGlob); }
    public FineTuneConfig seed(long v) { return new FineTuneConfig(epochs, batchSize, optimizer, lr, momentum, weightDecay, unfreeze, unfreezeEvery, lrFactor, headDropout, patience, stopMetric, balance, labelSmoothing, augment, v, maxGradNorm, noiseSigmas, fgsmEpsilons, unfreezeGlob); }
    public FineTuneConfig maxGradNorm(float v) { return new FineTuneConfig(epochs, batchSize, optimizer, lr, momentum, weightDecay, unfreeze, unfreezeEvery, lrFactor, headDropout, patience, stopMetric, balance, labelSmoothing, augment, seed, v, noiseSigmas, fgsmEpsilons, unfreezeGlob); }
    public FineTuneConfig noiseSigmas(List<Double> v) { return new FineTuneConfig(epochs, batchSize, optimizer, lr, momentum, weightDecay, unfreeze, unfreezeEvery, lrFactor, headDropout, patience, stopMetric, balance, labelSmoothing, augment, seed, maxGradNorm, v, fgsmEpsilons, unfreezeGlob); }
    public FineTuneConfig unfreezeGlob(String v) { return new FineTuneConfig(epochs, batchSize, optimizer, lr, momentum, weightDecay, unfreeze, unfreezeEvery, lrFactor, headDropout, patience, stopMetric, balance, labelSmoothing, augment, seed, maxGradNorm, noiseSigmas, fgsmEpsilons, v); }
    public FineTuneConfig fgsmEpsilons(List<Double> v) { return new FineTuneConfig(epochs, batchSize, optimizer, lr, momentum, weightDecay, unfreeze, unfreezeEvery, lrFactor, headDropout, patience, stopMetric, balance, labelSmoothing, augment, seed, maxGradNorm, noiseSigmas, v, unfreezeGlob); }

    /** The settings as text, for the report and for checking that a resumed run uses the same ones. */
    public Map<String, String> asMap() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("epochs", Integer.toString(epochs));
        m.put("batch_size", Integer.toString(batchSize));
        m.put("optimizer", optimizer.name().toLowerCase());
        m.put("lr", Float.toString(lr));
        if (optimizer == OptimizerKind.SGD) m.put("momentum", Float.toString(momentum));
        m.put("weight_decay", Float.toString(weightDecay));
        m.put("unfreeze", unfreeze.name().toLowerCase() + (unfreeze == Unfreeze.GRADUAL ? " every " + unfreezeEvery : ""));
        if (!unfreezeGlob.isEmpty()) m.put("unfreeze_glob", unfreezeGlob);
        m.put("lr_factor", Float.toString(lrFactor));
        m.put("head_dropout", Float.toString(headDropout));
        m.put("early_stopping", stopMetric.name().toLowerCase() + ", patience " + patience);
        m.put("balance", balance);
        m.put("label_smoothing", Float.toString(labelSmoothing));
        m.put("augment", augment.isEmpty() ? "none" : augment);
        m.put("seed", Long.toString(seed));
        m.put("max_grad_norm", maxGradNorm == 0 ? "none" : Float.toString(maxGradNorm));
        m.put("noise_sigmas", noiseSigmas.toString());
        m.put("fgsm_epsilons", fgsmEpsilons.toString());
        return m;
    }

    private static void require(boolean ok, String what) {
        if (!ok) throw new EmberException("fine-tune config: " + what);
    }
}
