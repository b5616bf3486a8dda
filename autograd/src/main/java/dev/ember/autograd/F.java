package dev.ember.autograd;

import dev.ember.engine.Conv2dParams;
import dev.ember.engine.DType;
import dev.ember.engine.DTypeException;
import dev.ember.engine.EmberException;
import dev.ember.engine.Pool2dParams;
import dev.ember.engine.Rng;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;

import java.util.Arrays;

/**
 * The functional layer: stateless differentiable functions that nn modules call. Modules hold state
 * (parameters, running statistics); these do the math. Convolution, pooling and normalization with batch statistics
 * are primitives with their own derivative rules (the last over the backend's fused kernels); the rest is composed
 * from {@link Variable} ops and gets its gradient from theirs.
 */
public final class F {
    private F() {}

    /** y (N, out) = x (N, in) · w^T (w is (out, in), PyTorch layout) + b (out); b may be null. Leading axes of x broadcast. */
    public static Variable linear(Variable x, Variable w, Variable b) {
        if (w.rank() != 2) throw new ShapeException("linear weight must be (out, in), got " + w.shape());
        if (x.rank() < 1 || x.dim(-1) != w.dim(1)) {
            throw new ShapeException("linear input " + x.shape() + " must end in in_features " + w.dim(1) + " of weight " + w.shape());
        }
        if (b != null && (b.rank() != 1 || b.dim(0) != w.dim(0))) {
            throw new ShapeException("linear bias must be (" + w.dim(0) + "), got " + b.shape());
        }
        Variable y = x.rank() == 1 ? x.unsqueeze(0) : x;
        y = LinalgOps.linear(y, w);   // y (..., out)
        if (x.rank() == 1) y = y.squeeze(0);
        return b == null ? y : y.add(b);
    }

    /** y (N, OC, OH, OW) = conv(x (N, C, H, W), w (OC, C/g, KH, KW)) + b (OC); b may be null. */
    public static Variable conv2d(Variable x, Variable w, Variable b, Conv2dParams p) { return conv2d(x, w, b, false, p); }

    /**
     * relu(conv2d(x, w, b)) when {@code relu}, else conv2d(x, w, b): the backend's fused conv2dBiasRelu, one pass over y
     * instead of three. Recording a gradient, it is one node that keeps only y (see LinalgOps.conv2dBiasRelu): the same
     * values as the composed ops, without their two intermediate outputs.
     */
    public static Variable conv2d(Variable x, Variable w, Variable b, boolean relu, Conv2dParams p) {
        int oc = p.outputShape(x.shape(), w.shape()).dim(1);
        if (b != null && (b.rank() != 1 || b.dim(0) != oc)) throw new ShapeException("conv2d bias must be (" + oc + "), got " + b.shape());
        if (!Variable.recordsGradient(x, w, b)) return Variable.of(x.data().conv2dBiasRelu(w.data(), b == null ? null : b.data(), relu, p));
        if (b == null && !relu) return LinalgOps.conv2d(x, w, p);
        return LinalgOps.conv2dBiasRelu(x, w, b, relu, p);
    }


    /**
     * maxPool2d(conv2d(x, w, b, relu, p), pool): the backend's conv2dMaxPool where no gradient is recorded (the
     * convolution's output is never written where the backend fuses them), else the two ops. Either checks the shapes.
     */
    public static Variable conv2dMaxPool(Variable x, Variable w, Variable b, boolean relu, Conv2dParams p, Pool2dParams pool) {
        if (!Variable.recordsGradient(x, w, b)) return Variable.of(x.data().conv2dMaxPool(w.data(), b == null ? null : b.data(), relu, p, pool));
        return maxPool2d(conv2d(x, w, b, relu, p), pool);
    }

    /**
     * relu(conv2d(x, w, b, false, p) + residual), residual of the convolution's output shape (a residual block's end):
     * the backend's conv2dAddRelu where no gradient is recorded (the residual added as the output is written where it
     * fuses them), else the ops one after the other.
     */
    public static Variable conv2dAddRelu(Variable x, Variable w, Variable b, Variable residual, Conv2dParams p) {
        dev.ember.engine.Shape ys = p.outputShape(x.shape(), w.shape());
        // recorded, the ops would broadcast a residual of another shape; one op refuses it either way
        if (!residual.shape().equals(ys)) throw new ShapeException("conv2dAddRelu residual must be " + ys + ", got " + residual.shape());
        if (!Variable.recordsGradient(x, w, b, residual)) {
            return Variable.of(x.data().conv2dAddRelu(w.data(), b == null ? null : b.data(), residual.data(), p));
        }
        return conv2d(x, w, b, false, p).add(residual).relu();
    }

