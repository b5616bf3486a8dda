package dev.ember.kernels.cpu;

import dev.ember.engine.BufferPool;
import dev.ember.engine.CpuStorage;
import dev.ember.engine.ReduceOp;
import dev.ember.engine.Shape;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * SUM / MAX / MIN over a set of axes, and argMax along one. The input is made contiguous, size-1 axes dropped
 * and neighbouring axes of the same kind (kept or reduced) merged, which leaves one of two layouts:
 * <pre>
 *   rows    x (O, R)     y[o]    = reduce_r x[o, r]      (reduced axes last: mean over features, a full sum)
 *   columns x (O, R, I)  y[o, i] = reduce_r x[o, r, i]   (a kept block inside: a bias gradient over the batch)
 * </pre>
 * Any other pattern is permuted to rows by one copy. Sums run in float vectors over fixed blocks of
 * {@link #BLOCK} elements (rows) or {@link #ROW_BLOCK} rows (columns) and add the block sums in double, in block
 * order. Block boundaries depend only on the sizes, and a long row is split across threads by whole blocks whose
 * sums are added in order afterwards, so the result is bit-identical whatever the thread count.
 */
final class CpuReduce {
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    /** Elements summed in float before the partial goes into the double total. */
    static final int BLOCK = 1024;
    /** Rows summed in float per column before going into the double total. */
    static final int ROW_BLOCK = 64;
    /** Columns per task in the columns layout (8 KiB of floats: one L1-sized strip). */
    private static final int COLUMN_STRIP = 2048;
    /** Elements per parallel chunk. */
    private static final int GRAIN = 1 << 15;

    private CpuReduce() {}

    static Tensor reduce(ReduceOp op, Tensor x, int[] axes, boolean keepDims) {
        int[] dims = x.dims();
        boolean[] reduced = new boolean[dims.length];
        for (int a : axes) reduced[a] = true;
        int[] kept = dims.clone();
        int count = 1;
        for (int a : axes) {
            kept[a] = 1;
            count *= dims[a];
        }
        Shape outShape = keepDims ? Shape.of(kept) : Shape.of(dropped(dims, reduced));
        float[] y = BufferPool.zeroed(outShape.numel());
        if (y.length == 0) return Tensor.of(CpuStorage.wrap(y), outShape);
        if (count == 0) {
            if (op != ReduceOp.SUM) throw new ShapeException(op + " over an empty axis of " + x.shape() + " (axes " + Arrays.toString(axes) + ") has no value");
            return Tensor.of(CpuStorage.wrap(y), outShape);
        }

        Tensor c = CpuCopy.contiguous(x);
        // merge neighbouring axes of one kind, skipping size-1 axes
        List<int[]> groups = new ArrayList<>();   // {size, reduced ? 1 : 0}
        for (int a = 0; a < dims.length; a++) {
            if (dims[a] == 1) continue;
            int kind = reduced[a] ? 1 : 0;
            if (!groups.isEmpty() && groups.getLast()[1] == kind) groups.getLast()[0] *= dims[a];
            else groups.add(new int[] {dims[a], kind});
        }
        int reducedGroups = 0;
        for (int[] g : groups) reducedGroups += g[1];
        if (reducedGroups == 0) {   // every reduced axis has size 1: the values themselves
            System.arraycopy(CpuCopy.floats(c), c.offset(), y, 0, y.length);
            return Tensor.of(CpuStorage.wrap(y), outShape);
        }
        if (reducedGroups == 1 && groups.getLast()[1] == 1) {
            rows(op, CpuCopy.floats(c), c.offset(), y.length, count, y);
        } else if (reducedGroups == 1 && groups.size() >= 2 && groups.get(groups.size() - 2)[1] == 1) {
            int inner = groups.getLast()[0];
            columns(op, CpuCopy.floats(c), c.offset(), y.length / inner, count, inner, y);
        } else if (op == ReduceOp.SUM && groups.size() == 3 && groups.get(0)[1] == 1 && groups.get(2)[0] % SPECIES.length() == 0) {
            // x (R1, O, R2), a bias gradient over (N, H, W): each output's row is R1 segments of R2, read in place
            int r1 = groups.get(0)[0], o = groups.get(1)[0], r2 = groups.get(2)[0];
            segmentedRows(CpuCopy.floats(c), c.offset(), r1, o, r2, y);
        } else {
            // scattered reduced axes: kept axes first, reduced last, one copy, then rows
            int[] perm = new int[dims.length];
            int k = 0;
            for (int a = 0; a < dims.length; a++) if (!reduced[a]) perm[k++] = a;
            for (int a = 0; a < dims.length; a++) if (reduced[a]) perm[k++] = a;
            Tensor p = CpuCopy.contiguous(c.permute(perm));
            rows(op, CpuCopy.floats(p), p.offset(), y.length, count, y);
        }
        return Tensor.of(CpuStorage.wrap(y), outShape);
    }

    // ---- rows: y[o] = reduce x[o, 0..r) ----

    private static void rows(ReduceOp op, float[] x, int xo, int outer, int r, float[] y) {
        int blocks = (r + BLOCK - 1) / BLOCK;
        if (outer >= 4 * Parallel.THREADS || blocks == 1) {
            Parallel.forRange(outer, Math.max(1, GRAIN / r), (lo, hi) -> {
                double[] partial = new double[blocks];
                for (int o = lo; o < hi; o++) {
                    for (int b = 0; b < blocks; b++) partial[b] = block(op, x, xo + o * r + b * BLOCK, Math.min(BLOCK, r - b * BLOCK));
                    y[o] = (float) combine(op, partial);
                }
            });
        } else {
            // few long rows: split each row across threads by whole blocks, then add the block results in order
            for (int o = 0; o < outer; o++) {
                int rowStart = xo + o * r;
                double[] partial = new double[blocks];
                Parallel.forRange(blocks, Math.max(1, GRAIN / BLOCK), (lo, hi) -> {
                    for (int b = lo; b < hi; b++) partial[b] = block(op, x, rowStart + b * BLOCK, Math.min(BLOCK, r - b * BLOCK));
                });
                y[o] = (float) combine(op, partial);
            }
        }
    }

    /**
     * y[o] = sum of x[r1, o, r2] over (r1, r2), x (R1, O, R2) with R2 a multiple of the vector length: the sum that
     * {@link #rows} gives over the permuted copy x' (O, R1*R2), without the copy. Row o of x' is R1 segments of R2
     * elements; a vector never straddles two, so {@link #sumBlock}'s loads, accumulators and block boundaries map
     * one to one onto x and the bits are the same.
     */
    private static void segmentedRows(float[] x, int xo, int r1, int outer, int r2, float[] y) {
        int r = r1 * r2, blocks = (r + BLOCK - 1) / BLOCK;
        Parallel.forRange(outer, Math.max(1, GRAIN / r), (lo, hi) -> {
            double[] partial = new double[blocks];
            for (int o = lo; o < hi; o++) {
                for (int b = 0; b < blocks; b++) partial[b] = sumSegmented(x, xo + o * r2, outer * r2, r2, b * BLOCK, Math.min(BLOCK, r - b * BLOCK));
                y[o] = (float) combine(ReduceOp.SUM, partial);
            }
        });
    }

    /** {@link #sumBlock} over virtual elements [v0, v0 + n) of a row whose element v sits at base + (v / len) * stride + v % len. */
    private static float sumSegmented(float[] x, int base, int stride, int len, int v0, int n) {
        int lanes = SPECIES.length(), i = 0;
        FloatVector a0 = FloatVector.zero(SPECIES), a1 = a0, a2 = a0, a3 = a0;
        for (int bound = n - 4 * lanes; i <= bound; i += 4 * lanes) {
            a0 = a0.add(FloatVector.fromArray(SPECIES, x, at(base, stride, len, v0 + i)));
            a1 = a1.add(FloatVector.fromArray(SPECIES, x, at(base, stride, len, v0 + i + lanes)));
            a2 = a2.add(FloatVector.fromArray(SPECIES, x, at(base, stride, len, v0 + i + 2 * lanes)));
            a3 = a3.add(FloatVector.fromArray(SPECIES, x, at(base, stride, len, v0 + i + 3 * lanes)));
        }
        for (; i < n; i += lanes) a0 = a0.add(FloatVector.fromArray(SPECIES, x, at(base, stride, len, v0 + i)));   // n is a multiple of lanes
        return CpuMath.laneSum(a0.add(a1).add(a2.add(a3)));
    }

    private static int at(int base, int stride, int len, int v) { return base + (v / len) * stride + v % len; }

    private static double combine(ReduceOp op, double[] partial) {
        double acc = partial[0];
        for (int b = 1; b < partial.length; b++) {
            acc = switch (op) {
                case SUM -> acc + partial[b];
                case MAX -> Math.max(acc, partial[b]);
                case MIN -> Math.min(acc, partial[b]);
            };
        }
        return acc;
    }

    /** reduce x[from, from + n), n <= BLOCK: four vector accumulators, lanes reduced, scalar tail. */
    private static float block(ReduceOp op, float[] x, int from, int n) {
        return switch (op) {
            case SUM -> sumBlock(x, from, n);
            case MAX -> maxBlock(x, from, n, true);
            case MIN -> maxBlock(x, from, n, false);
        };
    }

    private static float sumBlock(float[] x, int from, int n) {
        int lanes = SPECIES.length(), i = 0;
        if (n < lanes) {   // the same sum as below (its vectors stay zero), without reducing lanes of zeros: a
            float s = 0f;  // global average pool over 2x2 pixels sums 16k such rows
            for (; i < n; i++) s += x[from + i];
            return s;
        }
        FloatVector a0 = FloatVector.zero(SPECIES), a1 = a0, a2 = a0, a3 = a0;
        for (int bound = n - 4 * lanes; i <= bound; i += 4 * lanes) {
            a0 = a0.add(FloatVector.fromArray(SPECIES, x, from + i));
            a1 = a1.add(FloatVector.fromArray(SPECIES, x, from + i + lanes));
            a2 = a2.add(FloatVector.fromArray(SPECIES, x, from + i + 2 * lanes));
            a3 = a3.add(FloatVector.fromArray(SPECIES, x, from + i + 3 * lanes));
        }
        for (int bound = SPECIES.loopBound(n); i < bound; i += lanes) a0 = a0.add(FloatVector.fromArray(SPECIES, x, from + i));
        float s = CpuMath.laneSum(a0.add(a1).add(a2.add(a3)));
        for (; i < n; i++) s += x[from + i];
        return s;
    }

    private static float maxBlock(float[] x, int from, int n, boolean max) {
        int lanes = SPECIES.length(), i = 0;
        float start = max ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY;
        FloatVector acc = FloatVector.broadcast(SPECIES, start);
        for (int bound = SPECIES.loopBound(n); i < bound; i += lanes) {
            FloatVector v = FloatVector.fromArray(SPECIES, x, from + i);
            acc = max ? acc.max(v) : acc.min(v);
        }
        float m = acc.reduceLanes(max ? VectorOperators.MAX : VectorOperators.MIN);
        for (; i < n; i++) m = max ? Math.max(m, x[from + i]) : Math.min(m, x[from + i]);
        return m;
    }

    // ---- columns: y[o, i] = reduce_r x[o, r, i] ----

    private static void columns(ReduceOp op, float[] x, int xo, int outer, int r, int inner, float[] y) {
        int strips = (inner + COLUMN_STRIP - 1) / COLUMN_STRIP;
        long work = (long) r * Math.min(inner, COLUMN_STRIP);
        Parallel.forRange(outer * strips, (int) Math.max(1, GRAIN / work), (lo, hi) -> {
            float[] part = new float[Math.min(inner, COLUMN_STRIP)];
            double[] total = op == ReduceOp.SUM ? new double[part.length] : null;
            for (int task = lo; task < hi; task++) {
                int o = task / strips, i0 = (task % strips) * COLUMN_STRIP, width = Math.min(COLUMN_STRIP, inner - i0);
                int base = xo + o * r * inner + i0;
                if (op == ReduceOp.SUM) {
                    Arrays.fill(total, 0, width, 0);
                    for (int r0 = 0; r0 < r; r0 += ROW_BLOCK) {
                        Arrays.fill(part, 0, width, 0f);
                        for (int row = r0; row < Math.min(r, r0 + ROW_BLOCK); row++) addRow(x, base + row * inner, part, width);
                        for (int i = 0; i < width; i++) total[i] += part[i];
                    }
                    for (int i = 0; i < width; i++) y[o * inner + i0 + i] = (float) total[i];
                } else {
                    boolean max = op == ReduceOp.MAX;
                    System.arraycopy(x, base, part, 0, width);
                    for (int row = 1; row < r; row++) maxRow(x, base + row * inner, part, width, max);
                    System.arraycopy(part, 0, y, o * inner + i0, width);
                }
            }
        });
    }

    /** acc[0, n) += x[from, from + n). */
    private static void addRow(float[] x, int from, float[] acc, int n) {
        int i = 0;
        for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
            FloatVector.fromArray(SPECIES, acc, i).add(FloatVector.fromArray(SPECIES, x, from + i)).intoArray(acc, i);
        }
        for (; i < n; i++) acc[i] += x[from + i];
    }

    /** acc[0, n) = max (or min) of itself and x[from, from + n). */
    private static void maxRow(float[] x, int from, float[] acc, int n, boolean max) {
        int i = 0;
        for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
            FloatVector a = FloatVector.fromArray(SPECIES, acc, i), v = FloatVector.fromArray(SPECIES, x, from + i);
            (max ? a.max(v) : a.min(v)).intoArray(acc, i);
        }
        for (; i < n; i++) acc[i] = max ? Math.max(acc[i], x[from + i]) : Math.min(acc[i], x[from + i]);
    }

    // ---- argMax ----

    static Tensor argMax(Tensor x, int axis, boolean keepDims) {
        int[] dims = x.dims();
        int outer = product(dims, 0, axis), len = dims[axis], inner = product(dims, axis + 1, dims.length);
        boolean[] drop = new boolean[dims.length];
        drop[axis] = true;
        int[] kept = dims.clone();
        kept[axis] = 1;
        Shape outShape = keepDims ? Shape.of(kept) : Shape.of(dropped(dims, drop));
        long[] y = new long[outer * inner];   // y (outer, inner)
        if (y.length == 0) return Tensor.of(CpuStorage.wrap(y), outShape);
        if (len == 0) throw new ShapeException("argMax over empty axis " + axis + " of " + x.shape());
        Tensor c = CpuCopy.contiguous(x);
        float[] xs = CpuCopy.floats(c);   // x (outer, len, inner) from offset xo
        int xo = c.offset();
        Parallel.forRange(y.length, Math.max(1, GRAIN / len), (lo, hi) -> {
            for (int j = lo; j < hi; j++) {
                int o = j / inner, in = j % inner, base = xo + o * len * inner + in;
                int best = 0;
                float bestValue = xs[base];
                for (int l = 1; l < len; l++) {
                    float v = xs[base + l * inner];
                    // strictly greater keeps the first maximum; a NaN wins over any number, the first NaN stays
                    if (v > bestValue || (Float.isNaN(v) && !Float.isNaN(bestValue))) {
                        best = l;
                        bestValue = v;
                    }
                }
                y[j] = best;
            }
        });
        return Tensor.of(CpuStorage.wrap(y), outShape);
    }

    /** dims[from] * ... * dims[to - 1]. */
    static int product(int[] dims, int from, int to) {
        int p = 1;
        for (int a = from; a < to; a++) p *= dims[a];
        return p;
    }

    private static int[] dropped(int[] dims, boolean[] drop) {
        int n = 0;
        for (boolean d : drop) if (!d) n++;
        int[] out = new int[n];
        for (int i = 0, j = 0; i < dims.length; i++) if (!drop[i]) out[j++] = dims[i];
        return out;
    }
}
