package dev.ember.engine;

/**
 * The op set every tensor operation dispatches through: one implementation per device (the CPU Vector API
 * backend, the scalar reference backend, CUDA), found at run time by {@link Backends}. A backend knows
 * nothing of gradients. Inputs may be any strided view; outputs are new contiguous tensors on this
 * backend's device, except the in-place methods at the end, which write into a contiguous destination.
 *
 * <p>Conventions: float32 for all math; axes already normalized (non-negative) by the caller; shapes
 * checked by the caller ({@link Tensor}) so a backend may assume they fit.
 */
public interface Backend {
    String name();

    Device device();

    // ---- storage ----

    /** A new contiguous tensor of zeros. */
    Tensor zeros(DType dtype, Shape shape);

    /** Copies {@code src} into {@code dst} element by element (same shape, any strides), converting dtype. */
    void copyInto(Tensor src, Tensor dst);

    /**
     * A new contiguous tensor with the values of {@code src} (of this backend). A backend may skip zeroing memory that the
     * copy overwrites whole.
     */
    default Tensor copy(Tensor src) {
        Tensor out = zeros(src.dtype(), src.shape());
        copyInto(src, out);
        return out;
    }

    /** A tensor on this device with the contents of a CPU tensor. */
    Tensor fromHost(Tensor host);

    /** A contiguous CPU tensor with the contents of {@code t}. */
    Tensor toHost(Tensor t);

    // ---- elementwise ----

    /** y = op(x). */
    Tensor unary(UnaryOp op, Tensor x);

    /** y = op(a, b) with NumPy broadcasting; {@code outShape} is the broadcast shape. */
    Tensor binary(BinaryOp op, Tensor a, Tensor b, Shape outShape);

    /**
     * dx = dy * [x > 0], the ReLU's backward (x its input or output, the same shape as dy). The default is that
     * product with a STEP tensor, two passes, so it is the reference a one-pass kernel must match to the bit.
     */
    default Tensor reluBackward(Tensor dy, Tensor x) { return binary(BinaryOp.MUL, dy, unary(UnaryOp.STEP, x), dy.shape()); }

    // ---- reductions ----

    /** Reduces over {@code axes} (sorted, distinct); kept axes have size 1 when {@code keepDims}. */
    Tensor reduce(ReduceOp op, Tensor x, int[] axes, boolean keepDims);

    /** Index (int64) of the largest element along {@code axis}; the first one on ties. */
    Tensor argMax(Tensor x, int axis, boolean keepDims);

    /** softmax along {@code axis}: e^(x - max) / sum e^(x - max). */
    Tensor softmax(Tensor x, int axis);

    /** log-softmax along {@code axis}: x - max - log sum e^(x - max). */
    Tensor logSoftmax(Tensor x, int axis);

    // ---- linear algebra and convolution ----

    /** C = A·B for A (..., M, K) and B (..., K, N), batch axes broadcast to {@code outShape}'s leading axes. */
    Tensor matmul(Tensor a, Tensor b, Shape outShape);

    /** y (N, OC, OH, OW) = conv(x (N, C, H, W), w (OC, C/groups, KH, KW)); no bias. */
    Tensor conv2d(Tensor x, Tensor w, Conv2dParams p);

    /**
     * y (N, OC, OH, OW) = conv(x, w) + bias, then max(y, 0) when {@code relu}: the inference form of ONNX's
     * Conv(+Relu), which a backend may fuse into one pass over y. {@code bias} is (OC) or null. The default composes
     * conv2d, a broadcast add and a ReLU, so the three-op result is the reference a fused kernel is checked against.
     */
    default Tensor conv2dBiasRelu(Tensor x, Tensor w, Tensor bias, boolean relu, Conv2dParams p) {
        Tensor y = conv2d(x, w, p);
        if (bias != null) y = binary(BinaryOp.ADD, y, bias.reshape(1, bias.numel(), 1, 1), y.shape());
        return relu ? unary(UnaryOp.RELU, y) : y;
    }

    /**
     * maxPool(conv2dBiasRelu(x, w, bias, relu, p), pool): ONNX's Conv, Relu, MaxPool at inference (a CNN's first layer),
     * which a backend may run without writing the convolution's output. The default composes the two, so their result
     * is the reference a fused kernel must match to the bit.
     */
    default Tensor conv2dMaxPool(Tensor x, Tensor w, Tensor bias, boolean relu, Conv2dParams p, Pool2dParams pool) {
        return maxPool2dValues(conv2dBiasRelu(x, w, bias, relu, p), pool);
    }

    /**
     * max(conv2dBiasRelu(x, w, bias, false, p) + residual, 0), residual of the convolution's output shape: ONNX's Conv,
     * Add, Relu at the end of a residual block, which a backend may add in the pass that writes the convolution's
     * output. The default composes conv2dBiasRelu and addRelu, so their result is the reference a fused kernel must
     * match to the bit.
     */
    default Tensor conv2dAddRelu(Tensor x, Tensor w, Tensor bias, Tensor residual, Conv2dParams p) {
        Tensor y = conv2dBiasRelu(x, w, bias, false, p);
        return addRelu(y, residual, y.shape());
    }

