package dev.ember.kernels.cpu;

import dev.ember.engine.Conv2dParams;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * A 3x3, stride-1 convolution as Winograd F(2x2, 3x3) (Lavin and Gray, 2015): each 2x2 output tile is made from the
 * 4x4 input tile around it with 16 multiplies per (output channel, input channel) instead of 36.
 *
 * <pre>
 *   tiles t = (n, ty, tx), ty < ceil(OH/2), tx < ceil(OW/2); d[c, t] (4x4) = x[n, c, 2ty - padH + r, 2tx - padW + q]
 *   U[xi] (K, C) = (G w[k, c] G^T)[xi]        16 planes xi = (i, j), made once per constant weight and kept packed
 *   V[xi] (C, T) = (B^T d[c, t] B)[xi]        a chunk's T tiles side by side
 *   M[xi] (K, T) = U[xi] · V[xi]              16 Sgemm products of depth C
 *   y[n, k, 2ty + a, 2tx + b] = (A^T M[., k, t] A)[a, b] (+ bias, then ReLU)
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],  A^T = [1 1 1 0; 0 1 -1 -1]
 * </pre>
 * Inference takes it for a constant weight, whose planes are made once and kept (see {@link CpuConv2d}). Training
 * takes it, forward, backwardInput and backwardWeight ({@link #backwardWeight}), only in layers wide and large enough
 * to repay making the planes on every call ({@link #takesChangingWeight}: resnet's first two stages at 64x64, its
 * first three at 224x224); elsewhere it keeps im2col + GEMM and the bits it has always had. The values differ from
 * im2col + GEMM by rounding (about 1e-6 relative here). Each output depends only on its tile's GEMM elements, whose
 * arithmetic does not depend on the chunk's width, so results are the same for any chunking, batch split or thread
 * count. A NaN reaches the same outputs as in the direct convolution (each input enters only the sums of outputs
 * whose windows hold it), but an infinite input or weight can come out NaN where the direct one gives +-inf, since
 * the transforms add and subtract it.
 *
 * <p>The batch's tile rows (n, ty) are cut into chunks whose V and M fit {@link #CHUNK_FLOATS}; chunks run in
 * parallel when there are enough, else one by one with each phase (input transform over channels, the 16 products,
 * output transform over output channels) parallel inside; a single chunk of few tiles with U in row panels runs by
 * output channels instead, each thread with a V of its own ({@link #byOutputChannels}). The input transform of wide tile rows runs a row at a time
 * on its input rows split into even and odd columns; rows of at most {@link #NARROW_TILES} tiles (small images, deep
 * layers) gather each tile's inputs instead and run flat over all the chunk's tiles. The output transform runs flat
 * over all the chunk's tiles for every width, then copies each output row to y.
 */
final class Winograd3x3 {
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int L = SPECIES.length();
    /** {@code -Dember.winograd=false} keeps every convolution on im2col + GEMM. */
    static final boolean ENABLED = !"false".equals(System.getProperty("ember.winograd"));
    /** V and M of one chunk together, in floats (2 MB): what one core's share of L2/L3 keeps between the phases. */
    private static final int CHUNK_FLOATS = 1 << 19;
    /**
     * Fewest input and output channels. The transforms cost in proportion to C + K per tile, the multiplies saved to
     * C * K. small_cnn's 32 -> 64 layer (6-tile rows) is where it starts to pay: at batch 32, 0.93-0.95 ms this way
     * against 0.95-1.02 ms as im2col + GEMM, and 0.049-0.050 against 0.052 at batch 1 (with transforms taking one
     * call per channel and whole vectors; the first version, a call per tile row with masked loads, took 1.2-1.3 ms).
     * resnet18's 64 -> 64 at 56x56: 0.90-1.08 ms against 1.34-1.62.
     */
    static final int MIN_CHANNELS = 32;
    /**
     * Fewest tiles per product. The 16 transformed planes are 16/9 the weight's size and are read once per product,
     * so with few tiles the layer is bound by reading them: resnet18 at 1x3x64x64 ran 5.4 ms a call with its 4x4 and
     * 2x2 layers (4 and 1 tiles) on Winograd, 3.9 ms without; from 16 tiles (its 8x8 layers) it wins.
     */
    static final int MIN_TILES = 16;
    /** Most floats of U for {@link #narrowProducts} (4 MB: the two cores' L2). */
    static final long ROWS_MAX_U = 1L << 20;
    /** {@code -Dember.winogradTraining=false} keeps training's (changing) weights on im2col + GEMM. */
    static final boolean TRAINING = !"false".equals(System.getProperty("ember.winogradTraining"));
    /**
     * Fewest channels in and out for a weight that changes every step, whose planes are made on every call (and
     * backwardInput's again). 64 keeps the small CNNs' 32-channel layers, where Winograd gains a few percent at
     * most, on im2col + GEMM and on the bits they have always had.
     */
    static final int MIN_TRAINING_CHANNELS = 64;
    /**
     * Fewest tiles for a changing weight: making the 16 planes costs about as much as a product over some tens to a
     * hundred tiles. Per layer, alternating JVMs, forward and backwardInput: resnet18 at 16x3x64x64, 1024 tiles (64
     * channels) 1.79-1.88 ms to 1.36-1.40 and 2.26-2.30 to 1.33-1.35, 256 tiles (128 channels) 2.01-2.10 to
     * 1.69-1.75 and 2.23-2.31 to 1.65-1.72, but 64 tiles (256 channels) 1.83 to 3.4-3.6 and 1.88 to 3.3; at
     * 8x3x224x224, 392 tiles (256 channels) 10.8 to 8.9-9.4 and 11.9 to 8.9, 128 tiles (512 channels) 11.4 to 16.8-17.6.
     */
    static final int MIN_TRAINING_TILES = 256;
    /**
     * Most (input, output) channel pairs, C * K, for a changing weight: a 512-channel layer's planes are 16 MB, made
     * twice a step (forward and backwardInput), more than the caches and the young generation the launchers give the heap.
     */
    static final long MAX_TRAINING_CHANNEL_PAIRS = 256 * 256;

    /**
     * Tile rows at most this wide take the gathering input transform ({@link #inputTransformNarrow}): the split-row
     * one spends a call and a mostly idle vector per tile row there. Per layer at batch 32 (medians, alternating JVMs,
     * input transform thread time in brackets): 2x2 images (512 channels) 2.57 -> 2.17 ms (0.71 -> 0.24), 4x4
     * 2.12-2.36 -> 1.65-1.92 (0.64-0.82 -> 0.26-0.33), 8x8 2.16-2.21 -> 1.86 (1.25-1.29 -> 0.73-0.74); 7x7 at batch 1
     * unchanged; 16x16 (8 tiles a row) slower, 1.57 -> 2.02 ms of input transform.
     */
    static final int NARROW_TILES = 4;

    private final int n, c, k, h, w, oh, ow, padH, padW, tilesY, tilesX, chunks;

    private Winograd3x3(Im2col g, Conv2dParams p) {
        n = g.n;
        c = g.c;
        k = g.oc;
        h = g.h;
        w = g.w;
        oh = g.oh;
        ow = g.ow;
        padH = p.padH();
        padW = p.padW();
        tilesY = (oh + 1) / 2;
        tilesX = (ow + 1) / 2;
        int perRow = 16 * (c + k) * tilesX;
        int rows = n * tilesY;
        int per = Math.max(1, Math.min(rows, CHUNK_FLOATS / perRow));
        chunks = (rows + per - 1) / per;
    }

    /**
     * The plan for a convolution of this geometry, or null where Winograd does not apply: it takes 3x3, stride 1,
     * dilation 1, one group, at least {@link #MIN_CHANNELS} channels in and out, {@link #MIN_TILES} tiles per product,
     * and products large enough for Sgemm's packed path (the small path needs A unpacked, and only the packed planes
     * are kept).
     */
    static Winograd3x3 plan(Im2col g, Conv2dParams p) {
        if (!ENABLED || g.kh != 3 || g.kw != 3 || p.strideH() != 1 || p.strideW() != 1 || p.dilationH() != 1
                || p.dilationW() != 1 || g.groups != 1 || g.oh < 2 || g.ow < 2 || g.c < MIN_CHANNELS || g.oc < MIN_CHANNELS) return null;
        Winograd3x3 plan = new Winograd3x3(g, p);
        long fewestTiles = (long) (plan.n * plan.tilesY / plan.chunks) * plan.tilesX;
        return fewestTiles >= MIN_TILES && (long) plan.k * plan.c * fewestTiles >= Sgemm.SMALL ? plan : null;
    }

    /** Whether a changing weight (training) of this geometry is worth transforming on every call. */
    static boolean takesChangingWeight(Im2col g) {
        return TRAINING && g.c >= MIN_TRAINING_CHANNELS && g.oc >= MIN_TRAINING_CHANNELS
                && (long) g.c * g.oc <= MAX_TRAINING_CHANNEL_PAIRS
                && (long) g.n * ((g.oh + 1) / 2) * ((g.ow + 1) / 2) >= MIN_TRAINING_TILES;
    }

    /**
     * The transformed weight: plane xi (K, C) packed for Sgemm, or (inference with {@link #narrowProducts}) in row panels
     * for {@link SgemmRows} instead.
     */
    record Weight(Sgemm.PackedA[] planes, SgemmRows.Panels[] rows) {
        Weight(Sgemm.PackedA[] planes) { this(planes, null); }

        /** Gives the planes of a {@code pooled} transform back to the calling thread's lease, once the call is done. */
        void recycle() {
            if (planes != null) for (Sgemm.PackedA plane : planes) plane.recycle();   // row panels are only ever kept
        }
    }

    /**
     * Whether every product has at most {@link SgemmRows#MAX_N} tiles (one image of an 8x8 map) and U fits the cores' L2
     * ({@link #ROWS_MAX_U}): those run on {@link SgemmRows} with U in row panels ({@link #transformRows}), lanes over U's
     * rows. resnet18's layer2 at 1x3x64x64 (U 1 MB): 94-98 -> 88-90 us a conv in the model. Its layer4 at 1x3x224x224 (16
     * tiles, U 16.8 MB) stays on SgemmOneVector: the products there run at the pace U streams from L3, and in row panels
     * the call took 13.62 ms against 13.30.
     */
    boolean narrowProducts() {
        return 16L * c * k <= ROWS_MAX_U && SgemmRows.fits((int) Math.min(Integer.MAX_VALUE, ((long) n * tilesY + chunks - 1) / chunks * tilesX));
    }

    /** U as {@link #transform(float[], int, int, int)}, each plane in row panels for {@link SgemmRows}; kept (a constant weight's). */
    static Weight transformRows(float[] wd, int wOff, int k, int c) {
        float[] u = planes(wd, wOff, k, c, false);
        SgemmRows.Panels[] rows = new SgemmRows.Panels[16];
        for (int xi = 0; xi < 16; xi++) rows[xi] = SgemmRows.Panels.of(k, c, u, xi * c * k, 1, k);
        return new Weight(null, rows);
    }

    /** U = G w G^T for w (K, C, 3, 3) at {@code wOff}, each 4x4 result computed in double and rounded once; kept (a constant weight's). */
    static Weight transform(float[] wd, int wOff, int k, int c) { return transform(wd, wOff, k, c, false); }

    /**
     * As {@link #transform(float[], int, int, int)}; {@code pooled}: the planes come from the calling thread's
     * {@link dev.ember.engine.BufferPool} lease, for one call with a changing weight, and go back with
     * {@link Weight#recycle} (a training step would otherwise leave 2 x 16 C K floats of garbage per layer, which the
     * launchers' small young generation promotes and the Serial collector's old generation then grows for).
     */
    static Weight transform(float[] wd, int wOff, int k, int c, boolean pooled) { return packed(wd, wOff, k, c, pooled, false); }

    /**
     * The transformed weight of backwardInput's convolution, dx = conv(dy, w'), w' (C, K, 3, 3) = w[k, c] turned
     * half a turn, padding 2 - pad: plane (i, j) (C, K) is plane (p(i), p(j)) of U transposed, p swapping 0 and 3,
     * because G J = P G for the reversal J (G's middle rows are symmetric, its first and last are each other's
     * reverse). So backwardInput takes the same 16 planes as forward, packed the other way. Pooled: give it back
     * with {@link Weight#recycle}.
     */
    static Weight transformForBackwardInput(float[] wd, int wOff, int k, int c) { return packed(wd, wOff, k, c, true, true); }

    /** U's 16 planes packed for Sgemm: each (K, C) as it is, or for backwardInput (C, K) from the plane with its ends swapped. */
    private static Weight packed(float[] wd, int wOff, int k, int c, boolean pooled, boolean forBackwardInput) {
        float[] u = planes(wd, wOff, k, c, pooled);
        Sgemm.PackedA[] planes = new Sgemm.PackedA[16];
        for (int xi = 0; xi < 16; xi++) {
            planes[xi] = forBackwardInput
                    ? Sgemm.PackedA.of(c, k, u, (swapEnds(xi / 4) * 4 + swapEnds(xi % 4)) * c * k, k, 1, pooled)
                    : Sgemm.PackedA.of(k, c, u, xi * c * k, 1, k, pooled);
        }
        if (pooled) dev.ember.engine.BufferPool.recycle(u);
        return new Weight(planes);
    }

    private static int swapEnds(int i) { return i == 0 ? 3 : i == 3 ? 0 : i; }

    /** The 16 planes of U = G w G^T, (16, C, K), every element written; from the caller's lease when {@code pooled}. */
    private static float[] planes(float[] wd, int wOff, int k, int c, boolean pooled) {
        // (16, C, K): each plane column-major, so that packing copies MR adjacent values per step (System.arraycopy)
        // instead of transposing them; on a fresh JVM that took resnet18's transforms from 0.48 to 0.19-0.21 s.
        float[] u = pooled ? dev.ember.engine.BufferPool.uninitialized(16 * c * k) : new float[16 * c * k];
        Parallel.forRange(c, Parallel.grain(c, 1), (lo, hi) -> {   // by input channel: U's writes run along k
            double[] gw = new double[12];   // G w (4x3)
            for (int ci = lo; ci < hi; ci++) {
                for (int o = 0; o < k; o++) {
                    int at = wOff + (o * c + ci) * 9;
                    for (int q = 0; q < 3; q++) {
                        double g0 = wd[at + q], g1 = wd[at + 3 + q], g2 = wd[at + 6 + q];
                        gw[q] = g0;
                        gw[3 + q] = (g0 + g1 + g2) / 2;
                        gw[6 + q] = (g0 - g1 + g2) / 2;
                        gw[9 + q] = g2;
                    }
                    for (int i = 0; i < 4; i++) {   // row i of (G w) G^T: (a, (a + b + e)/2, (a - b + e)/2, e)
                        double a = gw[3 * i], b = gw[3 * i + 1], e = gw[3 * i + 2];
                        int to = (i * 4 * c + ci) * k + o, plane = c * k;
                        u[to] = (float) a;
                        u[to + plane] = (float) ((a + b + e) / 2);
                        u[to + 2 * plane] = (float) ((a - b + e) / 2);
                        u[to + 3 * plane] = (float) e;
                    }
                }
            }
        });
        return u;
    }

    /** Per-thread buffers: V and M of the chunk a thread owns, and the split input rows of the channel it transforms. */
    private static final class Scratch {
        float[] v = new float[0], m = new float[0], split = new float[0], row = new float[0];
        /** The {@link #byOutputChannels} call whose V is in {@code v}. */
        Object vOf;
        /** A channel's 16 (input) or 8 (output) intermediate planes of T values, between a transform's two passes. */
        float[] half = new float[0];
        /** The gather table of the chunk this thread owns (narrow tile rows): see {@link #gatherTable}. */
        int[] corner = new int[0];
        boolean[] inside = new boolean[0];
        /** The chunk's dy gather table for backwardWeight: see {@link #dyTable}. */
        int[] dyCorner = new int[0];
        boolean[] dyInside = new boolean[0];
    }

    /** {@code a}, or a new array when it is shorter than {@code size} (the per-thread buffers of both tile sizes). */
    static float[] grow(float[] a, int size) { return a.length < size ? new float[size] : a; }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * y (N, K, OH, OW) = conv(x, w) (+ bias, then ReLU), x (N, C, H, W) contiguous at {@code xOff}; {@code u} from
     * {@link #transform} of w; bias (K) may be null.
     */
    void forward(float[] x, int xOff, Weight u, float[] bias, boolean relu, float[] y) { forward(x, xOff, u, bias, relu, y, null, 0); }

    /**
     * {@link #forward}, then + res (N, K, OH, OW, contiguous at {@code resOff}) before the ReLU where res is not null:
     * a residual block's conv, Add and Relu in the output transform's pass ({@link CpuConv2d#forwardAddRelu}).
     */
    void forward(float[] x, int xOff, Weight u, float[] bias, boolean relu, float[] y, float[] res, int resOff) {
        if (byOutputChannels(u)) {
            Object call = new Object();
            Parallel.forRange((k + SgemmRows.PR - 1) / SgemmRows.PR, 1, (lo, hi) -> outputChannels(call, lo, hi, x, xOff, u, bias, relu, y, res, resOff));
            return;
        }
        boolean perThread = chunks == 1 && forwardPerThread(Parallel.THREADS);
        int of = perThread ? perThreadChunks(Parallel.THREADS) : chunks;
        forChunks(of, perThread, q -> chunk(q, of, x, xOff, u, bias, relu, y, res, resOff));
    }

    /**
     * Whether forward's single chunk runs instead as one chunk per thread, each with its three phases inline: where U
     * is small (each chunk reads all of it) and every thread's share holds {@link #MIN_TILES} tiles. As one chunk, each
     * phase (input transform by channel, products by plane, output transform by output channel) read what the last had
     * written on the other core. resnet18 at 1x3x64x64 (its 16x16 layers: 64 tiles, U 256 KB), alternating class
     * loaders: 2.134-2.267 -> 2.073-2.194 ms a call. Forward only: each output depends on its own tile alone, where
     * backwardWeight adds the chunks' dU in chunk order and keeps its chunks by geometry.
     */
    private boolean forwardPerThread(int threads) {
        int rows = n * tilesY;
        return threads > 1 && rows >= threads && 16L * c * k <= CHUNK_FLOATS / 2 && (long) (rows / threads) * tilesX >= MIN_TILES;
    }

    /**
     * Most chunks a thread for the per-thread path. With exactly one chunk each, whichever core another process slowed
     * set the layer's time: in resnet18 at 1x3x224x224 the two cores' chunks of layer1's convs finished 22% of the
     * region apart on average (the caller's and the worker's idle time at its end). Claimed as the threads come free,
     * four a thread: layer1's 3x3 at 56x56 alone, alternating in one JVM, 0.464-0.492 -> 0.440-0.459 ms (four runs).
     */
    static final int PER_THREAD = 4;
    /**
     * Fewest tiles of a chunk cut finer than one a thread: resnet18's layer1 at 1x3x64x64 (16x16, 32 tiles a thread)
     * in four chunks ran 0.065-0.067 -> 0.086-0.103 ms (products of 16 tiles, U read four times).
     */
    static final int SPLIT_TILES = 64;

    /**
     * How many chunks the per-thread path cuts: up to {@link #PER_THREAD} a thread while each holds {@link #SPLIT_TILES}
     * tiles, else one a thread.
     */
    private int perThreadChunks(int threads) {
        int rows = n * tilesY;
        for (int f = PER_THREAD; f > 1; f--) {
            if (rows >= f * threads && (long) (rows / (f * threads)) * tilesX >= SPLIT_TILES) return f * threads;
        }
        return threads;
    }

    /**
     * Runs chunks 0 .. chunks-1 (of either tile size): in parallel, each with its phases inline, when there are enough
     * to keep every thread busy or they are cut for the threads ({@code perThread}); else one after the other, each with
     * its phases parallel inside.
     */
    static void forChunks(int chunks, boolean perThread, java.util.function.IntConsumer chunk) {
        if (perThread || chunks >= 2 * Parallel.THREADS) {
            Parallel.forRange(chunks, 1, (lo, hi) -> {
                for (int q = lo; q < hi; q++) chunk.accept(q);
            });
        } else {
            for (int q = 0; q < chunks; q++) chunk.accept(q);
        }
    }

    /**
     * Whether forward's single chunk runs instead by output channels: the threads claim row panels of U (32 output
     * channels each), and each thread first makes all of V itself (the same V on every thread, each its own), then the
     * 16 products and the output transform of the panels it claims. Taken where U is in row panels (few tiles, U within
     * the cores' L2) and there are too few tile rows for a chunk per thread. As one chunk, each of the three phases
     * (input transform by channel, products by plane, output transform by output channel) read what the last had
     * written on the other core, and the joins cost as much as the work: resnet18's layer2 at 1x3x64x64 (16 tiles, 128
     * channels) took 102 us on two threads and 86 on one. Alone, a fresh JVM per run, four or five each: 86-91 -> 60-73
     * us, and in a slower hour 94-99 -> 78-85 (the panels claimed as the threads come free, or half the panels a thread:
     * the same); with V made once, split by channel, and read by both threads: 85 -> 90. In the model at 1x3x64x64 the
     * call 0.96-1.03 of before (six runs, mean 0.99): there U and x come from memory.
     */
    boolean byOutputChannels(Weight u) {
        return u.rows() != null && chunks == 1 && Parallel.THREADS > 1 && !Parallel.inline()
                && (k + SgemmRows.PR - 1) / SgemmRows.PR >= Parallel.THREADS && !forwardPerThread(Parallel.THREADS);
    }

    /**
     * Row panels [p0, p1) of {@link #byOutputChannels}' output channels: V first, unless this thread has made it
     * already in this {@code call}.
     */
    private void outputChannels(Object call, int p0, int p1, float[] x, int xOff, Weight u, float[] bias, boolean relu, float[] y, float[] res, int resOff) {
        int rows = n * tilesY, tiles = rows * tilesX;
        Scratch s = SCRATCH.get();
        if (s.vOf != call) {
            s.v = grow(s.v, 16 * c * tiles);   // (16, C, T)
            inputTransforms(s, x, xOff, 0, rows, s.v, tiles);   // inline: this runs inside a parallel chunk
            s.vOf = call;
        }
        float[] v = s.v;
        float[] m = s.m = grow(s.m, 16 * k * tiles);   // (16, K, T): rows of output channels [k0, k1) written
        for (int xi = 0; xi < 16; xi++) SgemmRows.gemm(p0, p1, k, tiles, c, u.rows()[xi], v, xi * c * tiles, tiles, m, xi * k * tiles, tiles, false);
        for (int o = p0 * SgemmRows.PR, k1 = Math.min(k, p1 * SgemmRows.PR); o < k1; o++) {
            outputTransform(m, tiles, o, 0, rows, bias == null ? 0f : bias[o], relu, y, res, resOff);
        }
    }

    /** Tile rows [r0, r1) of chunk q: as many per chunk as fit, with sizes that differ by at most one. */
    private int firstRow(int q) { return firstRow(q, chunks); }

    /** The first tile row of chunk q of {@code of}. */
    private int firstRow(int q, int of) { return (int) ((long) q * n * tilesY / of); }

    /** Chunk q of {@code of}: its V, its 16 products and its output transform. */
    private void chunk(int q, int of, float[] x, int xOff, Weight u, float[] bias, boolean relu, float[] y, float[] res, int resOff) {
        int r0 = firstRow(q, of), r1 = firstRow(q + 1, of), tiles = (r1 - r0) * tilesX;
        Scratch s = SCRATCH.get();
        float[] v = s.v = grow(s.v, 16 * c * tiles);   // (16, C, T)
        float[] m = s.m = grow(s.m, 16 * k * tiles);   // (16, K, T)
        inputTransforms(s, x, xOff, r0, r1, v, tiles);
        Parallel.forRange(16, 1, (lo, hi) -> {
            for (int xi = lo; xi < hi; xi++) {
                if (u.rows() != null) SgemmRows.gemm(k, tiles, c, u.rows()[xi], v, xi * c * tiles, tiles, m, xi * k * tiles, tiles, false);
                else Sgemm.gemm(k, tiles, c, null, 0, c, 1, u.planes()[xi], v, xi * c * tiles, tiles, 1, m, xi * k * tiles, tiles, false);
            }
        });
        Parallel.forRange(k, Parallel.grain(k, 1), (lo, hi) -> {
            for (int o = lo; o < hi; o++) outputTransform(m, tiles, o, r0, r1, bias == null ? 0f : bias[o], relu, y, res, resOff);
        });
    }

    /** V (16, C, T) of tile rows [r0, r1), in parallel over channels; {@code s} is the chunk owner's scratch. */
    private void inputTransforms(Scratch s, float[] x, int xOff, int r0, int r1, float[] v, int tiles) {
        boolean narrow = tilesX <= NARROW_TILES;
        if (narrow) gatherTable(s, r0, r1, tiles);
        int[] corner = s.corner;
        boolean[] inside = s.inside;
        Parallel.forRange(c, Parallel.grain(c, 1), (lo, hi) -> {
            for (int ci = lo; ci < hi; ci++) {
                if (narrow) inputTransformNarrow(x, xOff, ci, v, tiles, corner, inside);
                else inputTransform(x, xOff, ci, r0, r1, v, tiles);
            }
        });
    }

    /**
     * The weight gradient dw (K, C, 3, 3) for x (N, C, H, W) at {@code xOff} and dy (N, K, OH, OW) at {@code dyOff}, both
     * contiguous; every element of dw written. Since y's tile is A^T (sum over c of U ⊙ V) A with U = G w G^T:
     * <pre>
     *   Q[xi] (K, T) = (A dy A^T)[xi]              dy's 2x2 tile taken to 4x4 (the output transform's adjoint)
     *   V[xi] (C, T) = (B^T d B)[xi]               forward's input transform of x
     *   dU[xi] (K, C) = sum over tiles Q[xi] · V[xi]^T   16 Sgemm products of depth T per chunk, added to dU in chunk order
     *   dw[k, c] = G^T dU[., k, c] G               in double, rounded once
     * </pre>
     * 16 multiplies per tile and channel pair where im2col + GEMM spends 36. Chunks run one after the other (each adds
     * to dU), their phases in parallel; the chunking depends on the geometry only, so the result is the same for any
     * thread count. Training takes it where {@link #takesChangingWeight} takes forward.
     */
    void backwardWeight(float[] x, int xOff, float[] dy, int dyOff, float[] dw) {
        float[] du = dev.ember.engine.BufferPool.uninitialized(16 * k * c);   // (16, K, C): the first chunk writes every element
        for (int q = 0; q < chunks; q++) {
            int r0 = firstRow(q), r1 = firstRow(q + 1), tiles = (r1 - r0) * tilesX;
            Scratch s = SCRATCH.get();
            float[] v = s.v = grow(s.v, 16 * c * tiles);   // (16, C, T)
            float[] m = s.m = grow(s.m, 16 * k * tiles);   // (16, K, T): Q
            inputTransforms(s, x, xOff, r0, r1, v, tiles);
            dyTable(s, r0, r1, tiles);
            int[] dyCorner = s.dyCorner;
            boolean[] dyInside = s.dyInside;
            Parallel.forRange(k, Parallel.grain(k, 1), (lo, hi) -> {
                for (int o = lo; o < hi; o++) gradientTransform(dy, dyOff, o, m, tiles, dyCorner, dyInside);
            });
            boolean add = q > 0;
            Parallel.forRange(16, 1, (lo, hi) -> {   // dU[xi] (+)= Q[xi] (K, T) · V[xi]^T (T, C)
                for (int xi = lo; xi < hi; xi++) {
                    Sgemm.gemm(k, c, tiles, m, xi * k * tiles, tiles, 1, v, xi * c * tiles, 1, tiles, du, xi * k * c, c, add);
                }
            });
        }
        int pairs = k * c;
        Parallel.forRange(pairs, Parallel.grain(pairs, 64), (lo, hi) -> {
            double[] g = new double[12];   // G^T dU (3x4)
            for (int kc = lo; kc < hi; kc++) {
                for (int j = 0; j < 4; j++) {
                    double u0 = du[j * pairs + kc], u1 = du[(4 + j) * pairs + kc], u2 = du[(8 + j) * pairs + kc], u3 = du[(12 + j) * pairs + kc];
                    g[j] = u0 + (u1 + u2) / 2;
                    g[4 + j] = (u1 - u2) / 2;
                    g[8 + j] = (u1 + u2) / 2 + u3;
                }
                for (int i = 0; i < 3; i++) {   // row i of (G^T dU) G
                    double a = g[4 * i], b = g[4 * i + 1], e = g[4 * i + 2], d = g[4 * i + 3];
                    dw[kc * 9 + 3 * i] = (float) (a + (b + e) / 2);
                    dw[kc * 9 + 3 * i + 1] = (float) ((b - e) / 2);
                    dw[kc * 9 + 3 * i + 2] = (float) ((b + e) / 2 + d);
                }
            }
        });
        dev.ember.engine.BufferPool.recycle(du);
    }

    /**
     * For backwardWeight's tile rows [r0, r1): for output (a, b) of tile t, at [(2a + b)(T + L) + t], whether it lies
     * inside dy and its offset in dy from channel 0 of the batch (0 where outside, every lane's index valid).
     */
    private void dyTable(Scratch s, int r0, int r1, int tiles) {
        int pitch = tiles + L;
        int[] corner = s.dyCorner = s.dyCorner.length < 4 * pitch ? new int[4 * pitch] : s.dyCorner;
        boolean[] inside = s.dyInside = s.dyInside.length < 4 * pitch ? new boolean[4 * pitch] : s.dyInside;
        java.util.Arrays.fill(inside, 0, 4 * pitch, false);
        java.util.Arrays.fill(corner, 0, 4 * pitch, 0);
        for (int row = r0; row < r1; row++) {
            int img = row / tilesY, oy = 2 * (row % tilesY);
            for (int tx = 0; tx < tilesX; tx++) {
                int t = (row - r0) * tilesX + tx;
                for (int ab = 0; ab < 4; ab++) {
                    int yy = oy + ab / 2, xx = 2 * tx + ab % 2, at = ab * pitch + t;
                    inside[at] = yy < oh && xx < ow;
                    corner[at] = inside[at] ? (img * k * oh + yy) * ow + xx : 0;
                }
            }
        }
    }

    /**
     * Q[., o, .] = A dy[., o] A^T for the chunk's tiles: dy's four values of each tile gathered a vector of tiles at a
     * time (0 outside dy), then rows (y0, y0 + y1, y0 - y1, -y1) of the 2x2 tile and each row's (a, a + b, a - b, -b),
     * on whole vectors of T with a scalar tail of the same arithmetic (Q's planes are exactly T apart).
     */
    private void gradientTransform(float[] dy, int dyOff, int o, float[] m, int tiles, int[] corner, boolean[] inside) {
        Scratch s = SCRATCH.get();
        int pitch = tiles + L;
        float[] d = s.split = grow(s.split, 4 * pitch);
        gather(dy, dyOff + o * oh * ow, corner, inside, 4, pitch, tiles, d);
        int plane = k * tiles, at = o * tiles, t = 0;
        for (int bound = SPECIES.loopBound(tiles); t < bound; t += L) {
            FloatVector y00 = FloatVector.fromArray(SPECIES, d, t), y01 = FloatVector.fromArray(SPECIES, d, pitch + t);
            FloatVector y10 = FloatVector.fromArray(SPECIES, d, 2 * pitch + t), y11 = FloatVector.fromArray(SPECIES, d, 3 * pitch + t);
            // row i of A dy is (a, b): (y00, y01), (y00 + y10, y01 + y11), (y00 - y10, y01 - y11), (-y10, -y11); each
            // row times A^T is (a, a + b, a - b, -b)
            FloatVector a1 = y00.add(y10), b1 = y01.add(y11), a2 = y00.sub(y10), b2 = y01.sub(y11), a3 = y10.neg(), b3 = y11.neg();
            int to = at + t;
            y00.intoArray(m, to);
            y00.add(y01).intoArray(m, to + plane);
            y00.sub(y01).intoArray(m, to + 2 * plane);
            y01.neg().intoArray(m, to + 3 * plane);
            a1.intoArray(m, to + 4 * plane);
            a1.add(b1).intoArray(m, to + 5 * plane);
            a1.sub(b1).intoArray(m, to + 6 * plane);
            b1.neg().intoArray(m, to + 7 * plane);
            a2.intoArray(m, to + 8 * plane);
            a2.add(b2).intoArray(m, to + 9 * plane);
            a2.sub(b2).intoArray(m, to + 10 * plane);
            b2.neg().intoArray(m, to + 11 * plane);
            a3.intoArray(m, to + 12 * plane);
            a3.add(b3).intoArray(m, to + 13 * plane);
            a3.sub(b3).intoArray(m, to + 14 * plane);
            b3.neg().intoArray(m, to + 15 * plane);
        }
        for (; t < tiles; t++) {
            float y00 = d[t], y01 = d[pitch + t], y10 = d[2 * pitch + t], y11 = d[3 * pitch + t];
            float a1 = y00 + y10, b1 = y01 + y11, a2 = y00 - y10, b2 = y01 - y11, a3 = -y10, b3 = -y11;
            int to = at + t;
            m[to] = y00;
            m[to + plane] = y00 + y01;
            m[to + 2 * plane] = y00 - y01;
            m[to + 3 * plane] = -y01;
            m[to + 4 * plane] = a1;
            m[to + 5 * plane] = a1 + b1;
            m[to + 6 * plane] = a1 - b1;
            m[to + 7 * plane] = -b1;
            m[to + 8 * plane] = a2;
            m[to + 9 * plane] = a2 + b2;
            m[to + 10 * plane] = a2 - b2;
            m[to + 11 * plane] = -b2;
            m[to + 12 * plane] = a3;
            m[to + 13 * plane] = a3 + b3;
            m[to + 14 * plane] = a3 - b3;
            m[to + 15 * plane] = -b3;
        }
    }

    /** Interleaves two vectors: (a0, b0, a1, b1, ...) from the lower halves, and from the upper halves. */
    static final VectorShuffle<Float> ZIP_LOW = VectorShuffle.fromOp(SPECIES, i -> (i % 2 == 0 ? 0 : L) + i / 2);
    static final VectorShuffle<Float> ZIP_HIGH = VectorShuffle.fromOp(SPECIES, i -> (i % 2 == 0 ? 0 : L) + L / 2 + i / 2);

    /**
     * V[., ci, .] for the chunk's tiles, in two passes over all of them: B^T down each tile's four columns into
     * {@code half} (16, T), then B across each row of that into V. An image's input rows are copied with their zero
     * border into rows of 2 * (tilesX + 1), and all of them split at once into even and odd columns (one flat pass:
     * the rows' width is even), so that tile tx's columns 2tx .. 2tx+3 are even[tx], odd[tx], even[tx+1], odd[tx+1]
     * and the first pass runs on whole vectors of a tile row's tiles; the second runs on whole vectors of T. Each
     * input row is split once, though tile rows share two (a split call per row, with its border cases, took a third
     * of the transform at 16x16; 32x64x16x16 layer 2.33-2.48 -> 2.21-2.39 ms, small_cnn's conv2 at batch 32
     * 0.74-0.94 -> 0.66-0.70).
     * <p>Why the vector work sits in small methods, each a loop over the chunk that takes and returns no vector or
     * mask: one method holding all 16 loads and stores of a tile vector was too large for C1 ("out of virtual
     * registers"), so it never reached C2 and ran the Vector API's scalar fallback, 8x slower; C2 does not inline a
     * helper already compiled large, so a vector or mask passed to one was boxed on every call (3x slower); and one
     * call per tile row and column cost more than the arithmetic on rows of 2-7 tiles.
     */
    private void inputTransform(float[] x, int xOff, int ci, int r0, int r1, float[] v, int tiles) {
        int span = tilesX + 1, width = 2 * span;   // a padded row: padW zeros, x's row, zeros up to 2 * span
        Scratch s = SCRATCH.get();
        int pitch = tiles + L;   // half's planes, with room for a tile row's whole-vector spill past the last tiles
        float[] half = s.half = grow(s.half, 16 * pitch);
        for (int row = r0; row < r1; ) {   // one image's tile rows at a time
            int img = row / tilesY, ty0 = row % tilesY, rows = Math.min(tilesY - ty0, r1 - row);
            int padded = 2 * rows + 2, halves = padded * span + 2 * L;   // the padded rows these tile rows read
            float[] p = s.row = grow(s.row, padded * width + 2 * L);
            float[] e = s.split = grow(s.split, 2 * halves);   // even columns of every padded row, then odd
            int base = xOff + (img * c + ci) * h * w;
            for (int pr = 0; pr < padded; pr++) padRow(x, base, 2 * ty0 + pr - padH, h, w, padW, p, pr * width, width);
            java.util.Arrays.fill(p, padded * width, padded * width + 2 * L, 0f);   // read by the last vectors only
            deinterleave(p, padded * span, e, halves);
            // column q of each tile: even[tx] (q = 0), odd[tx], even[tx + 1], odd[tx + 1] of its four rows
            for (int q = 0; q < 4; q++) downColumnsBt(e, (q % 2) * halves + q / 2, span, width, rows, half, q * pitch + (row - r0) * tilesX, pitch);
            row += rows;
        }
        int plane = c * tiles;
        for (int i = 0; i < 4; i++) acrossRowB(half, i * 4 * pitch, pitch, tiles, v, (i * 4 * c + ci) * tiles, plane);
    }

    /**
     * p[at, at + width) = x[iy, j - padW] for the row at {@code base} of an (h, w) plane, 0 outside x (F(4x4, 3x3)
     * pads its rows the same way).
     */
    static void padRow(float[] x, int base, int iy, int h, int w, int padW, float[] p, int at, int width) {
        if (iy < 0 || iy >= h) {
            java.util.Arrays.fill(p, at, at + width, 0f);
            return;
        }
        int inside = Math.min(w, width - padW), from = base + iy * w, j = 0;
        for (int k = 0; k < padW; k++) p[at + k] = 0f;   // a float or two: a loop, not a call
        // whole vectors (short rows: a copy call costs more): the last one's spill past the row lands in the right
        // border, set next, or in the next padded row or p's slack, written after it
        for (int end = Math.min(inside, x.length - from - L + 1); j < end; j += L) FloatVector.fromArray(SPECIES, x, from + j).intoArray(p, at + padW + j);
        for (; j < inside; j++) p[at + padW + j] = x[from + j];
        for (int k = at + padW + inside; k < at + width; k++) p[k] = 0f;
    }

    /** Even lanes of two vectors side by side (lanes 0, 2, ..., 2L-2 of their concatenation); odd lanes. */
    static final VectorShuffle<Float> EVEN = VectorShuffle.fromOp(SPECIES, i -> 2 * i);
    static final VectorShuffle<Float> ODD = VectorShuffle.fromOp(SPECIES, i -> 2 * i + 1);

    /**
     * e[j] = p[2j], e[odd + j] = p[2j + 1] for j < n, as one flat pass over all the padded rows (their width is even,
     * so row r's halves are e[r*span, (r+1)*span)). Whole vectors: up to L - 1 floats are written past each half.
     */
    private static void deinterleave(float[] p, int n, float[] e, int odd) {
        for (int j = 0; j < n; j += L) {
            FloatVector a = FloatVector.fromArray(SPECIES, p, 2 * j), b = FloatVector.fromArray(SPECIES, p, 2 * j + L);
            a.rearrange(EVEN, b).intoArray(e, j);
            a.rearrange(ODD, b).intoArray(e, odd + j);
        }
    }

    /**
     * Column q of B^T d for every tile: (d0 - d2, d1 + d2, d2 - d1, d1 - d3) from its rows 0..3, into planes
     * 4i + q of {@code half} ({@code pitch} apart) from {@code dst}. Row r of tile row k's column values start at
     * e[from + k*tileRow + r*row]. Whole vectors, unmasked: a vector's lanes past a tile row's last tile read the
     * next row's values (or e's slack) and land in the next tile row's place, written after it, or in the plane's
     * slack (masked stores here ran 20 ns per vector).
     */
    private void downColumnsBt(float[] e, int from, int row, int tileRow, int rows, float[] half, int dst, int pitch) {
        for (int k = 0; k < rows; k++) {
            int src = from + k * tileRow, to = dst + k * tilesX;
            for (int tx = 0; tx < tilesX; tx += L) {
                FloatVector d0 = FloatVector.fromArray(SPECIES, e, src + tx), d1 = FloatVector.fromArray(SPECIES, e, src + row + tx);
                FloatVector d2 = FloatVector.fromArray(SPECIES, e, src + 2 * row + tx), d3 = FloatVector.fromArray(SPECIES, e, src + 3 * row + tx);
                d0.sub(d2).intoArray(half, to + tx);
                d1.add(d2).intoArray(half, to + 4 * pitch + tx);
                d2.sub(d1).intoArray(half, to + 8 * pitch + tx);
                d1.sub(d3).intoArray(half, to + 12 * pitch + tx);
            }
        }
    }

    /**
     * Row i (a, b, c, d) of B^T d times B, (a - c, b + c, c - b, b - d), over all n tiles: planes p apart from s into
     * planes {@code plane} apart from d. The same 4-point transform is B^T down a column, which the narrow input
     * transform runs through here too.
     */
    private static void acrossRowB(float[] half, int s, int p, int n, float[] v, int d, int plane) {
        int t = 0;
        for (int bound = SPECIES.loopBound(n); t < bound; t += L) {
            FloatVector a = FloatVector.fromArray(SPECIES, half, s + t), b = FloatVector.fromArray(SPECIES, half, s + p + t);
            FloatVector c = FloatVector.fromArray(SPECIES, half, s + 2 * p + t), dd = FloatVector.fromArray(SPECIES, half, s + 3 * p + t);
            a.sub(c).intoArray(v, d + t);
            b.add(c).intoArray(v, d + plane + t);
            c.sub(b).intoArray(v, d + 2 * plane + t);
            b.sub(dd).intoArray(v, d + 3 * plane + t);
        }
        for (; t < n; t++) {
            float a = half[s + t], b = half[s + p + t], c = half[s + 2 * p + t], dd = half[s + 3 * p + t];
            v[d + t] = a - c;
            v[d + plane + t] = b + c;
            v[d + 2 * plane + t] = c - b;
            v[d + 3 * plane + t] = b - dd;
        }
    }

    /**
     * y[., o, ., .] for the chunk's tiles, in two passes: A^T down each column over all tiles into {@code half}
     * (8, T), then A across each of the two rows, bias and ReLU (the arithmetic of separate passes), the tiles' two
     * columns interleaved, flat over all tiles into {@code out}; then each output row copied to y in whole vectors
     * (per tile row, masked stores cost more than the arithmetic).
     */
    private void outputTransform(float[] m, int tiles, int o, int r0, int r1, float bias, boolean relu, float[] y, float[] res, int resOff) {
        Scratch s = SCRATCH.get();
        float[] half = s.half = grow(s.half, 16 * tiles + L);
        int plane = k * tiles;
        for (int j = 0; j < 4; j++) downColumnAt(m, (j * k + o) * tiles, 4 * plane, tiles, half, j * tiles, (4 + j) * tiles);
        int pitch = 2 * tiles + 2 * L;   // output row 2ty + a of every tile row, side by side, and a vector's slack
        float[] out = s.split = grow(s.split, 2 * pitch);
        for (int a = 0; a < 2; a++) interleaveRowA(half, 4 * a * tiles, tiles, bias, relu && res == null, out, a * pitch);
        for (int row = r0; row < r1; row++) {
            // where this chunk's rows of y[img, o] end: past them, other chunks' rows, written by other threads
            int img = row / tilesY, ty = row % tilesY, last = Math.min(r1, (img + 1) * tilesY) - 1 - img * tilesY;
            int end = ((img * k + o) * oh + Math.min(oh, 2 * last + 2)) * ow;
            for (int a = 0; a < 2 && 2 * ty + a < oh; a++) {
                int from = a * pitch + 2 * (row - r0) * tilesX, to = ((img * k + o) * oh + 2 * ty + a) * ow;
                storeRow(out, from, y, to, ow, end, res, resOff, relu);
            }
        }
    }

    /**
     * Output row a of every tile, flat over all n tiles: with (s0, s1, s2, s3) its row of A^T M (planes n apart
     * from {@code from}), columns 2tx = s0 + s1 + s2 and 2tx+1 = s1 - s2 - s3, interleaved, + bias, then ReLU, into
     * out[to + 2t], out[to + 2t + 1]. The last vectors read and write up to 2L floats past the tiles (slack).
     */
    private static void interleaveRowA(float[] half, int from, int n, float bias, boolean relu, float[] out, int to) {
        for (int t = 0; t < n; t += L) {
            FloatVector s0 = FloatVector.fromArray(SPECIES, half, from + t), s1 = FloatVector.fromArray(SPECIES, half, from + n + t);
            FloatVector s2 = FloatVector.fromArray(SPECIES, half, from + 2 * n + t), s3 = FloatVector.fromArray(SPECIES, half, from + 3 * n + t);
            FloatVector left = s0.add(s1).add(s2), right = s1.sub(s2).sub(s3);
            FloatVector low = left.rearrange(ZIP_LOW, right).add(bias), high = left.rearrange(ZIP_HIGH, right).add(bias);
            if (relu) {
                low = low.max(0f);
                high = high.max(0f);
            }
            low.intoArray(out, to + 2 * t);
            high.intoArray(out, to + 2 * t + L);
        }
    }

    /** Column j of A^T M over all n tiles: (m0 + m1 + m2, m1 - m2 - m3), planes {@code step} apart from s, into e0 and e1. */
    private static void downColumnAt(float[] m, int s, int step, int n, float[] half, int e0, int e1) {
        int t = 0;
        for (int bound = SPECIES.loopBound(n); t < bound; t += L) {
            FloatVector m0 = FloatVector.fromArray(SPECIES, m, s + t), m1 = FloatVector.fromArray(SPECIES, m, s + step + t);
            FloatVector m2 = FloatVector.fromArray(SPECIES, m, s + 2 * step + t), m3 = FloatVector.fromArray(SPECIES, m, s + 3 * step + t);
            m0.add(m1).add(m2).intoArray(half, e0 + t);
            m1.sub(m2).sub(m3).intoArray(half, e1 + t);
        }
        for (; t < n; t++) {
            float m0 = m[s + t], m1 = m[s + step + t], m2 = m[s + 2 * step + t], m3 = m[s + 3 * step + t];
            half[e0 + t] = m0 + m1 + m2;
            half[e1 + t] = m1 - m2 - m3;
        }
    }

    /**
     * y[to .. to+ow) = out[from ..], or with a residual max(out + res[resOff + to ..], 0) (ReLU'd where {@code relu}):
     * addRelu's sum and clamp, so the bits of the conv, then Add, then Relu. Whole vectors up to where they would pass
     * {@code end} (a spill past the row lands in the chunk's later rows of y, written after it), then a scalar tail.
     */
    static void storeRow(float[] out, int from, float[] y, int to, int ow, int end, float[] res, int resOff, boolean relu) {
        int j = 0, stop = Math.min(ow, end - to - L + 1);
        if (res == null) {
            for (; j < stop; j += L) FloatVector.fromArray(SPECIES, out, from + j).intoArray(y, to + j);
            for (; j < ow; j++) y[to + j] = out[from + j];
            return;
        }
        for (; j < stop; j += L) {
            FloatVector v = FloatVector.fromArray(SPECIES, out, from + j).add(FloatVector.fromArray(SPECIES, res, resOff + to + j));
            (relu ? v.max(0f) : v).intoArray(y, to + j);
        }
        for (; j < ow; j++) {
            float v = out[from + j] + res[resOff + to + j];
            y[to + j] = relu ? Math.max(v, 0f) : v;
        }
    }

    /**
     * {@link #gather} for one vector of tiles, t .. t+L-1: plane r's values into d[r*L ..] (the narrow input
     * transforms take a vector of tiles through both passes while its values are in L1).
     */
    static void gatherVector(float[] src, int base, int[] corner, boolean[] inside, int planes, int pitch, int t, float[] d) {
        for (int r = 0; r < planes; r++) {
            VectorMask<Float> in = VectorMask.fromArray(SPECIES, inside, r * pitch + t);
            FloatVector.fromArray(SPECIES, src, base, corner, r * pitch + t, in).intoArray(d, r * L);
        }
    }

    /**
     * d[r*pitch + t] = src[base + corner[r*pitch + t]] where inside, else 0, for planes r < {@code planes} and t < tiles,
     * a vector of tiles at a time (the last vector's lanes past the tiles land in the plane's slack). dy's tiles are
     * gathered this way; the narrow input transforms take {@link #gatherVector}.
     */
    static void gather(float[] src, int base, int[] corner, boolean[] inside, int planes, int pitch, int tiles, float[] d) {
        for (int r = 0; r < planes; r++) {
            for (int t = 0; t < tiles; t += L) {
                VectorMask<Float> in = VectorMask.fromArray(SPECIES, inside, r * pitch + t);
                FloatVector.fromArray(SPECIES, src, base, corner, r * pitch + t, in).intoArray(d, r * pitch + t);
            }
        }
    }

    /**
     * For the gathering input transform of tile rows [r0, r1): for input (r, q) of tile t, at [(4r + q)(T + L) + t], whether it
     * lies inside x and its offset in x from channel 0 of the batch (0 where outside, so that every lane's index is
     * valid: the Vector API checks masked-off lanes too). Made by the chunk's owner; its workers only read it.
     */
    private void gatherTable(Scratch s, int r0, int r1, int tiles) {
        int pitch = tiles + L;
        int[] corner = s.corner = s.corner.length < 16 * pitch ? new int[16 * pitch] : s.corner;
        boolean[] inside = s.inside = s.inside.length < 16 * pitch ? new boolean[16 * pitch] : s.inside;
        java.util.Arrays.fill(inside, 0, 16 * pitch, false);   // lanes past the last tile stay off and read x[0]
        java.util.Arrays.fill(corner, 0, 16 * pitch, 0);
        for (int row = r0; row < r1; row++) {
            int img = row / tilesY, iy = 2 * (row % tilesY) - padH;
            for (int tx = 0; tx < tilesX; tx++) {
                int t = (row - r0) * tilesX + tx, ix = 2 * tx - padW;
                for (int rq = 0; rq < 16; rq++) {
                    int yy = iy + rq / 4, xx = ix + rq % 4, at = rq * pitch + t;
                    inside[at] = yy >= 0 && yy < h && xx >= 0 && xx < w;
                    corner[at] = inside[at] ? (img * c * h + yy) * w + xx : 0;
                }
            }
        }
    }

    /**
     * inputTransform for narrow tile rows, a vector of the chunk's tiles at a time: d (16, L), input (r, q) of each,
     * gathered through the chunk's {@link #gatherTable} (0 outside x), then B^T down the columns and B across the rows,
     * the passes' vectors kept in L1 (as whole planes over T they went through L2 and back; see
     * {@link Winograd3x3F4}'s). Same arithmetic as {@link #inputTransform}, so the same V to the bit.
     */
    private void inputTransformNarrow(float[] x, int xOff, int ci, float[] v, int tiles, int[] corner, boolean[] inside) {
        Scratch s = SCRATCH.get();
        int pitch = tiles + L;
        float[] d = s.split = grow(s.split, 16 * L);
        float[] half = s.half = grow(s.half, 16 * L);
        int base = xOff + ci * h * w, plane = c * tiles;
        for (int t = 0; t < tiles; t += L) {
            int here = Math.min(L, tiles - t);
            gatherVector(x, base, corner, inside, 16, pitch, t, d);
            for (int q = 0; q < 4; q++) acrossRowB(d, q * L, 4 * L, here, half, q * L, 4 * L);   // B^T down column q
            for (int i = 0; i < 4; i++) acrossRowB(half, i * 4 * L, L, here, v, (i * 4 * c + ci) * tiles + t, plane);
        }
    }


}
