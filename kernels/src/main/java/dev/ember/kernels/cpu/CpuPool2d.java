package dev.ember.kernels.cpu;

import dev.ember.engine.Backend;
import dev.ember.engine.BufferPool;
import dev.ember.engine.CpuStorage;
import dev.ember.engine.DType;
import dev.ember.engine.Pool2dParams;
import dev.ember.engine.Shape;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Max and average pooling over NCHW and their backward passes, parallel over the N*C planes (each plane is one
 * task's, so the scatter-adds of the backward passes are deterministic). Window rules are PyTorch's: window
 * (i, j) starts at {@code (i*stride - pad, j*stride - pad)}; padded cells never win a max; the average divides
 * by the window clipped to the padded input, or to the real input without {@code countIncludePad}.
 */
final class CpuPool2d {
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    /** int lanes matching SPECIES one to one, for the winners' indices. */
    static final VectorSpecies<Integer> INDEX = VectorSpecies.of(int.class, SPECIES.vectorShape());
    /** Input cells per parallel chunk. */
    private static final int GRAIN = 1 << 14;

    /**
     * Per-thread column-max buffers of {@link #halve} and {@link #halveWithIndices}, grown on demand and reused, so
     * that a pool allocates nothing but its outputs. Longer than asked is fine: only the first pairs' part is read.
     */
    private static final class Scratch {
        float[] colMax = new float[0];
        int[] colAt = new int[0];

        float[] colMax(int size) {
            if (colMax.length < size) colMax = new float[size];
            return colMax;
        }

        int[] colAt(int size) {
            if (colAt.length < size) colAt = new int[size];
            return colAt;
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private CpuPool2d() {}

    static Backend.MaxPoolResult max(Tensor x, Pool2dParams p) {
        Shape outShape = p.outputShape(x.shape());
        int h = x.dim(2), w = x.dim(3), oh = outShape.dim(2), ow = outShape.dim(3);
        Tensor c = CpuCopy.contiguous(x);
        float[] xs = CpuCopy.floats(c);                // x (N, C, H, W) from offset xo
        int xo = c.offset();
        float[] y = BufferPool.zeroed(outShape.numel());       // y (N, C, OH, OW)
        int[] idx = BufferPool.zeroedInts(outShape.numel());   // idx (N, C, OH, OW): h*W + w within the plane
        int kh = p.kernelH(), kw = p.kernelW(), sh = p.strideH(), sw = p.strideW(), ph = p.padH(), pw = p.padW();
        if (halving(p, h, w, oh, ow)) {
            halveWithIndices(xs, xo, x.dim(0) * x.dim(1), h, w, y, idx);
            return new Backend.MaxPoolResult(Tensor.of(CpuStorage.wrap(y), outShape), Tensor.of(CpuStorage.wrap(idx), outShape));
        }
        if (kh == 3 && kw == 3 && sh == 2 && sw == 2 && ph == 1 && pw == 1 && !p.ceilMode()) {
            stemPoolWithIndices(xs, xo, x.dim(0) * x.dim(1), h, w, oh, ow, y, idx);
            return new Backend.MaxPoolResult(Tensor.of(CpuStorage.wrap(y), outShape), Tensor.of(CpuStorage.wrap(idx), outShape));
        }
        // Windows [jLo, jHi) of each output row lie inside the input's columns (rows are clipped, as the reference
        // does): 16 outputs at a time (gathers at stride sw). The columns at the edges (in the padding) take
        // maxWindow. Both visit the taps in the same order with the same rule, so the same result.
        int jLo = Math.min(ow, (pw + sw - 1) / sw), jHi = Math.max(jLo, Math.min(ow, w - kw + pw < 0 ? 0 : (w - kw + pw) / sw + 1));
        int inside = jHi - jLo;
        int[] gather = new int[SPECIES.length()], tail = new int[SPECIES.length()];   // tail: lanes past the row read column 0
        for (int l = 0; l < gather.length; l++) {
            gather[l] = l * sw;
            tail[l] = l < inside % gather.length ? l * sw : 0;
        }
        Parallel.forRange(x.dim(0) * x.dim(1), planeGrain(h * w), (lo, hi) -> {
            for (int plane = lo; plane < hi; plane++) {
                int in = xo + plane * h * w;
                for (int i = 0; i < oh; i++) {
                    int h0 = Math.max(i * sh - ph, 0), h1 = Math.min(i * sh - ph + kh, h);
                    int out = (plane * oh + i) * ow;
                    if (inside > 0) maxRow(xs, in, w, h0, h1, kw, sw, jLo * sw - pw, inside, gather, tail, y, idx, out + jLo);
                    for (int j = 0; j < jLo; j++) maxWindow(xs, in, w, h0, h1, j * sw - pw, kw, y, idx, out + j);
                    for (int j = jHi; j < ow; j++) maxWindow(xs, in, w, h0, h1, j * sw - pw, kw, y, idx, out + j);
                }
            }
        });
        return new Backend.MaxPoolResult(Tensor.of(CpuStorage.wrap(y), outShape), Tensor.of(CpuStorage.wrap(idx), outShape));
    }

    /**
     * One output whose window starts at column {@code col0} (it may start or end in the padding): rows h0..h1-1,
     * columns col0 .. col0+kw-1 clipped to the input; y and the winner's h*W + w index at {@code out}.
     */
    private static void maxWindow(float[] xs, int in, int w, int h0, int h1, int col0, int kw, float[] y, int[] idx, int out) {
        int w0 = Math.max(col0, 0), w1 = Math.min(col0 + kw, w);
        int best = h0 * w + w0;
        float bestValue = Float.NEGATIVE_INFINITY;
        for (int r = h0; r < h1; r++) {
            int row = r * w;
            for (int s = w0; s < w1; s++) {
                float v = xs[in + row + s];
                // strictly greater keeps the first maximum; a NaN wins over any number, the first NaN stays.
                // Non-short-circuit operators and selects, not branches: which tap wins is data, so a branch here
                // mispredicts about half the time.
                boolean take = v > bestValue | (v != v & bestValue == bestValue);
                best = take ? row + s : best;
                bestValue = take ? v : bestValue;
            }
        }
        y[out] = bestValue;
        idx[out] = best;
    }

    /**
     * {@code count} outputs of one output row whose windows lie inside the input's columns, the first starting at
     * column {@code col0}: rows h0..h1-1 (clipped to the input), columns col0 + j*sw .. + kw-1; y and the winner's
     * h*W + w index, 16 outputs at a time (the last vector through lane arrays).
     */
    private static void maxRow(float[] xs, int in, int w, int h0, int h1, int kw, int sw, int col0, int count, int[] gather, int[] tail,
                               float[] y, int[] idx, int out) {
        IntVector lane = IntVector.fromArray(INDEX, gather, 0);   // (l * sw) for lane l
        for (int j = 0; j < count; j += SPECIES.length()) {
            int[] map = j + SPECIES.length() <= count ? gather : tail;   // masked-off lanes must still read inside xs
            FloatVector best = FloatVector.broadcast(SPECIES, Float.NEGATIVE_INFINITY);
            IntVector bestAt = lane.add(h0 * w + col0 + j * sw);
            for (int r = h0; r < h1; r++) {
                for (int s = 0; s < kw; s++) {
                    int at = r * w + col0 + j * sw + s;
                    FloatVector v = FloatVector.fromArray(SPECIES, xs, in + at, map, 0);
                    VectorMask<Float> take = v.compare(VectorOperators.GT, best)
                            .or(v.test(VectorOperators.IS_NAN).andNot(best.test(VectorOperators.IS_NAN)));
                    best = best.blend(v, take);
                    bestAt = bestAt.blend(lane.add(at), take.cast(INDEX));
                }
            }
            if (j + SPECIES.length() <= count) {
                best.intoArray(y, out + j);
                bestAt.intoArray(idx, out + j);
            } else {   // the row's tail: through lane arrays, since a masked store can leave the intrinsic for a slow path
                float[] values = best.toArray();
                int[] at = bestAt.toArray();
                for (int l = 0; j + l < count; l++) {
                    y[out + j + l] = values[l];
                    idx[out + j + l] = at[l];
                }
            }
        }
    }

    /**
     * Max pooling's values alone, for inference, in whole vectors but for one strided pick: per output row, the
     * column-wise max of the window's rows into a row buffer padded with -inf on both sides, then the max of kw shifted
     * copies of that buffer at every column (stride 1), then every sw-th of those. No scalar max anywhere: C2 compiles
     * a scalar Math.max to branches, which mispredict on real data (a per-window loop ran 4x slower). A NaN in a window
     * gives NaN and a window wholly in the padding -inf, as in {@link #max}; the one difference is a window holding
     * both -0.0 and +0.0, which may give +0.0 where max keeps the first.
     */
    static Tensor maxValues(Tensor x, Pool2dParams p) {
        Shape outShape = p.outputShape(x.shape());
        int h = x.dim(2), w = x.dim(3), oh = outShape.dim(2), ow = outShape.dim(3);
        Tensor c = CpuCopy.contiguous(x);
        float[] xs = CpuCopy.floats(c);                // x (N, C, H, W) from offset xo
        int xo = c.offset();
        float[] y = BufferPool.uninitialized(outShape.numel());   // y (N, C, OH, OW), every element written
        if (halving(p, h, w, oh, ow)) {
            halve(xs, xo, x.dim(0) * x.dim(1), h, w, y);
            return Tensor.of(CpuStorage.wrap(y), outShape);
        }
        int kh = p.kernelH(), kw = p.kernelW(), sh = p.strideH(), sw = p.strideW(), ph = p.padH(), pw = p.padW();
        int vector = SPECIES.length(), wideW = roundUp(w, vector);
        if (kw == 3 && sw == 2) {
            stemValues(xs, xo, x.dim(0) * x.dim(1), h, w, oh, ow, kh, sh, ph, pw, y);
            return Tensor.of(CpuStorage.wrap(y), outShape);
        }
        int starts = roundUp((ow - 1) * sw + 1, vector);   // window starts at stride 1, covering every output's
        int length = Math.max(starts + kw - 1, pw + wideW);
        Parallel.forRange(x.dim(0) * x.dim(1), planeGrain(h * w), (lo, hi) -> {
            float[] rows = new float[length];          // column max of the window's rows at [pw, pw + w), -inf around
            float[] windows = new float[starts];       // windows[t] = max of rows[t, t + kw)
            Arrays.fill(rows, Float.NEGATIVE_INFINITY);
            for (int plane = lo; plane < hi; plane++) {
                int in = xo + plane * h * w;
                for (int i = 0; i < oh; i++) {
                    int h0 = Math.max(i * sh - ph, 0), h1 = Math.min(i * sh - ph + kh, h);
                    columnMax(xs, in + h0 * w, w, h1 - h0, rows, pw);
                    for (int t = 0; t < starts; t += vector) {
                        FloatVector m = FloatVector.fromArray(SPECIES, rows, t);
                        for (int s = 1; s < kw; s++) m = m.max(FloatVector.fromArray(SPECIES, rows, t + s));
                        m.intoArray(windows, t);
                    }
                    int out = (plane * oh + i) * ow;
                    for (int j = 0; j < ow; j++) y[out + j] = windows[j * sw];
                }
            }
        });
        return Tensor.of(CpuStorage.wrap(y), outShape);
    }

    /**
     * {@link #maxValues}' general path for windows three columns wide at column stride 2 (resnet's stem pool: 3x3,
     * stride 2, padding 1), without its stride-1 windows and its scalar pick of every other one: with the row's column
     * max at rows[pw + x], output j is the max of rows[2j], rows[2j + 1] and rows[2j + 2], so the even lanes, the odd
     * lanes and the even lanes one column on, of a pair of vectors, give a whole vector of outputs. resnet18's at 1x3x224x224
     * (1x64x112x112, Intel Xeon, 2 threads, three alternating pairs of JVMs): 225-373 -> 113-190 us. Same values as the
     * general path.
     */
    private static void stemValues(float[] xs, int xo, int planes, int h, int w, int oh, int ow, int kh, int sh, int ph, int pw, float[] y) {
        int vector = SPECIES.length(), wideW = roundUp(w, vector), wideOw = roundUp(ow, vector);
        int length = Math.max(2 * wideOw + 2 * vector, pw + wideW);   // the pairs' loads, one column on, stay inside
        Parallel.forRange(planes, planeGrain(h * w), (lo, hi) -> {
            float[] rows = new float[length];     // column max of the window's rows at [pw, pw + w), -inf around
            float[] out = new float[wideOw];      // one output row, whole vectors
            Arrays.fill(rows, Float.NEGATIVE_INFINITY);
            for (int plane = lo; plane < hi; plane++) {
                int in = xo + plane * h * w;
                for (int i = 0; i < oh; i++) {
                    int h0 = Math.max(i * sh - ph, 0), h1 = Math.min(i * sh - ph + kh, h);
                    columnMax(xs, in + h0 * w, w, h1 - h0, rows, pw);
                    stemRow(rows, out, ow);
                    System.arraycopy(out, 0, y, (plane * oh + i) * ow, ow);
                }
            }
        });
    }

    /**
     * out[j] = max(rows[2j], rows[2j + 1], rows[2j + 2]) for j < ow, in whole vectors (out is roundUp(ow) long): one
     * output row of 3-wide windows at column stride 2 from its rows' column max, which sits at rows[pw + x] with -inf
     * around it. rows holds at least 2 * roundUp(ow) + 2 * L floats. Also {@link Stride2Conv#forwardPooled}'s, so
     * that the fused stem gives these bits.
     */
    static void stemRow(float[] rows, float[] out, int ow) {
        int vector = SPECIES.length();
        for (int j = 0; j < ow; j += vector) {
            FloatVector a = FloatVector.fromArray(SPECIES, rows, 2 * j), b = FloatVector.fromArray(SPECIES, rows, 2 * j + vector);
            FloatVector c = FloatVector.fromArray(SPECIES, rows, 2 * j + 2), d = FloatVector.fromArray(SPECIES, rows, 2 * j + 2 + vector);
            a.rearrange(EVEN, b).max(a.rearrange(ODD, b)).max(c.rearrange(EVEN, d)).intoArray(out, j);
        }
    }

    /** Even lanes of two vectors side by side (lanes 0, 2, ..., 2L-2 of their concatenation); odd lanes. */
    private static final VectorShuffle<Float> EVEN = VectorShuffle.fromOp(SPECIES, i -> 2 * i);
    private static final VectorShuffle<Float> ODD = VectorShuffle.fromOp(SPECIES, i -> 2 * i + 1);
    private static final VectorShuffle<Integer> EVEN_INDEX = VectorShuffle.fromOp(INDEX, i -> 2 * i);
    private static final VectorShuffle<Integer> ODD_INDEX = VectorShuffle.fromOp(INDEX, i -> 2 * i + 1);
    /** Row pairs per block of {@link #halve}: its buffer stays in L1. */
    private static final int PAIRS_PER_BLOCK = 64;

    /** The 2x2 stride-2 pool without padding whose windows all lie inside the input. */
    static boolean halving(Pool2dParams p, int h, int w, int oh, int ow) {
        return p.kernelH() == 2 && p.kernelW() == 2 && p.strideH() == 2 && p.strideW() == 2 && p.padH() == 0 && p.padW() == 0
                && oh == h / 2 && ow == w / 2;
    }

    /**
     * {@link #halve} with the winners' indices, for training. The reference takes the first maximum of a window in
     * row-major order (a NaN above any number, the first NaN kept): that is the largest value, ties (and NaNs) going
     * to the smaller index, so the two rows can be settled first and the two columns after, as in halve. A pair's
     * column winner keeps its index; between columns, the right one wins a tie only if it came from the top row.
     */
    private static void halveWithIndices(float[] xs, int xo, int planes, int h, int w, float[] y, int[] idx) {
        int oh = h / 2, ow = w / 2, pitch = 2 * ow, vector = SPECIES.length();
        int pairs = planes * oh, wide = roundUp(pitch, vector);
        IntVector iota = IntVector.fromArray(INDEX, iota(), 0);
        Parallel.forRange(pairs, Math.max(PAIRS_PER_BLOCK, GRAIN / Math.max(1, 2 * w)), (lo, hi) -> {
            Scratch scratch = SCRATCH.get();
            float[] colMax = scratch.colMax(PAIRS_PER_BLOCK * pitch + wide + 2 * vector);   // (pairs, 2*OW), then spill
            int[] colAt = scratch.colAt(colMax.length);                                      // each one's h*W + w
            for (int p0 = lo; p0 < hi; p0 += PAIRS_PER_BLOCK) {
                int p1 = Math.min(hi, p0 + PAIRS_PER_BLOCK);
                for (int pair = p0; pair < p1; pair++) {
                    int plane = pair / oh, i = pair - plane * oh;
                    int top = xo + plane * h * w + 2 * i * w, at = (pair - p0) * pitch, row = 2 * i * w;
                    int j = 0;
                    if (top + w + wide <= xs.length) {   // the last vector may read past the pair: never past xs
                        for (; j < pitch; j += vector) {
                            FloatVector a = FloatVector.fromArray(SPECIES, xs, top + j), b = FloatVector.fromArray(SPECIES, xs, top + w + j);
                            VectorMask<Float> bottom = b.compare(VectorOperators.GT, a).or(b.test(VectorOperators.IS_NAN).andNot(a.test(VectorOperators.IS_NAN)));
                            a.blend(b, bottom).intoArray(colMax, at + j);
                            IntVector cell = iota.add(row + j);
                            cell.blend(cell.add(w), bottom.cast(INDEX)).intoArray(colAt, at + j);
                        }
                    } else {
                        for (; j < pitch; j++) {
                            float a = xs[top + j], b = xs[top + w + j];
                            boolean bottom = b > a | (b != b & a == a);
                            colMax[at + j] = bottom ? b : a;
                            colAt[at + j] = row + j + (bottom ? w : 0);
                        }
                    }
                }
                int n = (p1 - p0) * ow, out = p0 * ow, t = 0;
                for (; t + vector <= n; t += vector) {
                    FloatVector a = FloatVector.fromArray(SPECIES, colMax, 2 * t), b = FloatVector.fromArray(SPECIES, colMax, 2 * t + vector);
                    IntVector ai = IntVector.fromArray(INDEX, colAt, 2 * t), bi = IntVector.fromArray(INDEX, colAt, 2 * t + vector);
                    FloatVector left = a.rearrange(EVEN, b), right = a.rearrange(ODD, b);
                    IntVector leftAt = ai.rearrange(EVEN_INDEX, bi), rightAt = ai.rearrange(ODD_INDEX, bi);
                    VectorMask<Float> leftNaN = left.test(VectorOperators.IS_NAN), rightNaN = right.test(VectorOperators.IS_NAN);
                    VectorMask<Float> tie = right.compare(VectorOperators.EQ, left).or(rightNaN.and(leftNaN));
                    VectorMask<Float> takeRight = right.compare(VectorOperators.GT, left).or(rightNaN.andNot(leftNaN))
                            .or(tie.and(rightAt.compare(VectorOperators.LT, leftAt).cast(SPECIES)));
                    left.blend(right, takeRight).intoArray(y, out + t);
                    leftAt.blend(rightAt, takeRight.cast(INDEX)).intoArray(idx, out + t);
                }
                for (; t < n; t++) {
                    float a = colMax[2 * t], b = colMax[2 * t + 1];
                    int ai = colAt[2 * t], bi = colAt[2 * t + 1];
                    boolean tie = a == b | (a != a & b != b);
                    boolean right = b > a | (b != b & a == a) | (tie & bi < ai);
                    y[out + t] = right ? b : a;
                    idx[out + t] = right ? bi : ai;
                }
            }
        });
    }

    /**
     * The 3x3 stride-2 pool with padding 1 (resnet's after its stem) with the winners' indices, a row of outputs at a
     * time in two passes, as {@link #halveWithIndices} does for 2x2: the column winners of the window's (clipped) rows
     * into a buffer where column c sits at c + 1, -inf with index MAX_VALUE at column -1 and past the row; then each
     * output j takes the best of columns 2j-1, 2j, 2j+1, from the buffer's even and odd lanes. The reference keeps the
     * first maximum in row-major order, a NaN above any number and the first NaN kept: the largest (NaN largest) with
     * ties to the smaller index, an order in which the rows can be settled first and the columns after, in any order.
     * At resnet18's 16x64x32x32 in training: 1.28 -> 0.74 ms (the gathering row path, 15 outputs a row through its
     * tail lanes, against this).
     */
    private static void stemPoolWithIndices(float[] xs, int xo, int planes, int h, int w, int oh, int ow, float[] y, int[] idx) {
        int vector = SPECIES.length(), width = roundUp(2 * ow + 2, vector) + 2 * vector;   // buffer: columns -1 .. 2*ow, then slack
        IntVector iota = IntVector.fromArray(INDEX, iota(), 0);
        Parallel.forRange(planes, planeGrain(h * w), (lo, hi) -> {
            Scratch scratch = SCRATCH.get();
            float[] colMax = scratch.colMax(width);
            int[] colAt = scratch.colAt(width);
            Arrays.fill(colMax, 0, width, Float.NEGATIVE_INFINITY);   // columns -1 and past the row: every row writes only 0 .. w-1
            Arrays.fill(colAt, 0, width, Integer.MAX_VALUE);
            for (int plane = lo; plane < hi; plane++) {
                int in = xo + plane * h * w;
                for (int i = 0; i < oh; i++) {
                    stemRowsWithIndices(xs, in, w, Math.max(2 * i - 1, 0), Math.min(2 * i + 2, h), iota, colMax, colAt);
                    stemColumnsWithIndices(colMax, colAt, ow, y, idx, (plane * oh + i) * ow);
                }
            }
        });
    }

    /**
     * Rows r0 .. r1-1's column winners into colMax and colAt at column + 1. A method of its own, as are the column
     * passes: in one body, C2 reached its node cutoff (NodeCountInliningCutoff) before inlining {@link #better}, and
     * every vector crossing that call was boxed: 14 MB of garbage a call at 16x64x32x32 and 1.0-1.1 ms, against 2 KB
     * and 0.53-0.56 ms split (one JVM each, 2 threads).
     */
    private static void stemRowsWithIndices(float[] xs, int in, int w, int r0, int r1, IntVector iota, float[] colMax, int[] colAt) {
        int vector = SPECIES.length(), s = 0;
        for (int bound = SPECIES.loopBound(w); s < bound; s += vector) {   // rows top down: a later row wins only if greater
            FloatVector best = FloatVector.fromArray(SPECIES, xs, in + r0 * w + s);
            IntVector bestAt = iota.add(r0 * w + s);
            for (int r = r0 + 1; r < r1; r++) {
                FloatVector v = FloatVector.fromArray(SPECIES, xs, in + r * w + s);
                VectorMask<Float> take = v.compare(VectorOperators.GT, best)
                        .or(v.test(VectorOperators.IS_NAN).andNot(best.test(VectorOperators.IS_NAN)));
                best = best.blend(v, take);
                bestAt = bestAt.blend(iota.add(r * w + s), take.cast(INDEX));
            }
            best.intoArray(colMax, s + 1);
            bestAt.intoArray(colAt, s + 1);
        }
        for (; s < w; s++) {
            float best = xs[in + r0 * w + s];
            int bestAt = r0 * w + s;
            for (int r = r0 + 1; r < r1; r++) {
                float v = xs[in + r * w + s];
                boolean take = v > best | (v != v & best == best);
                best = take ? v : best;
                bestAt = take ? r * w + s : bestAt;
            }
            colMax[s + 1] = best;
            colAt[s + 1] = bestAt;
        }
    }

    /**
     * One output row from the column winners: output j takes the best of columns 2j-1, 2j, 2j+1 (at 2j, 2j+1, 2j+2).
     * Two passes, columns 2j-1 and 2j into y and idx, then column 2j+1 against them: both comparisons in one loop body
     * again passed C2's node cutoff before the second {@link #better} was inlined (half the garbage above).
     */
    private static void stemColumnsWithIndices(float[] colMax, int[] colAt, int ow, float[] y, int[] idx, int out) {
        stemColumnPass(colMax, colAt, ow, y, idx, out, 0);
        stemColumnPass(colMax, colAt, ow, y, idx, out, 1);
    }

    /** Pass 0 writes the better of columns 2j-1 and 2j; pass 1 replaces it with column 2j+1 where that is better. */
    private static void stemColumnPass(float[] colMax, int[] colAt, int ow, float[] y, int[] idx, int out, int pass) {
        int vector = SPECIES.length(), j = 0, at = 2 * pass;   // pass 1: columns 2j+1 at 2j+2, the even lanes of 2j+2 ..
        for (; j + vector <= ow; j += vector) {
            FloatVector a = FloatVector.fromArray(SPECIES, colMax, 2 * j + at), b = FloatVector.fromArray(SPECIES, colMax, 2 * j + at + vector);
            IntVector ai = IntVector.fromArray(INDEX, colAt, 2 * j + at), bi = IntVector.fromArray(INDEX, colAt, 2 * j + at + vector);
            FloatVector v = a.rearrange(EVEN, b), best;
            IntVector vAt = ai.rearrange(EVEN_INDEX, bi), bestAt;
            if (pass == 0) {
                best = v;
                bestAt = vAt;
                v = a.rearrange(ODD, b);
                vAt = ai.rearrange(ODD_INDEX, bi);
            } else {
                best = FloatVector.fromArray(SPECIES, y, out + j);
                bestAt = IntVector.fromArray(INDEX, idx, out + j);
            }
            VectorMask<Float> take = better(v, vAt, best, bestAt);
            best.blend(v, take).intoArray(y, out + j);
            bestAt.blend(vAt, take.cast(INDEX)).intoArray(idx, out + j);
        }
        for (; j < ow; j++) {
            float best = pass == 0 ? colMax[2 * j] : y[out + j];
            int bestAt = pass == 0 ? colAt[2 * j] : idx[out + j];
            float v = colMax[2 * j + 1 + pass];
            int vAt = colAt[2 * j + 1 + pass];
            boolean tie = v == best | (v != v & best != best);
            boolean take = v > best | (v != v & best == best) | (tie & vAt < bestAt);
            y[out + j] = take ? v : best;
            idx[out + j] = take ? vAt : bestAt;
        }
    }

    /** Where candidate (v, at) beats (best, bestAt): larger, a NaN over a number, or equal (both NaN) with the smaller index. */
    private static VectorMask<Float> better(FloatVector v, IntVector at, FloatVector best, IntVector bestAt) {
        VectorMask<Float> nan = v.test(VectorOperators.IS_NAN), bestNaN = best.test(VectorOperators.IS_NAN);
        VectorMask<Float> tie = v.compare(VectorOperators.EQ, best).or(nan.and(bestNaN));
        return v.compare(VectorOperators.GT, best).or(nan.andNot(bestNaN)).or(tie.and(at.compare(VectorOperators.LT, bestAt).cast(SPECIES)));
    }

    private static int[] iota() {
        int[] lanes = new int[SPECIES.length()];
        for (int l = 0; l < lanes.length; l++) lanes[l] = l;
        return lanes;
    }

    /**
     * The 2x2 stride-2 max pool without padding (small CNNs' pools), over whole row pairs instead of row by row: a
     * pair's column max goes to a buffer at pitch 2*OW (its last vector spills into the next pair's place, written
     * after it), and since OW outputs take exactly 2*OW columns, the even/odd max then runs over the whole buffer
     * as one flat array, so 13-wide rows cost no tails. Same values as {@link #maxValues}' general path.
     */
    private static void halve(float[] xs, int xo, int planes, int h, int w, float[] y) {
        int oh = h / 2, ow = w / 2, pitch = 2 * ow, vector = SPECIES.length();
        int pairs = planes * oh, wide = roundUp(pitch, vector);
        Parallel.forRange(pairs, Math.max(PAIRS_PER_BLOCK, GRAIN / Math.max(1, 2 * w)), (lo, hi) -> {
            float[] colMax = SCRATCH.get().colMax(PAIRS_PER_BLOCK * pitch + wide + 2 * vector);   // (pairs, 2*OW), then spill
            for (int p0 = lo; p0 < hi; p0 += PAIRS_PER_BLOCK) {
                int p1 = Math.min(hi, p0 + PAIRS_PER_BLOCK);
                for (int pair = p0; pair < p1; pair++) {
                    int plane = pair / oh, i = pair - plane * oh;
                    int top = xo + plane * h * w + 2 * i * w, at = (pair - p0) * pitch;
                    int j = 0;
                    if (top + w + wide <= xs.length) {   // the last vector may read past the pair: never past xs
                        for (; j < pitch; j += vector) {
                            FloatVector.fromArray(SPECIES, xs, top + j).max(FloatVector.fromArray(SPECIES, xs, top + w + j)).intoArray(colMax, at + j);
                        }
                    } else {
                        for (; j < pitch; j++) colMax[at + j] = Math.max(xs[top + j], xs[top + w + j]);
                    }
                }
                int n = (p1 - p0) * ow, out = p0 * ow, t = 0;
                for (; t + vector <= n; t += vector) {
                    FloatVector a = FloatVector.fromArray(SPECIES, colMax, 2 * t), b = FloatVector.fromArray(SPECIES, colMax, 2 * t + vector);
                    a.rearrange(EVEN, b).max(a.rearrange(ODD, b)).intoArray(y, out + t);
                }
                for (; t < n; t++) y[out + t] = Math.max(colMax[2 * t], colMax[2 * t + 1]);
            }
        });
    }

    /**
     * out[at + j] = max over r < rows of xs[from + r*w + j] for j < w (-inf when rows is 0); out[at + w, at +
     * roundUp(w)) is left -inf. The last vector of a row reads into the next row (its lanes past w are reset), except
     * at the end of xs.
     */
    private static void columnMax(float[] xs, int from, int w, int rows, float[] out, int at) {
        int vector = SPECIES.length(), wideW = roundUp(w, vector);
        if (rows <= 0) {
            Arrays.fill(out, at, at + wideW, Float.NEGATIVE_INFINITY);
            return;
        }
        int bound = from + (rows - 1) * w + wideW <= xs.length ? wideW : SPECIES.loopBound(w);
        int j = 0;
        for (; j < bound; j += vector) {
            FloatVector m = FloatVector.fromArray(SPECIES, xs, from + j);
            for (int r = 1; r < rows; r++) m = m.max(FloatVector.fromArray(SPECIES, xs, from + r * w + j));
            m.intoArray(out, at + j);
        }
        for (; j < w; j++) {   // only a row at the very end of xs
            float m = xs[from + j];
            for (int r = 1; r < rows; r++) m = Math.max(m, xs[from + r * w + j]);
            out[at + j] = m;
        }
        Arrays.fill(out, at + w, at + wideW, Float.NEGATIVE_INFINITY);
    }

    private static int roundUp(int n, int multiple) { return (n + multiple - 1) / multiple * multiple; }

    static Tensor maxBackward(Tensor dy, Tensor indices, Shape inputShape) {
        if (indices.dtype() != DType.INT32) throw new ShapeException("maxPool2dBackward indices must be int32, got " + indices.dtype());
        if (!indices.shape().equals(dy.shape())) throw new ShapeException("maxPool2dBackward: indices " + indices.shape() + " and dy " + dy.shape() + " differ");
        int planeSize = inputShape.dim(2) * inputShape.dim(3), outPlane = dy.dim(2) * dy.dim(3);
        Tensor g = CpuCopy.contiguous(dy), ic = CpuCopy.contiguous(indices);
        float[] gs = CpuCopy.floats(g);                     // dy (N, C, OH, OW) from offset go
        int[] is = CpuCopy.storage(ic).ints();              // idx (N, C, OH, OW) from offset io
        int go = g.offset(), io = ic.offset();
        float[] dx = BufferPool.zeroed(inputShape.numel());         // dx (N, C, H, W)
        Parallel.forRange(inputShape.dim(0) * inputShape.dim(1), planeGrain(planeSize + outPlane), (lo, hi) -> {
            for (int plane = lo; plane < hi; plane++) {
                for (int k = 0; k < outPlane; k++) {
                    int at = is[io + plane * outPlane + k];
                    if (at < 0 || at >= planeSize) throw new ShapeException("maxPool2dBackward: index " + at + " is outside a plane of " + planeSize + " cells of " + inputShape);
                    dx[plane * planeSize + at] += gs[go + plane * outPlane + k];
                }
            }
        });
        return Tensor.of(CpuStorage.wrap(dx), inputShape);
    }

    static Tensor avg(Tensor x, Pool2dParams p) {
        Shape outShape = p.outputShape(x.shape());
        int h = x.dim(2), w = x.dim(3), oh = outShape.dim(2), ow = outShape.dim(3);
        Tensor c = CpuCopy.contiguous(x);
        float[] xs = CpuCopy.floats(c);
        int xo = c.offset();
        float[] y = BufferPool.zeroed(outShape.numel());
        Parallel.forRange(x.dim(0) * x.dim(1), planeGrain(h * w), (lo, hi) -> {
            for (int plane = lo; plane < hi; plane++) {
                int in = xo + plane * h * w;
                for (int i = 0; i < oh; i++) {
                    for (int j = 0; j < ow; j++) {
                        Window win = new Window(p, h, w, i, j);
                        float sum = 0;
                        for (int r = win.h0; r < win.h1; r++) for (int s = win.w0; s < win.w1; s++) sum += xs[in + r * w + s];
                        y[(plane * oh + i) * ow + j] = sum / win.divisor;
                    }
                }
            }
        });
        return Tensor.of(CpuStorage.wrap(y), outShape);
    }

    static Tensor avgBackward(Tensor dy, Shape inputShape, Pool2dParams p) {
        int h = inputShape.dim(2), w = inputShape.dim(3), oh = dy.dim(2), ow = dy.dim(3);
        Tensor g = CpuCopy.contiguous(dy);
        float[] gs = CpuCopy.floats(g);
        int go = g.offset();
        float[] dx = BufferPool.zeroed(inputShape.numel());
        Parallel.forRange(inputShape.dim(0) * inputShape.dim(1), planeGrain(h * w), (lo, hi) -> {
            for (int plane = lo; plane < hi; plane++) {
                int out = plane * h * w;
                for (int i = 0; i < oh; i++) {
                    for (int j = 0; j < ow; j++) {
                        Window win = new Window(p, h, w, i, j);
                        float share = gs[go + (plane * oh + i) * ow + j] / win.divisor;
                        for (int r = win.h0; r < win.h1; r++) for (int s = win.w0; s < win.w1; s++) dx[out + r * w + s] += share;
                    }
                }
            }
        });
        return Tensor.of(CpuStorage.wrap(dx), inputShape);
    }

    private static int planeGrain(int planeCells) { return Math.max(1, GRAIN / Math.max(1, planeCells)); }

    /** Average window (i, j) clipped to the input, and its divisor (PyTorch's avg_pool2d rule). */
    private static final class Window {
        final int h0, h1, w0, w1, divisor;

        Window(Pool2dParams p, int h, int w, int i, int j) {
            int hs = i * p.strideH() - p.padH(), ws = j * p.strideW() - p.padW();
            int he = Math.min(hs + p.kernelH(), h + p.padH()), we = Math.min(ws + p.kernelW(), w + p.padW());
            int padded = (he - hs) * (we - ws);
            h0 = Math.max(hs, 0);
            w0 = Math.max(ws, 0);
            h1 = Math.min(he, h);
            w1 = Math.min(we, w);
            divisor = p.countIncludePad() ? padded : (h1 - h0) * (w1 - w0);
        }
    }
}
