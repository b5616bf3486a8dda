package dev.ember.kernels.cpu;

import static dev.ember.kernels.cpu.SgemmKernel.MR;
import static dev.ember.kernels.cpu.SgemmKernel.NR;

import dev.ember.engine.BufferPool;
import java.util.Arrays;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Single-precision GEMM: C (M, N) = A (M, K) · B (K, N), or C += A·B.
 *
 * <p>A and B are any strided views into float arrays (row stride, column stride), so a transposed operand
 * costs nothing: packing ({@link SgemmPack}) reads any layout. C is row-major with leading dimension {@code ldc}.
 *
 * <p>Blocking (Goto style; sizes first measured on a 2-core Zen 4, where the 8x32 microkernel alone ran at ~110 GFLOP/s
 * per core, one 512-bit FMA per cycle; the tile's rows on the Zen 5 EPYC, where it runs at ~210 from L1, two a cycle):
 * <pre>
 *   for jc in N by NC                  B panel (KC, NC)
 *     for pc in K by KC, in order      fixed K-block order: the summation order never depends on threads
 *       for ic in M by MB              A block (MB, KC)
 *         pack phase, in parallel:     B panel (first ic only) and A block, each strip packed once, shared
 *         compute phase, in parallel:  tiles of (≤ MC rows, ≤ NT columns), claimed one at a time
 *           for ir in tile by MR     A strip (KC, MR) stays in L1
 *             for jr in tile by NR     B strip (KC, NR) from the tile's B sub-panel (≤ NT columns), kept in L2
 *               microkernel            C block (MR, NR) = / += A strip · B strip
 * </pre>
 * Packing everything once before computing means no strip is packed twice however finely the tiles are cut, so
 * a small or short-and-wide problem can be split into enough tiles to keep every core busy. A product that fits
 * {@link #WHOLE_FLOATS} packs all its K blocks in one round, and each tile then runs through them in order: two
 * phases in all rather than two per K block. Packing is skipped
 * where it cannot pay: a row-major B is read in place when few rows of A reuse it ({@link #DIRECT_B_ROWS}), and a
 * row- or column-major A when N fits one narrow strip (each A element is then used once), and an A strided both ways
 * when N is at most {@link #STRIDED_A_COLS}. Edges are zero-padded
 * in the packed buffers, so the microkernel has no edge cases; a partial C block is computed into scratch and
 * only its valid part written.
 *
 * <p>A product with enough work per float it would pack again (none where a band shares an operand packed ahead)
 * runs as one band of C per thread ({@link #bands}), each band the whole loop nest above on its own thread: its own
 * packed blocks, no barrier and no strip that one core packs and the other reads. On the 2-core Zen 5 two
 * single-threaded 1024^3 products in two processes ran at full speed side by side (179 GFLOP/s each) where one shared
 * two-thread product reached 317: what the cores lost was the sharing, not the cache or memory under them. Shared
 * against bands, alternating in one JVM, both orders: 1024^3 0.85-0.92 of the time, 2048^3 0.95-1.00, 512^3
 * 0.82-0.85, 256^3 0.89-0.95, 512x768x3072 0.88-0.94, the MLP's training step 0.83, the CNN's 0.98-1.00, resnet18's
 * 0.99-1.01. The bits are the same (the arithmetic of an element does not depend on the tiling).
 *
 * <p>B may also be given strip by strip ({@link BStrips}: a column matrix never stored, CpuConv2d's batch of small
 * maps): then each compute tile packs the strips it multiplies, on the blocked path's tiles and arithmetic.
 *
 * <p>With A packed ahead (a model's weight at inference) and C narrow, A is the large operand and is read once with one
 * fma per element: {@link SgemmNarrow} (1-4 columns, lanes over A's rows) and {@link SgemmOneVector} (5 to L columns,
 * three strips against one vector of B) take those products, several strips of A streaming at once. A weight kept in
 * row panels instead ({@link SgemmRows}: at most 16 columns, lanes over A's rows, eight B broadcasts a step) is its
 * callers' choice where it pays (CpuConv2d, Winograd3x3).
 *
 * <p>Determinism: each C element is, per K block, one fma chain from zero in p order, added to C in K-block
 * order; the tiling in M and N, packing or not, and which thread runs a tile change nothing in that arithmetic.
 * Results are bit-identical across runs, thread counts and the size of the product around an element.
 */
final class Sgemm {
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    static final int L = SgemmKernel.L;
    static final int KC = 256;
    /** Rows of A packed per round: the A block (MB, KC) is 1 MB. */
    static final int MB = 128 * MR;
    /** Columns of B packed per panel: the B panel (KC, NC) is 4 MB. */
    static final int NC = 128 * NR;
    /**
     * Largest tile: MC rows share one B sub-panel (KC, NT) of 256 KB, which stays in the core's L2 with the tile's A
     * (512 KB). On the AMD EPYC (Zen 5, 1 MB of L2 a core, two 512-bit FMA pipes) 128 rows (16 strips) left the FMA
     * pipes waiting on B strips (with tiles run down their columns, below). Old and new alternating
     * in one JVM, both orders: 32 strips against 16 ran 1024^3 7.5-8.4% faster, 64 against 32 another 2.4-4.0%; 64
     * against 16 ran 2048^3 5-7% and 512x768x3072 14-20% faster, 256^3 and resnet18's inference even, resnet18's
     * training step 1-3% slower in three runs of four (its backward products are short in M); 128 no faster than 64.
     * Tiling only: the bits are the same.
     * <p>A tile runs along its rows of C (for each A strip, every B strip), not down its columns: the microkernel loads
     * its C block (8 rows of 128 bytes) after its fma chains, and from one call to the next those loads then step 128
     * bytes along the same rows, a pattern the hardware prefetchers follow, where down a column they stepped 8 rows of
     * C (32-64 KB) and each call waited on 16 lines from L3 or memory. The A strip (8 KB) now stays in L1 across the
     * tile's NT / NR = 8 calls, the B strips come from L2. Old and new alternating in one JVM (Zen 5): 2048^3 2-6%
     * faster, 1024^3 2-4%, 512^3 6%, 512x768x3072, 256^3, resnet18's training step and 32x3x64x64 inference even;
     * other tile shapes in this order (32 x 16 strips, 16 x 32, 128 x 4) no better. On the Intel Xeon of the earlier
     * sessions, with smaller tiles, the other order (each B strip in L1 against all the tile's A strips) had won by 7-8%.
     */
    static final int MC = 64 * MR;
    static final int NT = 8 * NR;
    /**
     * Up to this many rows of A, a row-major B is read in place instead of packed: few rows reuse each B element
     * too rarely to repay the copy (measured 5-10% faster at M = 128..256). At M = 512 packing wins where B is wide:
     * 512x768x3072 ran at 179-182 GFLOP/s in place and 196-207 packed (alternating builds, 4 runs each), with
     * 256^3, 512^3 and resnet18's 512-channel convs unchanged within the noise; at M = 2048 packing is 3% faster.
     */
    static final int DIRECT_B_ROWS = 256;
    /**
     * Up to this many columns, an A with both strides above one (TapConv's taps: every 9th float of a weight) is read
     * in place: packing it cost as much as such narrow products. resnet18's 2x2 layers in the training step (blocks of
     * steps with and without, one JVM): forward 2.1-2.3 -> 1.4-1.5 ms, backwardInput 2.3-2.5 -> 1.9. Wider products
     * (its 4x4 layers, 144-256 columns) ran slower in place.
     */
    static final int STRIDED_A_COLS = 64;
    /** Most floats (A and B packed, 4 MB) for packing a whole product at once. */
    static final long WHOLE_FLOATS = 1L << 20;
    /** Below this many multiply-adds packing does not pay. */
    static final long SMALL = 32 * 1024;
    /**
     * Below this many multiply-adds one core finishes before the others would have started. 2^18, not 2^17: small_cnn's
     * first conv at batch 1 (32x676x9, 195k) took 17-19 us on two threads and 13 on one (Intel Xeon, 2 cores).
     */
    static final long PARALLEL_MIN = 1L << 18;
    /** Tiles per thread to aim for when cutting a small problem: slack for a core slowed by another process. */
    static final int TILES_PER_THREAD = 4;

    /**
     * Per-thread scratch: the packed blocks (of the calling thread's call, shared with the workers, or of its own band)
     * and a partial C block.
     */
    private static final class Scratch {
        float[] aPack = new float[0];
        float[] bPack = new float[0];
        final float[] edge = new float[MR * NR];
        /** One B strip (KC, NR) of a {@link BStrips} product, packed by the tile that multiplies it. */
        final float[] strip = new float[KC * NR];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private Sgemm() {}

    /**
     * C = A·B ({@code accumulate} false) or C += A·B (true).
     * A element (i, p) is {@code a[aOff + i*aRow + p*aCol]}; B element (p, j) is {@code b[bOff + p*bRow + j*bCol]};
     * C element (i, j) is {@code c[cOff + i*ldc + j]}.
     */
    static void gemm(int m, int n, int k,
                     float[] a, int aOff, int aRow, int aCol,
                     float[] b, int bOff, int bRow, int bCol,
                     float[] c, int cOff, int ldc, boolean accumulate) {
        gemm(m, n, k, a, aOff, aRow, aCol, null, b, bOff, bRow, bCol, c, cOff, ldc, accumulate);
    }

    /**
     * As {@link #gemm(int, int, int, float[], int, int, int, float[], int, int, int, float[], int, int, boolean)},
     * with A also given {@code packed} by {@link PackedA#of} (or null): the packing phase then packs B alone. The
     * packed layout is the one each call would build, so the result is the same to the bit.
     */
    static void gemm(int m, int n, int k,
                     float[] a, int aOff, int aRow, int aCol, PackedA packed,
                     float[] b, int bOff, int bRow, int bCol,
                     float[] c, int cOff, int ldc, boolean accumulate) {
        gemm(m, n, k, a, aOff, aRow, aCol, packed, b, bOff, bRow, bCol, null, null, c, cOff, ldc, accumulate);
    }

    /**
     * A B that is never stored whole gives its strips: rows [p0, p0+kc) x columns [col0, col0+cols) into dst at d0 as
     * (kc, w), w = {@link SgemmPack#width}(cols), zero columns past {@code cols} ({@link SgemmPack#packB}'s layout).
     */
    interface BStrips {
        void pack(int p0, int kc, int col0, int cols, float[] dst, int d0);
    }

    /**
     * As {@link #gemm(int, int, int, float[], int, int, int, PackedA, float[], int, int, int, float[], int, int, boolean)}
     * with B given by {@code strips}: each compute tile packs a strip just before multiplying it, into its thread's
     * scratch, so B is never written out whole (an implicit column matrix: {@link Im2col#imagesInnerStrips}). A strip is
     * packed once per tile that takes it; the blocked path's tiling and arithmetic, so the same bits as packing B whole.
     */
    static void gemm(int m, int n, int k, float[] a, int aOff, int aRow, int aCol, PackedA packed, BStrips strips,
                     float[] c, int cOff, int ldc, boolean accumulate) {
        gemm(m, n, k, a, aOff, aRow, aCol, packed, null, 0, 0, 0, null, strips, c, cOff, ldc, accumulate);
    }

    /**
     * C = A·B with B given {@code packedB} by {@link PackedB#of} (a constant weight on the right: a classifier's
     * activations times its weight, at inference); A is packed or read as it would be otherwise. The same bits as
     * packing B on the call.
     */
    static void gemm(int m, int n, int k, float[] a, int aOff, int aRow, int aCol, PackedB packedB,
                     float[] c, int cOff, int ldc, boolean accumulate) {
        if (packedB.n != n || packedB.k != k) {
            throw new IllegalArgumentException("packed B is " + packedB.k + "x" + packedB.n + ", the product needs " + k + "x" + n);
        }
        gemm(m, n, k, a, aOff, aRow, aCol, null, packedB.data, 0, 0, 0, packedB, null, c, cOff, ldc, accumulate);
    }

    private static void gemm(int m, int n, int k,
                             float[] a, int aOff, int aRow, int aCol, PackedA packed,
                             float[] b, int bOff, int bRow, int bCol, PackedB packedB, BStrips strips,
                             float[] c, int cOff, int ldc, boolean accumulate) {
        if (packed != null && (packed.m != m || packed.k != k)) {
            throw new IllegalArgumentException("packed A is " + packed.m + "x" + packed.k + ", the product needs " + m + "x" + k);
        }
        if (m <= 0 || n <= 0) return;
        if (k <= 0) {
            if (!accumulate) for (int i = 0; i < m; i++) Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0f);
            return;
        }
        long work = (long) m * n * k;
        if (strips == null && special(m, n, k, a, aOff, aRow, aCol, packed, b, bOff, bRow, bCol, packedB, c, cOff, ldc, accumulate, work)) return;
        boolean parallel = work >= PARALLEL_MIN && Parallel.THREADS > 1;
        if (parallel && strips == null && (packed == null || packedB == null) && !Parallel.inline()) {
            // bands of rows share a B packed ahead, bands of columns an A packed ahead; else the smaller is packed again
            boolean rows = packedB != null || packed == null && n <= m;
            long repack = packed != null || packedB != null ? 0 : (long) (rows ? n : m) * k;
            if ((rows ? m / MR : n / NR) >= Parallel.THREADS && BAND_REPACK * repack <= work) {
                bands(rows, m, n, k, a, aOff, aRow, aCol, packed, b, bOff, bRow, bCol, packedB, c, cOff, ldc, accumulate);
                return;
            }
        }
        int threads = parallel ? Parallel.THREADS : 1;
        boolean aInPlace = packed == null && (n <= L && (aCol == 1 || aRow == 1) || n <= STRIDED_A_COLS && aCol != 1 && aRow != 1);
        boolean bInPlace = packedB == null && strips == null && bCol == 1 && m <= DIRECT_B_ROWS;
        boolean bPacks = packedB == null && strips == null;   // B packed in the pack phase
        int kcMax = Math.min(KC, k), kBlocks = (k + KC - 1) / KC;
        int aBlockSize = Math.min(MB, roundUp(m, MR)) * kcMax, bBlockSize = Math.min(NC, roundUp(n, NR)) * kcMax;
        // A product small enough to pack whole takes one round of all its K blocks: one pack phase and one
        // compute phase whose tiles run through every K block, instead of two phases (and barriers) per K block.
        // An A packed ahead takes no room (resnet18's deep layers at batch 1: 9-18 K blocks, one phase, not 18-36).
        boolean whole = m <= MB && n <= NC && (long) kBlocks * ((packed == null ? aBlockSize : 0) + (bPacks ? bBlockSize : 0)) <= WHOLE_FLOATS;
        int perRound = whole ? kBlocks : 1;
        Scratch own = SCRATCH.get();
        if (packed == null && own.aPack.length < perRound * aBlockSize) own.aPack = new float[perRound * aBlockSize];
        if (bPacks && own.bPack.length < perRound * bBlockSize) own.bPack = new float[perRound * bBlockSize];
        for (int jc = 0; jc < n; jc += NC) {
            int nc = Math.min(NC, n - jc);
            for (int pc0 = 0; pc0 < k; pc0 += perRound * KC) {
                for (int ic = 0; ic < m; ic += MB) {
                    int blocks = Math.min(perRound, (k - pc0 + KC - 1) / KC);
                    Block[] round = new Block[blocks]; // K blocks pc0, pc0 + KC, ..., in summation order
                    for (int q = 0; q < blocks; q++) {
                        int pc = pc0 + q * KC;
                        round[q] = new Block(Math.min(MB, m - ic), nc, Math.min(KC, k - pc), accumulate || pc > 0,
                                a, aOff + ic * aRow + pc * aCol, aRow, aCol, aInPlace,
                                packed != null ? packed.data : own.aPack, packed != null ? packed.offset(ic, pc) : q * aBlockSize,
                                b, bOff + pc * bRow + jc * bCol, bRow, bCol, bInPlace,
                                packedB != null ? packedB.data : own.bPack, packedB != null ? packedB.offset(jc, pc) : q * bBlockSize);
                    }
                    Block first = round[0];
                    int bItems = ic == 0 && bPacks ? first.bStrips - first.firstPackedB : 0;
                    int aItems = packed != null ? 0 : first.aStrips - first.firstPackedA, perBlock = bItems + aItems, items = blocks * perBlock;
                    Parallel.forRange(items, parallel ? Parallel.grain(items, 2) : items, (lo, hi) -> {
                        for (int it = lo; it < hi; it++) {
                            Block blk = round[it / perBlock];
                            int i = it % perBlock;
                            if (i < bItems) blk.packB(blk.firstPackedB + i);
                            else blk.packA(blk.firstPackedA + i - bItems);
                        }
                    });
                    Tiling t = strips == null ? Tiling.of(first.aStrips, first.bStrips, threads)
                            : Tiling.ofStrips(first.aStrips, first.bStrips, threads, (long) m * k >= (long) k * n);
                    int cAt = cOff + ic * ldc + jc;
                    int col0 = jc, p0 = pc0;
                    Parallel.forRange(t.count(), parallel ? 1 : t.count(), (lo, hi) -> {
                        Scratch mine = SCRATCH.get();
                        float[] edge = mine.edge, strip = strips == null ? null : mine.strip;
                        for (int tile = lo; tile < hi; tile++) {
                            // column-tile major: a thread's consecutive tiles share one B sub-panel
                            int s0 = tile / t.rowTiles * t.strips, r0 = tile % t.rowTiles * t.rows;
                            int r1 = Math.min(r0 + t.rows, first.aStrips), s1 = Math.min(s0 + t.strips, first.bStrips);
                            for (int q = 0; q < round.length; q++) {
                                Block blk = round[q];
                                if (strip != null) {   // each strip packed once per tile, then down the tile's rows
                                    for (int s = s0; s < s1; s++) {
                                        strips.pack(p0 + q * KC, blk.kc, col0 + s * NR, blk.cols(s), strip, 0);
                                        for (int r = r0; r < r1; r++) blk.multiply(r, s, strip, 0, SgemmPack.width(blk.cols(s)), c, cAt + r * MR * ldc + s * NR, ldc, edge);
                                    }
                                } else {   // along C's rows (see MC)
                                    for (int r = r0; r < r1; r++) {
                                        for (int s = s0; s < s1; s++) blk.multiply(r, s, c, cAt + r * MR * ldc + s * NR, ldc, edge);
                                    }
                                }
                            }
                        }
                    });
                }
            }
        }
    }

    /**
     * Multiply-adds per float packed again that {@link #bands} asks for: each band packs the whole of the operand it
     * does not split (B for bands of rows, A for bands of columns), min(M, N) x K floats more per thread.
     */
    static final long BAND_REPACK = 256;

    /**
     * C split into one band per thread, each band a whole product on its thread alone (its nested calls run inline):
     * of {@code rows}, each band packing all of B again (or sharing B packed ahead), else of columns, each packing all
     * of A again (or sharing A packed ahead). A B packed ahead (small_cnn's fc1 at batch 32: 32 x 1600 against its
     * 1600 x 128 weight) shared by bands of rows: the model at batch 32 0.87-0.99 of the shared tiles (four A/B runs).
     */
    private static void bands(boolean rows, int m, int n, int k, float[] a, int aOff, int aRow, int aCol, PackedA packed,
                              float[] b, int bOff, int bRow, int bCol, PackedB packedB, float[] c, int cOff, int ldc, boolean accumulate) {
        int unit = rows ? MR : NR, extent = rows ? m : n;
        int per = roundUp((extent + Parallel.THREADS - 1) / Parallel.THREADS, unit), count = (extent + per - 1) / per;
        Parallel.forRange(count, 1, (lo, hi) -> {
            for (int band = lo; band < hi; band++) {
                int from = band * per, size = Math.min(per, extent - from);
                if (rows) gemm(size, n, k, a, aOff + from * aRow, aRow, aCol, null, b, bOff, bRow, bCol, packedB, null, c, cOff + from * ldc, ldc, accumulate);
                else gemm(m, size, k, a, aOff, aRow, aCol, packed, b, bOff + from * bCol, bRow, bCol, null, null, c, cOff + from, ldc, accumulate);
            }
        });
    }

    /**
     * The products that do not take the blocked path, each of which reads B itself: tiny ones, narrow ones with A
     * packed ahead, a few trailing columns, one K block with A packed ahead on one thread, N = 3L. Whether it ran one.
     */
    private static boolean special(int m, int n, int k, float[] a, int aOff, int aRow, int aCol, PackedA packed,
                                   float[] b, int bOff, int bRow, int bCol, PackedB packedB,
                                   float[] c, int cOff, int ldc, boolean accumulate, long work) {
        if (work < SMALL && packedB == null) {
            small(m, n, k, a, aOff, aRow, aCol, b, bOff, bRow, bCol, c, cOff, ldc, accumulate);
            return true;
        }
        if (SgemmNarrow.fits(n, packed)) {
            SgemmNarrow.gemm(m, n, k, packed, b, bOff, bRow, bCol, c, cOff, ldc, 1, accumulate);
            return true;
        }
        if (packedB == null && SgemmOneVector.fits(n, packed, bCol)) {
            SgemmOneVector.gemm(m, n, k, packed, b, bOff, bRow, c, cOff, ldc, accumulate);
            return true;
        }
        int tail = n % L;
        if (n > L && SgemmNarrow.fits(tail, packed) && tail > 0) {
            // the last 1-4 columns would take a whole half-width pass of their own (resnet18's 14x14 layers at batch 1:
            // 49 Winograd tiles = 32 + 16 + 1): the lanes-over-rows kernel runs them instead, with the same bits
            gemm(m, n - tail, k, a, aOff, aRow, aCol, packed, b, bOff, bRow, bCol, c, cOff, ldc, accumulate);
            SgemmNarrow.gemm(m, tail, k, packed, b, bOff + (n - tail) * bCol, bRow, bCol, c, cOff + n - tail, ldc, 1, accumulate);
            return true;
        }
        boolean parallel = work >= PARALLEL_MIN && Parallel.THREADS > 1;
        int vectors = n / L * L, rest = n - vectors;
        if (packed != null && packedB == null && bCol == 1 && k <= KC && m % MR == 0 && vectors > 0 && (!parallel || Parallel.inline())
                && (rest == 0 || SgemmNarrow.fits(rest, packed) || SgemmOneVector.fits(rest, packed, bCol))) {
            // one K block, A packed ahead, B read in place, on this thread alone (Winograd's products, one chunk per
            // thread): the strips straight to the microkernel, whole vectors of columns, the rest as above
            packedStrips(m, vectors, k, packed, b, bOff, bRow, c, cOff, ldc, accumulate);
            if (rest > 0 && SgemmNarrow.fits(rest, packed)) SgemmNarrow.gemm(m, rest, k, packed, b, bOff + vectors, bRow, bCol, c, cOff + vectors, ldc, 1, accumulate);
            else if (rest > 0) SgemmOneVector.gemm(m, rest, k, packed, b, bOff + vectors, bRow, c, cOff + vectors, ldc, accumulate);
            return true;
        }
        if (packed != null && packedB == null && bCol == 1 && m % MR == 0 && n == WIDE_N && WIDE_STRIPS) {
            wideStrips(m, n, k, packed, b, bOff, bRow, c, cOff, ldc, accumulate, parallel);
            return true;
        }
        return false;
    }

    /**
     * C (M, N) = / += A · B for A packed ahead, one K block (K <= KC), B (K, N) row-major in place (row stride bRow), M
     * a multiple of MR and N of L: each C block's microkernel call as the blocked path makes it (the same bits), without
     * its tiles, rounds and phases. Winograd F(4x4)'s 64x144x32 products (small_cnn's conv2 at batch 32, one thread):
     * 4.5-4.7 -> 4.1 us each. Whole 3L strips first on {@link SgemmKernel#block48}, then NR, then a half strip.
     */
    private static void packedStrips(int m, int n, int k, PackedA packed, float[] b, int bOff, int bRow, float[] c, int cOff, int ldc, boolean add) {
        int wide = WIDE_STRIPS ? n / (3 * L) * (3 * L) : 0, full = wide + (n - wide) / NR * NR;
        for (int r = 0; r < m; r += MR) {
            int aOff = SgemmNarrow.stripAt(packed, r / MR, 0, k), cRow = cOff + r * ldc;
            for (int s = 0; s < wide; s += 3 * L) SgemmKernel.block48(k, packed.data, aOff, b, bOff + s, bRow, c, cRow + s, ldc, add);
            for (int s = wide; s < full; s += NR) SgemmKernel.block(k, packed.data, aOff, b, bOff + s, bRow, c, cRow + s, ldc, add);
            if (full < n) SgemmKernel.blockHalfPacked(k, packed.data, aOff, b, bOff + full, bRow, c, cRow + full, ldc, add);
        }
    }

    /** The N {@link #wideStrips} takes: one B slice (KC, 3L), 48 KB, stays near the core across a thread's strips. */
    static final int WIDE_N = 3 * L;

    /**
     * C (M, N) = / += A · B for A packed ahead, B (K, N) row-major in place, N = 3L (a narrow product whose A is the
     * large operand: resnet18's layer4 3x3/2 at 1x224^2, 512 x 48 (+1) x 2304 with its 4.7 MB weight, and its 1x1/2
     * shortcut, 512 x 48 (+1) x 256): the strips of A split between the threads, each thread's K blocks in order over
     * its strips on {@link SgemmKernel#block48} (eight broadcasts for 24 fma; the blocked path ran a 32-wide and a
     * 16-wide block per strip, eight broadcasts for 16 and for 8, and packed B). That 3x3/2 product alone, alternating
     * in one JVM: 514-527 -> 428-443 us, and 631-648 -> 536-563 with the caches flushed before each call. Each C block
     * is, per K block, one fma chain from zero added to C in K-block order: the blocked path's bits.
     */
    private static void wideStrips(int m, int n, int k, PackedA packed, float[] b, int bOff, int bRow, float[] c, int cOff, int ldc,
                                   boolean accumulate, boolean parallel) {
        int strips = m / MR;
        Parallel.forRange(strips, parallel ? (strips + Parallel.THREADS - 1) / Parallel.THREADS : strips, (lo, hi) -> {
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                for (int r = lo; r < hi; r++) {
                    int aOff = SgemmNarrow.stripAt(packed, r, pc, kc);
                    for (int s = 0; s < n; s += 3 * L) {
                        SgemmKernel.block48(kc, packed.data, aOff, b, bOff + pc * bRow + s, bRow, c, cOff + r * MR * ldc + s, ldc, accumulate || pc > 0);
                    }
                }
            }
        });
    }

    /** {@code -Dember.wideStrips=false} keeps packed strips on the two-vector kernel (to compare). */
    static final boolean WIDE_STRIPS = !"false".equals(System.getProperty("ember.wideStrips"));

    /**
     * One (mb, kc) block of A against one (kc, nc) panel of B: where each strip is read from (packed, or in place),
     * how to pack it, and the microkernel call for one C block. Strips that are read in place come first; only
     * the strips from {@code firstPackedA} / {@code firstPackedB} on are packed (a partial last strip, or all).
     */
    private static final class Block {
        final int mb, nc, kc, aStrips, bStrips, firstPackedA, firstPackedB;
        /** Whether this block adds to C (every K block but the first of a C = A·B). */
        final boolean add;
        final float[] a, b, aPack, bPack;
        final int aAt, aRow, aCol, aBase, bAt, bRow, bCol, bBase;

        Block(int mb, int nc, int kc, boolean add, float[] a, int aAt, int aRow, int aCol, boolean aInPlace, float[] aPack, int aBase,
              float[] b, int bAt, int bRow, int bCol, boolean bInPlace, float[] bPack, int bBase) {
            this.mb = mb;
            this.nc = nc;
            this.kc = kc;
            this.add = add;
            this.aBase = aBase;
            this.bBase = bBase;
            this.a = a;
            this.aAt = aAt;
            this.aRow = aRow;
            this.aCol = aCol;
            this.aPack = aPack;
            this.b = b;
            this.bAt = bAt;
            this.bRow = bRow;
            this.bCol = bCol;
            this.bPack = bPack;
            aStrips = (mb + MR - 1) / MR;
            bStrips = (nc + NR - 1) / NR;
            firstPackedA = !aInPlace ? 0 : mb % MR == 0 ? aStrips : aStrips - 1;
            int lastCols = nc - (bStrips - 1) * NR;
            firstPackedB = !bInPlace ? 0 : lastCols == SgemmPack.width(lastCols) ? bStrips : bStrips - 1;
        }

        int rows(int r) { return Math.min(MR, mb - r * MR); }

        int cols(int s) { return Math.min(NR, nc - s * NR); }

        void packA(int r) { SgemmPack.packA(a, aAt, aRow, aCol, r * MR, rows(r), 0, kc, aPack, aBase + r * kc * MR); }

        void packB(int s) { SgemmPack.packB(b, bAt, bRow, bCol, 0, kc, s * NR, cols(s), bPack, bBase + s * kc * NR); }

        /** C block (r, s) at c[cAt] = / += A strip r · B strip s; a partial block goes through {@code edge}. */
        void multiply(int r, int s, float[] c, int cAt, int ldc, float[] edge) {
            boolean bPacked = s >= firstPackedB;
            multiply(r, s, bPacked ? bPack : b, bPacked ? bBase + s * kc * NR : bAt + s * NR, bPacked ? SgemmPack.width(cols(s)) : bRow, c, cAt, ldc, edge);
        }

        /** As above with B strip s read from bp at bOff, row stride ldb (packed: its width; in place: B's row stride). */
        void multiply(int r, int s, float[] bp, int bOff, int ldb, float[] c, int cAt, int ldc, float[] edge) {
            int rows = rows(r), cols = cols(s), w = SgemmPack.width(cols);
            boolean aPacked = r >= firstPackedA;
            float[] ap = aPacked ? aPack : a;
            int aOff = aPacked ? aBase + r * kc * MR : aAt + r * MR * aRow, aStep = aPacked ? MR : aCol, aNext = aPacked ? 1 : aRow;
            boolean full = rows == MR && cols == w;
            float[] dst = full ? c : edge;
            int dAt = full ? cAt : 0, ldd = full ? ldc : w;
            if (w == NR && !aPacked) SgemmKernel.blockStrided(kc, ap, aOff, aStep, aNext, bp, bOff, ldb, dst, dAt, ldd, add && full);
            else if (w == NR) SgemmKernel.block(kc, ap, aOff, bp, bOff, ldb, dst, dAt, ldd, add && full);
            else if (aPacked) SgemmKernel.blockHalfPacked(kc, ap, aOff, bp, bOff, ldb, dst, dAt, ldd, add && full);
            else SgemmKernel.blockHalf(kc, ap, aOff, aStep, aNext, bp, bOff, ldb, dst, dAt, ldd, add && full);
            if (full) return;
            for (int i = 0; i < rows; i++) {
                int at = cAt + i * ldc;
                for (int j = 0; j < cols; j++) c[at + j] = add ? c[at + j] + edge[i * w + j] : edge[i * w + j];
            }
        }
    }

    /**
     * A (M, K) packed once for many products with it (a model's weights at inference): every (MB, KC) block in the
     * layout a call packs it to, block (ic, pc) at {@link #offset}, its strips of (kc, MR) one after the other.
     */
    static final class PackedA {
        /**
         * {@code -Dember.prepack=false} keeps no packed copies: a constant weight is then packed on every call, as any
         * other, and takes no extra memory (a packed copy is as large as the weight: 45 MB for resnet18).
         */
        static final boolean ENABLED = !"false".equals(System.getProperty("ember.prepack"));
        final int m, k;
        final float[] data;   // PAD, (roundUp(M, MR) * K), PAD

        private PackedA(int m, int k, float[] data) {
            this.m = m;
            this.k = k;
            this.data = data;
        }

        /** A element (i, p) at {@code a[aOff + i*aRow + p*aCol]}, packed in parallel over strips by {@link SgemmPack#packA}. */
        static PackedA of(int m, int k, float[] a, int aOff, int aRow, int aCol) { return of(m, k, a, aOff, aRow, aCol, false); }

        /**
         * As {@link #of(int, int, float[], int, int, int)}; {@code pooled}: into an array from the calling thread's
         * {@link BufferPool} lease (packing writes every element), for a packed copy used once and then given back
         * with {@link #recycle}.
         */
        static PackedA of(int m, int k, float[] a, int aOff, int aRow, int aCol, boolean pooled) {
            int size = roundUp(m, MR) * k + 2 * PAD;
            PackedA packed = new PackedA(m, k, pooled ? BufferPool.uninitialized(size) : new float[size]);
            int strips = (m + MR - 1) / MR, kBlocks = (k + KC - 1) / KC;
            Parallel.forRange(strips * kBlocks, Parallel.grain(strips * kBlocks, 4), (lo, hi) -> {
                for (int item = lo; item < hi; item++) {
                    int row0 = item / kBlocks * MR, pc = item % kBlocks * KC, ic = row0 / MB * MB, kc = Math.min(KC, k - pc);
                    SgemmPack.packA(a, aOff, aRow, aCol, row0, Math.min(MR, m - row0), pc, kc,
                            packed.data, packed.offset(ic, pc) + (row0 - ic) * kc);
                }
            });
            return packed;
        }

        /** Gives a pooled copy's array back to the calling thread's lease; it must not be used afterwards. */
        void recycle() { BufferPool.recycle(data); }

        /**
         * Floats before the first strip and after the last, never read into a result: {@link SgemmNarrow} loads a
         * whole vector of two strip steps from MR floats before a strip's step and from its step on.
         */
        static final int PAD = MR;

        /** Where block (ic, pc) starts: the full row blocks above it, then its own K blocks before pc. */
        int offset(int ic, int pc) { return PAD + ic * k + roundUp(Math.min(MB, m - ic), MR) * pc; }
    }

    /**
     * B (K, N) packed once for many products with it (a constant weight on the right): every (KC, NC) panel in the
     * layout a call packs it to, panel (jc, pc) at {@link #offset}, its strips of (kc, NR) one after the other (a
     * last strip of at most L columns as (kc, L)).
     */
    static final class PackedB {
        final int k, n;
        final float[] data;

        private PackedB(int k, int n, float[] data) {
            this.k = k;
            this.n = n;
            this.data = data;
        }

        /** B element (p, j) at {@code b[bOff + p*bRow + j*bCol]}, packed in parallel over strips by {@link SgemmPack#packB}. */
        static PackedB of(int k, int n, float[] b, int bOff, int bRow, int bCol) {
            PackedB packed = new PackedB(k, n, new float[Math.multiplyExact(roundUp(n, NR), k)]);
            int strips = (n + NR - 1) / NR, kBlocks = (k + KC - 1) / KC;
            Parallel.forRange(strips * kBlocks, Parallel.grain(strips * kBlocks, 4), (lo, hi) -> {
                for (int item = lo; item < hi; item++) {
                    int col0 = item / kBlocks * NR, pc = item % kBlocks * KC, jc = col0 / NC * NC, kc = Math.min(KC, k - pc);
                    SgemmPack.packB(b, bOff, bRow, bCol, pc, kc, col0, Math.min(NR, n - col0), packed.data,
                            packed.offset(jc, pc) + (col0 - jc) * kc);
                }
            });
            return packed;
        }

        /** Where panel (jc, pc) starts: the full column panels before it, then its own K blocks before pc. */
        int offset(int jc, int pc) { return jc * k + roundUp(Math.min(NC, n - jc), NR) * pc; }
    }

    /** Tile size in strips: at most (MC/MR, NT/NR), halved (the longer side first) until each thread has a few tiles. */
    record Tiling(int rows, int strips, int rowTiles, int colTiles) {
        static Tiling of(int aStrips, int bStrips, int threads) {
            int rows = Math.min(MC / MR, aStrips), strips = Math.min(NT / NR, bStrips);
            while (tiles(aStrips, rows) * tiles(bStrips, strips) < TILES_PER_THREAD * threads && rows * strips > 1) {
                if (rows >= strips) rows = (rows + 1) / 2;
                else strips = (strips + 1) / 2;
            }
            return new Tiling(rows, strips, tiles(aStrips, rows), tiles(bStrips, strips));
        }

        /**
         * For a B given by {@link BStrips}, packed by every tile that takes a strip: tiles as large as {@link #of}
         * starts from, cut only until each thread has one, by rows where A is the larger operand (each tile packs all
         * its columns of B, reads its rows of A), else by columns (each packs its strips, reads all of A). resnet18's layer4 3x3/2 at 32x3x64x64, 512 x 128 x 2304, on {@link #of}'s 8
         * tiles (by rows: B packed 8 times) took 1171 us, on these 2 835 (B stored whole, on the usual tiles: 978-986).
         */
        static Tiling ofStrips(int aStrips, int bStrips, int threads, boolean byRows) {
            int rows = Math.min(MC / MR, aStrips), strips = Math.min(NT / NR, bStrips);
            while (tiles(aStrips, rows) * tiles(bStrips, strips) < threads && (byRows ? rows : strips) > 1) {
                if (byRows) rows = (rows + 1) / 2;
                else strips = (strips + 1) / 2;
            }
            return new Tiling(rows, strips, tiles(aStrips, rows), tiles(bStrips, strips));
        }

        int count() { return rowTiles * colTiles; }

        private static int tiles(int total, int per) { return (total + per - 1) / per; }
    }

    /**
     * Direct loops for tiny problems, with the packed path's arithmetic: per K block of KC, one fma chain from
     * zero, added to C in block order.
     */
    static void small(int m, int n, int k,
                      float[] a, int aOff, int aRow, int aCol,
                      float[] b, int bOff, int bRow, int bCol,
                      float[] c, int cOff, int ldc, boolean accumulate) {
        int vecEnd = bCol == 1 ? SPECIES.loopBound(n) : 0;
        for (int pc = 0; pc < k; pc += KC) {
            int pEnd = Math.min(k, pc + KC);
            boolean add = accumulate || pc > 0;
            for (int i = 0; i < m; i++) {
                int aRowAt = aOff + i * aRow, cRowAt = cOff + i * ldc;
                for (int j = 0; j < vecEnd; j += SPECIES.length()) {
                    FloatVector acc = FloatVector.zero(SPECIES);
                    for (int p = pc; p < pEnd; p++) {
                        FloatVector bv = FloatVector.fromArray(SPECIES, b, bOff + p * bRow + j);
                        acc = FloatVector.broadcast(SPECIES, a[aRowAt + p * aCol]).fma(bv, acc);
                    }
                    if (add) acc = acc.add(FloatVector.fromArray(SPECIES, c, cRowAt + j));
                    acc.intoArray(c, cRowAt + j);
                }
                for (int j = vecEnd; j < n; j++) {
                    float acc = 0f;
                    int bAt = bOff + j * bCol;
                    for (int p = pc; p < pEnd; p++) acc = Math.fma(a[aRowAt + p * aCol], b[bAt + p * bRow], acc);
                    c[cRowAt + j] = add ? c[cRowAt + j] + acc : acc;
                }
            }
        }
    }

    private static int roundUp(int x, int step) { return (x + step - 1) / step * step; }
}
