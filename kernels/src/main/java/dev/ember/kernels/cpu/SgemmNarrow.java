package dev.ember.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

import static dev.ember.kernels.cpu.SgemmKernel.MR;

/**
 * C (M, N ≤ 4) = A · B with A {@linkplain Sgemm.PackedA packed ahead}, lanes over the rows of A: each step puts the
 * MR = 8 rows of two packed A strips in one vector (the first strip's in the low lanes, the second's in the high) and
 * multiplies it by one broadcast B element per column of C. The ordinary microkernel puts its lanes over N, so at
 * N = 4 (resnet18's last stage at 64x64, batch 1) it would use 4 of its 16 lanes.
 *
 * <p>The two strips' steps are not adjacent in the packed A, so a step loads a whole vector from each (the first
 * from its step on, the second from MR floats before its step; {@link Sgemm.PackedA#PAD} keeps both inside the array)
 * and blends the halves it needs. A step takes four such pairs: each element of A is used once, so these products
 * run at the pace A comes from memory, and eight strips streaming at once come faster than two. It uses the one preferred vector species on purpose: an earlier form on 256-bit
 * vectors put a second FloatVector class in the JVM, which polluted the type profiles inside the Vector API that
 * every kernel shares; in about one JVM of five, C2 then compiled the 512-bit microkernels with their vectors boxed
 * (resnet18 at 1x3x64x64: 14 ms a call and 226 MB of garbage, against 2.7 ms).
 *
 * <p>Same arithmetic as {@link Sgemm}: per K block one fma chain from zero in p order (a*b + acc), added to C in
 * K-block order, so the result is the same to the bit.
 */
final class SgemmNarrow {
    static final VectorSpecies<Float> SPECIES = SgemmKernel.SPECIES;
    /** The high lanes: the second strip's rows. */
    private static final VectorMask<Float> HIGH = VectorMask.fromLong(SPECIES, SPECIES.length() == 2 * MR ? 0xFF00L : 0L);
    /** Most columns of C. */
    static final int MAX_N = 4;

    private SgemmNarrow() {}

    /** Whether this kernel runs the product: A packed ahead, C at most MAX_N wide, vectors of two strips' rows. */
    static boolean fits(int n, Sgemm.PackedA packed) {
        return packed != null && n <= MAX_N && SUPPORTED;
    }

    /** Vectors of 2 * MR lanes (AVX-512); elsewhere the ordinary microkernel runs these products. */
    static final boolean SUPPORTED = SPECIES.length() == 2 * MR;

