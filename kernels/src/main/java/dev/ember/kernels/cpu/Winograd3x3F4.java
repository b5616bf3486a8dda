package dev.ember.kernels.cpu;

import dev.ember.engine.Conv2dParams;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import static dev.ember.kernels.cpu.Winograd3x3.EVEN;
import static dev.ember.kernels.cpu.Winograd3x3.ODD;
import static dev.ember.kernels.cpu.Winograd3x3.ZIP_HIGH;
import static dev.ember.kernels.cpu.Winograd3x3.ZIP_LOW;

/**
 * A 3x3, stride-1 convolution as Winograd F(4x4, 3x3) (Lavin and Gray, 2015): each 4x4 output tile is made from the
 * 6x6 input tile around it with 36 multiplies per (output channel, input channel) instead of 144, against 64 for the
 * four 2x2 tiles of {@link Winograd3x3}. Inference only: it takes a constant weight, whose 36 planes are made once
 * and kept (4 times the weight), so it runs where a product has tiles enough to repay reading them.
 *
 * <pre>
 *   tiles t = (n, ty, tx), ty < ceil(OH/4), tx < ceil(OW/4); d[c, t] (6x6) = x[n, c, 4ty - padH + r, 4tx - padW + q]
 *   U[xi] (K, C) = (G w[k, c] G^T)[xi]        36 planes xi = (i, j), packed for Sgemm
 *   V[xi] (C, T) = (B^T d[c, t] B)[xi]        a chunk's T tiles side by side
 *   M[xi] (K, T) = U[xi] · V[xi]              36 Sgemm products of depth C
 *   y[n, k, 4ty + a, 4tx + b] = (A^T M[., k, t] A)[a, b] (+ bias, then ReLU)
 *   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
 *   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
 * </pre>
 * The transforms use the points 0, +-1, +-2, so they lose a few more bits than F(2x2, 3x3): about 1e-6 of the sum
 * of |terms| here (Winograd3x3F4Test). Each tile's inputs are gathered through a table, vectors over the chunk's
 * tiles, and every transform runs on whole vectors of T with a scalar tail of the same arithmetic, so each output
 * depends only on its tile: the same bits for any chunking, batch split or thread count.
 */
final class Winograd3x3F4 {
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int L = SPECIES.length();
    /** {@code -Dember.winogradF4=false} keeps inference on F(2x2, 3x3) (or im2col + GEMM) everywhere. */
    static final boolean ENABLED = Winograd3x3.ENABLED && !"false".equals(System.getProperty("ember.winogradF4"));
    /** V and M of one chunk together, in floats (2 MB), as in {@link Winograd3x3}. */
    private static final int CHUNK_FLOATS = 1 << 19;
    /**
     * Up to this many floats (8 MB) of V and M for the whole batch, it runs as one chunk: three parallel phases instead
     * of three per chunk, and products as wide as the batch's tiles. One JVM per setting, alternating: resnet18's
     * 1x64x56x56 (196 tiles, two chunks before) 0.56-0.58 -> 0.48 ms, 32x128x8x8 (three chunks) 1.65 -> 1.22,
     * small_cnn's conv2 at batch 32 0.52 -> 0.49-0.50. 32x64x16x16 (2.4 M floats) keeps its five chunks in parallel:
     * as three or two chunks run one after the other it took 1.55-3.6 ms against 2.07.
     */
    private static final int ONE_CHUNK_FLOATS = 1 << 21;
    /**
     * Such a batch runs as one chunk per thread where each chunk's V and M fit this many floats (2.5 MB, a little past
     * a core's 2 MB of L2: resnet18's 32x128x8x8 layer, 2.4 MB a chunk, still gained, 33.8-35.0 -> 33.5-34.3 ms a call):
     * each phase's data then stays on the core that made it, where as one chunk the three phases split it three ways
     * (input transform by channel, products by plane, output transform by output channel), and each read the last's
     * output from the other core. small_cnn's conv2 at batch 32 (96 tile rows, 2 MB a chunk) alone: 0.57-0.61 ->
     * 0.48-0.54 ms; the whole model at batch 32 (alternating class loaders, both orders) 0.854-0.863 -> 0.698-0.702 ms a
     * call, resnet18 at 1x3x224x224 (its 56x56 layers) 13.70-13.84 -> 13.17-13.36 ms. Its 28x28 layers cut in chunks of
     * 21 and 28 tiles instead were slower (13.19 -> 13.78 ms): each chunk reads all 36 planes of U (2.4 MB there).
     */
    private static final int CORE_FLOATS = 5 << 17;
    /** Fewest input and output channels, as for F(2x2, 3x3). */
    static final int MIN_CHANNELS = 32;
    /** Fewest tiles per product: the 36 planes are 4 times the weight and are read once per product. */
    static final int MIN_TILES = 32;
    /**
     * Tile rows at most this wide gather each tile's inputs through a table ({@link #inputTransformNarrow}); wider ones
     * split padded input rows into their four column phases ({@link #inputTransform}), where a vector of a tile row's
     * tiles has lanes enough to use. Input transform per call, one JVM per setting: resnet18's 64-channel layer at 1x56x56
     * (14-tile rows) 0.14 ms split against 0.24 gathered, 128 channels at 1x28x28 (7) 0.09-0.11 against 0.14, but
     * 64 channels at 32x16x16 (4) 0.69 split against 0.60-0.62 gathered (wall time of the calling thread). Since the
     * gathers go straight to registers ({@link #downColumnGathered}) they won at a vector of tiles too on the Intel Xeon:
     * per thread at 1x64x56x56 155-163 us split against 133-143 gathered, at 1x128x28x28 109-128 against 98-105. On the
     * Zen 5 a 16-lane gather takes ~30 cycles (15 us for 2048 of them from L1, where the same floats copied take 7), and
     * the gathers were the input transform's time: at 1x64x56x56 172-176 us a thread gathered (157-195 with V's writes
     * sent to a small buffer instead, so not the writes), 96-97 split; the conv 473-538 -> 358-395 us (fresh JVMs,
     * alternating). Split and gathered even at 7-tile rows (1x128x28x28) and at 4 (32x64x16x16, 32x128x8x8); gathered
     * ahead at 3 (small_cnn's conv2 and pool at batch 32, 293-295 against 302-350). So gathers up to 8. Measured with the
     * gathers; narrow rows now take {@link #TRANSPOSED}'s row loads instead, and with those 14-tile rows still ran faster
     * split (414-422 against 482-494 us), 7-tile rows even.
     */
    static final int NARROW_TILES = 8;

    private final int n, c, k, h, w, oh, ow, padH, padW, tilesY, tilesX, chunks;
    /** Chunks run one per thread, each chunk's three phases on its own core ({@link #CORE_FLOATS}). */
    private final boolean perThread;

