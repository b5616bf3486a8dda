package dev.ember.kernels.cpu;

import dev.ember.engine.BufferPool;
import dev.ember.engine.BinaryOp;
import dev.ember.engine.CpuStorage;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * y = op(a, b) with NumPy broadcasting. Both operands are expanded to the output shape (stride 0 on broadcast
 * axes) and walked together in runs along the merged innermost axis ({@link StridedWalk}). A run where each
 * operand steps by 1 or stands still (stride 0, replaced by a block of copies) goes through the vector loop of
 * its op; any other run is scalar. So same-shape contiguous operands are one run, {@code x (N, C) + b (C)} is N
 * vector runs, and {@code x (N, C, H, W) * s (C, 1, 1)} is N*C runs against a standing scalar.
 */
final class CpuBinary {
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    /** Elements per parallel chunk. */
    private static final int GRAIN = 1 << 14;
    /** Copies of a standing operand made at a time. */
    private static final int BLOCK = 1024;

    /** Per-thread room for a standing operand's copies, so that a call allocates nothing but its output. */
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[BLOCK]);

    private CpuBinary() {}

    static Tensor apply(BinaryOp op, Tensor a, Tensor b, Shape outShape) {
        float[] y = BufferPool.uninitialized(outShape.numel());   // y (outShape), contiguous, every element written
        if (y.length == 0) return Tensor.of(CpuStorage.wrap(y), outShape);
        Tensor ea = a.expand(outShape), eb = b.expand(outShape);
        float[] as = CpuCopy.floats(a), bs = CpuCopy.floats(b);
        StridedWalk walk = new StridedWalk(outShape.dims(),
                new int[][] {outShape.contiguousStrides(), ea.strides(), eb.strides()},
                new int[] {0, ea.offset(), eb.offset()});
        int sa = walk.innerStride(1), sb = walk.innerStride(2);
        Parallel.forRange(y.length, GRAIN, (lo, hi) -> {
            float[] scratch = SCRATCH.get();
            walk.forEachRun(lo, hi, (off, n) -> run(op, as, off[1], sa, bs, off[2], sb, y, off[0], n, scratch));
        });
        return Tensor.of(CpuStorage.wrap(y), outShape);
    }

    /**
     * y = max(a + b, 0) in one pass when a and b are contiguous and of the output's shape (a residual block's end), or
     * b is one row repeated down a (a layer's bias before its ReLU: ONNX Gemm then Relu): the sum and the clamp of the
     * two-pass default (Math.max's, as the vector max is), so the same bits, -0 and NaN included, with one array
     * written instead of two. Otherwise null.
     */
    static Tensor addRelu(Tensor a, Tensor b, Shape outShape) {
        if (!a.isContiguous() || !b.isContiguous() || !a.shape().equals(outShape)) return null;
        if (!b.shape().equals(outShape)) return outShape.rank() >= 1 && isRow(b.shape(), outShape) ? addRowRelu(a, b, outShape) : null;
        float[] y = BufferPool.uninitialized(outShape.numel());   // y (outShape), every element written
        float[] as = CpuCopy.floats(a), bs = CpuCopy.floats(b);
        int ao = a.offset(), bo = b.offset();
        Parallel.forRange(y.length, GRAIN, (lo, hi) -> {
            int end = lo + SPECIES.loopBound(hi - lo);
            for (int i = lo; i < end; i += SPECIES.length()) {
                FloatVector.fromArray(SPECIES, as, ao + i).add(FloatVector.fromArray(SPECIES, bs, bo + i)).max(0f).intoArray(y, i);
            }
            for (int i = end; i < hi; i++) y[i] = Math.max(as[ao + i] + bs[bo + i], 0f);
        });
        return Tensor.of(CpuStorage.wrap(y), outShape);
    }

    /** Whether b has the output's last axis and size 1 on every other (a row, as (N) or (1, N)). */
    private static boolean isRow(Shape b, Shape out) {
        if (b.rank() > out.rank() || b.rank() == 0 || b.dim(-1) != out.dim(-1)) return false;
        for (int i = 0; i < b.rank() - 1; i++) if (b.dim(i) != 1) return false;
        return true;
    }

    /** {@link #addRelu} with b one row (N) added to each of a's rows. */
    private static Tensor addRowRelu(Tensor a, Tensor b, Shape outShape) {
        int n = outShape.dim(-1), rows = n == 0 ? 0 : outShape.numel() / n;
        float[] y = BufferPool.uninitialized(outShape.numel());   // y (outShape), every element written
        float[] as = CpuCopy.floats(a), bs = CpuCopy.floats(b);
        int ao = a.offset(), bo = b.offset();
        Parallel.forRange(rows, Math.max(1, GRAIN / Math.max(1, n)), (lo, hi) -> {
            int end = SPECIES.loopBound(n);
            for (int r = lo; r < hi; r++) {
                int at = r * n;
                for (int j = 0; j < end; j += SPECIES.length()) {
                    FloatVector.fromArray(SPECIES, as, ao + at + j).add(FloatVector.fromArray(SPECIES, bs, bo + j)).max(0f).intoArray(y, at + j);
                }
                for (int j = end; j < n; j++) y[at + j] = Math.max(as[ao + at + j] + bs[bo + j], 0f);
            }
        });
        return Tensor.of(CpuStorage.wrap(y), outShape);
    }

    /**
     * dx = dy * [x > 0], the ReLU's backward, in one pass when both are contiguous: the product with 1 or 0 that the
     * two-pass default (a STEP tensor, then MUL) computes, so the same bits, -0 and NaN included. Otherwise null.
     */
    static Tensor reluBackward(Tensor dy, Tensor x) {
        if (!dy.isContiguous() || !x.isContiguous() || !dy.shape().equals(x.shape())) return null;
        float[] y = BufferPool.uninitialized(dy.numel());   // y (dy's shape), every element written
        float[] g = CpuCopy.floats(dy), xs = CpuCopy.floats(x);
        int go = dy.offset(), xo = x.offset();
        Parallel.forRange(y.length, GRAIN, (lo, hi) -> {
            FloatVector zero = FloatVector.zero(SPECIES);
            int end = lo + SPECIES.loopBound(hi - lo);
            for (int i = lo; i < end; i += SPECIES.length()) {
                FloatVector step = zero.blend(1f, FloatVector.fromArray(SPECIES, xs, xo + i).compare(VectorOperators.GT, 0f));
                FloatVector.fromArray(SPECIES, g, go + i).mul(step).intoArray(y, i);
            }
            for (int i = end; i < hi; i++) y[i] = g[go + i] * (xs[xo + i] > 0 ? 1f : 0f);
        });
        return Tensor.of(CpuStorage.wrap(y), dy.shape());
    }

    /** y[yo + i] = op(a[ao + i*sa], b[bo + i*sb]) for i in [0, n); {@code scratch} holds a standing operand. */
    static void run(BinaryOp op, float[] a, int ao, int sa, float[] b, int bo, int sb, float[] y, int yo, int n, float[] scratch) {
        boolean unitOrStill = (sa == 0 || sa == 1) && (sb == 0 || sb == 1);
        if (op == BinaryOp.POW || !unitOrStill) {
            // POW follows Math.pow exactly (the vector POW may differ in the last bit); other strides gather
            for (int i = 0; i < n; i++) y[yo + i] = scalar(op, a[ao + i * sa], b[bo + i * sb]);
        } else if (sa == 1 && sb == 1) {
            contiguous(op, a, ao, b, bo, y, yo, n);
        } else if (sa == 0 && sb == 0) {
            Arrays.fill(y, yo, yo + n, scalar(op, a[ao], b[bo]));
        } else {
            // one operand stands still: a block of copies of it turns the run into the contiguous case
            int m = Math.min(n, scratch.length);
            Arrays.fill(scratch, 0, m, sa == 0 ? a[ao] : b[bo]);
            for (int from = 0; from < n; from += m) {
                int len = Math.min(m, n - from);
                if (sa == 0) contiguous(op, scratch, 0, b, bo + from, y, yo + from, len);
                else contiguous(op, a, ao + from, scratch, 0, y, yo + from, len);
            }
        }
    }

    /** y[yo + i] = op(a[ao + i], b[bo + i]) for i in [0, n): one vector loop per op, then a scalar tail. */
    private static void contiguous(BinaryOp op, float[] a, int ao, float[] b, int bo, float[] y, int yo, int n) {
        int end = SPECIES.loopBound(n);
        switch (op) {
            case ADD -> add(a, ao, b, bo, y, yo, end);
            case SUB -> sub(a, ao, b, bo, y, yo, end);
            case MUL -> mul(a, ao, b, bo, y, yo, end);
            case DIV -> div(a, ao, b, bo, y, yo, end);
            case MAX -> max(a, ao, b, bo, y, yo, end);
            case MIN -> min(a, ao, b, bo, y, yo, end);
            case EQ -> eq(a, ao, b, bo, y, yo, end);
            case LT -> lt(a, ao, b, bo, y, yo, end);
            case GT -> gt(a, ao, b, bo, y, yo, end);
            case POW -> end = 0;
        }
        for (int i = end; i < n; i++) y[yo + i] = scalar(op, a[ao + i], b[bo + i]);
    }

    private static void add(float[] a, int ao, float[] b, int bo, float[] y, int yo, int end) {
        for (int i = 0; i < end; i += SPECIES.length()) FloatVector.fromArray(SPECIES, a, ao + i).add(FloatVector.fromArray(SPECIES, b, bo + i)).intoArray(y, yo + i);
    }

    private static void sub(float[] a, int ao, float[] b, int bo, float[] y, int yo, int end) {
        for (int i = 0; i < end; i += SPECIES.length()) FloatVector.fromArray(SPECIES, a, ao + i).sub(FloatVector.fromArray(SPECIES, b, bo + i)).intoArray(y, yo + i);
    }

    private static void mul(float[] a, int ao, float[] b, int bo, float[] y, int yo, int end) {
        for (int i = 0; i < end; i += SPECIES.length()) FloatVector.fromArray(SPECIES, a, ao + i).mul(FloatVector.fromArray(SPECIES, b, bo + i)).intoArray(y, yo + i);
    }

    private static void div(float[] a, int ao, float[] b, int bo, float[] y, int yo, int end) {
        for (int i = 0; i < end; i += SPECIES.length()) FloatVector.fromArray(SPECIES, a, ao + i).div(FloatVector.fromArray(SPECIES, b, bo + i)).intoArray(y, yo + i);
    }

    private static void max(float[] a, int ao, float[] b, int bo, float[] y, int yo, int end) {
        for (int i = 0; i < end; i += SPECIES.length()) FloatVector.fromArray(SPECIES, a, ao + i).max(FloatVector.fromArray(SPECIES, b, bo + i)).intoArray(y, yo + i);
    }

    private static void min(float[] a, int ao, float[] b, int bo, float[] y, int yo, int end) {
        for (int i = 0; i < end; i += SPECIES.length()) FloatVector.fromArray(SPECIES, a, ao + i).min(FloatVector.fromArray(SPECIES, b, bo + i)).intoArray(y, yo + i);
    }

    // comparisons give 1 where they hold, else 0; one loop each, as the operator must be a constant to compile to one instruction

    private static void eq(float[] a, int ao, float[] b, int bo, float[] y, int yo, int end) {
        FloatVector zero = FloatVector.zero(SPECIES);
        for (int i = 0; i < end; i += SPECIES.length()) {
            zero.blend(1f, FloatVector.fromArray(SPECIES, a, ao + i).compare(VectorOperators.EQ, FloatVector.fromArray(SPECIES, b, bo + i))).intoArray(y, yo + i);
        }
    }

    private static void lt(float[] a, int ao, float[] b, int bo, float[] y, int yo, int end) {
        FloatVector zero = FloatVector.zero(SPECIES);
        for (int i = 0; i < end; i += SPECIES.length()) {
            zero.blend(1f, FloatVector.fromArray(SPECIES, a, ao + i).compare(VectorOperators.LT, FloatVector.fromArray(SPECIES, b, bo + i))).intoArray(y, yo + i);
        }
    }

    private static void gt(float[] a, int ao, float[] b, int bo, float[] y, int yo, int end) {
        FloatVector zero = FloatVector.zero(SPECIES);
        for (int i = 0; i < end; i += SPECIES.length()) {
            zero.blend(1f, FloatVector.fromArray(SPECIES, a, ao + i).compare(VectorOperators.GT, FloatVector.fromArray(SPECIES, b, bo + i))).intoArray(y, yo + i);
        }
    }

    static float scalar(BinaryOp op, float a, float b) {
        return switch (op) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> a / b;
            case POW -> (float) Math.pow(a, b);
            case MAX -> Math.max(a, b);
            case MIN -> Math.min(a, b);
            case EQ -> a == b ? 1f : 0f;
            case LT -> a < b ? 1f : 0f;
            case GT -> a > b ? 1f : 0f;
        };
    }
}