    /**
     * B element (p, j) at {@code b[bOff + p*bRow + j*bCol]}; C element (i, j) at {@code c[cOff + i*ldc + j*cCol]}
     * (cCol is 1 but for a transposed product, C^T = B^T A^T).
     */
    static void gemm(int m, int n, int k, Sgemm.PackedA a, float[] b, int bOff, int bRow, int bCol,
                     float[] c, int cOff, int ldc, int cCol, boolean accumulate) {
        int strips = (m + MR - 1) / MR, pairs = (strips + 1) / 2;
        if (n == 1) {
            column(m, k, a, b, bOff, bRow, c, cOff, ldc, accumulate, strips, pairs);
            return;
        }
        // Columns past n read column n-1 (inside B); their accumulators are never stored.
        int b1 = Math.min(1, n - 1) * bCol, b2 = Math.min(2, n - 1) * bCol, b3 = Math.min(3, n - 1) * bCol;
        float[] ad = a.data;
        // chunks of whole groups, about four per thread
        Parallel.forRange(pairs, GROUP * Math.max(1, (pairs + 4 * GROUP * Parallel.THREADS - 1) / (4 * GROUP * Parallel.THREADS)), (lo, hi) -> {
            float[] lanes = new float[SPECIES.length()];
            // K blocks outside the strips: a thread's strips of one K block lie one after the other in the packed A,
            // so it streams through memory instead of jumping a block's size per K block (resnet18's 2x2 layers at
            // batch 1 read their weights from DRAM). Each C element still gets its K blocks in order.
            for (int pc = 0; pc < k; pc += Sgemm.KC) {
                int kc = Math.min(Sgemm.KC, k - pc);
                // GROUP pairs a step: eight streams of A in flight instead of two, and each B broadcast serves all
                // four (resnet18 at 1x3x64x64, whose 2x2 and 4x4 layers run here, alternating in one JVM: 2.37 ->
                // 2.18 ms a call; 2.29 -> 2.11 against two pairs a step)
                for (int pair = lo; pair < hi; pair += GROUP) {
                    int last = Math.min(pair + GROUP, hi) - 1;   // a group's missing pairs repeat its last one (computed, not stored)
                    int s0 = 2 * pair, s1 = Math.min(s0 + 1, strips - 1);   // a lone last strip runs in both halves, stored once
                    int s2 = 2 * Math.min(pair + 1, last), s3 = Math.min(s2 + 1, strips - 1);
                    int s4 = 2 * Math.min(pair + 2, last), s5 = Math.min(s4 + 1, strips - 1);
                    int s6 = 2 * Math.min(pair + 3, last), s7 = Math.min(s6 + 1, strips - 1);
                    int a0 = stripAt(a, s0, pc, kc), a1 = stripAt(a, s1, pc, kc) - MR;
                    int a2 = stripAt(a, s2, pc, kc), a3 = stripAt(a, s3, pc, kc) - MR;
                    int a4 = stripAt(a, s4, pc, kc), a5 = stripAt(a, s5, pc, kc) - MR;
                    int a6 = stripAt(a, s6, pc, kc), a7 = stripAt(a, s7, pc, kc) - MR;
                    FloatVector z = FloatVector.zero(SPECIES);
                    FloatVector x0 = z, x1 = z, x2 = z, x3 = z, y0 = z, y1 = z, y2 = z, y3 = z;
                    FloatVector w0 = z, w1 = z, w2 = z, w3 = z, q0 = z, q1 = z, q2 = z, q3 = z;
                    for (int p = 0, bp = bOff + pc * bRow; p < kc; p++, bp += bRow) {
                        int r = p * MR;
                        FloatVector v = FloatVector.fromArray(SPECIES, ad, a0 + r).blend(FloatVector.fromArray(SPECIES, ad, a1 + r), HIGH);
                        FloatVector u = FloatVector.fromArray(SPECIES, ad, a2 + r).blend(FloatVector.fromArray(SPECIES, ad, a3 + r), HIGH);
                        FloatVector t = FloatVector.fromArray(SPECIES, ad, a4 + r).blend(FloatVector.fromArray(SPECIES, ad, a5 + r), HIGH);
                        FloatVector o = FloatVector.fromArray(SPECIES, ad, a6 + r).blend(FloatVector.fromArray(SPECIES, ad, a7 + r), HIGH);
                        FloatVector e = FloatVector.broadcast(SPECIES, b[bp]);
                        x0 = v.fma(e, x0);
                        y0 = u.fma(e, y0);
                        w0 = t.fma(e, w0);
                        q0 = o.fma(e, q0);
                        e = FloatVector.broadcast(SPECIES, b[bp + b1]);
                        x1 = v.fma(e, x1);
                        y1 = u.fma(e, y1);
                        w1 = t.fma(e, w1);
                        q1 = o.fma(e, q1);
                        e = FloatVector.broadcast(SPECIES, b[bp + b2]);
                        x2 = v.fma(e, x2);
                        y2 = u.fma(e, y2);
                        w2 = t.fma(e, w2);
                        q2 = o.fma(e, q2);
                        e = FloatVector.broadcast(SPECIES, b[bp + b3]);
                        x3 = v.fma(e, x3);
                        y3 = u.fma(e, y3);
                        w3 = t.fma(e, w3);
                        q3 = o.fma(e, q3);
                    }
                    boolean add = accumulate || pc > 0;
                    store(x0, x1, x2, x3, s0, 0, m, n, c, cOff, ldc, cCol, add, lanes);
                    if (s1 != s0) store(x0, x1, x2, x3, s1, MR, m, n, c, cOff, ldc, cCol, add, lanes);
                    if (last > pair) {
                        store(y0, y1, y2, y3, s2, 0, m, n, c, cOff, ldc, cCol, add, lanes);
                        if (s3 != s2) store(y0, y1, y2, y3, s3, MR, m, n, c, cOff, ldc, cCol, add, lanes);
                    }
                    if (last > pair + 1) {
                        store(w0, w1, w2, w3, s4, 0, m, n, c, cOff, ldc, cCol, add, lanes);
                        if (s5 != s4) store(w0, w1, w2, w3, s5, MR, m, n, c, cOff, ldc, cCol, add, lanes);
                    }
                    if (last > pair + 2) {
                        store(q0, q1, q2, q3, s6, 0, m, n, c, cOff, ldc, cCol, add, lanes);
                        if (s7 != s6) store(q0, q1, q2, q3, s7, MR, m, n, c, cOff, ldc, cCol, add, lanes);
                    }
                }
            }
        });
    }

    /** Pairs of strips a step of {@link #gemm} and {@link #column} multiplies. */
    private static final int GROUP = 4;