    private Winograd3x3F4(Im2col g, Conv2dParams p) {
        n = g.n;
        c = g.c;
        k = g.oc;
        h = g.h;
        w = g.w;
        oh = g.oh;
        ow = g.ow;
        padH = p.padH();
        padW = p.padW();
        tilesY = (oh + 3) / 4;
        tilesX = (ow + 3) / 4;
        Chunking split = Chunking.of(n * tilesY, 36 * (c + k) * tilesX, tilesX, Parallel.THREADS);
        chunks = split.chunks();
        perThread = split.perThread();
    }

    /**
     * How a call's tile rows (rows of perRow floats of V and M each) are cut: as one chunk where all fit
     * {@link #ONE_CHUNK_FLOATS}, or one chunk per thread where each then fits {@link #CORE_FLOATS} with
     * {@link #MIN_TILES} tiles; else in chunks of at most {@link #CHUNK_FLOATS}, as many for every thread. Chunk q
     * takes rows [q*rows/chunks, (q+1)*rows/chunks).
     */
    record Chunking(int chunks, boolean perThread) {
        static Chunking of(int rows, int perRow, int tilesX, int threads) {
            if ((long) rows * perRow > ONE_CHUNK_FLOATS) {
                // as many chunks per thread (they run in parallel, claimed one at a time): resnet18's 32x64x16x16 took
                // five, three on one core and two on the other (six: 33.5-33.8 -> 32.8-32.9 ms a call)
                int per = Math.max(1, Math.min(rows, CHUNK_FLOATS / perRow)), chunks = (rows + per - 1) / per;
                return new Chunking(Math.min(rows, (chunks + threads - 1) / threads * threads), false);
            }
            int shared = (rows + threads - 1) / threads;
            if (threads > 1 && rows >= threads && (long) shared * perRow <= CORE_FLOATS && (long) (rows / threads) * tilesX >= MIN_TILES) {
                return new Chunking(threads, true);
            }
            return new Chunking(1, false);
        }
    }

    /** The plan for this geometry, or null: 3x3, stride 1, dilation 1, one group, channels and tiles enough. */
    static Winograd3x3F4 plan(Im2col g, Conv2dParams p) {
        if (!ENABLED || g.kh != 3 || g.kw != 3 || p.strideH() != 1 || p.strideW() != 1 || p.dilationH() != 1
                || p.dilationW() != 1 || g.groups != 1 || g.oh < 4 || g.ow < 4 || g.c < MIN_CHANNELS || g.oc < MIN_CHANNELS) return null;
        Winograd3x3F4 plan = new Winograd3x3F4(g, p);
        long fewestTiles = (long) (plan.n * plan.tilesY / plan.chunks) * plan.tilesX;
        return fewestTiles >= MIN_TILES && (long) plan.k * plan.c * fewestTiles >= Sgemm.SMALL ? plan : null;
    }

    /** Chunks per call (for tests). */
    int chunks() { return chunks; }

    /** The transformed weight: plane xi (K, C) packed for Sgemm. */
    record Weight(Sgemm.PackedA[] planes) {}

    /** G's rows: a 3-vector (a, b, e) goes to the 6 values of G (a, b, e)^T. */
    private static void g(double a, double b, double e, double[] out, int at, int step) {
        out[at] = a / 4;
        out[at + step] = -(a + b + e) / 6;
        out[at + 2 * step] = -(a - b + e) / 6;
        out[at + 3 * step] = a / 24 + b / 12 + e / 6;
        out[at + 4 * step] = a / 24 - b / 12 + e / 6;
        out[at + 5 * step] = e;
    }

    /** U = G w G^T for w (K, C, 3, 3) at {@code wOff}, each 6x6 result computed in double and rounded once. */
    static Weight transform(float[] wd, int wOff, int k, int c) {
        // (36, C, K): each plane column-major, so that packing copies MR adjacent values per step (see Winograd3x3)
        float[] u = new float[36 * c * k];
        Parallel.forRange(c, Parallel.grain(c, 1), (lo, hi) -> {
            double[] gw = new double[18];   // G w (6x3), row r at 3r
            double[] row = new double[6];
            for (int ci = lo; ci < hi; ci++) {
                for (int o = 0; o < k; o++) {
                    int at = wOff + (o * c + ci) * 9;
                    for (int q = 0; q < 3; q++) g(wd[at + q], wd[at + 3 + q], wd[at + 6 + q], gw, q, 3);
                    for (int i = 0; i < 6; i++) {   // row i of (G w) G^T
                        g(gw[3 * i], gw[3 * i + 1], gw[3 * i + 2], row, 0, 1);
                        for (int j = 0; j < 6; j++) u[((i * 6 + j) * c + ci) * k + o] = (float) row[j];
                    }
                }
            }
        });
        Sgemm.PackedA[] planes = new Sgemm.PackedA[36];
        for (int xi = 0; xi < 36; xi++) planes[xi] = Sgemm.PackedA.of(k, c, u, xi * c * k, 1, k);
        return new Weight(planes);
    }

    /** Per-thread buffers: V and M of the chunk a thread owns, a channel's gathered and half-transformed tiles, the gather table. */
    private static final class Scratch {
        float[] v = new float[0], m = new float[0], d = new float[0], half = new float[0], out = new float[0], row = new float[0];
        int[] corner = new int[0], pooledAt = new int[0];
        /** Where tile t's input (0, 0) would be, from channel 0 of the batch (past x's edges too): see {@link #gatherTable}. */
        int[] start = new int[0];
        /** Per vector of tiles v, the lowest and highest of their start entries, at 2v and 2v + 1. */
        int[] span = new int[0];
        boolean[] inside = new boolean[0], pooledIn = new boolean[0];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** Set when an output came out NaN or infinite before the ReLU (by any thread of this call). */
    private volatile boolean nonFinite;

    /**
     * y (N, K, OH, OW) = conv(x, w) (+ bias, then ReLU), x (N, C, H, W) contiguous at {@code xOff}; {@code u} from
     * {@link #transform} of w; bias (K) may be null. Returns false when an output came out NaN or infinite: the
     * transforms' zeros come from cancellation (4x - 4x), so a NaN or an infinity in x reaches the whole 4x4 tile, not
     * only the outputs whose windows hold it, and the caller computes such a call another way.
     */
    boolean forward(float[] x, int xOff, Weight u, float[] bias, boolean relu, float[] y) { return forward(x, xOff, u, bias, relu, y, null, 0); }

    /**
     * {@link #forward}, then + res (N, K, OH, OW, contiguous at {@code resOff}) before the ReLU where res is not null:
     * a residual block's conv, Add and Relu in the output transform's pass ({@link CpuConv2d#forwardAddRelu}).
     */
    boolean forward(float[] x, int xOff, Weight u, float[] bias, boolean relu, float[] y, float[] res, int resOff) {
        nonFinite = false;
        Winograd3x3.forChunks(chunks, perThread, q -> chunk(q, x, xOff, u, bias, relu, y, false, res, resOff));
        return !nonFinite;
    }

