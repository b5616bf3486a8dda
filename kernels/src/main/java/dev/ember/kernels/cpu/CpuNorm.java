package dev.ember.kernels.cpu;

import dev.ember.engine.Backend;
import dev.ember.engine.BufferPool;
import dev.ember.engine.CpuStorage;
import dev.ember.engine.Shape;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * Batch and layer normalization, forward and backward, fused: each group's statistics and outputs in a few passes
 * over its elements while they sit in cache. A batch-norm group is a channel of x (N, C, S) (S: the trailing axes
 * multiplied), N runs of S contiguous floats; a layer-norm group is a row of x (R, D), D contiguous floats.
 * <pre>
 *   pass 1  mean = sum x / n
 *   pass 2  var  = (sum d^2 - (sum d)^2 / n) / n,  d = x - mean   (two-pass, corrected for the rounding of mean)
 *   pass 3  y    = d invStd gamma + beta,           invStd = 1 / sqrt(var + eps)
 *   backward: pass 1 the group sums of dy and dy d, pass 2 dx = a (dy + b d + c) with per-group a, b, c
 * </pre>
 * Sums run in float vectors within blocks of {@link #BLOCK} elements, lanes added in a fixed order, blocks added in
 * double, so they neither drift on long groups nor depend on when the JIT compiles. Tasks are whole groups
 * (channels, rows), so each output comes from one task. Layer-norm dgamma/dbeta sum over rows: rows are cut
 * into at most {@link #MAX_CHUNKS} chunks whose boundaries depend only on the sizes, each chunk sums its rows
 * (float over {@link #ROW_BLOCK} rows, then double) and the chunk totals are added in chunk order: bit-identical
 * whatever the thread count.
 */
final class CpuNorm {
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    /** Elements summed in float before the partial goes into the double total. */
    private static final int BLOCK = 1024;
    /** Elements per parallel task, at least. */
    private static final int GRAIN = 1 << 15;
    /** Rows of layer-norm dgamma/dbeta summed in float before going into their chunk's double total. */
    private static final int ROW_BLOCK = 64;
    /** Layer-norm backward cuts its rows into at most this many chunks: bounds the per-chunk dgamma/dbeta totals. */
    private static final int MAX_CHUNKS = 64;

    private CpuNorm() {}

    // ---- batch norm: x (N, C, S), one group per channel ----

    static Backend.NormResult batchNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        int[] ncs = channelLayout(x);
        int n = ncs[0], c = ncs[1], s = ncs[2], count = n * s;
        requireLength("gamma", gamma, c);
        requireLength("beta", beta, c);
        Tensor xc = CpuCopy.contiguous(x);
        float[] xs = CpuCopy.floats(xc);   // x (N, C, S) from xo
        int xo = xc.offset();
        float[] g = values(gamma), b = values(beta);   // (C) or null
        float[] y = BufferPool.zeroed(x.numel());              // y (N, C, S)
        float[] mean = new float[c], variance = new float[c], invStd = new float[c];
        Parallel.forRange(c, Math.max(1, GRAIN / Math.max(1, count)), (lo, hi) -> {
            double[] sums = new double[2];
            for (int ch = lo; ch < hi; ch++) {
                double total = 0;
                for (int i = 0; i < n; i++) total += sum(xs, xo + (i * c + ch) * s, s);
                float m = (float) (total / count);
                sums[0] = 0;
                sums[1] = 0;
                for (int i = 0; i < n; i++) addCenteredSums(xs, xo + (i * c + ch) * s, s, m, sums);
                double v = Math.max(0, (sums[1] - sums[0] * sums[0] / count) / count), inv = 1 / Math.sqrt(v + eps);
                float scale = (float) (g == null ? inv : g[ch] * inv), shift = b == null ? 0f : b[ch];
                for (int i = 0; i < n; i++) {
                    int at = (i * c + ch) * s;
                    normalize(xs, xo + at, y, at, s, m, scale, shift);
                }
                mean[ch] = m;
                variance[ch] = (float) v;
                invStd[ch] = (float) inv;
            }
        });
        return new Backend.NormResult(Tensor.of(CpuStorage.wrap(y), x.shape()), vector(mean), vector(variance), vector(invStd));
    }

    static Tensor[] batchNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor gamma) {
        int[] ncs = channelLayout(x);
        int n = ncs[0], c = ncs[1], s = ncs[2], count = n * s;
        requireSameShape(dy, x);
        requireLength("gamma", gamma, c);
        requireLength("mean", mean, c);
        requireLength("invStd", invStd, c);
        Tensor xc = CpuCopy.contiguous(x), dyc = CpuCopy.contiguous(dy);
        float[] xs = CpuCopy.floats(xc), dys = CpuCopy.floats(dyc);   // x, dy (N, C, S) from xo, dyo
        int xo = xc.offset(), dyo = dyc.offset();
        float[] g = values(gamma), m = values(mean), inv = values(invStd);   // (C)
        float[] dx = BufferPool.zeroed(x.numel());   // dx (N, C, S)
        float[] dgamma = new float[c], dbeta = new float[c];
        Parallel.forRange(c, Math.max(1, GRAIN / Math.max(1, count)), (lo, hi) -> {
            double[] sums = new double[2];   // sum dy, sum dy (x - mean)
            for (int ch = lo; ch < hi; ch++) {
                sums[0] = 0;
                sums[1] = 0;
                for (int i = 0; i < n; i++) {
                    int at = (i * c + ch) * s;
                    addGradientSums(dys, dyo + at, xs, xo + at, null, s, m[ch], sums);
                }
                double is = inv[ch], gi = (g == null ? 1 : g[ch]) * is;
                // dx = gamma invStd / n (n dy - dbeta - xHat dgamma), xHat = (x - mean) invStd, dgamma = invStd sum dy (x - mean)
                float a = (float) gi, bd = (float) (-is * is * sums[1] / count), c0 = (float) (-sums[0] / count);
                for (int i = 0; i < n; i++) {
                    int at = (i * c + ch) * s;
                    inputGradient(dys, dyo + at, xs, xo + at, null, dx, at, s, m[ch], a, bd, c0, null, null);
                }
                dgamma[ch] = (float) (sums[1] * is);
                dbeta[ch] = (float) sums[0];
            }
        });
        return new Tensor[] {Tensor.of(CpuStorage.wrap(dx), x.shape()), vector(dgamma), vector(dbeta)};
    }

    // ---- layer norm: x (R, D), one group per row ----

    static Backend.NormResult layerNorm(Tensor x, int normalizedAxes, Tensor gamma, Tensor beta, float eps) {
        Shape normalized = normalizedShape(x, normalizedAxes);
        int d = normalized.numel(), rows = CpuReduce.product(x.dims(), 0, x.rank() - normalizedAxes);
        requireShape("gamma", gamma, normalized);
        requireShape("beta", beta, normalized);
        Tensor xc = CpuCopy.contiguous(x);
        float[] xs = CpuCopy.floats(xc);   // x (R, D) from xo
        int xo = xc.offset();
        float[] g = gamma == null ? filled(d, 1f) : values(gamma), b = beta == null ? new float[d] : values(beta);   // (D)
        float[] y = BufferPool.zeroed(x.numel());   // y (R, D)
        float[] mean = new float[rows], variance = new float[rows], invStd = new float[rows];
        Parallel.forRange(rows, Math.max(1, GRAIN / Math.max(1, d)), (lo, hi) -> {
            double[] sums = new double[2];
            for (int r = lo; r < hi; r++) {
                int at = r * d;
                float m = (float) (sum(xs, xo + at, d) / d);
                sums[0] = 0;
                sums[1] = 0;
                addCenteredSums(xs, xo + at, d, m, sums);
                double v = Math.max(0, (sums[1] - sums[0] * sums[0] / d) / d), inv = 1 / Math.sqrt(v + eps);
                normalizeAffine(xs, xo + at, y, at, d, m, (float) inv, g, b);
                mean[r] = m;
                variance[r] = (float) v;
                invStd[r] = (float) inv;
            }
        });
        return new Backend.NormResult(Tensor.of(CpuStorage.wrap(y), x.shape()), vector(mean), vector(variance), vector(invStd));
    }

    static Tensor[] layerNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor gamma, int normalizedAxes) {
        Shape normalized = normalizedShape(x, normalizedAxes);
        int d = normalized.numel(), rows = CpuReduce.product(x.dims(), 0, x.rank() - normalizedAxes);
        requireSameShape(dy, x);
        requireShape("gamma", gamma, normalized);
        requireShape("mean", mean, Shape.of(rows));
        requireShape("invStd", invStd, Shape.of(rows));
        Tensor xc = CpuCopy.contiguous(x), dyc = CpuCopy.contiguous(dy);
        float[] xs = CpuCopy.floats(xc), dys = CpuCopy.floats(dyc);   // x, dy (R, D) from xo, dyo
        int xo = xc.offset(), dyo = dyc.offset();
        float[] g = gamma == null ? filled(d, 1f) : values(gamma), m = values(mean), inv = values(invStd);   // g (D); m, inv (R)
        float[] dx = BufferPool.zeroed(x.numel());   // dx (R, D)
        // chunk boundaries from the sizes alone: at most MAX_CHUNKS chunks, none under GRAIN elements when rows allow
        int rowsPerChunk = Math.max((rows + MAX_CHUNKS - 1) / MAX_CHUNKS, Math.max(1, GRAIN / Math.max(1, d)));
        int chunks = (rows + rowsPerChunk - 1) / rowsPerChunk;
        double[][] dgammaChunk = new double[chunks][], dbetaChunk = new double[chunks][];   // each (D)
        Parallel.forRange(chunks, 1, (lo, hi) -> {
            double[] sums = new double[2];   // sum dxHat, sum dxHat (x - mean), dxHat = dy gamma
            float[] dgammaRows = new float[d], dbetaRows = new float[d];
            for (int chunk = lo; chunk < hi; chunk++) {
                double[] dgammaTotal = new double[d], dbetaTotal = new double[d];
                int end = Math.min(rows, (chunk + 1) * rowsPerChunk);
                for (int r0 = chunk * rowsPerChunk; r0 < end; r0 += ROW_BLOCK) {
                    Arrays.fill(dgammaRows, 0f);
                    Arrays.fill(dbetaRows, 0f);
                    for (int r = r0; r < Math.min(end, r0 + ROW_BLOCK); r++) {
                        int at = r * d;
                        sums[0] = 0;
                        sums[1] = 0;
                        addGradientSums(dys, dyo + at, xs, xo + at, g, d, m[r], sums);
                        double is = inv[r];
                        // dx = invStd / D (D dxHat - sum dxHat - xHat sum dxHat xHat), xHat = (x - mean) invStd
                        float bd = (float) (-is * is * sums[1] / d), c0 = (float) (-sums[0] / d);
                        inputGradient(dys, dyo + at, xs, xo + at, g, dx, at, d, m[r], inv[r], bd, c0, dgammaRows, dbetaRows);
                    }
                    for (int j = 0; j < d; j++) {
                        dgammaTotal[j] += dgammaRows[j];
                        dbetaTotal[j] += dbetaRows[j];
                    }
                }
                dgammaChunk[chunk] = dgammaTotal;
                dbetaChunk[chunk] = dbetaTotal;
            }
        });
        float[] dgamma = new float[d], dbeta = new float[d];
        for (int j = 0; j < d; j++) {
            double gs = 0, bs = 0;
            for (int chunk = 0; chunk < chunks; chunk++) {
                gs += dgammaChunk[chunk][j];
                bs += dbetaChunk[chunk][j];
            }
            dgamma[j] = (float) gs;
            dbeta[j] = (float) bs;
        }
        return new Tensor[] {Tensor.of(CpuStorage.wrap(dx), x.shape()), Tensor.of(CpuStorage.wrap(dgamma), normalized),
                Tensor.of(CpuStorage.wrap(dbeta), normalized)};
    }

    // ---- vector passes over one run of n contiguous floats ----

    /** sum x[from, from + n). */
    private static double sum(float[] x, int from, int n) {
        double total = 0;
        for (int b0 = 0; b0 < n; b0 += BLOCK) {
            int len = Math.min(BLOCK, n - b0), at = from + b0, i = 0;
            FloatVector acc = FloatVector.zero(SPECIES);
            for (int bound = SPECIES.loopBound(len); i < bound; i += SPECIES.length()) acc = acc.add(FloatVector.fromArray(SPECIES, x, at + i));
            float s = i > 0 ? CpuMath.laneSum(acc) : 0f;
            for (; i < len; i++) s += x[at + i];
            total += s;
        }
        return total;
    }

    /** acc[0] += sum d, acc[1] += sum d^2 with d = x - m over x[from, from + n). */
    private static void addCenteredSums(float[] x, int from, int n, float m, double[] acc) {
        for (int b0 = 0; b0 < n; b0 += BLOCK) {
            int len = Math.min(BLOCK, n - b0), at = from + b0, i = 0;
            FloatVector s1 = FloatVector.zero(SPECIES), s2 = s1;
            for (int bound = SPECIES.loopBound(len); i < bound; i += SPECIES.length()) {
                FloatVector dv = FloatVector.fromArray(SPECIES, x, at + i).sub(m);
                s1 = s1.add(dv);
                s2 = dv.fma(dv, s2);
            }
            float t1 = 0f, t2 = 0f;
            if (i > 0) {
                t1 = CpuMath.laneSum(s1);
                t2 = CpuMath.laneSum(s2);
            }
            for (; i < len; i++) {
                float dv = x[at + i] - m;
                t1 += dv;
                t2 = Math.fma(dv, dv, t2);
            }
            acc[0] += t1;
            acc[1] += t2;
        }
    }

    /** y[yo..] = (x[xo..] - m) scale + shift over n elements. */
    private static void normalize(float[] x, int xo, float[] y, int yo, int n, float m, float scale, float shift) {
        int i = 0;
        for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
            FloatVector.fromArray(SPECIES, x, xo + i).sub(m).fma(scale, shift).intoArray(y, yo + i);
        }
        for (; i < n; i++) y[yo + i] = Math.fma(x[xo + i] - m, scale, shift);
    }

    /** y[yo + j] = (x[xo + j] - m) inv g[j] + b[j] over n elements. */
    private static void normalizeAffine(float[] x, int xo, float[] y, int yo, int n, float m, float inv, float[] g, float[] b) {
        int i = 0;
        for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
            FloatVector xHat = FloatVector.fromArray(SPECIES, x, xo + i).sub(m).mul(inv);
            xHat.fma(FloatVector.fromArray(SPECIES, g, i), FloatVector.fromArray(SPECIES, b, i)).intoArray(y, yo + i);
        }
        for (; i < n; i++) y[yo + i] = Math.fma((x[xo + i] - m) * inv, g[i], b[i]);
    }

    /**
     * acc[0] += sum w dy, acc[1] += sum w dy (x - m) over n elements; w = g[j] per element, or 1 when g is null.
     */
    private static void addGradientSums(float[] dy, int dyo, float[] x, int xo, float[] g, int n, float m, double[] acc) {
        for (int b0 = 0; b0 < n; b0 += BLOCK) {
            int len = Math.min(BLOCK, n - b0), i = 0;
            FloatVector s1 = FloatVector.zero(SPECIES), s2 = s1;
            for (int bound = SPECIES.loopBound(len); i < bound; i += SPECIES.length()) {
                FloatVector w = FloatVector.fromArray(SPECIES, dy, dyo + b0 + i);
                if (g != null) w = w.mul(FloatVector.fromArray(SPECIES, g, b0 + i));
                s1 = s1.add(w);
                s2 = FloatVector.fromArray(SPECIES, x, xo + b0 + i).sub(m).fma(w, s2);
            }
            float t1 = 0f, t2 = 0f;
            if (i > 0) {
                t1 = CpuMath.laneSum(s1);
                t2 = CpuMath.laneSum(s2);
            }
            for (; i < len; i++) {
                float w = g == null ? dy[dyo + b0 + i] : dy[dyo + b0 + i] * g[b0 + i];
                t1 += w;
                t2 = Math.fma(x[xo + b0 + i] - m, w, t2);
            }
            acc[0] += t1;
            acc[1] += t2;
        }
    }

    /**
     * dx[dxo + j] = a (w dy + bd (x - m) + c0) with w = g[j] (1 when g is null); when {@code dgammaRows} is given,
     * also dgammaRows[j] += dy (x - m) a and dbetaRows[j] += dy (layer norm, where a is invStd). The bracket is
     * taken before scaling by a so its cancellation happens at the size of dy: a group of one gets exactly 0.
     */
    private static void inputGradient(float[] dy, int dyo, float[] x, int xo, float[] g, float[] dx, int dxo, int n,
                                      float m, float a, float bd, float c0, float[] dgammaRows, float[] dbetaRows) {
        int i = 0;
        for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
            FloatVector dyv = FloatVector.fromArray(SPECIES, dy, dyo + i);
            FloatVector dv = FloatVector.fromArray(SPECIES, x, xo + i).sub(m);
            FloatVector w = g == null ? dyv : dyv.mul(FloatVector.fromArray(SPECIES, g, i));
            dv.fma(bd, c0).add(w).mul(a).intoArray(dx, dxo + i);
            if (dgammaRows != null) {
                dyv.fma(dv.mul(a), FloatVector.fromArray(SPECIES, dgammaRows, i)).intoArray(dgammaRows, i);
                dyv.add(FloatVector.fromArray(SPECIES, dbetaRows, i)).intoArray(dbetaRows, i);
            }
        }
        for (; i < n; i++) {
            float dyj = dy[dyo + i], dj = x[xo + i] - m, w = g == null ? dyj : dyj * g[i];
            dx[dxo + i] = (Math.fma(dj, bd, c0) + w) * a;
            if (dgammaRows != null) {
                dgammaRows[i] = Math.fma(dyj, dj * a, dgammaRows[i]);
                dbetaRows[i] += dyj;
            }
        }
    }

    // ---- shapes and parameters ----

    /** {N, C, S} of x (N, C, ...), S the product of the trailing axes. */
    private static int[] channelLayout(Tensor x) {
        if (x.rank() < 2) throw new ShapeException("batchNorm input must be (N, C, ...), got " + x.shape());
        return new int[] {x.dim(0), x.dim(1), CpuReduce.product(x.dims(), 2, x.rank())};
    }

    private static Shape normalizedShape(Tensor x, int normalizedAxes) {
        if (normalizedAxes < 1 || normalizedAxes > x.rank()) {
            throw new ShapeException("layerNorm normalizes 1 to " + x.rank() + " trailing axes of " + x.shape() + ", got " + normalizedAxes);
        }
        return Shape.of(Arrays.copyOfRange(x.dims(), x.rank() - normalizedAxes, x.rank()));
    }

    private static void requireLength(String what, Tensor t, int c) {
        if (t != null && (t.rank() != 1 || t.dim(0) != c)) throw new ShapeException("batchNorm " + what + " must be (" + c + "), got " + t.shape());
    }

    private static void requireShape(String what, Tensor t, Shape want) {
        if (t != null && !t.shape().equals(want)) throw new ShapeException("layerNorm " + what + " must be " + want + ", got " + t.shape());
    }

    private static void requireSameShape(Tensor dy, Tensor x) {
        if (!dy.shape().equals(x.shape())) throw new ShapeException("normalization gradient dy " + dy.shape() + " must match x " + x.shape());
    }

    /** The elements of t in row-major order (a new array), or null when t is null. */
    private static float[] values(Tensor t) {
        if (t == null) return null;
        Tensor c = CpuCopy.contiguous(t);
        return Arrays.copyOfRange(CpuCopy.floats(c), c.offset(), c.offset() + c.numel());
    }

    private static float[] filled(int n, float v) {
        float[] a = new float[n];
        Arrays.fill(a, v);
        return a;
    }

    private static Tensor vector(float[] a) { return Tensor.of(CpuStorage.wrap(a), Shape.of(a.length)); }
}
