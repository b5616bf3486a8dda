package dev.ember.kernels.cpu;

import static dev.ember.kernels.cpu.SgemmKernel.MR;
import static dev.ember.kernels.cpu.SgemmKernel.NR;

import java.util.Arrays;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Single-precision GEMM: C (M, N) = A (M, K) · B (K, N), or C += A·B.
 *
 * <p>A and B are any strided views into float arrays (row stride, column stride), so a transposed operand
 * costs nothing: packing reads any layout. C is row-major with leading dimension {@code ldc}.
 *
 * <p>Blocking (Goto style; sizes measured on the 2-core Zen 4 machine, where the 8x32 microkernel alone runs at
 * ~115 GFLOP/s per core, the FMA-port limit of one 512-bit FMA per cycle):
 * <pre>
 *   for jc in N by NC                 B panel  (KC, NC) packed once, NR-wide strips, shared by all threads
 *     for pc in K by KC, in order     fixed K-block order: the summation order never depends on threads
 *       pack B panel                  (parallel over strips)
 *       for tile (MC rows, ≤ NSUB columns) of the panel, in parallel:
 *         for ir in MC by MR          A strip (KC, MR) packed into L1-sized scratch
 *           for jr in tile by NR      B strip (KC, NR) streamed from L2/L3 (prefetched: sequential)
 *             microkernel             C block (MR, NR) = / += A strip · B strip
 * </pre>
 * Edges are zero-padded in the packed buffers, so the microkernel has no edge cases; a partial C block is
 * computed into scratch and only its valid part written. Each C element is, per K block, one fma chain from
 * zero, added to C in K-block order: results are bit-identical across runs and thread counts (the tiling in
 * M and N does not change any element's arithmetic). Problems below {@link #SMALL} take a direct vectorized
 * loop without packing.
 */
final class Sgemm {
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    static final int KC = 256;
    static final int MC = 16 * MR;
    static final int NC = 128 * NR;
    /** Widest tile in columns. Each tile packs its A strips once; wider tiles measured faster (fewer re-packs) up to here. */
    static final int NSUB = 32 * NR;
    /** Below this many multiply-adds packing does not pay. */
    static final long SMALL = 32 * 1024;
    /** Below this many multiply-adds a fork-join round costs more than it saves. */
    static final long PARALLEL_MIN = 1L << 20;

    /** Per-thread scratch: the packed A strip, a partial C block, and (for the calling thread) the B panel. */
    private static final class Scratch {
        final float[] aStrip = new float[KC * MR];
        final float[] edge = new float[MR * NR];
        float[] bPanel = new float[0];
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
        if (m <= 0 || n <= 0) return;
        if (k <= 0) {
            if (!accumulate) for (int i = 0; i < m; i++) Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0f);
            return;
        }
        long work = (long) m * n * k;
        if (work < SMALL) {
            small(m, n, k, a, aOff, aRow, aCol, b, bOff, bRow, bCol, c, cOff, ldc, accumulate);
            return;
        }
        boolean parallel = work >= PARALLEL_MIN;
        int kcMax = Math.min(KC, k);
        int ncMax = Math.min(NC, roundUp(n, NR));
        Scratch own = SCRATCH.get();
        if (own.bPanel.length < kcMax * ncMax) own.bPanel = new float[kcMax * ncMax];
        float[] bPanel = own.bPanel; // (nc/NR strips) x (kc, NR)
        int mBlocks = (m + MC - 1) / MC;
        for (int jc = 0; jc < n; jc += NC) {
            int nc = Math.min(NC, n - jc);
            int strips = (nc + NR - 1) / NR;
            // Enough tiles to keep every core busy on short-and-wide problems; fixed by the shape alone.
            int nParts = Math.max((strips * NR + NSUB - 1) / NSUB, Math.min(strips, (8 + mBlocks - 1) / mBlocks));
            int tiles = mBlocks * nParts;
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                boolean add = accumulate || pc > 0;
                int col0 = jc, p0 = pc;
                Parallel.forRange(strips, parallel ? Parallel.grain(strips, 4) : strips, (lo, hi) -> {
                    for (int s = lo; s < hi; s++) {
                        packB(b, bOff, bRow, bCol, p0, kc, col0 + s * NR, Math.min(NR, n - col0 - s * NR), bPanel, s * kc * NR);
                    }
                });
                Parallel.forRange(tiles, parallel ? 1 : tiles, (lo, hi) -> {
                    Scratch scratch = SCRATCH.get();
                    for (int t = lo; t < hi; t++) {
                        int mb = t / nParts, part = t % nParts;
                        int i0 = mb * MC;
                        int s0 = (int) ((long) strips * part / nParts), s1 = (int) ((long) strips * (part + 1) / nParts);
                        tile(i0, Math.min(MC, m - i0), s0, s1, n - col0, kc, p0, add,
                                a, aOff, aRow, aCol, bPanel, c, cOff + col0, ldc, scratch);
                    }
                });
            }
        }
    }

    /** One tile: rows [i0, i0+mc) of C against B strips [s0, s1) of the packed panel ({@code ncLeft} valid columns from strip 0). */
    private static void tile(int i0, int mc, int s0, int s1, int ncLeft, int kc, int p0, boolean add,
                             float[] a, int aOff, int aRow, int aCol, float[] bPanel, float[] c, int cOff, int ldc,
                             Scratch scratch) {
        float[] edge = scratch.edge;     // (MR, NR)
        float[] aStrip = scratch.aStrip; // (kc, MR)
        for (int ir = 0; ir < mc; ir += MR) {
            int rows = Math.min(MR, mc - ir);
            packA(a, aOff, aRow, aCol, i0 + ir, rows, p0, kc, aStrip, 0);
            int cRow = cOff + (i0 + ir) * ldc;
            for (int s = s0; s < s1; s++) {
                int cols = Math.min(NR, ncLeft - s * NR);
                microBlock(kc, aStrip, 0, bPanel, s * kc * NR, c, cRow + s * NR, ldc, add, rows, cols, edge);
            }
        }
    }

    /** One MR x NR block of C, of which {@code rows} x {@code cols} are inside C. */
    private static void microBlock(int kc, float[] ap, int aAt, float[] bp, int bAt, float[] c, int cAt, int ldc, boolean add,
                                   int rows, int cols, float[] edge) {
        if (rows == MR && cols == NR) {
            SgemmKernel.block(kc, ap, aAt, bp, bAt, c, cAt, ldc, add);
            return;
        }
        SgemmKernel.block(kc, ap, aAt, bp, bAt, edge, 0, NR, false);
        for (int r = 0; r < rows; r++) {
            int at = cAt + r * ldc;
            for (int j = 0; j < cols; j++) c[at + j] = add ? c[at + j] + edge[r * NR + j] : edge[r * NR + j];
        }
    }

    /** A rows [row0, row0+rows) x columns [p0, p0+kc) into dst (kc, MR), zero rows past {@code rows}. */
    static void packA(float[] a, int aOff, int aRow, int aCol, int row0, int rows, int p0, int kc, float[] dst, int d0) {
        if (aRow == 1 && rows == MR) { // column-major A (a transposed view): each step's MR values are adjacent
            for (int p = 0; p < kc; p++) {
                int src = aOff + row0 + (p0 + p) * aCol;
                System.arraycopy(a, src, dst, d0 + p * MR, MR);
            }
            return;
        }
        if (aCol == 1 && rows == MR) { // row-major A: gather one element from each of the MR rows per step
            int src = aOff + row0 * aRow + p0;
            for (int p = 0; p < kc; p++) {
                int d = d0 + p * MR, at = src + p;
                for (int r = 0; r < MR; r++) dst[d + r] = a[at + r * aRow];
            }
            return;
        }
        for (int r = 0; r < rows; r++) {
            int src = aOff + (row0 + r) * aRow + p0 * aCol;
            for (int p = 0; p < kc; p++) dst[d0 + p * MR + r] = a[src + p * aCol];
        }
        for (int r = rows; r < MR; r++) {
            for (int p = 0; p < kc; p++) dst[d0 + p * MR + r] = 0f;
        }
    }

    /** B rows [p0, p0+kc) x columns [col0, col0+cols) into dst at d0 as (kc, NR), zero columns past {@code cols}. */
    static void packB(float[] b, int bOff, int bRow, int bCol, int p0, int kc, int col0, int cols, float[] dst, int d0) {
        if (bCol == 1 && cols == NR) {
            int l = SPECIES.length();
            for (int p = 0; p < kc; p++) {
                int src = bOff + (p0 + p) * bRow + col0;
                FloatVector.fromArray(SPECIES, b, src).intoArray(dst, d0 + p * NR);
                FloatVector.fromArray(SPECIES, b, src + l).intoArray(dst, d0 + p * NR + l);
            }
            return;
        }
        if (bCol == 1) {
            for (int p = 0; p < kc; p++) {
                int src = bOff + (p0 + p) * bRow + col0, d = d0 + p * NR;
                System.arraycopy(b, src, dst, d, cols);
                Arrays.fill(dst, d + cols, d + NR, 0f);
            }
            return;
        }
        for (int j = 0; j < cols; j++) {
            int src = bOff + p0 * bRow + (col0 + j) * bCol;
            for (int p = 0; p < kc; p++) dst[d0 + p * NR + j] = b[src + p * bRow];
        }
        for (int p = 0; p < kc; p++) Arrays.fill(dst, d0 + p * NR + cols, d0 + p * NR + NR, 0f);
    }

    /** Direct loops for tiny problems: each C element is one fma chain over all of K. */
    static void small(int m, int n, int k,
                      float[] a, int aOff, int aRow, int aCol,
                      float[] b, int bOff, int bRow, int bCol,
                      float[] c, int cOff, int ldc, boolean accumulate) {
        int vecEnd = bCol == 1 ? SPECIES.loopBound(n) : 0;
        for (int i = 0; i < m; i++) {
            int aRowAt = aOff + i * aRow, cRowAt = cOff + i * ldc;
            for (int j = 0; j < vecEnd; j += SPECIES.length()) {
                FloatVector acc = FloatVector.zero(SPECIES);
                for (int p = 0; p < k; p++) {
                    FloatVector bv = FloatVector.fromArray(SPECIES, b, bOff + p * bRow + j);
                    acc = FloatVector.broadcast(SPECIES, a[aRowAt + p * aCol]).fma(bv, acc);
                }
                if (accumulate) acc = FloatVector.fromArray(SPECIES, c, cRowAt + j).add(acc);
                acc.intoArray(c, cRowAt + j);
            }
            for (int j = vecEnd; j < n; j++) {
                float acc = 0f;
                int bAt = bOff + j * bCol;
                for (int p = 0; p < k; p++) acc = Math.fma(a[aRowAt + p * aCol], b[bAt + p * bRow], acc);
                c[cRowAt + j] = accumulate ? c[cRowAt + j] + acc : acc;
            }
        }
    }

    private static int roundUp(int x, int step) { return (x + step - 1) / step * step; }
}