    /**
     * The 2x2 stride-2 max pool of {@link #forward}'s y, z (N, K, OH/2, OW/2), without writing y: a 4x4 output tile
     * holds four whole pooling windows (tiles start at multiples of 4), so each tile's outputs are pooled in registers,
     * lanes over tiles, as they come out of the output transform. Max is exact and order-free, so z is the bits of
     * pooling forward's y (ReLU before or after the max, the same). Returns false, as forward does, when an output came
     * out NaN or infinite: the caller then computes the two ops another way. small_cnn's conv2 and pool at batch 32.
     */
    boolean forwardPooled(float[] x, int xOff, Weight u, float[] bias, boolean relu, float[] z) {
        nonFinite = false;
        Winograd3x3.forChunks(chunks, perThread, q -> chunk(q, x, xOff, u, bias, relu, z, true, null, 0));
        return !nonFinite;
    }

    /** Tile rows [r0, r1) of chunk q: as many per chunk as fit, with sizes that differ by at most one. */
    private int firstRow(int q) { return (int) ((long) q * n * tilesY / chunks); }

    private void chunk(int q, float[] x, int xOff, Weight u, float[] bias, boolean relu, float[] y, boolean pooled, float[] res, int resOff) {
        int r0 = firstRow(q), r1 = firstRow(q + 1), tiles = (r1 - r0) * tilesX;
        Scratch s = SCRATCH.get();
        float[] v = s.v = Winograd3x3.grow(s.v, 36 * c * tiles);   // (36, C, T)
        float[] m = s.m = Winograd3x3.grow(s.m, 36 * k * tiles);   // (36, K, T)
        boolean narrow = tilesX <= NARROW_TILES;
        if (narrow) gatherTable(s, r0, r1, tiles);
        int[] corner = s.corner, start = s.start, span = s.span;
        boolean[] inside = s.inside;
        Parallel.forRange(c, Parallel.grain(c, 1), (lo, hi) -> {
            for (int ci = lo; ci < hi; ci++) {
                if (narrow) inputTransformNarrow(x, xOff, ci, v, tiles, corner, inside, start, span);
                else inputTransform(x, xOff, ci, r0, r1, v, tiles);
            }
        });
        Parallel.forRange(36, 1, (lo, hi) -> {
            for (int xi = lo; xi < hi; xi++) {
                Sgemm.gemm(k, tiles, c, null, 0, c, 1, u.planes()[xi], v, xi * c * tiles, tiles, 1, m, xi * k * tiles, tiles, false);
            }
        });
        if (pooled) {
            pooledTable(s, r0, r1, tiles);
            int[] at = s.pooledAt;
            boolean[] in = s.pooledIn;
            Parallel.forRange(k, Parallel.grain(k, 1), (lo, hi) -> {
                for (int o = lo; o < hi; o++) outputTransformPooled(m, tiles, o, bias == null ? 0f : bias[o], relu, y, at, in);
            });
            return;
        }
        Parallel.forRange(k, Parallel.grain(k, 1), (lo, hi) -> {
            for (int o = lo; o < hi; o++) outputTransform(m, tiles, o, r0, r1, bias == null ? 0f : bias[o], relu, y, res, resOff);
        });
    }

    /**
     * For the chunk's tile t and pooling window (i, j) of its four, at [(2i + j)(T + L) + t]: whether the window lies
     * in z (OH/2 x OW/2: a last tile row or column may hold one window or none) and its offset in z from channel 0 of
     * the batch (0 where outside, so that every scattered lane's index is valid). Made by the chunk's owner.
     */
    private void pooledTable(Scratch s, int r0, int r1, int tiles) {
        int pitch = tiles + L, ph = oh / 2, pw = ow / 2;
        int[] at = s.pooledAt = s.pooledAt.length < 4 * pitch ? new int[4 * pitch] : s.pooledAt;
        boolean[] in = s.pooledIn = s.pooledIn.length < 4 * pitch ? new boolean[4 * pitch] : s.pooledIn;
        java.util.Arrays.fill(at, 0, 4 * pitch, 0);
        java.util.Arrays.fill(in, 0, 4 * pitch, false);   // lanes past the last tile stay off
        for (int row = r0; row < r1; row++) {
            int img = row / tilesY, ty = row % tilesY;
            for (int tx = 0; tx < tilesX; tx++) {
                int t = (row - r0) * tilesX + tx;
                for (int i = 0; i < 2; i++) {
                    for (int j = 0; j < 2; j++) {
                        int pr = 2 * ty + i, pc = 2 * tx + j, slot = (2 * i + j) * pitch + t;
                        in[slot] = pr < ph && pc < pw;
                        at[slot] = in[slot] ? (img * k * ph + pr) * pw + pc : 0;
                    }
                }
            }
        }
    }

    /**
     * z[., o, ., .] for the chunk's tiles: A^T down each of the six columns of M into {@code half}, as
     * {@link #outputTransform} does, then A across output rows 0 and 1, and 2 and 3, each pair's two windows maxed
     * (+ bias, then ReLU) and scattered to z through the chunk's {@link #pooledTable}.
     */
    private void outputTransformPooled(float[] m, int tiles, int o, float bias, boolean relu, float[] z, int[] at, boolean[] in) {
        Scratch s = SCRATCH.get();
        int pitch = tiles + L;
        float[] half = s.half = Winograd3x3.grow(s.half, 24 * pitch);
        int plane = k * tiles, zOff = o * (oh / 2) * (ow / 2);
        for (int j = 0; j < 6; j++) sixPointAt(m, (j * k + o) * tiles, 6 * plane, tiles, half, j * pitch, 6 * pitch);   // down column j
        boolean finite = poolRowPair(half, 0, pitch, tiles, bias, relu, z, zOff, at, in, 0);
        finite &= poolRowPair(half, 12 * pitch, pitch, tiles, bias, relu, z, zOff, at, in, 2 * pitch);
        if (!finite) nonFinite = true;
    }