    /**
     * {conv2d(x, w, b, relu, p), conv2d(x, w2, b2, false, p2)}: two convolutions of one input (a residual block's first
     * conv and its 1x1 shortcut), the backend's conv2dPair where no gradient is recorded (one pass over x where it fuses
     * them), else the two ops.
     */
    public static Variable[] conv2dPair(Variable x, Variable w, Variable b, boolean relu, Conv2dParams p, Variable w2, Variable b2, Conv2dParams p2) {
        if (!Variable.recordsGradient(x, w, b, w2, b2)) {
            dev.ember.engine.Tensor[] y = x.data().conv2dPair(w.data(), b == null ? null : b.data(), relu, p, w2.data(), b2 == null ? null : b2.data(), p2);
            return new Variable[] {Variable.of(y[0]), Variable.of(y[1])};
        }
        return new Variable[] {conv2d(x, w, b, relu, p), conv2d(x, w2, b2, false, p2)};
    }

    /**
     * relu(a + b) with broadcasting (a residual block's end): the backend's one-pass addRelu where no gradient is
     * recorded, else the two ops (their gradients; the sum is kept for ReLU's backward anyway).
     */
    public static Variable addRelu(Variable a, Variable b) {
        if (!Variable.recordsGradient(a, b)) return Variable.of(a.data().addRelu(b.data()));
        return a.add(b).relu();
    }

    /**
     * Transposed convolution (PyTorch's conv_transpose2d): x (N, C_in, H, W), w (C_in, C_out/g, KH, KW), b (C_out) or
     * null -> y (N, C_out, OH, OW) with OH = (H - 1) stride - 2 pad + dilation (KH - 1) + outputPadding + 1.
     * The output padding adds rows and columns at the end that no input reaches (only the bias).
     */
    public static Variable convTranspose2d(Variable x, Variable w, Variable b, Conv2dParams p, int outputPadH, int outputPadW) {
        if (x.rank() != 4 || w.rank() != 4) throw new ShapeException("convTranspose2d needs x (N, C, H, W) and w (C_in, C_out/g, KH, KW), got " + x.shape() + " and " + w.shape());
        if (w.dim(0) != x.dim(1) || w.dim(0) % p.groups() != 0) {
            throw new ShapeException("convTranspose2d weight " + w.shape() + " does not fit input " + x.shape() + " with groups " + p.groups());
        }
        if (outputPadH < 0 || outputPadW < 0 || (outputPadH >= p.strideH() && outputPadH >= p.dilationH()) || (outputPadW >= p.strideW() && outputPadW >= p.dilationW())) {
            throw new ShapeException("convTranspose2d output padding (" + outputPadH + ", " + outputPadW + ") must be smaller than stride or dilation");
        }
        int oc = w.dim(1) * p.groups();
        int oh = (x.dim(2) - 1) * p.strideH() - 2 * p.padH() + p.dilationH() * (w.dim(2) - 1) + outputPadH + 1;
        int ow = (x.dim(3) - 1) * p.strideW() - 2 * p.padW() + p.dilationW() * (w.dim(3) - 1) + outputPadW + 1;
        if (oh < 1 || ow < 1) throw new ShapeException("convTranspose2d of " + x.shape() + " with weight " + w.shape() + " has no output (padding too large)");
        if (b != null && (b.rank() != 1 || b.dim(0) != oc)) throw new ShapeException("convTranspose2d bias must be (" + oc + "), got " + b.shape());
        Variable y = LinalgOps.convTranspose2d(x, w, dev.ember.engine.Shape.of(x.dim(0), oc, oh, ow), p);   // y (N, C_out, OH, OW)
        return b == null ? y : y.add(b.reshape(1, oc, 1, 1));
    }

    public static Variable maxPool2d(Variable x, Pool2dParams p) { return LinalgOps.maxPool2d(x, p); }

    public static Variable avgPool2d(Variable x, Pool2dParams p) { return LinalgOps.avgPool2d(x, p); }

    /** (N, C, H, W) -> (N, C): mean over H and W. */
    public static Variable globalAvgPool2d(Variable x) {
        if (x.rank() != 4) throw new ShapeException("globalAvgPool2d input must be (N, C, H, W), got " + x.shape());
        return x.mean(2, 3);
    }

