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
    /** Blocks that fill an H100/H200 (132 SMs) several times over. */
    private static final int TARGET_BLOCKS = 1024;
    /** The shortest chunk of R worth a block of its own: 16 elements per thread. */
    private static final int MIN_CHUNK = 4096;

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
        int splits = splits(outer, count);
        if (splits == 1) {
            fold(cx, op, Strided.of(view), CudaTensors.base(x), y, outer, count, 1);
        } else {
            Tensor partial = CudaTensors.empty(cx, DType.FLOAT32, Shape.of(outer, splits));   // (O, splits), every cell written
            fold(cx, op, Strided.of(view), CudaTensors.base(x), partial, outer, count, splits);
            fold(cx, op, Strided.of(partial), CudaTensors.base(partial), y, outer, splits, 1);
        }
        return y;
    }

    /**
     * Chunks per output: 1 when the outputs alone give enough blocks or R is short; else enough chunks of at least
     * {@link #MIN_CHUNK} for about {@link #TARGET_BLOCKS} blocks, none of them empty.
     */
    static int splits(int outer, int count) {
        if (outer >= TARGET_BLOCKS / 4 || count < 2 * MIN_CHUNK) return 1;
        int wanted = Math.min(count / MIN_CHUNK, Math.ceilDiv(TARGET_BLOCKS, outer));
        if (wanted < 2) return 1;
        int chunk = Math.ceilDiv(count, wanted);
        return Math.ceilDiv(count, chunk);
    }

    private static void fold(CudaContext cx, ReduceOp op, Strided x, long xBase, Tensor y, int outer, int count, int splits) {
        cx.launch(Kernel.REDUCE, (int) Math.min((long) outer * splits, MAX_GRID), 1, 1, new KernelArgs().i32(op.ordinal()).strided(x)
                .address(xBase).address(CudaTensors.address(y)).i32(outer).i32(count).i32(splits));
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