    /**
     * Output rows a and a+1 of every tile (their A^T M rows from {@code from}, six planes {@code p} apart, the second
     * 6p on), across with A as {@link #acrossRowA}, + bias; the left window (columns 0, 1) and the right one (2, 3)
     * maxed over both rows, then ReLU, scattered to z at zOff + at[slot + t] where in[slot + t] ({@code slot}: the
     * left window's table plane, the right's p after). Returns whether every value was finite before the ReLU. The
     * across-row arithmetic repeats acrossRowA's, for both rows: Java returns no tuple of vectors, and a helper passed
     * or returning vectors boxes them wherever C2 leaves it out of line.
     */
    private static boolean poolRowPair(float[] half, int from, int p, int n, float bias, boolean relu, float[] z, int zOff,
                                       int[] at, boolean[] in, int slot) {
        FloatVector probe = FloatVector.zero(SPECIES);   // stays 0 while every value is finite, NaN after
        for (int t = 0; t < n; t += L) {
            FloatVector m0 = FloatVector.fromArray(SPECIES, half, from + t), m1 = FloatVector.fromArray(SPECIES, half, from + p + t);
            FloatVector m2 = FloatVector.fromArray(SPECIES, half, from + 2 * p + t), m3 = FloatVector.fromArray(SPECIES, half, from + 3 * p + t);
            FloatVector m4 = FloatVector.fromArray(SPECIES, half, from + 4 * p + t), m5 = FloatVector.fromArray(SPECIES, half, from + 5 * p + t);
            FloatVector p12 = m1.add(m2), d12 = m1.sub(m2), p34 = m3.add(m4), d34 = m3.sub(m4);
            FloatVector c0 = m0.add(p12).add(p34).add(bias), c1 = d12.add(d34.mul(2f)).add(bias);
            FloatVector c2 = p12.add(p34.mul(4f)).add(bias), c3 = d12.add(d34.mul(8f)).add(m5).add(bias);
            int next = from + 6 * p;
            m0 = FloatVector.fromArray(SPECIES, half, next + t);
            m1 = FloatVector.fromArray(SPECIES, half, next + p + t);
            m2 = FloatVector.fromArray(SPECIES, half, next + 2 * p + t);
            m3 = FloatVector.fromArray(SPECIES, half, next + 3 * p + t);
            m4 = FloatVector.fromArray(SPECIES, half, next + 4 * p + t);
            m5 = FloatVector.fromArray(SPECIES, half, next + 5 * p + t);
            p12 = m1.add(m2);
            d12 = m1.sub(m2);
            p34 = m3.add(m4);
            d34 = m3.sub(m4);
            FloatVector e0 = m0.add(p12).add(p34).add(bias), e1 = d12.add(d34.mul(2f)).add(bias);
            FloatVector e2 = p12.add(p34.mul(4f)).add(bias), e3 = d12.add(d34.mul(8f)).add(m5).add(bias);
            VectorMask<Float> past = SPECIES.indexInRange(t, n).not();
            probe = probe.add(c0.add(c1).add(c2).add(c3).mul(0f).blend(0f, past));
            probe = probe.add(e0.add(e1).add(e2).add(e3).mul(0f).blend(0f, past));
            FloatVector left = c0.max(c1).max(e0.max(e1)), right = c2.max(c3).max(e2.max(e3));
            if (relu) {
                left = left.max(0f);
                right = right.max(0f);
            }
            left.intoArray(z, zOff, at, slot + t, VectorMask.fromArray(SPECIES, in, slot + t));
            right.intoArray(z, zOff, at, slot + p + t, VectorMask.fromArray(SPECIES, in, slot + p + t));
        }
        return !probe.test(VectorOperators.IS_NAN).anyTrue();
    }

    /**
     * For tile rows [r0, r1): for input (r, q) of tile t, at [(6r + q)(T + L) + t], whether it lies inside x and its
     * offset in x from channel 0 of the batch (0 where outside, so that every lane's index is valid: the Vector API
     * checks masked-off lanes too). Made by the chunk's owner; its workers only read it.
     */
    private void gatherTable(Scratch s, int r0, int r1, int tiles) {
        int pitch = tiles + L;
        int[] corner = s.corner = s.corner.length < 36 * pitch ? new int[36 * pitch] : s.corner;
        boolean[] inside = s.inside = s.inside.length < 36 * pitch ? new boolean[36 * pitch] : s.inside;
        java.util.Arrays.fill(inside, 0, 36 * pitch, false);   // lanes past the last tile stay off and read x[0]
        java.util.Arrays.fill(corner, 0, 36 * pitch, 0);
        int[] start = s.start = s.start.length < pitch ? new int[pitch] : s.start;
        java.util.Arrays.fill(start, 0, pitch, 0);
        for (int row = r0; row < r1; row++) {
            int img = row / tilesY, iy = 4 * (row % tilesY) - padH;
            for (int tx = 0; tx < tilesX; tx++) {
                int t = (row - r0) * tilesX + tx, ix = 4 * tx - padW;
                start[t] = (img * c * h + iy) * w + ix;
                for (int rq = 0; rq < 36; rq++) {
                    int yy = iy + rq / 6, xx = ix + rq % 6, at = rq * pitch + t;
                    inside[at] = yy >= 0 && yy < h && xx >= 0 && xx < w;
                    corner[at] = inside[at] ? (img * c * h + yy) * w + xx : 0;
                }
            }
        }
        int[] span = s.span = s.span.length < 2 * (pitch / L) ? new int[2 * (pitch / L)] : s.span;
        for (int vt = 0; vt + L <= pitch; vt += L) {   // every vector of tiles, the last one's lanes past T at 0
            int lo = start[vt], hi = start[vt];
            for (int i = vt + 1; i < vt + L; i++) {
                lo = Math.min(lo, start[i]);
                hi = Math.max(hi, start[i]);
            }
            span[2 * (vt / L)] = lo;
            span[2 * (vt / L) + 1] = hi;
        }
    }

    /**
     * V[., ci, .] for the chunk's tiles, in two passes: B^T down each of the tiles' six columns into {@code half}
     * (36, T), then B across each of its six rows into V. An image's input rows are copied with their zero border into
     * rows of 4 * (tilesX + 2), and all of them split at once into their four column phases (one flat pass: the rows'
     * width is a multiple of 4), so that column 4tx + q of a tile is phase q mod 4 at tx + q div 4: the first pass
     * then runs on whole vectors of a tile row's tiles, the second on whole vectors of T.
     */
    private void inputTransform(float[] x, int xOff, int ci, int r0, int r1, float[] v, int tiles) {
        int span = tilesX + 2, width = 4 * span;   // a padded row: padW zeros, x's row, zeros up to 4 * span
        Scratch s = SCRATCH.get();
        int pitch = tiles + L;   // half's planes, with room for a tile row's whole-vector spill past the last tiles
        float[] half = s.half = Winograd3x3.grow(s.half, 36 * pitch);
        for (int row = r0; row < r1; ) {   // one image's tile rows at a time
            int img = row / tilesY, ty0 = row % tilesY, rows = Math.min(tilesY - ty0, r1 - row);
            int padded = 4 * rows + 2, quarter = padded * span + 2 * L;   // the padded rows these tile rows read
            float[] p = s.row = Winograd3x3.grow(s.row, padded * width + 4 * L);
            float[] e = s.d = Winograd3x3.grow(s.d, 4 * quarter);   // column phase 0 of every padded row, then 1, 2, 3
            int base = xOff + (img * c + ci) * h * w;
            for (int pr = 0; pr < padded; pr++) Winograd3x3.padRow(x, base, 4 * ty0 + pr - padH, h, w, padW, p, pr * width, width);
            java.util.Arrays.fill(p, padded * width, padded * width + 4 * L, 0f);   // read by the last vectors only
            deinterleave4(p, padded * span, e, quarter);
            for (int q = 0; q < 6; q++) {
                downColumnsBt(e, (q % 4) * quarter + q / 4, span, rows, half, q * pitch + (row - r0) * tilesX, 6 * pitch);
            }
            row += rows;
        }
        int plane = c * tiles;
        for (int i = 0; i < 6; i++) sixPointBt(half, i * 6 * pitch, pitch, tiles, v, (i * 6 * c + ci) * tiles, plane);   // across row i
    }

