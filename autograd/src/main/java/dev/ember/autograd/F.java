package dev.ember.autograd;

import dev.ember.engine.Conv2dParams;
import dev.ember.engine.Pool2dParams;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;

/**
 * The functional layer: stateless differentiable functions that nn modules call. Modules hold state
 * (parameters, running statistics); these do the math. (Skeleton: signatures fixed, bodies being written.)
 */
public final class F {
    private F() {}

    /** y (N, out) = x (N, in) · w^T (w is (out, in), PyTorch layout) + b (out); b may be null. */
    public static Variable linear(Variable x, Variable w, Variable b) { throw todo(); }

    /** y (N, OC, OH, OW) = conv(x (N, C, H, W), w (OC, C/g, KH, KW)) + b (OC); b may be null. */
    public static Variable conv2d(Variable x, Variable w, Variable b, Conv2dParams p) { throw todo(); }

    public static Variable maxPool2d(Variable x, Pool2dParams p) { throw todo(); }

    public static Variable avgPool2d(Variable x, Pool2dParams p) { throw todo(); }

    /** (N, C, H, W) -> (N, C): mean over H and W. */
    public static Variable globalAvgPool2d(Variable x) { throw todo(); }

    /**
     * Batch normalization over (N, H, W) per channel of x (N, C, H, W). In training, normalizes with the
     * batch statistics and updates {@code runningMean}/{@code runningVar} in place (unbiased variance,
     * PyTorch's momentum convention: running = (1-momentum)*running + momentum*batch). In eval, uses them.
     * gamma/beta (C) may be null.
     */
    public static Variable batchNorm2d(Variable x, Tensor runningMean, Tensor runningVar, Variable gamma, Variable beta,
                                       boolean training, float momentum, float eps) { throw todo(); }

    /** Layer normalization over the last {@code normalizedAxes} axes; gamma/beta shaped like those axes, may be null. */
    public static Variable layerNorm(Variable x, int normalizedAxes, Variable gamma, Variable beta, float eps) { throw todo(); }

    /** Inverted dropout: in training zeroes each element with probability p (mask from {@code rng}) and scales by 1/(1-p). */
    public static Variable dropout(Variable x, float p, boolean training, Rng rng) { throw todo(); }

    private static UnsupportedOperationException todo() { return new UnsupportedOperationException("autograd is being written"); }
}
