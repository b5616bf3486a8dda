package dev.ember.kernels.cpu;

import dev.ember.engine.AdamParams;
import dev.ember.engine.Backend;
import dev.ember.engine.BinaryOp;
import dev.ember.engine.BufferPool;
import dev.ember.engine.Conv2dParams;
import dev.ember.engine.CpuStorage;
import dev.ember.engine.DType;
import dev.ember.engine.Device;
import dev.ember.engine.Pool2dParams;
import dev.ember.engine.ReduceOp;
import dev.ember.engine.SgdParams;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import dev.ember.engine.TensorScope;
import dev.ember.engine.UnaryOp;

/**
 * The CPU backend: Vector API kernels ({@code FloatVector.SPECIES_PREFERRED}) run over the {@link Parallel} pool,
 * one op family per class. This class only dispatches. Every kernel is tested against the scalar
 * {@link dev.ember.kernels.reference.ReferenceBackend}; results are bit-identical run to run.
 */
public final class CpuBackend implements Backend {
    public CpuBackend() {}

    @Override public String name() { return "cpu"; }

    @Override public Device device() { return Device.CPU; }

    // ---- storage ----

    @Override public Tensor zeros(DType dtype, Shape shape) { return CpuCopy.zeros(dtype, shape); }

    @Override public void copyInto(Tensor src, Tensor dst) { CpuCopy.copyInto(src, dst); }
    @Override public Tensor copy(Tensor src) { return CpuCopy.copy(src); }

    /** The host tensor itself when contiguous: CPU tensors already live here. */
    @Override public Tensor fromHost(Tensor host) {
        CpuCopy.storage(host);   // checks it is a CPU tensor
        return CpuCopy.contiguous(host);
    }

    @Override public Tensor toHost(Tensor t) { return CpuCopy.contiguous(t); }

    // ---- elementwise ----

    @Override public Tensor unary(UnaryOp op, Tensor x) { return CpuUnary.apply(op, x); }

    @Override public Tensor binary(BinaryOp op, Tensor a, Tensor b, Shape outShape) { return CpuBinary.apply(op, a, b, outShape); }

    @Override public Tensor addRelu(Tensor a, Tensor b, Shape outShape) {
        Tensor y = CpuBinary.addRelu(a, b, outShape);
        return y != null ? y : Backend.super.addRelu(a, b, outShape);
    }

    @Override public Tensor reluBackward(Tensor dy, Tensor x) {
        Tensor dx = CpuBinary.reluBackward(dy, x);
        return dx != null ? dx : Backend.super.reluBackward(dy, x);
    }

    // ---- reductions ----

    @Override public Tensor reduce(ReduceOp op, Tensor x, int[] axes, boolean keepDims) { return CpuReduce.reduce(op, x, axes, keepDims); }

    @Override public Tensor argMax(Tensor x, int axis, boolean keepDims) { return CpuReduce.argMax(x, axis, keepDims); }

    @Override public Tensor softmax(Tensor x, int axis) { return CpuSoftmax.softmax(x, axis, false); }

    @Override public Tensor logSoftmax(Tensor x, int axis) { return CpuSoftmax.softmax(x, axis, true); }

    // ---- linear algebra and convolution ----

    @Override public Tensor matmul(Tensor a, Tensor b, Shape outShape) { return CpuMatmul.matmul(a, b, outShape); }

    @Override public Tensor conv2d(Tensor x, Tensor w, Conv2dParams p) { return CpuConv2d.forward(x, w, p); }

    @Override public Tensor conv2dBiasRelu(Tensor x, Tensor w, Tensor bias, boolean relu, Conv2dParams p) {
        return CpuConv2d.forward(x, w, bias, relu, p);
    }

    @Override public Tensor conv2dMaxPool(Tensor x, Tensor w, Tensor bias, boolean relu, Conv2dParams p, Pool2dParams pool) {
        Tensor pooled = CpuConv2d.forwardPooled(x, w, bias, relu, p, pool);
        if (pooled != null) return pooled;
        int mark = TensorScope.mark();
        Tensor y = CpuConv2d.forward(x, w, bias, relu, p);
        Tensor z = CpuPool2d.maxValues(y, pool);
        giveBack(y, mark);
        return z;
    }