    /**
     * e[f * quarter + j] = p[4j + f] for the four phases f and j < n, in one flat pass (even and odd lanes twice).
     * Whole vectors: up to L - 1 floats are written past each phase, and p is read up to 4L floats past 4n.
     */
    private static void deinterleave4(float[] p, int n, float[] e, int quarter) {
        for (int j = 0; j < n; j += L) {
            FloatVector a = FloatVector.fromArray(SPECIES, p, 4 * j), b = FloatVector.fromArray(SPECIES, p, 4 * j + L);
            FloatVector c = FloatVector.fromArray(SPECIES, p, 4 * j + 2 * L), d = FloatVector.fromArray(SPECIES, p, 4 * j + 3 * L);
            FloatVector even1 = a.rearrange(EVEN, b), odd1 = a.rearrange(ODD, b), even2 = c.rearrange(EVEN, d), odd2 = c.rearrange(ODD, d);
            even1.rearrange(EVEN, even2).intoArray(e, j);
            odd1.rearrange(EVEN, odd2).intoArray(e, quarter + j);
            even1.rearrange(ODD, even2).intoArray(e, 2 * quarter + j);
            odd1.rearrange(ODD, odd2).intoArray(e, 3 * quarter + j);
        }
    }

    /**
     * Column q of B^T d for every tile of {@code rows} tile rows: tile row k's input row r starts at
     * e[from + (4k + r) * span] (its column q values side by side over tx), into planes 6i + q of {@code half}
     * ({@code plane} apart) from {@code dst} + k * tilesX. Whole vectors, unmasked: lanes past a tile row's last
     * tile read the next values and land in the next tile row's place, written after it, or in the plane's slack.
     * The arithmetic of {@link #sixPointBt}, so the same V as the gathering transform; its body repeats sixPointBt's
     * vector step because one shared helper ran 1.5-2.5% slower on resnet18's 1x64x56x56 layer (alternating JVMs).
     */
    private void downColumnsBt(float[] e, int from, int span, int rows, float[] half, int dst, int plane) {
        for (int k = 0; k < rows; k++) {
            int src = from + 4 * k * span, to = dst + k * tilesX;
            for (int tx = 0; tx < tilesX; tx += L) {
                FloatVector d0 = FloatVector.fromArray(SPECIES, e, src + tx), d1 = FloatVector.fromArray(SPECIES, e, src + span + tx);
                FloatVector d2 = FloatVector.fromArray(SPECIES, e, src + 2 * span + tx), d3 = FloatVector.fromArray(SPECIES, e, src + 3 * span + tx);
                FloatVector d4 = FloatVector.fromArray(SPECIES, e, src + 4 * span + tx), d5 = FloatVector.fromArray(SPECIES, e, src + 5 * span + tx);
                FloatVector s34 = d3.add(d4), s12 = d1.add(d2), t43 = d4.sub(d3), t12 = d1.sub(d2), t42 = d4.sub(d2), t31 = d3.sub(d1);
                d0.mul(4f).sub(d2.mul(5f)).add(d4).intoArray(half, to + tx);
                s34.sub(s12.mul(4f)).intoArray(half, to + plane + tx);
                t43.add(t12.mul(4f)).intoArray(half, to + 2 * plane + tx);
                t42.add(t31.mul(2f)).intoArray(half, to + 3 * plane + tx);
                t42.sub(t31.mul(2f)).intoArray(half, to + 4 * plane + tx);
                d1.mul(4f).sub(d3.mul(5f)).add(d5).intoArray(half, to + 5 * plane + tx);
            }
        }
    }

    /**
     * inputTransform for narrow tile rows, a vector of the chunk's tiles at a time: the tiles' 36 inputs (0 outside x,
     * by the chunk's {@link #gatherTable}) transposed from their rows ({@link #TRANSPOSED}, where every row of the vector's
     * tiles lies within x's array) or gathered, B^T taken down each of the six columns, then B across each of the six
     * rows, the two passes' 36 vectors kept in L1 (as whole planes over T they went through L2 and back: small_cnn's
     * conv2 at batch 32, 288 tiles, 44 KB each of the two). The same arithmetic per tile, so the same V.
     */
    private void inputTransformNarrow(float[] x, int xOff, int ci, float[] v, int tiles, int[] corner, boolean[] inside, int[] start, int[] span) {
        Scratch s = SCRATCH.get();
        int pitch = tiles + L;
        float[] half = s.half = Winograd3x3.grow(s.half, 36 * L);
        int base = xOff + ci * h * w, plane = c * tiles;
        float[] d = TRANSPOSED ? s.d = Winograd3x3.grow(s.d, 36 * L) : null;
        for (int t = 0; t < tiles; t += L) {
            // lanes past the last tile gather zeros (their table entries are off) into half, and are not stored to V
            int first = span[2 * (t / L)], last = span[2 * (t / L) + 1];
            if (TRANSPOSED && base + first >= 0 && (long) base + last + 5L * w + L <= x.length) {   // every row inside the array
                for (int r = 0; r < 6; r++) transposedRow(x, base, start, t, r, inside, pitch, d);
                for (int q = 0; q < 6; q++) sixPointBt(d, q * L, 6 * L, L, half, q * L, 6 * L);
            } else {
                for (int q = 0; q < 6; q++) downColumnGathered(x, base, corner, inside, q * pitch + t, 6 * pitch, half, q * L);
            }
            for (int i = 0; i < 6; i++) {
                int to = (i * 6 * c + ci) * tiles + t;
                if (t + L <= tiles) acrossRowBt(half, i * 6 * L, v, to, plane);
                else sixPointBt(half, i * 6 * L, L, tiles - t, v, to, plane);   // whole vectors would write into the next channel's V
            }
        }
    }