    /**
     * {@link #gemm} for one column of C (a classifier at batch 1: small_cnn's 1600 -> 128, resnet18's 512 -> 1000), four
     * pairs of strips per step: the four chains are independent, so the step runs at the loads' pace, where one pair
     * waited on its single chain (the fma's latency) and computed three unused columns beside it. Same chains, same bits.
     */
    private static void column(int m, int k, Sgemm.PackedA a, float[] b, int bOff, int bRow, float[] c, int cOff, int ldc,
                               boolean accumulate, int strips, int pairs) {
        float[] ad = a.data;
        Parallel.forRange(pairs, GROUP * Math.max(1, (pairs + GROUP * Parallel.THREADS - 1) / (GROUP * Parallel.THREADS)), (lo, hi) -> {
            float[] lanes = new float[SPECIES.length()];
            for (int pc = 0; pc < k; pc += Sgemm.KC) {
                int kc = Math.min(Sgemm.KC, k - pc);
                for (int pair = lo; pair < hi; pair += GROUP) {
                    // a group's missing pairs repeat its last one (computed, not stored)
                    int last = Math.min(pair + GROUP, hi) - 1;
                    int s0 = 2 * pair, s1 = Math.min(s0 + 1, strips - 1);
                    int s2 = 2 * Math.min(pair + 1, last), s3 = Math.min(s2 + 1, strips - 1);
                    int s4 = 2 * Math.min(pair + 2, last), s5 = Math.min(s4 + 1, strips - 1);
                    int s6 = 2 * Math.min(pair + 3, last), s7 = Math.min(s6 + 1, strips - 1);
                    int a0 = stripAt(a, s0, pc, kc), a1 = stripAt(a, s1, pc, kc) - MR;
                    int a2 = stripAt(a, s2, pc, kc), a3 = stripAt(a, s3, pc, kc) - MR;
                    int a4 = stripAt(a, s4, pc, kc), a5 = stripAt(a, s5, pc, kc) - MR;
                    int a6 = stripAt(a, s6, pc, kc), a7 = stripAt(a, s7, pc, kc) - MR;
                    FloatVector z = FloatVector.zero(SPECIES);
                    FloatVector x0 = z, x1 = z, x2 = z, x3 = z;
                    for (int p = 0, bp = bOff + pc * bRow; p < kc; p++, bp += bRow) {
                        FloatVector v = FloatVector.broadcast(SPECIES, b[bp]);
                        int q = p * MR;
                        x0 = FloatVector.fromArray(SPECIES, ad, a0 + q).blend(FloatVector.fromArray(SPECIES, ad, a1 + q), HIGH).fma(v, x0);
                        x1 = FloatVector.fromArray(SPECIES, ad, a2 + q).blend(FloatVector.fromArray(SPECIES, ad, a3 + q), HIGH).fma(v, x1);
                        x2 = FloatVector.fromArray(SPECIES, ad, a4 + q).blend(FloatVector.fromArray(SPECIES, ad, a5 + q), HIGH).fma(v, x2);
                        x3 = FloatVector.fromArray(SPECIES, ad, a6 + q).blend(FloatVector.fromArray(SPECIES, ad, a7 + q), HIGH).fma(v, x3);
                    }
                    boolean add = accumulate || pc > 0;
                    for (int g = 0; g <= last - pair; g++) {
                        FloatVector x = g == 0 ? x0 : g == 1 ? x1 : g == 2 ? x2 : x3;
                        int t0 = 2 * (pair + g), t1 = Math.min(t0 + 1, strips - 1);
                        store(x, z, z, z, t0, 0, m, 1, c, cOff, ldc, 1, add, lanes);
                        if (t1 != t0) store(x, z, z, z, t1, MR, m, 1, c, cOff, ldc, 1, add, lanes);
                    }
                }
            }
        });
    }

    /** Where strip s (rows s*MR ..) of K block pc starts in the packed A. */
    static int stripAt(Sgemm.PackedA a, int s, int pc, int kc) {
        int row0 = s * MR, ic = row0 / Sgemm.MB * Sgemm.MB;
        return a.offset(ic, pc) + (row0 - ic) * kc;
    }

    /** C rows of strip s, columns < n: = or += the accumulators' lanes from {@code lane0} (one per column, a lane per row). */
    private static void store(FloatVector x0, FloatVector x1, FloatVector x2, FloatVector x3, int s, int lane0, int m, int n,
                              float[] c, int cOff, int ldc, int cCol, boolean add, float[] lanes) {
        int row0 = s * MR, rows = Math.min(MR, m - row0);
        for (int j = 0; j < n; j++) {
            (j == 0 ? x0 : j == 1 ? x1 : j == 2 ? x2 : x3).intoArray(lanes, 0);
            for (int r = 0; r < rows; r++) {
                int at = cOff + (row0 + r) * ldc + j * cCol;
                c[at] = add ? c[at] + lanes[lane0 + r] : lanes[lane0 + r];
            }
        }
    }
}