    @Override public Tensor conv2dAddRelu(Tensor x, Tensor w, Tensor bias, Tensor residual, Conv2dParams p) {
        Tensor fused = CpuConv2d.forwardAddRelu(x, w, bias, residual, p);
        if (fused != null) return fused;
        int mark = TensorScope.mark();
        Tensor y = CpuConv2d.forward(x, w, bias, false, p);
        Tensor z = addRelu(y, residual, y.shape());
        giveBack(y, mark);
        return z;
    }

    @Override public Tensor[] conv2dPair(Tensor x, Tensor w, Tensor bias, boolean relu, Conv2dParams p, Tensor w2, Tensor bias2, Conv2dParams p2) {
        Tensor[] fused = CpuConv2d.forwardPair(x, w, bias, relu, p, w2, bias2, p2);
        return fused != null ? fused : Backend.super.conv2dPair(x, w, bias, relu, p, w2, bias2, p2);
    }

    /**
     * Gives back a composed op's intermediate, made since {@code mark} and this call's alone: its array serves the next
     * call (a session gives back only the values it holds).
     */
    private static void giveBack(Tensor intermediate, int mark) {
        if (!TensorScope.releaseIfMadeSince(intermediate, mark) && mark < 0) BufferPool.recycle(((CpuStorage) intermediate.storage()).floats());
    }

    @Override public Tensor conv2dBackwardInput(Tensor dy, Tensor w, Shape inputShape, Conv2dParams p) {
        return CpuConv2d.backwardInput(dy, w, inputShape, p);
    }

    @Override public Tensor conv2dBackwardWeight(Tensor dy, Tensor x, Shape weightShape, Conv2dParams p) {
        return CpuConv2d.backwardWeight(dy, x, weightShape, p);
    }

    // ---- pooling ----

    @Override public MaxPoolResult maxPool2d(Tensor x, Pool2dParams p) { return CpuPool2d.max(x, p); }

    @Override public Tensor maxPool2dValues(Tensor x, Pool2dParams p) { return CpuPool2d.maxValues(x, p); }

    @Override public Tensor maxPool2dBackward(Tensor dy, Tensor indices, Shape inputShape) { return CpuPool2d.maxBackward(dy, indices, inputShape); }

    @Override public Tensor avgPool2d(Tensor x, Pool2dParams p) { return CpuPool2d.avg(x, p); }

    @Override public Tensor avgPool2dBackward(Tensor dy, Shape inputShape, Pool2dParams p) { return CpuPool2d.avgBackward(dy, inputShape, p); }

    // ---- indexing ----

    @Override public Tensor oneHot(Tensor labels, int classes) { return CpuOneHot.oneHot(labels, classes); }

    // ---- in place ----

    @Override public void axpy(float alpha, Tensor x, Tensor y) { CpuInPlace.axpy(alpha, x, y); }

    @Override public void scale(Tensor y, float alpha) { CpuInPlace.scale(y, alpha); }

    @Override public void fill(Tensor y, float value) { CpuInPlace.fill(y, value); }

    @Override public void sgdStep(Tensor param, Tensor grad, Tensor momentumBuf, SgdParams p) { CpuOptimizerSteps.sgd(param, grad, momentumBuf, p); }

    @Override public void adamStep(Tensor param, Tensor grad, Tensor m, Tensor v, AdamParams p) { CpuOptimizerSteps.adam(param, grad, m, v, p); }

    // ---- normalization ----

    @Override public NormResult batchNorm(Tensor x, Tensor gamma, Tensor beta, float eps) { return CpuNorm.batchNorm(x, gamma, beta, eps); }

    @Override public Tensor[] batchNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor gamma) {
        return CpuNorm.batchNormBackward(dy, x, mean, invStd, gamma);
    }

    @Override public NormResult layerNorm(Tensor x, int normalizedAxes, Tensor gamma, Tensor beta, float eps) {
        return CpuNorm.layerNorm(x, normalizedAxes, gamma, beta, eps);
    }

    @Override public Tensor[] layerNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor gamma, int normalizedAxes) {
        return CpuNorm.layerNormBackward(dy, x, mean, invStd, gamma, normalizedAxes);
    }
}