    /**
     * Whether {@link #inputTransformNarrow} loads each tile's input rows whole and transposes 16 tiles' rows in registers
     * ({@link #transposedRow}) instead of gathering each input through the table: on the Zen 5 a 16-lane gather takes
     * ~30 cycles, and 36 of them a vector of tiles were half the input transform (the same floats from L1 by rows and
     * two-source selects: 43 against 87 us for 32 channels of 144 tiles, alone). small_cnn's conv2 and pool at batch 32
     * 297-383 -> 286-357 us, resnet18's 32x64x16x16 layer 1235-1304 -> 1079-1185 (fresh JVMs, alternating); in the
     * model, old and new classes alternating in one JVM, both orders: small_cnn at batch 32 0.94-0.99 (four runs, mean
     * 0.96), resnet18 at 32x3x64x64 0.95 and 0.99. The same d, so the same V (output hashes equal both ways).
     * {@code -Dember.winogradTransposed=false} keeps the gathers. 16-lane vectors only (AVX-512).
     */
    static final boolean TRANSPOSED = L == 16 && !"false".equals(System.getProperty("ember.winogradTransposed"));

    /**
     * Input row r of the 16 tiles from t: each tile's row loaded whole (16 floats from where its input (r, 0) lies) and
     * the 16 rows transposed, so that input (r, q) of every tile is one vector, for q < 6; lanes outside x (by the
     * gather table's {@code inside}) zeroed: d[(6r + q) * L + lane] is what the gathers give. Every row must lie
     * within x's array (the caller checks). Written out, no helper taking or returning vectors: with the loads and the
     * masking in small helpers the conv ran at half the gathers' speed (C2 boxes vectors where it leaves a helper out
     * of line).
     */
    private void transposedRow(float[] x, int base, int[] start, int t, int r, boolean[] inside, int pitch, float[] d) {
        int at = base + r * w;
        IntVector r0 = FloatVector.fromArray(SPECIES, x, at + start[t]).reinterpretAsInts(), r1 = FloatVector.fromArray(SPECIES, x, at + start[t + 1]).reinterpretAsInts();
        IntVector r2 = FloatVector.fromArray(SPECIES, x, at + start[t + 2]).reinterpretAsInts(), r3 = FloatVector.fromArray(SPECIES, x, at + start[t + 3]).reinterpretAsInts();
        IntVector r4 = FloatVector.fromArray(SPECIES, x, at + start[t + 4]).reinterpretAsInts(), r5 = FloatVector.fromArray(SPECIES, x, at + start[t + 5]).reinterpretAsInts();
        IntVector r6 = FloatVector.fromArray(SPECIES, x, at + start[t + 6]).reinterpretAsInts(), r7 = FloatVector.fromArray(SPECIES, x, at + start[t + 7]).reinterpretAsInts();
        IntVector r8 = FloatVector.fromArray(SPECIES, x, at + start[t + 8]).reinterpretAsInts(), r9 = FloatVector.fromArray(SPECIES, x, at + start[t + 9]).reinterpretAsInts();
        IntVector r10 = FloatVector.fromArray(SPECIES, x, at + start[t + 10]).reinterpretAsInts(), r11 = FloatVector.fromArray(SPECIES, x, at + start[t + 11]).reinterpretAsInts();
        IntVector r12 = FloatVector.fromArray(SPECIES, x, at + start[t + 12]).reinterpretAsInts(), r13 = FloatVector.fromArray(SPECIES, x, at + start[t + 13]).reinterpretAsInts();
        IntVector r14 = FloatVector.fromArray(SPECIES, x, at + start[t + 14]).reinterpretAsInts(), r15 = FloatVector.fromArray(SPECIES, x, at + start[t + 15]).reinterpretAsInts();
        // SgemmPack.transpose16x16's stages, kept to the steps q < 8 (the low halves)
        IntVector a0 = SgemmPack.LO_1.selectFrom(r0, r1), a2 = SgemmPack.LO_1.selectFrom(r2, r3);
        IntVector a4 = SgemmPack.LO_1.selectFrom(r4, r5), a6 = SgemmPack.LO_1.selectFrom(r6, r7);
        IntVector a8 = SgemmPack.LO_1.selectFrom(r8, r9), a10 = SgemmPack.LO_1.selectFrom(r10, r11);
        IntVector a12 = SgemmPack.LO_1.selectFrom(r12, r13), a14 = SgemmPack.LO_1.selectFrom(r14, r15);
        IntVector b0 = SgemmPack.LO_2.selectFrom(a0, a2), b1 = SgemmPack.HI_2.selectFrom(a0, a2);
        IntVector b4 = SgemmPack.LO_2.selectFrom(a4, a6), b5 = SgemmPack.HI_2.selectFrom(a4, a6);
        IntVector b8 = SgemmPack.LO_2.selectFrom(a8, a10), b9 = SgemmPack.HI_2.selectFrom(a8, a10);
        IntVector b12 = SgemmPack.LO_2.selectFrom(a12, a14), b13 = SgemmPack.HI_2.selectFrom(a12, a14);
        IntVector c0 = SgemmPack.LO_4.selectFrom(b0, b4), c1 = SgemmPack.HI_4.selectFrom(b0, b4), c2 = SgemmPack.LO_4.selectFrom(b1, b5);
        IntVector c8 = SgemmPack.LO_4.selectFrom(b8, b12), c9 = SgemmPack.HI_4.selectFrom(b8, b12), c10 = SgemmPack.LO_4.selectFrom(b9, b13);
        int e = 6 * r * pitch + t, to = 6 * r * L;
        FloatVector z = FloatVector.zero(SPECIES);
        z.blend(SgemmPack.LO_8.selectFrom(c0, c8).reinterpretAsFloats(), VectorMask.fromArray(SPECIES, inside, e)).intoArray(d, to);
        z.blend(SgemmPack.HI_8.selectFrom(c0, c8).reinterpretAsFloats(), VectorMask.fromArray(SPECIES, inside, e + pitch)).intoArray(d, to + L);
        z.blend(SgemmPack.LO_8.selectFrom(c1, c9).reinterpretAsFloats(), VectorMask.fromArray(SPECIES, inside, e + 2 * pitch)).intoArray(d, to + 2 * L);
        z.blend(SgemmPack.HI_8.selectFrom(c1, c9).reinterpretAsFloats(), VectorMask.fromArray(SPECIES, inside, e + 3 * pitch)).intoArray(d, to + 3 * L);
        z.blend(SgemmPack.LO_8.selectFrom(c2, c10).reinterpretAsFloats(), VectorMask.fromArray(SPECIES, inside, e + 4 * pitch)).intoArray(d, to + 4 * L);
        z.blend(SgemmPack.HI_8.selectFrom(c2, c10).reinterpretAsFloats(), VectorMask.fromArray(SPECIES, inside, e + 5 * pitch)).intoArray(d, to + 5 * L);
    }

