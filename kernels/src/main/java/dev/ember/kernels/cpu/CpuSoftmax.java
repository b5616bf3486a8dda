package dev.ember.kernels.cpu;

import dev.ember.engine.BufferPool;
import dev.ember.engine.CpuStorage;
import dev.ember.engine.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * softmax and log-softmax along one axis, stable by subtracting the max first. The input is made contiguous and
 * seen as x (O, L, I) around the axis. With I = 1 (the last axis: logits) each row takes three passes: the max;
 * x - max into y, {@link CpuMath#exp} in place and the sum (float within blocks of {@link CpuReduce#BLOCK},
 * double across); then scale, or shift for log-softmax. With I &gt; 1 the same passes run down the L rows of a
 * strip of columns. Each row or strip belongs to one task, so results do not depend on the thread count.
 */
final class CpuSoftmax {
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int COLUMN_STRIP = 1024;
    /** Elements per parallel chunk. */
    private static final int GRAIN = 1 << 14;

    private CpuSoftmax() {}

    static Tensor softmax(Tensor x, int axis, boolean log) {
        int[] dims = x.dims();
        int outer = CpuReduce.product(dims, 0, axis), len = dims[axis], inner = CpuReduce.product(dims, axis + 1, dims.length);
        float[] y = BufferPool.zeroed(x.numel());   // y (O, L, I)
        if (y.length == 0) return Tensor.of(CpuStorage.wrap(y), x.shape());
        Tensor c = CpuCopy.contiguous(x);
        float[] xs = CpuCopy.floats(c);     // x (O, L, I) from offset xo
        int xo = c.offset();
        if (inner == 1) {
            Parallel.forRange(outer, Math.max(1, GRAIN / len), (lo, hi) -> {
                for (int o = lo; o < hi; o++) row(xs, xo + o * len, y, o * len, len, log);
            });
        } else {
            int strips = (inner + COLUMN_STRIP - 1) / COLUMN_STRIP;
            Parallel.forRange(outer * strips, Math.max(1, GRAIN / (len * Math.min(inner, COLUMN_STRIP))), (lo, hi) -> {
                float[] max = new float[Math.min(inner, COLUMN_STRIP)], sum = new float[max.length];
                for (int task = lo; task < hi; task++) {
                    int o = task / strips, i0 = (task % strips) * COLUMN_STRIP, width = Math.min(COLUMN_STRIP, inner - i0);
                    int at = o * len * inner + i0;
                    columns(xs, xo + at, y, at, len, inner, width, max, sum, log);
                }
            });
        }
        return Tensor.of(CpuStorage.wrap(y), x.shape());
    }

    /** One row of n: y[yo..] = softmax (or log-softmax) of x[xo..]. */
    private static void row(float[] x, int xo, float[] y, int yo, int n, boolean log) {
        int lanes = SPECIES.length(), bound = SPECIES.loopBound(n);
        // pass 1: max
        FloatVector vmax = FloatVector.broadcast(SPECIES, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i < bound; i += lanes) vmax = vmax.max(FloatVector.fromArray(SPECIES, x, xo + i));
        float max = vmax.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) max = Math.max(max, x[xo + i]);
        // pass 2: e = e^(x - max) into y, summed in float per block and in double across blocks
        i = 0;
        for (; i < bound; i += lanes) FloatVector.fromArray(SPECIES, x, xo + i).sub(max).intoArray(y, yo + i);
        for (; i < n; i++) y[yo + i] = x[xo + i] - max;
        CpuMath.exp(y, yo, y, yo, n);
        double sum = 0;
        for (int from = 0; from < n; from += CpuReduce.BLOCK) {
            int to = Math.min(n, from + CpuReduce.BLOCK), j = from;
            FloatVector acc = FloatVector.zero(SPECIES);
            for (int blockBound = from + SPECIES.loopBound(to - from); j < blockBound; j += lanes) acc = acc.add(FloatVector.fromArray(SPECIES, y, yo + j));
            float s = CpuMath.laneSum(acc);
            for (; j < to; j++) s += y[yo + j];
            sum += s;
        }
        // pass 3: y = e / sum, or x - max - log sum
        if (log) {
            float logSum = (float) StrictMath.log(sum);
            i = 0;
            for (; i < bound; i += lanes) FloatVector.fromArray(SPECIES, x, xo + i).sub(max).sub(logSum).intoArray(y, yo + i);
            for (; i < n; i++) y[yo + i] = x[xo + i] - max - logSum;
        } else {
            float inv = (float) (1 / sum);
            i = 0;
            for (; i < bound; i += lanes) FloatVector.fromArray(SPECIES, y, yo + i).mul(inv).intoArray(y, yo + i);
            for (; i < n; i++) y[yo + i] *= inv;
        }
    }

    /** A strip of {@code width} columns of x (len, stride) at xo: softmax down each column. */
    private static void columns(float[] x, int xo, float[] y, int yo, int len, int stride, int width,
                                float[] max, float[] sum, boolean log) {
        int lanes = SPECIES.length(), bound = SPECIES.loopBound(width);
        System.arraycopy(x, xo, max, 0, width);
        for (int l = 1; l < len; l++) {
            int at = xo + l * stride, i = 0;
            for (; i < bound; i += lanes) FloatVector.fromArray(SPECIES, max, i).max(FloatVector.fromArray(SPECIES, x, at + i)).intoArray(max, i);
            for (; i < width; i++) max[i] = Math.max(max[i], x[at + i]);
        }
        // e = e^(x - max) into y row by row, and its column sums
        Arrays.fill(sum, 0, width, 0f);
        for (int l = 0; l < len; l++) {
            int at = xo + l * stride, out = yo + l * stride, i = 0;
            for (; i < bound; i += lanes) FloatVector.fromArray(SPECIES, x, at + i).sub(FloatVector.fromArray(SPECIES, max, i)).intoArray(y, out + i);
            for (; i < width; i++) y[out + i] = x[at + i] - max[i];
            CpuMath.exp(y, out, y, out, width);
            for (i = 0; i < bound; i += lanes) FloatVector.fromArray(SPECIES, sum, i).add(FloatVector.fromArray(SPECIES, y, out + i)).intoArray(sum, i);
            for (; i < width; i++) sum[i] += y[out + i];
        }
        for (int i = 0; i < width; i++) sum[i] = log ? (float) StrictMath.log(sum[i]) : 1f / sum[i];   // log sum, or the scale
        for (int l = 0; l < len; l++) {
            int at = xo + l * stride, out = yo + l * stride, i = 0;
            for (; i < bound; i += lanes) {
                FloatVector s = FloatVector.fromArray(SPECIES, sum, i);
                if (log) FloatVector.fromArray(SPECIES, x, at + i).sub(FloatVector.fromArray(SPECIES, max, i)).sub(s).intoArray(y, out + i);
                else FloatVector.fromArray(SPECIES, y, out + i).mul(s).intoArray(y, out + i);
            }
            for (; i < width; i++) y[out + i] = log ? x[at + i] - max[i] - sum[i] : y[out + i] * sum[i];
        }
    }
}