    /**
     * Batch normalization over (N, H, W) per channel of x (N, C, H, W). In training, normalizes with the
     * batch statistics (biased variance) and updates {@code runningMean}/{@code runningVar} in place (unbiased
     * variance, PyTorch's momentum convention: running = (1-momentum)*running + momentum*batch). In eval, uses
     * them. gamma/beta (C) may be null; so may the running statistics, in which case training updates nothing and
     * eval uses the batch statistics, as PyTorch does without tracked statistics.
     */
    public static Variable batchNorm2d(Variable x, Tensor runningMean, Tensor runningVar, Variable gamma, Variable beta,
                                       boolean training, float momentum, float eps) {
        if (x.rank() != 4) throw new ShapeException("batchNorm2d input must be (N, C, H, W), got " + x.shape());
        int c = x.dim(1);
        requireChannels("runningMean", runningMean == null ? null : runningMean.dims(), c);
        requireChannels("runningVar", runningVar == null ? null : runningVar.dims(), c);
        requireChannels("gamma", gamma == null ? null : gamma.shape().dims(), c);
        requireChannels("beta", beta == null ? null : beta.shape().dims(), c);
        if ((runningMean == null) != (runningVar == null)) throw new EmberException("batchNorm2d needs both running statistics or neither");
        boolean useBatchStats = training || runningMean == null;

        if (useBatchStats) {
            int n = x.dim(0) * x.dim(2) * x.dim(3);
            if (n < 2) throw new ShapeException("batchNorm2d needs more than one value per channel to use batch statistics, got input " + x.shape());
            requireFloatOnDeviceOf(x, "batchNorm2d", gamma, beta);
            NormOps.Normalized r = NormOps.batchNorm(x, gamma, beta, eps);   // one node; mean, variance (C), biased
            if (training && runningMean != null) {
                Tensor unbiasedVar = r.variance().mul((float) n / (n - 1));
                runningMean.copyFrom(runningMean.mul(1 - momentum).add(r.mean().mul(momentum)));
                runningVar.copyFrom(runningVar.mul(1 - momentum).add(unbiasedVar.mul(momentum)));
            }
            return r.output();
        }
        // eval: a fixed affine map per channel, composed
        Tensor mean = runningMean.reshape(1, c, 1, 1);
        Tensor invStd = runningVar.reshape(1, c, 1, 1).add(eps).pow(-0.5f);   // invStd (1, C, 1, 1)
        Variable xHat = x.sub(Variable.of(mean)).mul(Variable.of(invStd));   // xHat (N, C, H, W)
        Variable y = gamma == null ? xHat : xHat.mul(gamma.reshape(1, c, 1, 1));
        return beta == null ? y : y.add(beta.reshape(1, c, 1, 1));
    }

    /** Layer normalization over the last {@code normalizedAxes} axes; gamma/beta shaped like those axes, may be null. */
    public static Variable layerNorm(Variable x, int normalizedAxes, Variable gamma, Variable beta, float eps) {
        if (normalizedAxes < 1 || normalizedAxes > x.rank()) {
            throw new ShapeException("layerNorm normalizes 1 to " + x.rank() + " trailing axes of " + x.shape() + ", got " + normalizedAxes);
        }
        int[] normalizedDims = Arrays.copyOfRange(x.shape().dims(), x.rank() - normalizedAxes, x.rank());
        if (gamma != null && !Arrays.equals(gamma.shape().dims(), normalizedDims)) {
            throw new ShapeException("layerNorm gamma must be " + Arrays.toString(normalizedDims) + ", got " + gamma.shape());
        }
        if (beta != null && !Arrays.equals(beta.shape().dims(), normalizedDims)) {
            throw new ShapeException("layerNorm beta must be " + Arrays.toString(normalizedDims) + ", got " + beta.shape());
        }
        requireFloatOnDeviceOf(x, "layerNorm", gamma, beta);
        return NormOps.layerNorm(x, normalizedAxes, gamma, beta, eps).output();   // one node, biased variance as PyTorch
    }

    /** Inverted dropout: in training zeroes each element with probability p (mask from {@code rng}) and scales by 1/(1-p). */
    public static Variable dropout(Variable x, float p, boolean training, Rng rng) {
        if (!(p >= 0 && p <= 1)) throw new EmberException("dropout probability must be in [0, 1], got " + p);
        if (!training || p == 0) return x;
        float keptScale = p == 1 ? 0f : 1f / (1 - p);
        float[] mask = new float[x.shape().numel()];   // mask (X): 0 or 1/(1-p)
        for (int i = 0; i < mask.length; i++) mask[i] = rng.nextDouble() < p ? 0f : keptScale;
        Tensor m = Tensor.of(mask, x.shape().dims()).to(x.data().device());
        return x.mul(Variable.of(m));
    }

    /** The fused kernels take float32 operands on x's device. */
    private static void requireFloatOnDeviceOf(Variable x, String op, Variable... params) {
        if (x.data().dtype() != DType.FLOAT32) {
            throw new DTypeException(op + " needs float32 input, got " + x.data().dtype() + " tensor of shape " + x.shape());
        }
        for (Variable p : params) {
            if (p == null) continue;
            if (p.data().dtype() != DType.FLOAT32) throw new DTypeException(op + " needs float32 gamma/beta, got " + p.data().dtype());
            x.data().sameDevice(p.data());
        }
    }

    private static void requireChannels(String what, int[] dims, int c) {
        if (dims != null && (dims.length != 1 || dims[0] != c)) {
            throw new ShapeException("batchNorm2d " + what + " must be (" + c + "), got " + Arrays.toString(dims));
        }
    }
}
