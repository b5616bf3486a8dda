package dev.ember.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * y (N) = x (K) · B (K, N) for a constant B packed once as (N/L blocks, K, L): a classifier at batch 1 (small_cnn's
 * 1600 -> 128, resnet18's 512 -> 1000). Each step of a block is one contiguous vector of L outputs' weights times one
 * broadcast x element, four blocks a step so that four independent chains hide the fma's latency; the weight streams
 * from L2 once per call. {@link SgemmNarrow}'s lanes over two packed A strips took two loads and a blend per vector:
 * 17.2 -> 10.1 us for 1600 x 128 on one core.
 *
 * <pre>
 *   packed[(j*K + p)*L + l] = B[p, j*L + l]          zero past N
 *   per K block of {@link Sgemm#KC}: acc = fma chain from zero over its p in order; y = acc (first block), y += acc after
 * </pre>
 * The same arithmetic as {@link Sgemm} (per K block one fma chain from zero in p order, added to C in K-block order),
 * so a row's outputs are the same bits at batch 1 as in a batch.
 */
final class Gemv {
    private static final VectorSpecies<Float> SPECIES = SgemmKernel.SPECIES;
    private static final int L = SPECIES.length();
    /** Blocks of L outputs per step. */
    private static final int GROUP = 4;

    private Gemv() {}

    /** B (K, N), element (p, j) at {@code b[bOff + p*bRow + j*bCol]}, packed as (N/L blocks rounded up, K, L). */
    static float[] pack(float[] b, int bOff, int bRow, int bCol, int n, int k) {
        int blocks = (n + L - 1) / L;
        float[] packed = new float[Math.multiplyExact(blocks * L, k)];
        for (int j = 0; j < n; j++) {
            int block = j / L, lane = j % L;
            for (int p = 0; p < k; p++) packed[(block * k + p) * L + lane] = b[bOff + p * bRow + j * bCol];
        }
        return packed;
    }

    /** y[0, N) = x · B, x element p at {@code x[xOff + p*xStride]}, B {@link #pack}ed. */
    static void gemv(int n, int k, float[] packed, float[] x, int xOff, int xStride, float[] y) {
        int blocks = (n + L - 1) / L, groups = (blocks + GROUP - 1) / GROUP;
        Parallel.forRange(groups, Math.max(1, groups / (2 * Parallel.THREADS)), (lo, hi) -> {
            float[] tail = new float[GROUP * L];
            for (int group = lo; group < hi; group++) {
                int j0 = group * GROUP, last = Math.min(j0 + GROUP, blocks) - 1;
                // a group's missing blocks repeat its last one (computed, not stored)
                int w0 = j0 * k * L, w1 = Math.min(j0 + 1, last) * k * L, w2 = Math.min(j0 + 2, last) * k * L, w3 = Math.min(j0 + 3, last) * k * L;
                for (int pc = 0; pc < k; pc += Sgemm.KC) {
                    int kc = Math.min(Sgemm.KC, k - pc);
                    FloatVector z = FloatVector.zero(SPECIES);
                    FloatVector a0 = z, a1 = z, a2 = z, a3 = z;
                    for (int p = pc, xp = xOff + pc * xStride; p < pc + kc; p++, xp += xStride) {
                        FloatVector v = FloatVector.broadcast(SPECIES, x[xp]);
                        int q = p * L;
                        a0 = FloatVector.fromArray(SPECIES, packed, w0 + q).fma(v, a0);
                        a1 = FloatVector.fromArray(SPECIES, packed, w1 + q).fma(v, a1);
                        a2 = FloatVector.fromArray(SPECIES, packed, w2 + q).fma(v, a2);
                        a3 = FloatVector.fromArray(SPECIES, packed, w3 + q).fma(v, a3);
                    }
                    boolean add = pc > 0;
                    for (int g = 0; g <= last - j0; g++) {
                        FloatVector a = g == 0 ? a0 : g == 1 ? a1 : g == 2 ? a2 : a3;
                        int at = (j0 + g) * L, outputs = Math.min(L, n - at);
                        if (outputs == L) {
                            (add ? a.add(FloatVector.fromArray(SPECIES, y, at)) : a).intoArray(y, at);
                        } else {   // the last block's lanes past N are not y's
                            a.intoArray(tail, 0);
                            for (int l = 0; l < outputs; l++) y[at + l] = add ? y[at + l] + tail[l] : tail[l];
                        }
                    }
                }
            }
        });
    }
}
