package dev.ember.kernels.cuda;

import dev.ember.engine.DType;
import dev.ember.engine.ReduceOp;
import dev.ember.engine.Shape;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;

import java.util.Arrays;

/**
 * reduce.cu from Java. The input view is permuted so kept axes come first and reduced axes last (no copy: the
 * kernel reads through strides), giving the virtual matrix x (O, R) that reduce.cu folds one block per output.
 */
final class CudaReduce {
    private static final int MAX_GRID = 65_535;

    private CudaReduce() {}

    static Tensor reduce(CudaContext cx, ReduceOp op, Tensor x, int[] axes, boolean keepDims) {
        CudaTensors.requireFloat("reduce " + op + " input", x);
        int[] dims = x.dims();
        boolean[] reduced = new boolean[dims.length];
        for (int a : axes) reduced[a] = true;
        int[] kept = dims.clone();
        int count = 1;
        for (int a : axes) {
            kept[a] = 1;
            count *= dims[a];
        }
        Shape outShape = keepDims ? Shape.of(kept) : Shape.of(dropReduced(dims, reduced));
        Tensor y = CudaTensors.zeros(cx, DType.FLOAT32, outShape);
        if (outShape.numel() == 0) return y;
        if (count == 0) {
            if (op != ReduceOp.SUM) throw new ShapeException(op + " over an empty axis of " + x.shape() + " (axes " + Arrays.toString(axes) + ") has no value");
            return y;
        }
        Tensor view = x.permute(keptFirst(reduced));
        int outer = outShape.numel();
        cx.launch(Kernel.REDUCE, Math.min(outer, MAX_GRID), 1, 1, new KernelArgs().i32(op.ordinal()).strided(Strided.of(view))
                .address(CudaTensors.base(x)).address(CudaTensors.address(y)).i32(outer).i32(count));
        return y;
    }

    /** int64 index of the largest element along {@code axis} (the first on ties; a NaN wins). */
    static Tensor argMax(CudaContext cx, Tensor x, int axis, boolean keepDims) {
        CudaTensors.requireFloat("argMax input", x);
        int len = x.dim(axis);
        if (len == 0) throw new ShapeException("argMax over the empty axis " + axis + " of " + x.shape());
        boolean[] reduced = new boolean[x.rank()];
        reduced[axis] = true;
        int[] kept = x.dims();
        kept[axis] = 1;
        Shape outShape = keepDims ? Shape.of(kept) : Shape.of(dropReduced(x.dims(), reduced));
        Tensor y = CudaTensors.zeros(cx, DType.INT64, outShape);
        int outer = outShape.numel();
        if (outer == 0) return y;
        Tensor view = x.permute(keptFirst(reduced));
        cx.launch(Kernel.ARGMAX, Math.min(outer, MAX_GRID), 1, 1, new KernelArgs().strided(Strided.of(view)).address(CudaTensors.base(x))
                .address(CudaTensors.address(y)).i32(outer).i32(len));
        return y;
    }

    /** Axis order with the kept axes first, then the reduced ones, each in their original order. */
    static int[] keptFirst(boolean[] reduced) {
        int[] perm = new int[reduced.length];
        int at = 0;
        for (int a = 0; a < reduced.length; a++) if (!reduced[a]) perm[at++] = a;
        for (int a = 0; a < reduced.length; a++) if (reduced[a]) perm[at++] = a;
        return perm;
    }

    private static int[] dropReduced(int[] dims, boolean[] reduced) {
        int n = 0;
        for (boolean r : reduced) if (!r) n++;
        int[] out = new int[n];
        for (int a = 0, j = 0; a < dims.length; a++) if (!reduced[a]) out[j++] = dims[a];
        return out;
    }
}