    /**
     * B across row i of a vector of tiles: {@link #sixPointBt} of one vector, half's six at s, L apart, into V, planes
     * {@code plane} apart. Its step written out (as {@link #downColumnGathered}'s; a helper taking vectors boxes them
     * where C2 leaves it out of line): sixPointBt's loops for one vector made small_cnn at batch 32 ~2.5% slower
     * (0.613 vs 0.618 and 0.611 vs 0.637 ms, alternating in one JVM).
     */
    private static void acrossRowBt(float[] half, int s, float[] v, int to, int plane) {
        FloatVector d0 = FloatVector.fromArray(SPECIES, half, s), d1 = FloatVector.fromArray(SPECIES, half, s + L);
        FloatVector d2 = FloatVector.fromArray(SPECIES, half, s + 2 * L), d3 = FloatVector.fromArray(SPECIES, half, s + 3 * L);
        FloatVector d4 = FloatVector.fromArray(SPECIES, half, s + 4 * L), d5 = FloatVector.fromArray(SPECIES, half, s + 5 * L);
        FloatVector s34 = d3.add(d4), s12 = d1.add(d2), t43 = d4.sub(d3), t12 = d1.sub(d2), t42 = d4.sub(d2), t31 = d3.sub(d1);
        d0.mul(4f).sub(d2.mul(5f)).add(d4).intoArray(v, to);
        s34.sub(s12.mul(4f)).intoArray(v, to + plane);
        t43.add(t12.mul(4f)).intoArray(v, to + 2 * plane);
        t42.add(t31.mul(2f)).intoArray(v, to + 3 * plane);
        t42.sub(t31.mul(2f)).intoArray(v, to + 4 * plane);
        d1.mul(4f).sub(d3.mul(5f)).add(d5).intoArray(v, to + 5 * plane);
    }

    /**
     * B^T down one column of a vector of tiles, its six inputs gathered straight into registers (table entries
     * {@code at}, {@code at + step}, ...: rows 0..5 of the column), the six results 6L apart from {@code to} in
     * {@code half}: {@link #sixPointBt}'s arithmetic without the round trip through a gathered copy and without its
     * loops (per thread, the gather, the pass down and the pass across took ~45, ~35 and ~43 us of the 126-129 us input
     * transform of small_cnn's conv2 at batch 32). That conv and its pool alone: 411-429 -> 380-391 us; small_cnn at
     * batch 32, old and new alternating in one JVM: 0.672 -> 0.640 and 0.640 -> 0.600 ms a call.
     */
    private static void downColumnGathered(float[] x, int base, int[] corner, boolean[] inside, int at, int step, float[] half, int to) {
        FloatVector d0 = FloatVector.fromArray(SPECIES, x, base, corner, at, VectorMask.fromArray(SPECIES, inside, at));
        FloatVector d1 = FloatVector.fromArray(SPECIES, x, base, corner, at + step, VectorMask.fromArray(SPECIES, inside, at + step));
        FloatVector d2 = FloatVector.fromArray(SPECIES, x, base, corner, at + 2 * step, VectorMask.fromArray(SPECIES, inside, at + 2 * step));
        FloatVector d3 = FloatVector.fromArray(SPECIES, x, base, corner, at + 3 * step, VectorMask.fromArray(SPECIES, inside, at + 3 * step));
        FloatVector d4 = FloatVector.fromArray(SPECIES, x, base, corner, at + 4 * step, VectorMask.fromArray(SPECIES, inside, at + 4 * step));
        FloatVector d5 = FloatVector.fromArray(SPECIES, x, base, corner, at + 5 * step, VectorMask.fromArray(SPECIES, inside, at + 5 * step));
        FloatVector s34 = d3.add(d4), s12 = d1.add(d2), t43 = d4.sub(d3), t12 = d1.sub(d2), t42 = d4.sub(d2), t31 = d3.sub(d1);
        int p = 6 * L;
        d0.mul(4f).sub(d2.mul(5f)).add(d4).intoArray(half, to);
        s34.sub(s12.mul(4f)).intoArray(half, to + p);
        t43.add(t12.mul(4f)).intoArray(half, to + 2 * p);
        t42.add(t31.mul(2f)).intoArray(half, to + 3 * p);
        t42.sub(t31.mul(2f)).intoArray(half, to + 4 * p);
        d1.mul(4f).sub(d3.mul(5f)).add(d5).intoArray(half, to + 5 * p);
    }

    /**
     * B^T (d0 .. d5), over n tiles: inputs planes {@code step} apart from s, outputs planes {@code plane} apart from
     * {@code to}. Whole vectors, then a scalar tail with the same operations in the same order.
     */
    private static void sixPointBt(float[] a, int s, int step, int n, float[] out, int to, int plane) {
        int t = 0;
        for (int bound = SPECIES.loopBound(n); t < bound; t += L) {
            FloatVector d0 = FloatVector.fromArray(SPECIES, a, s + t), d1 = FloatVector.fromArray(SPECIES, a, s + step + t);
            FloatVector d2 = FloatVector.fromArray(SPECIES, a, s + 2 * step + t), d3 = FloatVector.fromArray(SPECIES, a, s + 3 * step + t);
            FloatVector d4 = FloatVector.fromArray(SPECIES, a, s + 4 * step + t), d5 = FloatVector.fromArray(SPECIES, a, s + 5 * step + t);
            FloatVector s34 = d3.add(d4), s12 = d1.add(d2), t43 = d4.sub(d3), t12 = d1.sub(d2), t42 = d4.sub(d2), t31 = d3.sub(d1);
            d0.mul(4f).sub(d2.mul(5f)).add(d4).intoArray(out, to + t);
            s34.sub(s12.mul(4f)).intoArray(out, to + plane + t);
            t43.add(t12.mul(4f)).intoArray(out, to + 2 * plane + t);
            t42.add(t31.mul(2f)).intoArray(out, to + 3 * plane + t);
            t42.sub(t31.mul(2f)).intoArray(out, to + 4 * plane + t);
            d1.mul(4f).sub(d3.mul(5f)).add(d5).intoArray(out, to + 5 * plane + t);
        }
        for (; t < n; t++) {
            float d0 = a[s + t], d1 = a[s + step + t], d2 = a[s + 2 * step + t], d3 = a[s + 3 * step + t], d4 = a[s + 4 * step + t], d5 = a[s + 5 * step + t];
            float s34 = d3 + d4, s12 = d1 + d2, t43 = d4 - d3, t12 = d1 - d2, t42 = d4 - d2, t31 = d3 - d1;
            out[to + t] = d0 * 4f - d2 * 5f + d4;
            out[to + plane + t] = s34 - s12 * 4f;
            out[to + 2 * plane + t] = t43 + t12 * 4f;
            out[to + 3 * plane + t] = t42 + t31 * 2f;
            out[to + 4 * plane + t] = t42 - t31 * 2f;
            out[to + 5 * plane + t] = d1 * 4f - d3 * 5f + d5;
        }
    }

