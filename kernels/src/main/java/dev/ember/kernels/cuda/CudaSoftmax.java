package dev.ember.kernels.cuda;

import dev.ember.engine.DType;
import dev.ember.engine.DTypeException;
import dev.ember.engine.Shape;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;

/** softmax.cu from Java: softmax / log-softmax along an axis and one-hot rows (cross-entropy kernels are not in the SPI yet). */
final class CudaSoftmax {
    private static final int MAX_GRID = 65_535;

    private CudaSoftmax() {}

    /** x seen as (O, L, I) around {@code axis}. */
    static Tensor softmax(CudaContext cx, Tensor x, int axis, boolean logarithm) {
        CudaTensors.requireFloat(logarithm ? "logSoftmax input" : "softmax input", x);
        Tensor c = CudaTensors.contiguous(cx, x);
        Tensor y = CudaTensors.empty(cx, DType.FLOAT32, x.shape());
        int outer = 1, inner = 1, len = x.dim(axis);
        for (int a = 0; a < axis; a++) outer *= x.dim(a);
        for (int a = axis + 1; a < x.rank(); a++) inner *= x.dim(a);
        long rows = (long) outer * inner;
        if (rows == 0 || len == 0) return y;
        cx.launch(Kernel.SOFTMAX, (int) Math.min(rows, MAX_GRID), 1, 1, new KernelArgs().address(CudaTensors.address(c)).address(CudaTensors.address(y))
                .i32(outer).i32(len).i32(inner).i32(logarithm ? 1 : 0));
        return y;
    }

    /** float32 (..., classes) with 1 at each label; a label outside [0, classes) is a {@link ShapeException}. */
    static Tensor oneHot(CudaContext cx, Tensor labels, int classes) {
        if (labels.dtype() != DType.INT32 && labels.dtype() != DType.INT64) throw new DTypeException("oneHot labels must be int32 or int64, got " + labels.dtype());
        Tensor l = CudaTensors.contiguous(cx, labels);
        int[] dims = labels.dims(), outDims = new int[dims.length + 1];
        System.arraycopy(dims, 0, outDims, 0, dims.length);
        outDims[dims.length] = classes;
        Tensor y = CudaTensors.zeros(cx, DType.FLOAT32, Shape.of(outDims));
        int n = labels.numel();
        if (n == 0) return y;
        Tensor bad = CudaElementwise.fromHost(cx, Tensor.ofInts(new int[] {Integer.MAX_VALUE}, 1));
        cx.launch1d(Kernel.ONE_HOT, n, new KernelArgs().address(CudaTensors.address(l)).i32(labels.dtype() == DType.INT64 ? 1 : 0)
                .address(CudaTensors.address(y)).i32(n).i32(classes).address(CudaTensors.address(bad)));
        int first = CudaElementwise.toHost(cx, bad).toIntArray()[0];
        if (first != Integer.MAX_VALUE) {
            long label = CudaElementwise.toHost(cx, l.reshape(-1).slice(0, first, first + 1)).toLongArray()[0];
            throw new ShapeException("oneHot: label " + label + " at flat index " + first + " of " + labels.shape() + " is outside [0, " + classes + ")");
        }
        return y;
    }
}
