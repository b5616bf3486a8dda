package dev.ember.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The SGEMM microkernel: an MR x NR block of C from a packed A strip and a B strip.
 *
 * <pre>
 *   A strip (kc, MR): element (p, r) at aOff + p*MR + r      (one column of A per step)
 *   B strip (kc, NR): element (p, j) at bOff + p*ldb + j     (one row of B per step: packed, ldb = NR, or a
 *                                                            row-major B read in place, ldb = its row stride)
 *   acc (MR, NR) += A[:, p] (outer) B[p, :]   for p = 0 .. kc-1, in order
 * </pre>
 *
 * The 8 x 32 block lives in 16 vector accumulators (8 rows x 2 vectors of 16 lanes); each step loads two B
 * vectors, broadcasts eight A elements and issues 16 fma, so loads stay well below the FMA rate. Every C
 * element is one fma chain over p starting from zero: the summation order is fixed. {@link #block48}, three vectors
 * wide, takes Sgemm's packed strips on one thread where N holds whole 3L strips (24 fma per eight broadcasts).
 */
final class SgemmKernel {
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    static final int L = SPECIES.length();
    /** Rows of a block (broadcast side). */
    static final int MR = 8;
    /** Columns of a block (vector side): two vectors. */
    static final int NR = 2 * L;

    private SgemmKernel() {}

    /**
     * Computes the block and writes it to {@code c} at {@code cOff} (row stride {@code ldc}): c = acc when
     * {@code add} is false, else c = c + acc. The whole MR x NR block must lie inside {@code c}.
     */
    static void block(int kc, float[] ap, int aOff, float[] bp, int bOff, int ldb, float[] c, int cOff, int ldc, boolean add) {
        FloatVector z = FloatVector.zero(SPECIES);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
        FloatVector c40 = z, c41 = z, c50 = z, c51 = z, c60 = z, c61 = z, c70 = z, c71 = z;
        for (int p = 0; p < kc; p++) {
            int ai = aOff + p * MR;
            int bi = bOff + p * ldb;
            FloatVector b0 = FloatVector.fromArray(SPECIES, bp, bi);
            FloatVector b1 = FloatVector.fromArray(SPECIES, bp, bi + L);
            FloatVector a = FloatVector.broadcast(SPECIES, ap[ai]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(SPECIES, ap[ai + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(SPECIES, ap[ai + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(SPECIES, ap[ai + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(SPECIES, ap[ai + 4]);
            c40 = a.fma(b0, c40);
            c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(SPECIES, ap[ai + 5]);
            c50 = a.fma(b0, c50);
            c51 = a.fma(b1, c51);
            a = FloatVector.broadcast(SPECIES, ap[ai + 6]);
            c60 = a.fma(b0, c60);
            c61 = a.fma(b1, c61);
            a = FloatVector.broadcast(SPECIES, ap[ai + 7]);
            c70 = a.fma(b0, c70);
            c71 = a.fma(b1, c71);
        }
        if (add) {
            c00 = c00.add(FloatVector.fromArray(SPECIES, c, cOff));
            c01 = c01.add(FloatVector.fromArray(SPECIES, c, cOff + L));
            c10 = c10.add(FloatVector.fromArray(SPECIES, c, cOff + ldc));
            c11 = c11.add(FloatVector.fromArray(SPECIES, c, cOff + ldc + L));
            c20 = c20.add(FloatVector.fromArray(SPECIES, c, cOff + 2 * ldc));
            c21 = c21.add(FloatVector.fromArray(SPECIES, c, cOff + 2 * ldc + L));
            c30 = c30.add(FloatVector.fromArray(SPECIES, c, cOff + 3 * ldc));
            c31 = c31.add(FloatVector.fromArray(SPECIES, c, cOff + 3 * ldc + L));
            c40 = c40.add(FloatVector.fromArray(SPECIES, c, cOff + 4 * ldc));
            c41 = c41.add(FloatVector.fromArray(SPECIES, c, cOff + 4 * ldc + L));
            c50 = c50.add(FloatVector.fromArray(SPECIES, c, cOff + 5 * ldc));
            c51 = c51.add(FloatVector.fromArray(SPECIES, c, cOff + 5 * ldc + L));
            c60 = c60.add(FloatVector.fromArray(SPECIES, c, cOff + 6 * ldc));
            c61 = c61.add(FloatVector.fromArray(SPECIES, c, cOff + 6 * ldc + L));
            c70 = c70.add(FloatVector.fromArray(SPECIES, c, cOff + 7 * ldc));
            c71 = c71.add(FloatVector.fromArray(SPECIES, c, cOff + 7 * ldc + L));
        }
        c00.intoArray(c, cOff);
        c01.intoArray(c, cOff + L);
        c10.intoArray(c, cOff + ldc);
        c11.intoArray(c, cOff + ldc + L);
        c20.intoArray(c, cOff + 2 * ldc);
        c21.intoArray(c, cOff + 2 * ldc + L);
        c30.intoArray(c, cOff + 3 * ldc);
        c31.intoArray(c, cOff + 3 * ldc + L);
        c40.intoArray(c, cOff + 4 * ldc);
        c41.intoArray(c, cOff + 4 * ldc + L);
        c50.intoArray(c, cOff + 5 * ldc);
        c51.intoArray(c, cOff + 5 * ldc + L);
        c60.intoArray(c, cOff + 6 * ldc);
        c61.intoArray(c, cOff + 6 * ldc + L);
        c70.intoArray(c, cOff + 7 * ldc);
        c71.intoArray(c, cOff + 7 * ldc + L);
    }

    /**
     * {@link #block} three vectors wide: an MR x 3L block of C in 24 accumulators, three B loads and eight A broadcasts
     * for 24 fma a step (block's are two and eight for 16), for {@link Sgemm}'s packed strips where N is a multiple of
     * 3L (Winograd's chunks: 144 tiles at small_cnn's batch 32, 98 and 196 at resnet18's 56x56). The same fma chain per
     * element as block, so the same bits. Its 64x144x32 products alone 3.88-4.16 -> 3.80-3.91 us; in the model, old and
     * new alternating in one JVM: small_cnn b32 0.647 -> 0.632 and 0.647 -> 0.621 ms, resnet18 1x224^2 12.73 -> 12.11
     * and 12.24 -> 11.83 ms.
     */
    static void block48(int kc, float[] ap, int aOff, float[] bp, int bOff, int ldb, float[] c, int cOff, int ldc, boolean add) {
        FloatVector z = FloatVector.zero(SPECIES);
        FloatVector c00 = z, c01 = z, c02 = z;
        FloatVector c10 = z, c11 = z, c12 = z;
        FloatVector c20 = z, c21 = z, c22 = z;
        FloatVector c30 = z, c31 = z, c32 = z;
        FloatVector c40 = z, c41 = z, c42 = z;
        FloatVector c50 = z, c51 = z, c52 = z;
        FloatVector c60 = z, c61 = z, c62 = z;
        FloatVector c70 = z, c71 = z, c72 = z;
        for (int p = 0; p < kc; p++) {
            int ai = aOff + p * MR;
            int bi = bOff + p * ldb;
            FloatVector b0 = FloatVector.fromArray(SPECIES, bp, bi);
            FloatVector b1 = FloatVector.fromArray(SPECIES, bp, bi + L);
            FloatVector b2 = FloatVector.fromArray(SPECIES, bp, bi + 2 * L);
            FloatVector a = FloatVector.broadcast(SPECIES, ap[ai]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            c02 = a.fma(b2, c02);
            a = FloatVector.broadcast(SPECIES, ap[ai + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            c12 = a.fma(b2, c12);
            a = FloatVector.broadcast(SPECIES, ap[ai + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            c22 = a.fma(b2, c22);
            a = FloatVector.broadcast(SPECIES, ap[ai + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            c32 = a.fma(b2, c32);
            a = FloatVector.broadcast(SPECIES, ap[ai + 4]);
            c40 = a.fma(b0, c40);
            c41 = a.fma(b1, c41);
            c42 = a.fma(b2, c42);
            a = FloatVector.broadcast(SPECIES, ap[ai + 5]);
            c50 = a.fma(b0, c50);
            c51 = a.fma(b1, c51);
            c52 = a.fma(b2, c52);
            a = FloatVector.broadcast(SPECIES, ap[ai + 6]);
            c60 = a.fma(b0, c60);
            c61 = a.fma(b1, c61);
            c62 = a.fma(b2, c62);
            a = FloatVector.broadcast(SPECIES, ap[ai + 7]);
            c70 = a.fma(b0, c70);
            c71 = a.fma(b1, c71);
            c72 = a.fma(b2, c72);
        }
        if (add) {
            c00 = c00.add(FloatVector.fromArray(SPECIES, c, cOff));
            c01 = c01.add(FloatVector.fromArray(SPECIES, c, cOff + L));
            c02 = c02.add(FloatVector.fromArray(SPECIES, c, cOff + 2 * L));
            c10 = c10.add(FloatVector.fromArray(SPECIES, c, cOff + ldc));
            c11 = c11.add(FloatVector.fromArray(SPECIES, c, cOff + ldc + L));
            c12 = c12.add(FloatVector.fromArray(SPECIES, c, cOff + ldc + 2 * L));
            c20 = c20.add(FloatVector.fromArray(SPECIES, c, cOff + 2 * ldc));
            c21 = c21.add(FloatVector.fromArray(SPECIES, c, cOff + 2 * ldc + L));
            c22 = c22.add(FloatVector.fromArray(SPECIES, c, cOff + 2 * ldc + 2 * L));
            c30 = c30.add(FloatVector.fromArray(SPECIES, c, cOff + 3 * ldc));
            c31 = c31.add(FloatVector.fromArray(SPECIES, c, cOff + 3 * ldc + L));
            c32 = c32.add(FloatVector.fromArray(SPECIES, c, cOff + 3 * ldc + 2 * L));
            c40 = c40.add(FloatVector.fromArray(SPECIES, c, cOff + 4 * ldc));
            c41 = c41.add(FloatVector.fromArray(SPECIES, c, cOff + 4 * ldc + L));
            c42 = c42.add(FloatVector.fromArray(SPECIES, c, cOff + 4 * ldc + 2 * L));
            c50 = c50.add(FloatVector.fromArray(SPECIES, c, cOff + 5 * ldc));
            c51 = c51.add(FloatVector.fromArray(SPECIES, c, cOff + 5 * ldc + L));
            c52 = c52.add(FloatVector.fromArray(SPECIES, c, cOff + 5 * ldc + 2 * L));
            c60 = c60.add(FloatVector.fromArray(SPECIES, c, cOff + 6 * ldc));
            c61 = c61.add(FloatVector.fromArray(SPECIES, c, cOff + 6 * ldc + L));
            c62 = c62.add(FloatVector.fromArray(SPECIES, c, cOff + 6 * ldc + 2 * L));
            c70 = c70.add(FloatVector.fromArray(SPECIES, c, cOff + 7 * ldc));
            c71 = c71.add(FloatVector.fromArray(SPECIES, c, cOff + 7 * ldc + L));
            c72 = c72.add(FloatVector.fromArray(SPECIES, c, cOff + 7 * ldc + 2 * L));
        }
        c00.intoArray(c, cOff);
        c01.intoArray(c, cOff + L);
        c02.intoArray(c, cOff + 2 * L);
        c10.intoArray(c, cOff + ldc);
        c11.intoArray(c, cOff + ldc + L);
        c12.intoArray(c, cOff + ldc + 2 * L);
        c20.intoArray(c, cOff + 2 * ldc);
        c21.intoArray(c, cOff + 2 * ldc + L);
        c22.intoArray(c, cOff + 2 * ldc + 2 * L);
        c30.intoArray(c, cOff + 3 * ldc);
        c31.intoArray(c, cOff + 3 * ldc + L);
        c32.intoArray(c, cOff + 3 * ldc + 2 * L);
        c40.intoArray(c, cOff + 4 * ldc);
        c41.intoArray(c, cOff + 4 * ldc + L);
        c42.intoArray(c, cOff + 4 * ldc + 2 * L);
        c50.intoArray(c, cOff + 5 * ldc);
        c51.intoArray(c, cOff + 5 * ldc + L);
        c52.intoArray(c, cOff + 5 * ldc + 2 * L);
        c60.intoArray(c, cOff + 6 * ldc);
        c61.intoArray(c, cOff + 6 * ldc + L);
        c62.intoArray(c, cOff + 6 * ldc + 2 * L);
        c70.intoArray(c, cOff + 7 * ldc);
        c71.intoArray(c, cOff + 7 * ldc + L);
        c72.intoArray(c, cOff + 7 * ldc + 2 * L);
    }

    /**
     * As {@link #block} (without adding to C), with B's row p read at {@code bBase + rowAt[p]}: a convolution's input
     * read in place ({@link Stride2Conv}: row p of B is tap p's run of one column phase of the padded input), so no
     * column matrix is built. Same arithmetic per element as {@link #block}; a copy of it rather than block with a
     * table, for the reason {@link #blockStrided} gives (block's constant offsets are what keep its checks cheap). With
     * {@code bias} (MR values, or null: none), each row + its bias and ReLU'd if asked before the store, the epilogue
     * {@link CpuConv2d#biasRelu} ran as a pass of its own over each output row: the same two operations.
     */
    static void blockGathered(int kc, float[] ap, int aOff, float[] bp, int bBase, int[] rowAt, float[] c, int cOff, int ldc, float[] bias, boolean relu) {
        FloatVector z = FloatVector.zero(SPECIES);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
        FloatVector c40 = z, c41 = z, c50 = z, c51 = z, c60 = z, c61 = z, c70 = z, c71 = z;
        for (int p = 0; p < kc; p++) {
            int ai = aOff + p * MR;
            int bi = bBase + rowAt[p];
            FloatVector b0 = FloatVector.fromArray(SPECIES, bp, bi);
            FloatVector b1 = FloatVector.fromArray(SPECIES, bp, bi + L);
            FloatVector a = FloatVector.broadcast(SPECIES, ap[ai]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(SPECIES, ap[ai + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(SPECIES, ap[ai + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(SPECIES, ap[ai + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(SPECIES, ap[ai + 4]);
            c40 = a.fma(b0, c40);
            c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(SPECIES, ap[ai + 5]);
            c50 = a.fma(b0, c50);
            c51 = a.fma(b1, c51);
            a = FloatVector.broadcast(SPECIES, ap[ai + 6]);
            c60 = a.fma(b0, c60);
            c61 = a.fma(b1, c61);
            a = FloatVector.broadcast(SPECIES, ap[ai + 7]);
            c70 = a.fma(b0, c70);
            c71 = a.fma(b1, c71);
        }
        if (bias != null) {   // + bias, ReLU'd if asked, as CpuConv2d.biasRelu does after a GEMM: written out, not a helper (vectors)
            FloatVector b = FloatVector.broadcast(SPECIES, bias[0]);
            c00 = c00.add(b);
            c01 = c01.add(b);
            b = FloatVector.broadcast(SPECIES, bias[1]);
            c10 = c10.add(b);
            c11 = c11.add(b);
            b = FloatVector.broadcast(SPECIES, bias[2]);
            c20 = c20.add(b);
            c21 = c21.add(b);
            b = FloatVector.broadcast(SPECIES, bias[3]);
            c30 = c30.add(b);
            c31 = c31.add(b);
            b = FloatVector.broadcast(SPECIES, bias[4]);
            c40 = c40.add(b);
            c41 = c41.add(b);
            b = FloatVector.broadcast(SPECIES, bias[5]);
            c50 = c50.add(b);
            c51 = c51.add(b);
            b = FloatVector.broadcast(SPECIES, bias[6]);
            c60 = c60.add(b);
            c61 = c61.add(b);
            b = FloatVector.broadcast(SPECIES, bias[7]);
            c70 = c70.add(b);
            c71 = c71.add(b);
            if (relu) {
                c00 = c00.max(z);
                c01 = c01.max(z);
                c10 = c10.max(z);
                c11 = c11.max(z);
                c20 = c20.max(z);
                c21 = c21.max(z);
                c30 = c30.max(z);
                c31 = c31.max(z);
                c40 = c40.max(z);
                c41 = c41.max(z);
                c50 = c50.max(z);
                c51 = c51.max(z);
                c60 = c60.max(z);
                c61 = c61.max(z);
                c70 = c70.max(z);
                c71 = c71.max(z);
            }
        }
        c00.intoArray(c, cOff);
        c01.intoArray(c, cOff + L);
        c10.intoArray(c, cOff + ldc);
        c11.intoArray(c, cOff + ldc + L);
        c20.intoArray(c, cOff + 2 * ldc);
        c21.intoArray(c, cOff + 2 * ldc + L);
        c30.intoArray(c, cOff + 3 * ldc);
        c31.intoArray(c, cOff + 3 * ldc + L);
        c40.intoArray(c, cOff + 4 * ldc);
        c41.intoArray(c, cOff + 4 * ldc + L);
        c50.intoArray(c, cOff + 5 * ldc);
        c51.intoArray(c, cOff + 5 * ldc + L);
        c60.intoArray(c, cOff + 6 * ldc);
        c61.intoArray(c, cOff + 6 * ldc + L);
        c70.intoArray(c, cOff + 7 * ldc);
        c71.intoArray(c, cOff + 7 * ldc + L);
    }

    /**
     * {@link #blockGathered} for L columns (an MR x L block): a row's last columns where a whole block would recompute
     * half its width (resnet's stem at 224x224: 112 = 3 x 32 + 16). Same chain per element.
     */
    static void blockGatheredHalf(int kc, float[] ap, int aOff, float[] bp, int bBase, int[] rowAt, float[] c, int cOff, int ldc, float[] bias, boolean relu) {
        FloatVector z = FloatVector.zero(SPECIES);
        FloatVector c0 = z, c1 = z, c2 = z, c3 = z, c4 = z, c5 = z, c6 = z, c7 = z;
        for (int p = 0; p < kc; p++) {
            int ai = aOff + p * MR;
            FloatVector b0 = FloatVector.fromArray(SPECIES, bp, bBase + rowAt[p]);
            c0 = FloatVector.broadcast(SPECIES, ap[ai]).fma(b0, c0);
            c1 = FloatVector.broadcast(SPECIES, ap[ai + 1]).fma(b0, c1);
            c2 = FloatVector.broadcast(SPECIES, ap[ai + 2]).fma(b0, c2);
            c3 = FloatVector.broadcast(SPECIES, ap[ai + 3]).fma(b0, c3);
            c4 = FloatVector.broadcast(SPECIES, ap[ai + 4]).fma(b0, c4);
            c5 = FloatVector.broadcast(SPECIES, ap[ai + 5]).fma(b0, c5);
            c6 = FloatVector.broadcast(SPECIES, ap[ai + 6]).fma(b0, c6);
            c7 = FloatVector.broadcast(SPECIES, ap[ai + 7]).fma(b0, c7);
        }
        if (bias != null) {
            c0 = c0.add(FloatVector.broadcast(SPECIES, bias[0]));
            c1 = c1.add(FloatVector.broadcast(SPECIES, bias[1]));
            c2 = c2.add(FloatVector.broadcast(SPECIES, bias[2]));
            c3 = c3.add(FloatVector.broadcast(SPECIES, bias[3]));
            c4 = c4.add(FloatVector.broadcast(SPECIES, bias[4]));
            c5 = c5.add(FloatVector.broadcast(SPECIES, bias[5]));
            c6 = c6.add(FloatVector.broadcast(SPECIES, bias[6]));
            c7 = c7.add(FloatVector.broadcast(SPECIES, bias[7]));
            if (relu) {
                c0 = c0.max(z);
                c1 = c1.max(z);
                c2 = c2.max(z);
                c3 = c3.max(z);
                c4 = c4.max(z);
                c5 = c5.max(z);
                c6 = c6.max(z);
                c7 = c7.max(z);
            }
        }
        c0.intoArray(c, cOff);
        c1.intoArray(c, cOff + ldc);
        c2.intoArray(c, cOff + 2 * ldc);
        c3.intoArray(c, cOff + 3 * ldc);
        c4.intoArray(c, cOff + 4 * ldc);
        c5.intoArray(c, cOff + 5 * ldc);
        c6.intoArray(c, cOff + 6 * ldc);
        c7.intoArray(c, cOff + 7 * ldc);
    }

    /**
     * As {@link #block}, with A read in place: element (p, r) at {@code ap[aOff + p*aStep + r*aRow]} (TapConv's taps of
     * a weight, every KH*KW-th float, in narrow products where packing them cost as much as the products). A copy of
     * block rather than block with strides: the packed case's constant offsets are what lets the JIT check one load
     * a step instead of eight (see {@link #blockHalfPacked}).
     */
    static void blockStrided(int kc, float[] ap, int aOff, int aStep, int aRow, float[] bp, int bOff, int ldb, float[] c, int cOff, int ldc, boolean add) {
        FloatVector z = FloatVector.zero(SPECIES);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
        FloatVector c40 = z, c41 = z, c50 = z, c51 = z, c60 = z, c61 = z, c70 = z, c71 = z;
        for (int p = 0; p < kc; p++) {
            int ai = aOff + p * aStep;
            int bi = bOff + p * ldb;
            FloatVector b0 = FloatVector.fromArray(SPECIES, bp, bi);
            FloatVector b1 = FloatVector.fromArray(SPECIES, bp, bi + L);
            FloatVector a = FloatVector.broadcast(SPECIES, ap[ai]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(SPECIES, ap[ai + 1 * aRow]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(SPECIES, ap[ai + 2 * aRow]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(SPECIES, ap[ai + 3 * aRow]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(SPECIES, ap[ai + 4 * aRow]);
            c40 = a.fma(b0, c40);
            c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(SPECIES, ap[ai + 5 * aRow]);
            c50 = a.fma(b0, c50);
            c51 = a.fma(b1, c51);
            a = FloatVector.broadcast(SPECIES, ap[ai + 6 * aRow]);
            c60 = a.fma(b0, c60);
            c61 = a.fma(b1, c61);
            a = FloatVector.broadcast(SPECIES, ap[ai + 7 * aRow]);
            c70 = a.fma(b0, c70);
            c71 = a.fma(b1, c71);
        }
        if (add) {
            c00 = c00.add(FloatVector.fromArray(SPECIES, c, cOff));
            c01 = c01.add(FloatVector.fromArray(SPECIES, c, cOff + L));
            c10 = c10.add(FloatVector.fromArray(SPECIES, c, cOff + ldc));
            c11 = c11.add(FloatVector.fromArray(SPECIES, c, cOff + ldc + L));
            c20 = c20.add(FloatVector.fromArray(SPECIES, c, cOff + 2 * ldc));
            c21 = c21.add(FloatVector.fromArray(SPECIES, c, cOff + 2 * ldc + L));
            c30 = c30.add(FloatVector.fromArray(SPECIES, c, cOff + 3 * ldc));
            c31 = c31.add(FloatVector.fromArray(SPECIES, c, cOff + 3 * ldc + L));
            c40 = c40.add(FloatVector.fromArray(SPECIES, c, cOff + 4 * ldc));
            c41 = c41.add(FloatVector.fromArray(SPECIES, c, cOff + 4 * ldc + L));
            c50 = c50.add(FloatVector.fromArray(SPECIES, c, cOff + 5 * ldc));
            c51 = c51.add(FloatVector.fromArray(SPECIES, c, cOff + 5 * ldc + L));
            c60 = c60.add(FloatVector.fromArray(SPECIES, c, cOff + 6 * ldc));
            c61 = c61.add(FloatVector.fromArray(SPECIES, c, cOff + 6 * ldc + L));
            c70 = c70.add(FloatVector.fromArray(SPECIES, c, cOff + 7 * ldc));
            c71 = c71.add(FloatVector.fromArray(SPECIES, c, cOff + 7 * ldc + L));
        }
        c00.intoArray(c, cOff);
        c01.intoArray(c, cOff + L);
        c10.intoArray(c, cOff + ldc);
        c11.intoArray(c, cOff + ldc + L);
        c20.intoArray(c, cOff + 2 * ldc);
        c21.intoArray(c, cOff + 2 * ldc + L);
        c30.intoArray(c, cOff + 3 * ldc);
        c31.intoArray(c, cOff + 3 * ldc + L);
        c40.intoArray(c, cOff + 4 * ldc);
        c41.intoArray(c, cOff + 4 * ldc + L);
        c50.intoArray(c, cOff + 5 * ldc);
        c51.intoArray(c, cOff + 5 * ldc + L);
        c60.intoArray(c, cOff + 6 * ldc);
        c61.intoArray(c, cOff + 6 * ldc + L);
        c70.intoArray(c, cOff + 7 * ldc);
        c71.intoArray(c, cOff + 7 * ldc + L);
    }

    /**
     * As {@link #block}, for a B strip of only L columns: the last strip of a B panel when at most L columns are
     * left, so a narrow product (N = 10 logits, a 4x4 feature map) or a tail does not run at a quarter of the
     * lanes. Writes an MR x L block. A element (p, r) is {@code ap[aOff + p*aStep + r*aNext]}: (MR, 1) for a packed
     * strip, or A's own strides when a narrow product reads A in place. Same arithmetic per element as {@link #block}.
     */
    static void blockHalf(int kc, float[] ap, int aOff, int aStep, int aRow, float[] bp, int bOff, int ldb, float[] c, int cOff, int ldc, boolean add) {
        FloatVector z = FloatVector.zero(SPECIES);
        FloatVector c0 = z, c1 = z, c2 = z, c3 = z, c4 = z, c5 = z, c6 = z, c7 = z;
        for (int p = 0; p < kc; p++) {
            int ai = aOff + p * aStep;
            FloatVector b0 = FloatVector.fromArray(SPECIES, bp, bOff + p * ldb);
            c0 = FloatVector.broadcast(SPECIES, ap[ai]).fma(b0, c0);
            c1 = FloatVector.broadcast(SPECIES, ap[ai + aRow]).fma(b0, c1);
            c2 = FloatVector.broadcast(SPECIES, ap[ai + 2 * aRow]).fma(b0, c2);
            c3 = FloatVector.broadcast(SPECIES, ap[ai + 3 * aRow]).fma(b0, c3);
            c4 = FloatVector.broadcast(SPECIES, ap[ai + 4 * aRow]).fma(b0, c4);
            c5 = FloatVector.broadcast(SPECIES, ap[ai + 5 * aRow]).fma(b0, c5);
            c6 = FloatVector.broadcast(SPECIES, ap[ai + 6 * aRow]).fma(b0, c6);
            c7 = FloatVector.broadcast(SPECIES, ap[ai + 7 * aRow]).fma(b0, c7);
        }
        if (add) {
            c0 = c0.add(FloatVector.fromArray(SPECIES, c, cOff));
            c1 = c1.add(FloatVector.fromArray(SPECIES, c, cOff + ldc));
            c2 = c2.add(FloatVector.fromArray(SPECIES, c, cOff + 2 * ldc));
            c3 = c3.add(FloatVector.fromArray(SPECIES, c, cOff + 3 * ldc));
            c4 = c4.add(FloatVector.fromArray(SPECIES, c, cOff + 4 * ldc));
            c5 = c5.add(FloatVector.fromArray(SPECIES, c, cOff + 5 * ldc));
            c6 = c6.add(FloatVector.fromArray(SPECIES, c, cOff + 6 * ldc));
            c7 = c7.add(FloatVector.fromArray(SPECIES, c, cOff + 7 * ldc));
        }
        c0.intoArray(c, cOff);
        c1.intoArray(c, cOff + ldc);
        c2.intoArray(c, cOff + 2 * ldc);
        c3.intoArray(c, cOff + 3 * ldc);
        c4.intoArray(c, cOff + 4 * ldc);
        c5.intoArray(c, cOff + 5 * ldc);
        c6.intoArray(c, cOff + 6 * ldc);
        c7.intoArray(c, cOff + 7 * ldc);
    }

    /**
     * {@link #blockHalf} for a packed A strip: its MR elements of a step are adjacent, so the JIT sees constant
     * offsets (one bounds check a step, not eight). Its epilogue repeats blockHalf's on purpose: one helper taking the
     * eight accumulators ran 2-6% slower (64x36x32 products 40.3-40.8 us against 42.6-43.5, one core).
     */
    static void blockHalfPacked(int kc, float[] ap, int aOff, float[] bp, int bOff, int ldb, float[] c, int cOff, int ldc, boolean add) {
        FloatVector z = FloatVector.zero(SPECIES);
        FloatVector c0 = z, c1 = z, c2 = z, c3 = z, c4 = z, c5 = z, c6 = z, c7 = z;
        for (int p = 0; p < kc; p++) {
            int ai = aOff + p * MR;
            FloatVector b0 = FloatVector.fromArray(SPECIES, bp, bOff + p * ldb);
            c0 = FloatVector.broadcast(SPECIES, ap[ai]).fma(b0, c0);
            c1 = FloatVector.broadcast(SPECIES, ap[ai + 1]).fma(b0, c1);
            c2 = FloatVector.broadcast(SPECIES, ap[ai + 2]).fma(b0, c2);
            c3 = FloatVector.broadcast(SPECIES, ap[ai + 3]).fma(b0, c3);
            c4 = FloatVector.broadcast(SPECIES, ap[ai + 4]).fma(b0, c4);
            c5 = FloatVector.broadcast(SPECIES, ap[ai + 5]).fma(b0, c5);
            c6 = FloatVector.broadcast(SPECIES, ap[ai + 6]).fma(b0, c6);
            c7 = FloatVector.broadcast(SPECIES, ap[ai + 7]).fma(b0, c7);
        }
        if (add) {
            c0 = c0.add(FloatVector.fromArray(SPECIES, c, cOff));
            c1 = c1.add(FloatVector.fromArray(SPECIES, c, cOff + ldc));
            c2 = c2.add(FloatVector.fromArray(SPECIES, c, cOff + 2 * ldc));
            c3 = c3.add(FloatVector.fromArray(SPECIES, c, cOff + 3 * ldc));
            c4 = c4.add(FloatVector.fromArray(SPECIES, c, cOff + 4 * ldc));
            c5 = c5.add(FloatVector.fromArray(SPECIES, c, cOff + 5 * ldc));
            c6 = c6.add(FloatVector.fromArray(SPECIES, c, cOff + 6 * ldc));
            c7 = c7.add(FloatVector.fromArray(SPECIES, c, cOff + 7 * ldc));
        }
        c0.intoArray(c, cOff);
        c1.intoArray(c, cOff + ldc);
        c2.intoArray(c, cOff + 2 * ldc);
        c3.intoArray(c, cOff + 3 * ldc);
        c4.intoArray(c, cOff + 4 * ldc);
        c5.intoArray(c, cOff + 5 * ldc);
        c6.intoArray(c, cOff + 6 * ldc);
        c7.intoArray(c, cOff + 7 * ldc);
    }
}