    /**
     * y[., o, ., .] for the chunk's tiles: A^T down each of the six columns of M into {@code half} (24, T), then A
     * across each of the four rows with bias and ReLU, the tiles' four columns interleaved, flat over all tiles into
     * {@code out}; then each output row copied to y.
     */
    private void outputTransform(float[] m, int tiles, int o, int r0, int r1, float bias, boolean relu, float[] y, float[] res, int resOff) {
        Scratch s = SCRATCH.get();
        int pitch = tiles + L;
        float[] half = s.half = Winograd3x3.grow(s.half, 24 * pitch);
        int plane = k * tiles;
        for (int j = 0; j < 6; j++) sixPointAt(m, (j * k + o) * tiles, 6 * plane, tiles, half, j * pitch, 6 * pitch);   // down column j
        int rowPitch = 4 * pitch;   // output row 4ty + a of every tile row, side by side, and the vectors' slack
        float[] out = s.out = Winograd3x3.grow(s.out, 4 * rowPitch);
        boolean finite = true;
        for (int a = 0; a < 4; a++) finite &= acrossRowA(half, a * 6 * pitch, pitch, tiles, bias, relu && res == null, out, a * rowPitch);
        if (!finite) nonFinite = true;
        for (int row = r0; row < r1; row++) {
            // where this chunk's rows of y[img, o] end: past them, other chunks' rows, written by other threads
            int img = row / tilesY, ty = row % tilesY, last = Math.min(r1, (img + 1) * tilesY) - 1 - img * tilesY;
            int end = ((img * k + o) * oh + Math.min(oh, 4 * last + 4)) * ow;
            for (int a = 0; a < 4 && 4 * ty + a < oh; a++) {
                int from = a * rowPitch + 4 * (row - r0) * tilesX, to = ((img * k + o) * oh + 4 * ty + a) * ow;
                // whole vectors (rows of 11 to 56 floats: a copy call costs more)
                Winograd3x3.storeRow(out, from, y, to, ow, end, res, resOff, relu);
            }
        }
    }

    /** A^T (m0 .. m5) over n tiles: inputs planes {@code step} apart from s, four outputs planes {@code plane} apart from {@code to}. */
    private static void sixPointAt(float[] m, int s, int step, int n, float[] out, int to, int plane) {
        int t = 0;
        for (int bound = SPECIES.loopBound(n); t < bound; t += L) {
            FloatVector m0 = FloatVector.fromArray(SPECIES, m, s + t), m1 = FloatVector.fromArray(SPECIES, m, s + step + t);
            FloatVector m2 = FloatVector.fromArray(SPECIES, m, s + 2 * step + t), m3 = FloatVector.fromArray(SPECIES, m, s + 3 * step + t);
            FloatVector m4 = FloatVector.fromArray(SPECIES, m, s + 4 * step + t), m5 = FloatVector.fromArray(SPECIES, m, s + 5 * step + t);
            FloatVector p12 = m1.add(m2), d12 = m1.sub(m2), p34 = m3.add(m4), d34 = m3.sub(m4);
            m0.add(p12).add(p34).intoArray(out, to + t);
            d12.add(d34.mul(2f)).intoArray(out, to + plane + t);
            p12.add(p34.mul(4f)).intoArray(out, to + 2 * plane + t);
            d12.add(d34.mul(8f)).add(m5).intoArray(out, to + 3 * plane + t);
        }
        for (; t < n; t++) {
            float m0 = m[s + t], m1 = m[s + step + t], m2 = m[s + 2 * step + t], m3 = m[s + 3 * step + t], m4 = m[s + 4 * step + t], m5 = m[s + 5 * step + t];
            float p12 = m1 + m2, d12 = m1 - m2, p34 = m3 + m4, d34 = m3 - m4;
            out[to + t] = m0 + p12 + p34;
            out[to + plane + t] = d12 + d34 * 2f;
            out[to + 2 * plane + t] = p12 + p34 * 4f;
            out[to + 3 * plane + t] = d12 + d34 * 8f + m5;
        }
    }

    /**
     * Output row a of every tile, flat over all n tiles: A across its row of A^T M (six planes {@code p} apart from
     * {@code from}), + bias, then ReLU, columns 4tx .. 4tx+3 interleaved into out[to + 4t ..]. Whole vectors: the last
     * ones read and write up to 4L floats past the tiles (slack). Returns whether every value of the n tiles was finite
     * before the ReLU (the lanes past them hold stale values and are left out).
     */
    private static boolean acrossRowA(float[] half, int from, int p, int n, float bias, boolean relu, float[] out, int to) {
        FloatVector probe = FloatVector.zero(SPECIES);   // stays 0 while every value is finite, NaN after
        for (int t = 0; t < n; t += L) {
            FloatVector m0 = FloatVector.fromArray(SPECIES, half, from + t), m1 = FloatVector.fromArray(SPECIES, half, from + p + t);
            FloatVector m2 = FloatVector.fromArray(SPECIES, half, from + 2 * p + t), m3 = FloatVector.fromArray(SPECIES, half, from + 3 * p + t);
            FloatVector m4 = FloatVector.fromArray(SPECIES, half, from + 4 * p + t), m5 = FloatVector.fromArray(SPECIES, half, from + 5 * p + t);
            FloatVector p12 = m1.add(m2), d12 = m1.sub(m2), p34 = m3.add(m4), d34 = m3.sub(m4);
            FloatVector c0 = m0.add(p12).add(p34).add(bias), c1 = d12.add(d34.mul(2f)).add(bias);
            FloatVector c2 = p12.add(p34.mul(4f)).add(bias), c3 = d12.add(d34.mul(8f)).add(m5).add(bias);
            // 0 times the sum is 0 for finite values and NaN for a NaN or an infinity (or an overflowing sum: then the
            // call is only recomputed)
            probe = probe.add(c0.add(c1).add(c2).add(c3).mul(0f).blend(0f, SPECIES.indexInRange(t, n).not()));
            if (relu) {
                c0 = c0.max(0f);
                c1 = c1.max(0f);
                c2 = c2.max(0f);
                c3 = c3.max(0f);
            }
            FloatVector low02 = c0.rearrange(ZIP_LOW, c2), high02 = c0.rearrange(ZIP_HIGH, c2);
            FloatVector low13 = c1.rearrange(ZIP_LOW, c3), high13 = c1.rearrange(ZIP_HIGH, c3);
            low02.rearrange(ZIP_LOW, low13).intoArray(out, to + 4 * t);
            low02.rearrange(ZIP_HIGH, low13).intoArray(out, to + 4 * t + L);
            high02.rearrange(ZIP_LOW, high13).intoArray(out, to + 4 * t + 2 * L);
            high02.rearrange(ZIP_HIGH, high13).intoArray(out, to + 4 * t + 3 * L);
        }
        return !probe.test(VectorOperators.IS_NAN).anyTrue();
    }
}
