package dev.ember.autograd;

import dev.ember.engine.DType;
import dev.ember.engine.DTypeException;
import dev.ember.engine.EmberException;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;

/**
 * Losses, PyTorch semantics. Labels are int32/int64 class indices of shape (N). Cross-entropy and focal loss are
 * composed from log-softmax and a constant per-sample target matrix built on the host, so their gradients come
 * from the primitives; BCE-with-logits has its own rule (the composed one would be wrong at x = 0).
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

    /** Cross-entropy on logits (N, C) against labels (N), mean over samples. */
    public static Variable crossEntropy(Variable logits, Tensor labels) { return crossEntropy(logits, labels, CrossEntropyOptions.DEFAULT); }

    /**
     * Cross-entropy on logits (N, C) against labels (N), exactly as PyTorch's {@code F.cross_entropy}:
     * with p = log_softmax(logits), w the class weights (1 without), eps the label smoothing,
     * <pre>
     *   loss_i = (1 - eps) * -w[y_i] p[i, y_i]  +  (eps / C) * -sum_c w[c] p[i, c]     (0 for ignored samples)
     * </pre>
     * MEAN divides the sum by sum_i w[y_i] over the samples not ignored (NaN when all are ignored, as PyTorch),
     * SUM adds, NONE returns loss (N).
     */
    public static Variable crossEntropy(Variable logits, Tensor labels, CrossEntropyOptions o) {
        if (logits.rank() != 2) throw new ShapeException("crossEntropy logits must be (N, C), got " + logits.shape());
        int n = logits.dim(0), c = logits.dim(1);
        if (o.labelSmoothing() < 0 || o.labelSmoothing() >= 1 || Float.isNaN(o.labelSmoothing())) {
            throw new EmberException("crossEntropy labelSmoothing must be in [0, 1), got " + o.labelSmoothing());
        }
        float[] w = classWeights("crossEntropy weights", o.weights(), c);
        long[] y = labels("crossEntropy", labels, n, c, o.ignoreIndex());
        float eps = o.labelSmoothing();
        float[] negTarget = new float[n * c];   // negTarget (N, C): loss_i = sum_c negTarget[i, c] p[i, c]; negative so that ignored rows give +0
        double weightSum = 0;                // sum of w[y_i] over samples not ignored: the MEAN divisor
        for (int i = 0; i < n; i++) {
            if (y[i] == o.ignoreIndex()) continue;
            int label = (int) y[i];
            for (int k = 0; k < c; k++) negTarget[i * c + k] = -eps / c * w[k];
            negTarget[i * c + label] -= (1 - eps) * w[label];
            weightSum += w[label];
        }
        Variable perSample = logits.logSoftmax(1).mul(constantLike(logits, negTarget, n, c)).sum(1);   // perSample (N)
        return switch (o.reduction()) {
            case NONE -> perSample;
            case SUM -> perSample.sum();
            case MEAN -> perSample.sum().div((float) weightSum);
        };
    }

    /**
     * Focal loss (Lin et al.): -alpha_y (1 - p_y)^gamma log p_y, mean over samples; alpha (C) may be null.
     * gamma = 0 and no alpha is plain cross-entropy.
     */
    public static Variable focal(Variable logits, Tensor labels, float gamma, Tensor alpha) {
        if (logits.rank() != 2) throw new ShapeException("focal logits must be (N, C), got " + logits.shape());
        if (!(gamma >= 0)) throw new EmberException("focal gamma must be >= 0, got " + gamma);
        int n = logits.dim(0), c = logits.dim(1);
        float[] a = classWeights("focal alpha", alpha, c);
        long[] y = labels("focal", labels, n, c, Integer.MIN_VALUE);
        float[] oneHot = new float[n * c];   // oneHot (N, C)
        float[] alphaY = new float[n];       // alphaY (N): alpha of each sample's class
        for (int i = 0; i < n; i++) {
            oneHot[i * c + (int) y[i]] = 1;
            alphaY[i] = a[(int) y[i]];
        }
        Variable logPy = logits.logSoftmax(1).mul(constantLike(logits, oneHot, n, c)).sum(1);   // logPy (N)
        Variable weighted = logPy.mul(constantLike(logits, alphaY, n));
        if (gamma != 0) weighted = weighted.mul(logPy.exp().neg().add(1f).pow(gamma));   // (1 - p_y)^gamma
        return weighted.mean().neg();
    }

    /** Mean squared error: mean((prediction - target)^2); target must have the prediction's shape. */
    public static Variable mse(Variable prediction, Tensor target) {
        if (!target.shape().equals(prediction.shape())) {
            throw new ShapeException("mse target " + target.shape() + " does not match prediction " + prediction.shape());
        }
        return prediction.sub(Variable.of(target)).square().mean();
    }

    /**
     * Binary cross-entropy on logits, numerically stable: mean of max(x,0) - x*y + log(1 + e^-|x|), with
     * gradient (sigmoid(x) - y) / n. Targets (same shape as the logits) may be soft, in [0, 1].
     */
    public static Variable bceWithLogits(Variable logits, Tensor targets) {
        if (!targets.shape().equals(logits.shape())) {
            throw new ShapeException("bceWithLogits targets " + targets.shape() + " do not match logits " + logits.shape());
        }
        Tensor x = logits.data(), t = targets.to(DType.FLOAT32);
        Tensor perElement = x.relu().sub(x.mul(t)).add(x.abs().neg().exp().add(1f).log());   // (X)
        int count = x.numel();
        Tensor loss = perElement.sum().div(count);
        return Variable.fromOp("bceWithLogits", loss, g -> new Tensor[] {
                x.sigmoid().sub(t).mul(g).div(count)}, logits);   // dL/dx = g (sigmoid(x) - y) / n
    }

    // ---- helpers ----

    private static Variable constantLike(Variable like, float[] values, int... dims) {
        return Variable.of(Tensor.of(values, dims).to(like.data().device()));
    }

    /** Per-class weights as floats (all 1 when {@code t} is null), checked to be (C). */
    private static float[] classWeights(String what, Tensor t, int c) {
        if (t == null) {
            float[] ones = new float[c];
            java.util.Arrays.fill(ones, 1f);
            return ones;
        }
        if (t.rank() != 1 || t.dim(0) != c) throw new ShapeException(what + " must be (" + c + "), one per class, got " + t.shape());
        return t.toFloatArray();
    }

    /** Labels (N) as longs, each in [0, C) or equal to {@code ignoreIndex}. */
    private static long[] labels(String op, Tensor labels, int n, int c, int ignoreIndex) {
        if (labels.dtype() != DType.INT32 && labels.dtype() != DType.INT64) {
            throw new DTypeException(op + " labels must be int32 or int64 class indices, got " + labels.dtype());
        }
        if (labels.rank() != 1 || labels.dim(0) != n) {
            throw new ShapeException(op + " labels must be (" + n + "), one per row of the logits, got " + labels.shape());
        }
        long[] y = labels.toLongArray();
        for (int i = 0; i < n; i++) {
            if (y[i] != ignoreIndex && (y[i] < 0 || y[i] >= c)) {
                throw new ShapeException(op + ": label " + y[i] + " at index " + i + " is outside [0, " + c + ")"
                        + (ignoreIndex == Integer.MIN_VALUE ? "" : " and is not the ignore index " + ignoreIndex));
            }
        }
        return y;
    }
}
