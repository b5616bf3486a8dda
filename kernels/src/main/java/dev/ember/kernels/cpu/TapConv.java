package dev.ember.kernels.cpu;

import dev.ember.engine.BufferPool;
import dev.ember.engine.Conv2dParams;

import java.util.Arrays;

/**
 * A convolution on small maps as one {@link Sgemm} per kernel tap, over only the (output, input) position pairs where
 * that tap lands inside the input. On resnet18's 2x2 maps (64x64 images) a 3x3 kernel with padding 1 meets the input
 * in 16 of its 36 (position, tap) pairs: im2col + GEMM spends 20 of every 36 multiplies on padding zeros; on its 4x4
 * maps 11 of 36.
 *
 * <pre>
 *   x (N, C, H, W), w (K, C, KH, KW), y (N, K, OH, OW); tap t = (i, j); pairs (p, q) of tap t: output position p,
 *   input position q = (oh*strideH - padH + i*dilationH, ow*strideW - padW + j*dilationW) inside the input
 *   X_t  (C, N*pairs_t)  = x[n, :, q]        gathered, columns (n, pair)
 *   DY_t (K, N*pairs_t)  = dy[n, :, p]       gathered
 *   forward:         y[n, :, p]   += (w_t (K, C) · X_t)[:, (n, pair)]        taps in order, then bias and ReLU
 *   backwardInput:   dx[n, :, q]  += (w_t^T (C, K) · DY_t)[:, (n, pair)]
 *   backwardWeight:  dw[:, :, t]   = DY_t · X_t^T (K, C)
 * </pre>
 * The products run in blocks of {@link #ROWS} rows (output channels, or input channels for backwardInput), in
 * parallel, each block through all taps in turn: Sgemm reads w_t from w itself (every KH*KW-th float; in place where
 * the product is at most {@link Sgemm#STRIDED_A_COLS} wide, packed where it is wider), and a block's rows of w stay
 * in L2 across its taps, so the weight is read from memory once, as im2col + GEMM reads it (a
 * reordered copy of resnet18's 9.4 MB layer4 weight cost more than the products). Each row of a block then sums its
 * columns into its images' positions in an L1 buffer and writes them out once (with bias and ReLU). backwardWeight
 * gathers X transposed, (columns, C), so that every block's products read X_t^T in place, keeps dw_t (rows, C) for
 * all taps and then writes its rows of dw in order.
 * The gathered matrices' columns are a chunk of images side by side, a tap's after the one before, at a row stride
 * of an odd multiple of 16 floats (see {@link #stride}); a chunk's size depends on the geometry only. Determinism:
 * every product is one Sgemm element; forward and backwardInput add a position's taps in tap order, backwardWeight
 * its chunks in chunk order.
 * Products that im2col makes with padding are not made at all, so a NaN or an infinity next to the padding stays
 * where it is (as in the reference), where im2col + GEMM would multiply it by a zero.
 */
final class TapConv {
    /** {@code -Dember.tapConv=false}: im2col + GEMM for these layers too. */
    static final boolean ENABLED = !"false".equals(System.getProperty("ember.tapConv"));
    /** Taken where at most this share of im2col's multiplies meet the input (the rest meet padding). */
    static final double MAX_USED = 0.75;
    /** Largest output map taken (8x8): measured on 2x2 and 4x4 maps, where the gathers cost little beside the products. */
    static final int MAX_POSITIONS = 64;
    /** Floats of a chunk's gathered columns (X or DY), and of its products: 8 MB each. */
    private static final long CHUNK_FLOATS = 1L << 21;

    final int n, c, k, inPositions, outPositions, taps, pairs;
    /** Tap t's pairs are [first[t], first[t + 1]), each an output position outAt and an input position inAt. */
    final int[] first, outAt, inAt;
    /** Images per chunk. */
    final int perChunk;

