package dev.ember.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import static dev.ember.kernels.cpu.SgemmKernel.MR;

/**
 * C (M, N ≤ 4) = A · B with A {@linkplain Sgemm.PackedA packed ahead}, lanes over the rows of A: each step loads the
 * MR = 8 rows of a packed A strip as one vector and multiplies it by one broadcast B element per column of C. The
 * ordinary microkernel puts its lanes over N, so at N = 4 (resnet18's last stage at 64x64, batch 1) it would use 4
 * of its 16 lanes. Two strips at a time share the B broadcasts.
 *
 * <p>Same arithmetic as {@link Sgemm}: per K block one fma chain from zero in p order (a*b + acc), added to C in
 * K-block order, so the result is the same to the bit.
 */
final class SgemmNarrow {
    /** One packed A step: MR floats. */
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_256;
    /** Most columns of C. */
    static final int MAX_N = 4;

    private SgemmNarrow() {}

    /** Whether this kernel runs the product: A packed ahead, C at most MAX_N wide, 256-bit vectors in hardware. */
    static boolean fits(int n, Sgemm.PackedA packed) {
        return packed != null && n <= MAX_N && SUPPORTED;
    }

    /** 256-bit vectors are native here (elsewhere the Vector API would emulate them, slowly). */
    static final boolean SUPPORTED = SPECIES.length() == MR && FloatVector.SPECIES_PREFERRED.vectorBitSize() >= SPECIES.vectorBitSize();

    /**
     * B element (p, j) at {@code b[bOff + p*bRow + j*bCol]}; C element (i, j) at {@code c[cOff + i*ldc + j*cCol]}
     * (cCol is 1 but for a transposed product, C^T = B^T A^T).
     */
    static void gemm(int m, int n, int k, Sgemm.PackedA a, float[] b, int bOff, int bRow, int bCol,
                     float[] c, int cOff, int ldc, int cCol, boolean accumulate) {
        int strips = (m + MR - 1) / MR, pairs = (strips + 1) / 2;
        // Columns past n read column n-1 (inside B); their accumulators are never stored.
        int b1 = Math.min(1, n - 1) * bCol, b2 = Math.min(2, n - 1) * bCol, b3 = Math.min(3, n - 1) * bCol;
        float[] ad = a.data;
        Parallel.forRange(pairs, Parallel.grain(pairs, 2), (lo, hi) -> {
            float[] lanes = new float[MR];
            // K blocks outside the strips: a thread's strips of one K block lie one after the other in the packed A,
            // so it streams through memory instead of jumping a block's size per K block (resnet18's 2x2 layers at
            // batch 1 read their weights from DRAM). Each C element still gets its K blocks in order.
            for (int pc = 0; pc < k; pc += Sgemm.KC) {
                int kc = Math.min(Sgemm.KC, k - pc);
                for (int pair = lo; pair < hi; pair++) {
                    int s0 = 2 * pair, s1 = Math.min(s0 + 1, strips - 1);   // a lone last strip runs twice, stored once
                    int a0 = stripAt(a, s0, pc, kc), a1 = stripAt(a, s1, pc, kc);
                    FloatVector z = FloatVector.zero(SPECIES);
                    FloatVector x00 = z, x01 = z, x02 = z, x03 = z, x10 = z, x11 = z, x12 = z, x13 = z;
                    for (int p = 0, bp = bOff + pc * bRow; p < kc; p++, bp += bRow) {
                        FloatVector v0 = FloatVector.fromArray(SPECIES, ad, a0 + p * MR);
                        FloatVector v1 = FloatVector.fromArray(SPECIES, ad, a1 + p * MR);
                        FloatVector w0 = FloatVector.broadcast(SPECIES, b[bp]), w1 = FloatVector.broadcast(SPECIES, b[bp + b1]);
                        FloatVector w2 = FloatVector.broadcast(SPECIES, b[bp + b2]), w3 = FloatVector.broadcast(SPECIES, b[bp + b3]);
                        x00 = v0.fma(w0, x00);
                        x01 = v0.fma(w1, x01);
                        x02 = v0.fma(w2, x02);
                        x03 = v0.fma(w3, x03);
                        x10 = v1.fma(w0, x10);
                        x11 = v1.fma(w1, x11);
                        x12 = v1.fma(w2, x12);
                        x13 = v1.fma(w3, x13);
                    }
                    boolean add = accumulate || pc > 0;
                    store(x00, x01, x02, x03, s0, m, n, c, cOff, ldc, cCol, add, lanes);
                    if (s1 != s0) store(x10, x11, x12, x13, s1, m, n, c, cOff, ldc, cCol, add, lanes);
                }
            }
        });
    }

    /** Where strip s (rows s*MR ..) of K block pc starts in the packed A. */
    private static int stripAt(Sgemm.PackedA a, int s, int pc, int kc) {
        int row0 = s * MR, ic = row0 / Sgemm.MB * Sgemm.MB;
        return a.offset(ic, pc) + (row0 - ic) * kc;
    }

    /** C rows of strip s, columns < n: = or += the accumulators (one per column, a lane per row). */
    private static void store(FloatVector x0, FloatVector x1, FloatVector x2, FloatVector x3, int s, int m, int n,
                              float[] c, int cOff, int ldc, int cCol, boolean add, float[] lanes) {
        int row0 = s * MR, rows = Math.min(MR, m - row0);
        for (int j = 0; j < n; j++) {
            (j == 0 ? x0 : j == 1 ? x1 : j == 2 ? x2 : x3).intoArray(lanes, 0);
            for (int r = 0; r < rows; r++) {
                int at = cOff + (row0 + r) * ldc + j * cCol;
                c[at] = add ? c[at] + lanes[r] : lanes[r];
            }
        }
    }
}
