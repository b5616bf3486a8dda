package dev.ember.kernels.cuda;

import dev.ember.engine.AdamParams;
import dev.ember.engine.Backend;
import dev.ember.engine.BackendException;
import dev.ember.engine.BinaryOp;
import dev.ember.engine.Conv2dParams;
import dev.ember.engine.DType;
import dev.ember.engine.Device;
import dev.ember.engine.Pool2dParams;
import dev.ember.engine.ReduceOp;
import dev.ember.engine.SgdParams;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import dev.ember.engine.UnaryOp;

import java.util.Locale;

/**
 * The CUDA backend on one GPU: tensors in device memory ({@link CudaStorage} over a caching allocator), our PTX kernels
 * for everything elementwise, reductions, softmax, pooling, normalization, one-hot and optimizer steps; GEMM through
 * cuBLAS (else our sgemm.cu kernel) and convolution through cuDNN (else im2col + GEMM). This class only dispatches.
 * Which libraries loaded is in {@link #libraries()}.
 *
 * <p>{@code -Dember.cuda.gemm=own} (read when a backend is made) skips cuBLAS even where it is installed, so the
 * fallback GEMM kernel can be tested and benchmarked on a machine that has cuBLAS; {@code cublas} (the default) uses
 * cuBLAS when it loads. Likewise {@code -Dember.cuda.conv=im2col} skips cuDNN (convolution as im2col + GEMM);
 * {@code cudnn} (the default) uses cuDNN when it loads.
 */
public final class CudaBackend implements Backend {
    /** The system property that picks the GEMM: {@code cublas} (default) or {@code own}. */
    static final String GEMM_PROPERTY = "ember.cuda.gemm";
    static final String CONV_PROPERTY = "ember.cuda.conv";

    private final CudaContext cx;
    private final Device device;
    private final CudaLinalg linalg;
    private final String libraries;

    CudaBackend(CudaContext cx) {
        this.cx = cx;
        this.device = Device.cuda(cx.index());
        LibraryFinder finder = LibraryFinder.system();
        String[] cublasWhy = new String[1], cudnnWhy = new String[1];
        cx.bind();
        cublasWhy[0] = ownGemmReason(System.getProperty(GEMM_PROPERTY));
        Cublas cublas = cublasWhy[0] != null ? null : Cublas.load(finder, cublasWhy);
        cudnnWhy[0] = fallbackReason(CONV_PROPERTY, System.getProperty(CONV_PROPERTY), "cudnn", "im2col");
        Cudnn cudnn = cudnnWhy[0] != null ? null : Cudnn.load(finder, cudnnWhy);
        this.linalg = new CudaLinalg(cx, cublas, cudnn);
        this.libraries = cx.deviceName() + "; GEMM: " + (cublas != null ? "cuBLAS" : "own kernel (" + cublasWhy[0] + ")")
                + "; convolution: " + (cudnn != null ? "cuDNN (" + cudnn.choosing() + ")" : "im2col + GEMM (" + cudnnWhy[0] + ")");
    }

    /**
     * Why GEMM must skip cuBLAS, given {@link #GEMM_PROPERTY}'s value: null for {@code cublas} or unset, a reason for
     * {@code own}; anything else is a {@link BackendException} naming the property.
     */
    static String ownGemmReason(String gemmProperty) { return fallbackReason(GEMM_PROPERTY, gemmProperty, "cublas", "own"); }

    /** Null when {@code value} is unset or {@code library}, the reason "-Dproperty=fallback" for {@code fallback}, else an error. */
    static String fallbackReason(String property, String value, String library, String fallback) {
        if (value == null || value.isBlank() || value.trim().equals(library)) return null;
        if (value.trim().equals(fallback)) return "-D" + property + "=" + fallback;
        throw new BackendException("-D" + property + "=" + value + ": expected " + library + " or " + fallback);
    }

    /** For messages and environment reports: the GPU's name and which of cuBLAS / cuDNN are in use (or why not). */
    public String libraries() { return libraries; }

    /** The GPU's name as the driver reports it ({@code NVIDIA H100 80GB HBM3}). */
    public String deviceName() { return cx.deviceName(); }

    /** Waits until every launch and copy issued so far has finished: for timing (ops return once launched). */
    public void synchronize() { cx.synchronize(); }

    /**
     * Gives the device memory of unreachable tensors and every cached block back to the driver, as PyTorch's
     * {@code torch.cuda.empty_cache()}; returns the bytes given back. A tensor's device memory returns to the
     * allocator's cache when the JVM collects the tensor (or when an allocation fails and a collection is forced), so
     * a long run can come to hold much of the device: call this before another process needs the GPU.
     */
    public long emptyCache() {
        CudaContext.collectGarbage();
        return cx.allocator().releaseCached();
    }

    /** Device memory in use by live tensors (and its peak) and cached for reuse, in MiB, for logs and reports. */
    public String memoryReport() {
        CudaAllocator.Stats s = cx.allocator().stats();
        return String.format(Locale.ROOT, "device memory: %d MiB in use (peak %d MiB), %d MiB cached", s.bytesInUse() >> 20,
                s.peakBytesInUse() >> 20, s.bytesCached() >> 20);
    }

    /** The device allocator's counters (for tests and environment reports). */
    CudaAllocator.Stats allocatorStats() { return cx.allocator().stats(); }