    /**
     * {conv2dBiasRelu(x, w, bias, relu, p), conv2dBiasRelu(x, w2, bias2, false, p2)}: two convolutions of one input,
     * ONNX's residual block with a downsampling shortcut at inference (its first conv beside the 1x1 shortcut), which a
     * backend may run in one pass over x. The default runs the two, so their results are the reference a fused kernel
     * must match to the bit.
     */
    default Tensor[] conv2dPair(Tensor x, Tensor w, Tensor bias, boolean relu, Conv2dParams p, Tensor w2, Tensor bias2, Conv2dParams p2) {
        return new Tensor[] {conv2dBiasRelu(x, w, bias, relu, p), conv2dBiasRelu(x, w2, bias2, false, p2)};
    }

    /**
     * y = max(a + b, 0) with NumPy broadcasting, {@code outShape} the broadcast shape: ONNX's Add then Relu (the end of
     * a residual block), which a backend may run as one pass. The default composes the two ops, so their result is the
     * reference a one-pass kernel must match to the bit.
     */
    default Tensor addRelu(Tensor a, Tensor b, Shape outShape) { return unary(UnaryOp.RELU, binary(BinaryOp.ADD, a, b, outShape)); }

    /** dx (N, C, H, W) from dy (N, OC, OH, OW) and w. */
    Tensor conv2dBackwardInput(Tensor dy, Tensor w, Shape inputShape, Conv2dParams p);

    /** dw (OC, C/groups, KH, KW) from dy (N, OC, OH, OW) and x. */
    Tensor conv2dBackwardWeight(Tensor dy, Tensor x, Shape weightShape, Conv2dParams p);

    // ---- pooling ----

    /** Max pooling result: values and, per output, the int32 index of the winner within its (n, c) plane (h*W + w). */
    record MaxPoolResult(Tensor output, Tensor indices) {}

    MaxPoolResult maxPool2d(Tensor x, Pool2dParams p);

    /**
     * Max pooling's values alone, for inference: a backend may skip the winners' indices. The default takes them from
     * {@link #maxPool2d}, so it is the reference a value-only kernel is checked against.
     */
    default Tensor maxPool2dValues(Tensor x, Pool2dParams p) { return maxPool2d(x, p).output(); }

    /** dx: each dy routed to the input cell that won its window (summed where windows overlap). */
    Tensor maxPool2dBackward(Tensor dy, Tensor indices, Shape inputShape);

    Tensor avgPool2d(Tensor x, Pool2dParams p);

    Tensor avgPool2dBackward(Tensor dy, Shape inputShape, Pool2dParams p);

    // ---- normalization ----

    /**
     * Result of a normalization forward: {@code output} shaped like x; per-group {@code mean}, biased
     * {@code variance} and {@code invStd} = 1 / sqrt(variance + eps), each a 1-D float32 tensor of the group count.
     */
    record NormResult(Tensor output, Tensor mean, Tensor variance, Tensor invStd) {}

    /**
     * Batch normalization with batch statistics: x (N, C, ...) normalized per channel over N and the trailing axes,
     * y = (x - mean_c) * invStd_c * gamma_c + beta_c; gamma/beta (C) may be null (1 and 0).
     */
    NormResult batchNorm(Tensor x, Tensor gamma, Tensor beta, float eps);

    /**
     * Gradients of {@link #batchNorm}: returns {dx (like x), dgamma (C), dbeta (C)} from dy, x and the forward's
     * mean and invStd; gamma may be null (then dgamma/dbeta are still returned).
     */
    Tensor[] batchNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor gamma);

    /**
     * Layer normalization over the last {@code normalizedAxes} axes: one group per leading index,
     * y = (x - mean) * invStd * gamma + beta with gamma/beta shaped like the normalized axes (may be null).
     */
    NormResult layerNorm(Tensor x, int normalizedAxes, Tensor gamma, Tensor beta, float eps);

    /** Gradients of {@link #layerNorm}: {dx, dgamma, dbeta} (dgamma/dbeta shaped like the normalized axes). */
    Tensor[] layerNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor gamma, int normalizedAxes);

    // ---- indexing ----

    /** float32 (..., classes) with 1 at each label (int32/int64 of shape ...); a label outside [0, classes) is an error. */
    Tensor oneHot(Tensor labels, int classes);

    // ---- in place (dst contiguous float32) ----

    /** y += alpha * x, same shape. */
    void axpy(float alpha, Tensor x, Tensor y);

    /** y *= alpha. */
    void scale(Tensor y, float alpha);

    /** y = value everywhere. */
    void fill(Tensor y, float value);

    /** One SGD step on {@code param} (see {@link SgdParams}); {@code momentumBuf} may be null when momentum is 0. */
    void sgdStep(Tensor param, Tensor grad, Tensor momentumBuf, SgdParams p);

    /** One Adam/AdamW step (see {@link AdamParams}), updating {@code m} and {@code v} in place. */
    void adamStep(Tensor param, Tensor grad, Tensor m, Tensor v, AdamParams p);
}