    TapConv(Im2col g, Conv2dParams p, long chunkFloats) {
        n = g.n;
        c = g.c;
        k = g.oc;
        inPositions = g.h * g.w;
        outPositions = g.oh * g.ow;
        taps = g.kh * g.kw;
        first = new int[taps + 1];
        int[] out = new int[taps * outPositions], in = new int[taps * outPositions];
        int count = 0;
        for (int t = 0; t < taps; t++) {
            first[t] = count;
            int i = t / g.kw, j = t % g.kw;
            for (int oy = 0; oy < g.oh; oy++) {
                int iy = oy * p.strideH() - p.padH() + i * p.dilationH();
                if (iy < 0 || iy >= g.h) continue;
                for (int ox = 0; ox < g.ow; ox++) {
                    int ix = ox * p.strideW() - p.padW() + j * p.dilationW();
                    if (ix < 0 || ix >= g.w) continue;
                    out[count] = oy * g.ow + ox;
                    in[count++] = iy * g.w + ix;
                }
            }
        }
        first[taps] = count;
        pairs = count;
        outAt = Arrays.copyOf(out, count);
        inAt = Arrays.copyOf(in, count);
        perChunk = (int) Math.max(1, Math.min(n, chunkFloats / Math.max(1, (long) Math.max(c, k) * pairs)));
    }

    /**
     * The plan for this geometry, or null where im2col + GEMM does as well: one group, a map of at most
     * {@link #MAX_POSITIONS} outputs, at most {@link #MAX_USED} of im2col's multiplies meeting the input, and for the
     * weight gradient ({@code weightGradient}) stride 1. Measured on resnet18 at 16x64x64. Alone (one JVM per side,
     * alternating): its 2x2 layers (16 of 36 products used) forward 2.1-4.8 ms as im2col + GEMM against 1.6-1.9,
     * backwardInput 2.4-3.9 against 1.7-2.3, backwardWeight 2.3-3.8 against 2.0-2.3; its 4x4 layers (25 of 36)
     * forward 1.8-1.9 against 1.6, backwardInput 2.0-3.4 against 1.6-2.8, backwardWeight the same. In the training
     * step (blocks of 4 steps with and without, in one JVM; the weights come from memory there): 2x2 forward 2.5-2.7
     * against 2.0-2.1, backwardInput 2.7-3.0 against 2.3-2.4, backwardWeight 2.7-2.9 against 2.6-2.8; 4x4 forward
     * 2.0-2.2 against 1.8-1.9, backwardInput 2.1-2.3 against 1.9-2.0, backwardWeight 2.0-2.3 against 1.8-2.2 (before
     * the strided A was read in place, which took the 2x2 layers' forward and backwardInput to 1.4-1.5 and 1.9). Its
     * stride-2 layer into the 2x2 maps (25 of 36), alone with a cold cache: forward 1.16-1.17 against 0.89-0.91,
     * backwardInput 1.33-1.42 against 0.95-1.00, but backwardWeight 1.08-1.18 against 1.41-1.51 (products of depth
     * 16-64 per tap), so the weight gradient of a strided layer stays on im2col.
     */
    static TapConv plan(Im2col g, Conv2dParams p, boolean weightGradient) {
        if (!ENABLED || g.groups != 1 || g.pointwise || weightGradient && (p.strideH() != 1 || p.strideW() != 1)
                || g.oh * g.ow > MAX_POSITIONS || g.kh * g.kw > MAX_POSITIONS) return null;
        TapConv plan = new TapConv(g, p, CHUNK_FLOATS);
        return plan.pairs > 0 && plan.pairs <= MAX_USED * plan.taps * plan.outPositions ? plan : null;
    }

    /** Columns of tap t in a chunk of {@code images}: (image, pair) for its pairs. */
    private int columns(int t, int images) { return images * (first[t + 1] - first[t]); }

    /** y (N, K, OH, OW) = conv(x, w) (+ bias, then ReLU); x contiguous at xOff, w (K, C, KH, KW) at wOff; bias may be null. */
    void forward(float[] x, int xOff, float[] w, int wOff, float[] bias, boolean relu, float[] y) {
        // w_t (K, C): row stride C*taps, column stride taps
        spread(x, xOff, c, inPositions, inAt, w, wOff, c * taps, taps, k, outPositions, outAt, true, bias, relu, y);
    }

