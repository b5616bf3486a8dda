package dev.ember.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * C (M, N) = A · B for a narrow C (N of one or two passes of {@link #CG} columns) with A {@linkplain Panels packed
 * ahead in row panels}, lanes over the rows of A:
 *
 * <pre>
 *   A in strips of L rows, each (K, L): element (i, p) at (i / L)*L*K + p*L + i % L      zero past M, whole panels
 *   a panel: two strips, PR = 2L rows
 *   per panel, per K block, per pass of CG columns:
 *     acc[v][j] (one vector: rows v*L .. v*L+L-1 of the panel, column j) = sum over p of A[rows][p] * B[p][j]      16 chains
 * </pre>
 * A step loads two vectors of A (two strips of L rows: two streams) and broadcasts eight B elements for 16 fma. With A
 * in strips of MR rows ({@link SgemmOneVector}, lanes over N) each fma needs a broadcast of its own A element, 25 loads
 * for 24 fma: 512x16x512 on one thread with A in L2 ran at 128-139 GFLOP/s, against a 176 GFLOP/s register peak; a
 * loop of this shape alone (A in L1, B at a constant stride) ran at 165. The passes take turns over pieces of a K block
 * (A's piece stays in L1 for the second), and C's rows are gathered from the columns' vectors at the end (stored one
 * by one, they cost the gain). 256x16x2304 on two threads (Intel Xeon): 208-220 -> 254-271 GFLOP/s. In resnet18 at
 * 1x3x64x64 (alternating in one JVM), layer3's 3x3 convs 120-123 -> 103-106 us, layer4's 240-248 -> 227-230 (N = 4:
 * half of each pass's columns are repeats, and still ahead of {@link SgemmNarrow}, the product paced by A from memory
 * either way), layer2's (Winograd, {@link Winograd3x3#narrowProducts}) 94-98 -> 88-90; the call 2.26-2.27 -> 2.14-2.16
 * ms. Where A streams from L3 in products run one per thread (Winograd's 16 planes of 16.8 MB at layer4, 1x3x224x224)
 * the two kernels are at parity alone and this one was slower in the model, so that layer keeps its strips.
 *
 * <p>Same arithmetic as {@link Sgemm}: per K block one fma chain from zero in p order (a*b + acc), added to C in
 * K-block order, so the same bits.
 */
final class SgemmRows {
    private static final VectorSpecies<Float> SPECIES = SgemmKernel.SPECIES;
    private static final int L = SPECIES.length();
    /** Rows of a panel: two vectors. */
    static final int PR = 2 * L;
    /** Columns of a pass: eight broadcasts a step. */
    static final int CG = 8;
    /** Steps of a K block each pass takes in turn: A's (16 KB) and B's then stay in L1 for the other pass. */
    private static final int PIECE = 128;
    /** Most columns: two passes over a panel's K block. */
    static final int MAX_N = 2 * CG;

    /** Per-thread buffers: a panel's C, transposed (pass, vector, column, lane), and a short last pass's B. */
    private static final class Scratch {
        final float[] acc = new float[(MAX_N / CG) * 2 * CG * L], chain = new float[(MAX_N / CG) * 2 * CG * L];
        float[] b = new float[0];
    }

    /** Where column j of a row lies in a panel's C: pass j / CG, column j % CG (from the row's vector and lane). */
    private static final int[] ROW = new int[L];

    static {
        for (int j = 0; j < L; j++) ROW[j] = ((j / CG) * 2 * CG + j % CG) * L;
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private SgemmRows() {}

    /** Whether a product of N columns is one of these (vectors of 16 lanes: AVX-512). */
    static boolean fits(int n) { return SgemmNarrow.SUPPORTED && n > 0 && n <= MAX_N; }

    /** A (M, K) in row panels: the layout above (strips rounded up to whole panels), kept with a constant weight. */
    static final class Panels {
        final int m, k;
        final float[] data;

        private Panels(int m, int k, float[] data) {
            this.m = m;
            this.k = k;
            this.data = data;
        }

        /** A element (i, p) at {@code a[aOff + i*aRow + p*aCol]}; in parallel over panels. */
        static Panels of(int m, int k, float[] a, int aOff, int aRow, int aCol) {
            int strips = (m + PR - 1) / PR * 2;   // whole panels: a last panel's second strip may be all zero
            Panels packed = new Panels(m, k, new float[Math.multiplyExact(strips * L, k)]);
            float[] d = packed.data;
            Parallel.forRange(strips, Parallel.grain(strips, 1), (lo, hi) -> {
                for (int strip = lo; strip < hi; strip++) {
                    int row0 = strip * L, rows = Math.max(0, Math.min(L, m - row0)), base = strip * L * k;
                    for (int p = 0; p < k && rows > 0; p++) {
                        int to = base + p * L, from = aOff + row0 * aRow + p * aCol;
                        if (aRow == 1) System.arraycopy(a, from, d, to, rows);
                        else for (int r = 0; r < rows; r++) d[to + r] = a[from + r * aRow];
                    }
                }
            });
            return packed;
        }
    }

    /**
     * C = A·B ({@code accumulate} false) or C += A·B; B element (p, j) at {@code b[bOff + p*bRow + j]}, C element (i, j)
     * at {@code c[cOff + i*ldc + j]}. Panels in parallel (a call from inside a parallel chunk runs on its thread).
     */
    static void gemm(int m, int n, int k, Panels a, float[] b, int bOff, int bRow, float[] c, int cOff, int ldc, boolean accumulate) {
        gemm(0, (m + PR - 1) / PR, m, n, k, a, b, bOff, bRow, c, cOff, ldc, accumulate);
    }

    /**
     * {@link #gemm} for the rows of panels [panelLo, panelHi) only (rows panelLo * PR up to panelHi * PR or M): C's
     * other rows are neither read nor written. The same arithmetic for each row as the whole product.
     */
    static void gemm(int panelLo, int panelHi, int m, int n, int k, Panels a, float[] b, int bOff, int bRow, float[] c, int cOff, int ldc, boolean accumulate) {
        if (a.m != m || a.k != k) throw new IllegalArgumentException("row panels of " + a.m + "x" + a.k + ", the product needs " + m + "x" + k);
        if (panelLo < 0 || panelHi > (m + PR - 1) / PR || panelLo > panelHi) {
            throw new IllegalArgumentException("panels " + panelLo + ".." + panelHi + " of a product of " + m + " rows");
        }
        if (!fits(n)) throw new IllegalArgumentException("SgemmRows takes 1 to " + MAX_N + " columns, not " + n);
        if (m <= 0) return;
        if (k <= 0) {
            if (!accumulate) for (int i = 0; i < m; i++) java.util.Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0f);
            return;
        }
        int passes = (n + CG - 1) / CG, last = n - (passes - 1) * CG;
        // a last pass of fewer than CG columns reads B copied with its last column repeated; whole passes read B in place
        float[] tail = null;
        if (last < CG) {
            Scratch own = SCRATCH.get();
            tail = own.b = Winograd3x3.grow(own.b, k * CG);
            for (int p = 0; p < k; p++) {
                for (int j = 0; j < CG; j++) tail[p * CG + j] = b[bOff + p * bRow + (passes - 1) * CG + Math.min(j, last - 1)];
            }
        }
        float[] partial = tail;
        VectorMask<Float> columns = SPECIES.indexInRange(0, n);
        Parallel.forRange(panelHi - panelLo, 1, (lo, hi) -> {
            Scratch own = SCRATCH.get();
            float[] acc = own.acc, chain = own.chain;
            for (int panel = panelLo + lo; panel < panelLo + hi; panel++) {
                int row0 = panel * PR, rows = Math.min(PR, m - row0), base = panel * PR * k;   // its two strips at base, base + L*k
                if (accumulate) transposeIn(c, cOff + row0 * ldc, ldc, rows, n, acc);
                for (int pc = 0; pc < k; pc += Sgemm.KC) {
                    int end = Math.min(k, pc + Sgemm.KC);
                    // the passes take turns over pieces of the K block, so that its A stays in L1 for the second
                    // (a whole block of A and B filled L1); each pass's chains run on through the pieces in `chain`
                    for (int p0 = pc; p0 < end; p0 += PIECE) {
                        int steps = Math.min(PIECE, end - p0);
                        for (int g = 0; g < passes; g++) {
                            if (g == passes - 1 && partial != null) pass(steps, a.data, base + p0 * L, base + L * k + p0 * L, partial, p0 * CG, CG, chain, g * 2 * CG * L, p0 > pc);
                            else pass(steps, a.data, base + p0 * L, base + L * k + p0 * L, b, bOff + p0 * bRow + g * CG, bRow, chain, g * 2 * CG * L, p0 > pc);
                        }
                    }
                    boolean add = accumulate || pc > 0;   // the K block's chains to C in K-block order
                    for (int i = 0; i < passes * 2 * CG * L; i += L) {
                        FloatVector v = FloatVector.fromArray(SPECIES, chain, i);
                        (add ? v.add(FloatVector.fromArray(SPECIES, acc, i)) : v).intoArray(acc, i);
                    }
                }
                // C's row r (lane r % L of vector r / L) gathered from the columns' vectors
                for (int r = 0; r < rows; r++) {
                    FloatVector.fromArray(SPECIES, acc, (r / L) * CG * L + r % L, ROW, 0, columns).intoArray(c, cOff + (row0 + r) * ldc, columns);
                }
            }
        });
    }

    /**
     * One pass over kc steps, B's CG columns at bd[bOff + p*bRow]: 16 chains from zero, or on from where they stand in
     * chain at {@code at} ({@code resume}); left there.
     */
    private static void pass(int kc, float[] ad, int aOff0, int aOff1, float[] bd, int bOff, int bRow, float[] chain, int at, boolean resume) {
        FloatVector z = FloatVector.zero(SPECIES);
        FloatVector c00 = z, c01 = z, c02 = z, c03 = z, c04 = z, c05 = z, c06 = z, c07 = z;
        FloatVector c10 = z, c11 = z, c12 = z, c13 = z, c14 = z, c15 = z, c16 = z, c17 = z;
        if (resume) {   // chain at (vector v, column j): at + (v*CG + j)*L
            c00 = FloatVector.fromArray(SPECIES, chain, at);
            c01 = FloatVector.fromArray(SPECIES, chain, at + L);
            c02 = FloatVector.fromArray(SPECIES, chain, at + 2 * L);
            c03 = FloatVector.fromArray(SPECIES, chain, at + 3 * L);
            c04 = FloatVector.fromArray(SPECIES, chain, at + 4 * L);
            c05 = FloatVector.fromArray(SPECIES, chain, at + 5 * L);
            c06 = FloatVector.fromArray(SPECIES, chain, at + 6 * L);
            c07 = FloatVector.fromArray(SPECIES, chain, at + 7 * L);
            c10 = FloatVector.fromArray(SPECIES, chain, at + 8 * L);
            c11 = FloatVector.fromArray(SPECIES, chain, at + 9 * L);
            c12 = FloatVector.fromArray(SPECIES, chain, at + 10 * L);
            c13 = FloatVector.fromArray(SPECIES, chain, at + 11 * L);
            c14 = FloatVector.fromArray(SPECIES, chain, at + 12 * L);
            c15 = FloatVector.fromArray(SPECIES, chain, at + 13 * L);
            c16 = FloatVector.fromArray(SPECIES, chain, at + 14 * L);
            c17 = FloatVector.fromArray(SPECIES, chain, at + 15 * L);
        }
        for (int p = 0; p < kc; p++) {
            int bi = bOff + p * bRow;
            FloatVector v0 = FloatVector.fromArray(SPECIES, ad, aOff0 + p * L), v1 = FloatVector.fromArray(SPECIES, ad, aOff1 + p * L);
            FloatVector w = FloatVector.broadcast(SPECIES, bd[bi]);
            c00 = v0.fma(w, c00);
            c10 = v1.fma(w, c10);
            w = FloatVector.broadcast(SPECIES, bd[bi + 1]);
            c01 = v0.fma(w, c01);
            c11 = v1.fma(w, c11);
            w = FloatVector.broadcast(SPECIES, bd[bi + 2]);
            c02 = v0.fma(w, c02);
            c12 = v1.fma(w, c12);
            w = FloatVector.broadcast(SPECIES, bd[bi + 3]);
            c03 = v0.fma(w, c03);
            c13 = v1.fma(w, c13);
            w = FloatVector.broadcast(SPECIES, bd[bi + 4]);
            c04 = v0.fma(w, c04);
            c14 = v1.fma(w, c14);
            w = FloatVector.broadcast(SPECIES, bd[bi + 5]);
            c05 = v0.fma(w, c05);
            c15 = v1.fma(w, c15);
            w = FloatVector.broadcast(SPECIES, bd[bi + 6]);
            c06 = v0.fma(w, c06);
            c16 = v1.fma(w, c16);
            w = FloatVector.broadcast(SPECIES, bd[bi + 7]);
            c07 = v0.fma(w, c07);
            c17 = v1.fma(w, c17);
        }
        // written out one by one, not through a helper taking vectors (C2 boxes those once it compiles them on their own)
        c00.intoArray(chain, at);
        c01.intoArray(chain, at + L);
        c02.intoArray(chain, at + 2 * L);
        c03.intoArray(chain, at + 3 * L);
        c04.intoArray(chain, at + 4 * L);
        c05.intoArray(chain, at + 5 * L);
        c06.intoArray(chain, at + 6 * L);
        c07.intoArray(chain, at + 7 * L);
        c10.intoArray(chain, at + 8 * L);
        c11.intoArray(chain, at + 9 * L);
        c12.intoArray(chain, at + 10 * L);
        c13.intoArray(chain, at + 11 * L);
        c14.intoArray(chain, at + 12 * L);
        c15.intoArray(chain, at + 13 * L);
        c16.intoArray(chain, at + 14 * L);
        c17.intoArray(chain, at + 15 * L);
    }

    /** C's rows (rows x n at c[at], row stride ldc) into acc's lanes, for C += A·B. */
    private static void transposeIn(float[] c, int at, int ldc, int rows, int n, float[] acc) {
        for (int j = 0; j < n; j++) {
            int col = ((j / CG) * 2 * CG + j % CG) * L;   // pass j / CG, column j % CG, vector 0
            for (int r = 0; r < rows; r++) {
                int lane = col + (r / L) * CG * L + r % L, ci = at + r * ldc + j;
                acc[lane] = c[ci];
            }
        }
    }
}