    @Override public String name() { return "cuda"; }

    @Override public Device device() { return device; }

    // ---- storage ----

    @Override public Tensor zeros(DType dtype, Shape shape) { return CudaTensors.zeros(cx, dtype, shape); }

    @Override public void copyInto(Tensor src, Tensor dst) { CudaElementwise.copyInto(cx, src, dst); }

    @Override public Tensor fromHost(Tensor host) { return CudaElementwise.fromHost(cx, host); }

    @Override public Tensor toHost(Tensor t) { return CudaElementwise.toHost(cx, t); }

    // ---- elementwise ----

    @Override public Tensor unary(UnaryOp op, Tensor x) { return CudaElementwise.unary(cx, op, x); }

    @Override public Tensor binary(BinaryOp op, Tensor a, Tensor b, Shape outShape) { return CudaElementwise.binary(cx, op, a, b, outShape); }

    @Override public Tensor reluBackward(Tensor dy, Tensor x) { return CudaElementwise.reluBackward(cx, dy, x); }

    // ---- reductions ----

    @Override public Tensor reduce(ReduceOp op, Tensor x, int[] axes, boolean keepDims) { return CudaReduce.reduce(cx, op, x, axes, keepDims); }

    @Override public Tensor argMax(Tensor x, int axis, boolean keepDims) { return CudaReduce.argMax(cx, x, axis, keepDims); }

    @Override public Tensor softmax(Tensor x, int axis) { return CudaSoftmax.softmax(cx, x, axis, false); }

    @Override public Tensor logSoftmax(Tensor x, int axis) { return CudaSoftmax.softmax(cx, x, axis, true); }

    // ---- linear algebra and convolution ----

    @Override public Tensor matmul(Tensor a, Tensor b, Shape outShape) { return linalg.matmul(a, b, outShape); }

    @Override public Tensor conv2d(Tensor x, Tensor w, Conv2dParams p) { return linalg.conv2d(x, w, p); }

    /** The convolution, then bias and ReLU in one pass over y, in place (the default makes two passes and two tensors). */
    @Override public Tensor conv2dBiasRelu(Tensor x, Tensor w, Tensor bias, boolean relu, Conv2dParams p) {
        Tensor y = linalg.conv2d(x, w, p);
        if (bias == null) return relu ? unary(UnaryOp.RELU, y) : y;
        return CudaElementwise.biasActivationInPlace(cx, y, bias, relu ? UnaryOp.RELU : null);
    }

    @Override public Tensor conv2dBackwardInput(Tensor dy, Tensor w, Shape inputShape, Conv2dParams p) {
        return linalg.conv2dBackwardInput(dy, w, inputShape, p);
    }

    @Override public Tensor conv2dBackwardWeight(Tensor dy, Tensor x, Shape weightShape, Conv2dParams p) {
        return linalg.conv2dBackwardWeight(dy, x, weightShape, p);
    }

    // ---- pooling ----

    @Override public MaxPoolResult maxPool2d(Tensor x, Pool2dParams p) { return CudaPool2d.max(cx, x, p); }

    @Override public Tensor maxPool2dBackward(Tensor dy, Tensor indices, Shape inputShape) { return CudaPool2d.maxBackward(cx, dy, indices, inputShape); }

    @Override public Tensor avgPool2d(Tensor x, Pool2dParams p) { return CudaPool2d.avg(cx, x, p); }

    @Override public Tensor avgPool2dBackward(Tensor dy, Shape inputShape, Pool2dParams p) { return CudaPool2d.avgBackward(cx, dy, inputShape, p); }

    // ---- normalization ----

    @Override public NormResult batchNorm(Tensor x, Tensor gamma, Tensor beta, float eps) { return CudaNorm.batchNorm(cx, x, gamma, beta, eps); }

    @Override public Tensor[] batchNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor gamma) {
        return CudaNorm.batchNormBackward(cx, dy, x, mean, invStd, gamma);
    }

    @Override public NormResult layerNorm(Tensor x, int normalizedAxes, Tensor gamma, Tensor beta, float eps) {
        return CudaNorm.layerNorm(cx, x, normalizedAxes, gamma, beta, eps);
    }

    @Override public Tensor[] layerNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor gamma, int normalizedAxes) {
        return CudaNorm.layerNormBackward(cx, dy, x, mean, invStd, gamma, normalizedAxes);
    }

    // ---- indexing ----

    @Override public Tensor oneHot(Tensor labels, int classes) { return CudaSoftmax.oneHot(cx, labels, classes); }

    // ---- in place ----

    @Override public void axpy(float alpha, Tensor x, Tensor y) { CudaElementwise.axpy(cx, alpha, x, y); }

    @Override public void scale(Tensor y, float alpha) { CudaElementwise.scale(cx, y, alpha); }

    @Override public void fill(Tensor y, float value) { CudaElementwise.fill(cx, y, value); }

    @Override public void sgdStep(Tensor param, Tensor grad, Tensor momentumBuf, SgdParams p) { CudaOptimizerSteps.sgd(cx, param, grad, momentumBuf, p); }

    @Override public void adamStep(Tensor param, Tensor grad, Tensor m, Tensor v, AdamParams p) { CudaOptimizerSteps.adam(cx, param, grad, m, v, p); }
}