    /** dx (N, C, H, W) for dy (N, K, OH, OW) contiguous at dyOff and w (K, C, KH, KW) at wOff. */
    void backwardInput(float[] dy, int dyOff, float[] w, int wOff, float[] dx) {
        // w_t^T (C, K): row stride taps, column stride C*taps
        spread(dy, dyOff, k, outPositions, outAt, w, wOff, taps, c * taps, c, inPositions, inAt, false, null, false, dx);
    }

    /**
     * Forward and backwardInput: out (N, outRows, outPositions) = for each tap t, A_t (outRows, srcRows) times src
     * (N, srcRows, srcPositions) gathered at {@code srcAt}, each column added to its position {@code outAt}, taps in
     * order; A_t's element (r, j) is {@code w[wOff + t + r*aRow + j*aCol]}. With {@code epilogue}, bias (may be null)
     * and ReLU on the way out.
     */
    private void spread(float[] src, int srcOff, int srcRows, int srcPositions, int[] srcAt, float[] w, int wOff, int aRow, int aCol,
                        int outRows, int outPositions, int[] outAt, boolean epilogue, float[] bias, boolean relu, float[] out) {
        for (int n0 = 0; n0 < n; n0 += perChunk) {
            int images = Math.min(perChunk, n - n0), ld = stride(images * pairs), n1 = n0;
            float[] cols = gather(src, srcOff, srcRows, srcPositions, srcAt, n0, images);   // (srcRows, ld)
            int[] to = table(outAt, outPositions, images);
            forRowBlocks(outRows, (r0, rows, prod) -> {
                for (int t = 0; t < taps; t++) {   // A_t rows r0..
                    int at = images * first[t];
                    Sgemm.gemm(rows, columns(t, images), srcRows, w, wOff + r0 * aRow + t, aRow, aCol, cols, at, ld, 1, prod, at, ld, false);
                }
                Scratch s = SCRATCH.get();
                float[] sum = s.sum = Winograd3x3.grow(s.sum, images * outPositions);
                for (int r = 0; r < rows; r++) {
                    addColumns(prod, r * ld, to, images * pairs, sum, images * outPositions);
                    int row = r0 + r;
                    for (int img = 0; img < images; img++) {
                        int at = ((n1 + img) * outRows + row) * outPositions;
                        if (epilogue) CpuConv2d.biasRelu(sum, img * outPositions, out, at, outPositions, bias == null ? 0f : bias[row], relu);
                        else System.arraycopy(sum, img * outPositions, out, at, outPositions);
                    }
                }
            }, ld);
            BufferPool.recycle(cols);
        }
    }

    /** dw (K, C, KH, KW), every element written, for x (N, C, H, W) at xOff and dy (N, K, OH, OW) at dyOff. */
    void backwardWeight(float[] x, int xOff, float[] dy, int dyOff, float[] dw) {
        for (int n0 = 0; n0 < n; n0 += perChunk) {
            int images = Math.min(perChunk, n - n0), ld = stride(images * pairs);
            boolean add = n0 > 0;
            int ldx = stride(c);
            float[] xs = gatherRows(x, xOff, c, inPositions, inAt, n0, images, ldx);   // X^T (columns, C) at row stride ldx
            float[] dys = gather(dy, dyOff, k, outPositions, outAt, n0, images);      // (K, ld)
            forRowBlocks(k, (o0, rows, block) -> {   // block (taps, rows, C)
                for (int t = 0; t < taps; t++) {   // dw_t rows o0.. (rows, C) = DY_t rows · X_t^T, X_t^T read in place
                    int at = images * first[t];
                    Sgemm.gemm(rows, c, columns(t, images), dys, o0 * ld + at, ld, 1, xs, at * ldx, ldx, 1, block, t * rows * c, c, false);
                }
                for (int r = 0; r < rows; r++) {   // dw rows o0.. written in order, taps innermost
                    int to = (o0 + r) * c * taps;
                    for (int ci = 0; ci < c; ci++, to += taps) {
                        for (int t = 0, from = r * c + ci; t < taps; t++, from += rows * c) {
                            dw[to + t] = add ? dw[to + t] + block[from] : block[from];
                        }
                    }
                }
            }, taps * c);
            BufferPool.recycle(xs);
            BufferPool.recycle(dys);
        }
    }

