package dev.ember.autograd;

import dev.ember.engine.Tensor;

/**
 * Losses, PyTorch semantics. Labels are int32/int64 class indices. (Skeleton: signatures fixed, bodies being written.)
 */
public final class Loss {
    private Loss() {}

    public enum Reduction { MEAN, SUM, NONE }

    /**
     * Options of {@link #crossEntropy}: per-class {@code weights} (C) or null, {@code labelSmoothing} in [0, 1),
     * {@code ignoreIndex} (samples with this label add nothing; use Integer.MIN_VALUE for none).
     */
    public record CrossEntropyOptions(Tensor weights, float labelSmoothing, int ignoreIndex, Reduction reduction) {
        public static final CrossEntropyOptions DEFAULT = new CrossEntropyOptions(null, 0f, -100, Reduction.MEAN);
    }

    /** Cross-entropy on logits (N, C) against labels (N). */
    public static Variable crossEntropy(Variable logits, Tensor labels) { throw todo(); }

    public static Variable crossEntropy(Variable logits, Tensor labels, CrossEntropyOptions o) { throw todo(); }

    /** Focal loss (Lin et al.): -alpha_y (1 - p_y)^gamma log p_y, mean over samples; alpha (C) may be null. */
    public static Variable focal(Variable logits, Tensor labels, float gamma, Tensor alpha) { throw todo(); }

    /** Mean squared error. */
    public static Variable mse(Variable prediction, Tensor target) { throw todo(); }

    /** Binary cross-entropy on logits, numerically stable: max(x,0) - x*y + log(1 + e^-|x|), mean. */
    public static Variable bceWithLogits(Variable logits, Tensor targets) { throw todo(); }

    private static UnsupportedOperationException todo() { return new UnsupportedOperationException("autograd is being written"); }
}
