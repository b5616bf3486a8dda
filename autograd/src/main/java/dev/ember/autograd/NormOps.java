package dev.ember.autograd;

import dev.ember.engine.Backend;
import dev.ember.engine.Tensor;

/**
 * Batch and layer normalization with batch statistics as single primitives over the backend's fused kernels, forward
 * with derivative rule beneath: one graph node instead of the dozen a composed mean/variance/scale would record.
 * The rule hands the forward's mean and invStd to the backward kernel, which returns dx, dgamma and dbeta at once;
 * an input that needs no gradient (or is absent) gets null. gamma and beta may be null (scale 1, shift 0).
 */
final class NormOps {
    private NormOps() {}

    /** A normalization's output and the batch statistics its forward computed (each 1-D, one value per group). */
    record Normalized(Variable output, Tensor mean, Tensor variance) {}

    /** x (N, C, ...) normalized per channel over N and the trailing axes; gamma, beta (C). */
    static Normalized batchNorm(Variable x, Variable gamma, Variable beta, float eps) {
        Backend.NormResult r = x.data().backend().batchNorm(x.data(), data(gamma), data(beta), eps);   // mean, invStd (C)
        Variable y = Variable.fromOp("batchNorm", r.output(), g -> {
            Tensor[] d = g.backend().batchNormBackward(g, x.data(), r.mean(), r.invStd(), data(gamma));   // dx, dgamma (C), dbeta (C)
            return new Tensor[] {needed(x, d[0]), needed(gamma, d[1]), needed(beta, d[2])};
        }, x, gamma, beta);
        return new Normalized(y, r.mean(), r.variance());
    }

    /** x (..., normalized axes) normalized over its last {@code normalizedAxes} axes; gamma, beta shaped like those axes. */
    static Normalized layerNorm(Variable x, int normalizedAxes, Variable gamma, Variable beta, float eps) {
        Backend.NormResult r = x.data().backend().layerNorm(x.data(), normalizedAxes, data(gamma), data(beta), eps);   // mean, invStd (rows)
        Variable y = Variable.fromOp("layerNorm", r.output(), g -> {
            Tensor[] d = g.backend().layerNormBackward(g, x.data(), r.mean(), r.invStd(), data(gamma), normalizedAxes);
            return new Tensor[] {needed(x, d[0]), needed(gamma, d[1]), needed(beta, d[2])};
        }, x, gamma, beta);
        return new Normalized(y, r.mean(), r.variance());
    }

    private static Tensor data(Variable v) { return v == null ? null : v.data(); }

    /** The gradient when {@code v} takes one, else null. */
    private static Tensor needed(Variable v, Tensor grad) { return v != null && v.requiresGrad() ? grad : null; }
}