    /** Rows of a block: the block's weight rows (ROWS * C * taps floats, 590 KB at 512 channels) stay in L2 for all taps. */
    static final int ROWS = 4 * SgemmKernel.MR;

    @FunctionalInterface
    private interface RowBlock { void run(int row0, int rows, float[] scratch); }

    /** Blocks of {@link #ROWS} of {@code rows}, in parallel, each given a per-thread scratch of at least ROWS * width floats. */
    private static void forRowBlocks(int rows, RowBlock body, int width) {
        int blocks = (rows + ROWS - 1) / ROWS;
        Parallel.forRange(blocks, 1, (lo, hi) -> {
            Scratch s = SCRATCH.get();
            s.block = Winograd3x3.grow(s.block, ROWS * width);
            for (int b = lo; b < hi; b++) body.run(b * ROWS, Math.min(ROWS, rows - b * ROWS), s.block);
        });
    }

    private static final class Scratch {
        float[] block = new float[0];
        /** One row's sums over its images' positions (forward and backwardInput), in L1. */
        float[] sum = new float[0];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * Row stride of a chunk's (rows, columns) matrices: the columns rounded up to an odd multiple of 16 floats. A stride
     * of a power of two (resnet18's 2x2 layers at batch 16: 256 floats) puts the rows a product reads in place on a few
     * L1 sets only.
     */
    static int stride(int columns) {
        int ld = (columns + 15) / 16 * 16;
        return ld / 16 % 2 == 0 ? ld + 16 : ld;
    }

    /** Column j of a chunk of {@code images}: img * imageStride + the position it reads or writes. */
    private int[] table(int[] at, int imageStride, int images) {
        int[] offsets = new int[images * pairs];
        int j = 0;
        for (int t = 0; t < taps; t++) {
            for (int img = 0; img < images; img++) {
                for (int i = first[t]; i < first[t + 1]; i++) offsets[j++] = img * imageStride + at[i];
            }
        }
        return offsets;
    }

    /**
     * Images [n0, n0 + images) of a (N, rows, positions) array at {@code off} gathered as (rows, columns) with row
     * stride {@link #stride}: tap t's columns (image, pair) from images*first[t] on, pair i reading position
     * {@code at[i]}. A pooled array.
     */
    private float[] gather(float[] a, int off, int rows, int positions, int[] at, int n0, int images) {
        int total = images * pairs, ld = stride(total);
        int[] from = table(at, rows * positions, images);
        float[] g = BufferPool.uninitialized(rows * ld);
        Parallel.forRange(rows, Parallel.grain(rows, 8), (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                int base = off + (n0 * rows + r) * positions, to = r * ld;
                for (int j = 0; j < total; j++) g[to + j] = a[base + from[j]];
            }
        });
        return g;
    }

    /**
     * {@link #gather} transposed: column j of the chunk as row j of a (columns, rows) array at row stride {@code ldr}
     * (backwardWeight's X_t^T, read in place by its products). A pooled array.
     */
    private float[] gatherRows(float[] a, int off, int rows, int positions, int[] at, int n0, int images, int ldr) {
        int total = images * pairs;
        int[] from = table(at, rows * positions, images);
        float[] g = BufferPool.uninitialized(total * ldr);
        Parallel.forRange(total, Parallel.grain(total, 8), (lo, hi) -> {
            for (int j = lo; j < hi; j++) {
                int src = off + n0 * rows * positions + from[j], to = j * ldr;
                for (int r = 0; r < rows; r++) g[to + r] = a[src + r * positions];
            }
        });
        return g;
    }

    /**
     * The adjoint of {@link #gather} for one row of a product, from {@code block[from]}: sum (images, positions) =
     * 0, then each column added to its position, taps in order.
     */
    private static void addColumns(float[] block, int from, int[] to, int total, float[] sum, int size) {
        Arrays.fill(sum, 0, size, 0f);
        for (int j = 0; j < total; j++) sum[to[j]] += block[from + j];
    }
}
