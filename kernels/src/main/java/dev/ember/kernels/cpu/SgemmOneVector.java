package dev.ember.kernels.cpu;

import static dev.ember.kernels.cpu.SgemmKernel.MR;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * C (M, N) = A · B for N of one vector at most (5 to L columns: Winograd F(2x2)'s 16 tiles of a 7x7 or 8x8 map at
 * batch 1, resnet18's 4x4 layers at 64x64) with A {@linkplain Sgemm.PackedA packed ahead}, three strips of A a step:
 *
 * <pre>
 *   per K block, per group of three strips s0, s1, s2 (MR rows each):
 *     acc[s][r] (one vector: C's row, all columns) = sum over p of A[s*MR + r][p] * B[p][0..N)   24 chains
 * </pre>
 * Such products read each element of A once and do one fma with it, so they run at the pace A streams in: resnet18's
 * layer4 at 1x3x224x224 reads 16.8 MB of transformed weight per 3x3 conv. {@link Sgemm}'s own path takes one strip at
 * a time (one stream of A per thread, eight chains); here three strips are three streams and each B vector serves 24
 * chains: resnet18 at 1x3x224x224 (alternating in one JVM) 14.3-14.7 -> 13.5-13.7 ms a call, layer4's 3x3 convs in
 * the model 1342-1356 -> 1062-1095 us each; alone, with U in cache, the conv is unchanged. Same arithmetic as Sgemm
 * per element: per K block one fma chain from zero in p order, added to C in K block order, so the same bits.
 */
final class SgemmOneVector {
    private static final VectorSpecies<Float> SPECIES = SgemmKernel.SPECIES;
    private static final int L = SPECIES.length();
    /** Strips a step. */
    private static final int GROUP = 3;

    /** Per-thread buffer of a group's accumulators on their way to C. */
    private static final ThreadLocal<float[]> ACC = ThreadLocal.withInitial(() -> new float[GROUP * MR * L]);

    private SgemmOneVector() {}

    /** Whether this kernel runs the product: A packed ahead, B's rows contiguous, more columns than SgemmNarrow's, at most L. */
    static boolean fits(int n, Sgemm.PackedA packed, int bCol) {
        return packed != null && bCol == 1 && n > SgemmNarrow.MAX_N && n <= L;
    }

    /** B element (p, j) at {@code b[bOff + p*bRow + j]}; C element (i, j) at {@code c[cOff + i*ldc + j]}. */
    static void gemm(int m, int n, int k, Sgemm.PackedA a, float[] b, int bOff, int bRow, float[] c, int cOff, int ldc, boolean accumulate) {
        int strips = (m + MR - 1) / MR, groups = (strips + GROUP - 1) / GROUP;
        VectorMask<Float> cols = SPECIES.indexInRange(0, n);
        float[] ad = a.data;
        Parallel.forRange(groups, Parallel.grain(groups, 1), (lo, hi) -> {
            float[] acc = ACC.get();   // a group's accumulators, row by row
            // K blocks outside the groups: a thread's strips of one K block lie one after the other in the packed A
            for (int pc = 0; pc < k; pc += Sgemm.KC) {
                int kc = Math.min(Sgemm.KC, k - pc);
                boolean add = accumulate || pc > 0;
                for (int group = lo; group < hi; group++) {
                    int s0 = GROUP * group, s1 = Math.min(s0 + 1, strips - 1), s2 = Math.min(s0 + 2, strips - 1);   // missing strips repeat the last (not stored)
                    int a0 = SgemmNarrow.stripAt(a, s0, pc, kc), a1 = SgemmNarrow.stripAt(a, s1, pc, kc), a2 = SgemmNarrow.stripAt(a, s2, pc, kc);
                    FloatVector z = FloatVector.zero(SPECIES);
                    FloatVector c00 = z, c01 = z, c02 = z, c03 = z, c04 = z, c05 = z, c06 = z, c07 = z;
                    FloatVector c10 = z, c11 = z, c12 = z, c13 = z, c14 = z, c15 = z, c16 = z, c17 = z;
                    FloatVector c20 = z, c21 = z, c22 = z, c23 = z, c24 = z, c25 = z, c26 = z, c27 = z;
                    for (int p = 0, bp = bOff + pc * bRow; p < kc; p++, bp += bRow) {
                        FloatVector v = FloatVector.fromArray(SPECIES, b, bp, cols);
                        int i0 = a0 + p * MR, i1 = a1 + p * MR, i2 = a2 + p * MR;
                        c00 = FloatVector.broadcast(SPECIES, ad[i0]).fma(v, c00);
                        c01 = FloatVector.broadcast(SPECIES, ad[i0 + 1]).fma(v, c01);
                        c02 = FloatVector.broadcast(SPECIES, ad[i0 + 2]).fma(v, c02);
                        c03 = FloatVector.broadcast(SPECIES, ad[i0 + 3]).fma(v, c03);
                        c04 = FloatVector.broadcast(SPECIES, ad[i0 + 4]).fma(v, c04);
                        c05 = FloatVector.broadcast(SPECIES, ad[i0 + 5]).fma(v, c05);
                        c06 = FloatVector.broadcast(SPECIES, ad[i0 + 6]).fma(v, c06);
                        c07 = FloatVector.broadcast(SPECIES, ad[i0 + 7]).fma(v, c07);
                        c10 = FloatVector.broadcast(SPECIES, ad[i1]).fma(v, c10);
                        c11 = FloatVector.broadcast(SPECIES, ad[i1 + 1]).fma(v, c11);
                        c12 = FloatVector.broadcast(SPECIES, ad[i1 + 2]).fma(v, c12);
                        c13 = FloatVector.broadcast(SPECIES, ad[i1 + 3]).fma(v, c13);
                        c14 = FloatVector.broadcast(SPECIES, ad[i1 + 4]).fma(v, c14);
                        c15 = FloatVector.broadcast(SPECIES, ad[i1 + 5]).fma(v, c15);
                        c16 = FloatVector.broadcast(SPECIES, ad[i1 + 6]).fma(v, c16);
                        c17 = FloatVector.broadcast(SPECIES, ad[i1 + 7]).fma(v, c17);
                        c20 = FloatVector.broadcast(SPECIES, ad[i2]).fma(v, c20);
                        c21 = FloatVector.broadcast(SPECIES, ad[i2 + 1]).fma(v, c21);
                        c22 = FloatVector.broadcast(SPECIES, ad[i2 + 2]).fma(v, c22);
                        c23 = FloatVector.broadcast(SPECIES, ad[i2 + 3]).fma(v, c23);
                        c24 = FloatVector.broadcast(SPECIES, ad[i2 + 4]).fma(v, c24);
                        c25 = FloatVector.broadcast(SPECIES, ad[i2 + 5]).fma(v, c25);
                        c26 = FloatVector.broadcast(SPECIES, ad[i2 + 6]).fma(v, c26);
                        c27 = FloatVector.broadcast(SPECIES, ad[i2 + 7]).fma(v, c27);
                    }
                    // through a buffer, not a helper taking vectors (C2 boxes those once it compiles them on their own)
                    c00.intoArray(acc, 0);
                    c01.intoArray(acc, 1 * L);
                    c02.intoArray(acc, 2 * L);
                    c03.intoArray(acc, 3 * L);
                    c04.intoArray(acc, 4 * L);
                    c05.intoArray(acc, 5 * L);
                    c06.intoArray(acc, 6 * L);
                    c07.intoArray(acc, 7 * L);
                    c10.intoArray(acc, 8 * L);
                    c11.intoArray(acc, 9 * L);
                    c12.intoArray(acc, 10 * L);
                    c13.intoArray(acc, 11 * L);
                    c14.intoArray(acc, 12 * L);
                    c15.intoArray(acc, 13 * L);
                    c16.intoArray(acc, 14 * L);
                    c17.intoArray(acc, 15 * L);
                    c20.intoArray(acc, 16 * L);
                    c21.intoArray(acc, 17 * L);
                    c22.intoArray(acc, 18 * L);
                    c23.intoArray(acc, 19 * L);
                    c24.intoArray(acc, 20 * L);
                    c25.intoArray(acc, 21 * L);
                    c26.intoArray(acc, 22 * L);
                    c27.intoArray(acc, 23 * L);
                    for (int g = 0; g < GROUP && s0 + g < strips; g++) {   // repeated strips are not stored
                        for (int r = 0; r < MR && (s0 + g) * MR + r < m; r++) {
                            int at = cOff + ((s0 + g) * MR + r) * ldc;
                            FloatVector out = FloatVector.fromArray(SPECIES, acc, (g * MR + r) * L);
                            if (add) out = out.add(FloatVector.fromArray(SPECIES, c, at, cols));
                            out.intoArray(c, at, cols);
                        }
                    }
                }
            }
        });
    }
}
