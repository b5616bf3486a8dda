package dev.ember.kernels.cpu;

import dev.ember.engine.Rng;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Sgemm against a double-precision triple loop over the same strided arrays: shapes from 1x1x1 through primes
 * and sizes straddling the blocking (MR, NR, KC, MC, NC), narrow last strips (at most L columns), K = 1, every
 * operand layout (row- or column-major A and B), C with a leading dimension wider than N and an offset, and
 * C += A·B. Tolerance: 1e-5 of sum_p |a_ip b_pj| plus 1e-6. Also: repeat runs are bit-identical, and so are a
 * product fanned out over the pool and the same product run on one thread.
 */
class SgemmTest {
    private static final int MR = SgemmKernel.MR, NR = SgemmKernel.NR, L = SgemmKernel.L;

    private static final int[][] SHAPES = {
        {1, 1, 1}, {17, 31, 45}, {1, 300, 200}, {300, 1, 200}, {7, 500, 9}, {300, 300, 1},
        {MR - 1, NR + 1, Sgemm.KC + 1}, {MR + 1, NR - 1, 3}, {64, 64, 64},
        {Sgemm.MC + 1, 2 * NR - 1, 2 * Sgemm.KC + 3}, {129, 65, 257}, {9, Sgemm.NC + 70, 40}, {260, 1100, 300},
        // narrow last strips (half-width kernel), A read in place (N <= L), B read in place (M <= DIRECT_B_ROWS)
        // next to packed, the MLP's logits layer and its gradients, transpose tails in K
        {13, L, 400}, {300, 7, 100}, {3 * MR + 5, NR + L, 2 * 16 + 3}, {128, 10, 256}, {10, 256, 128}, {128, 256, 10},
        {70, 2 * NR + L - 3, 129}, {Sgemm.DIRECT_B_ROWS + 9, 3 * NR, 50},
    };

    @Test void matchesTheTripleLoopOnEveryShapeAndLayout() {
        Rng rng = new Rng(11);
        for (int[] s : SHAPES) {
            for (boolean aColumnMajor : new boolean[] {false, true}) {
                for (boolean bColumnMajor : new boolean[] {false, true}) {
                    for (boolean accumulate : new boolean[] {false, true}) {
                        check(rng, s[0], s[1], s[2], aColumnMajor, bColumnMajor, accumulate);
                    }
                }
            }
        }
    }

    /**
     * An A strided both ways (TapConv's taps, every 9th float of a weight) is read in place up to
     * {@link Sgemm#STRIDED_A_COLS} columns: the same bits as the packed path on a contiguous copy of A, for partial
     * strips, a partial last row strip, several K blocks and C += A·B.
     */
    @Test void anAStridedBothWaysReadInPlaceGivesThePackedBits() {
        Rng rng = new Rng(13);
        int[][] shapes = {{96, 64, 512}, {37, 20, 300}, {64, 33, 2 * Sgemm.KC + 5}, {8, Sgemm.STRIDED_A_COLS, 9}, {40, 17, 64}};
        for (int[] s : shapes) {
            int m = s[0], n = s[1], k = s[2], taps = 9, tap = 4;
            float[] w = random(rng, m * k * taps), b = random(rng, k * n);
            float[] copy = new float[m * k];   // A (m, k) = w[i*k*taps + p*taps + tap], contiguous
            for (int i = 0; i < m; i++) for (int p = 0; p < k; p++) copy[i * k + p] = w[i * k * taps + p * taps + tap];
            for (boolean accumulate : new boolean[] {false, true}) {
                float[] c0 = random(rng, m * n), c1 = c0.clone();
                Sgemm.gemm(m, n, k, w, tap, k * taps, taps, b, 0, n, 1, c0, 0, n, accumulate);
                Sgemm.gemm(m, n, k, copy, 0, k, 1, b, 0, n, 1, c1, 0, n, accumulate);
                assertArrayEquals(c1, c0, m + "x" + n + "x" + k + (accumulate ? " C+=" : "") + ": in place vs packed");
            }
        }
    }

    /**
     * A packed once ahead (a model's weights at inference) gives the same bits as packing on every call, also where
     * C is narrow enough for {@link SgemmNarrow}.
     */
    @Test void aPackedAheadGivesTheSameBits() {
        Rng rng = new Rng(14);
        int[][] shapes = {{17, 31, 45}, {MR - 1, NR + 1, Sgemm.KC + 1}, {Sgemm.MB + MR + 3, 70, 2 * Sgemm.KC + 5},
                {512, 128, 4608 / 4}, {64, 121, 288}, {13, L, 400}, {300, 2, 100}, {5, 3, 7},
                // at most SgemmNarrow.MAX_N columns: the lanes-over-rows kernel (odd strip counts, an MB boundary)
                {Sgemm.MB + 3 * MR + 5, 4, 2 * Sgemm.KC + 7}, {512, 4, 4608}, {9, 1, 5000}, {3 * MR, 3, 300},
                // four pairs a step: a short last group with a lone last strip, one of three pairs
                {13 * MR, 4, 70}, {14 * MR - 3, 2, 300},
                // 5 to L columns: SgemmOneVector, three strips a step (whole groups, a short last one, an MB boundary, a partial strip)
                {512, L, 512}, {7 * MR, 5, 300}, {Sgemm.MB + 5 * MR + 3, 9, 2 * Sgemm.KC + 9}, {2 * MR + 1, L - 1, 40},
                // one column, four pairs of strips a step: whole groups, a short last group, a lone last strip, an MB boundary
                {128, 1, 1600}, {1000, 1, 512}, {Sgemm.MB + 5 * MR + 3, 1, 2 * Sgemm.KC + 9}, {5 * MR, 1, 33},
                // 1-4 columns past a multiple of L: those run on the lanes-over-rows kernel, the rest as usual
                {64, 36, 288}, {256, 49, 2 * Sgemm.KC + 3}, {100, 2 * L + 2, 300}, {3 * MR + 1, L + 3, 50},
                // a tail past two A blocks (an MB boundary), and past one column panel
                {Sgemm.MB + 3 * MR + 5, 2 * NR + 3, 2 * Sgemm.KC + 7}, {9, Sgemm.NC + 3, 70}};
        for (int[] s : shapes) {
            int m = s[0], n = s[1], k = s[2];
            for (boolean aColumnMajor : new boolean[] {false, true}) {
                for (boolean accumulate : new boolean[] {false, true}) {
                    float[] a = random(rng, m * k + 3), b = random(rng, k * n), c0 = random(rng, m * n);
                    int aRow = aColumnMajor ? 1 : k, aCol = aColumnMajor ? m : 1;
                    float[] plain = c0.clone(), ahead = c0.clone();
                    Sgemm.gemm(m, n, k, a, 3, aRow, aCol, b, 0, n, 1, plain, 0, n, accumulate);
                    Sgemm.PackedA packed = Sgemm.PackedA.of(m, k, a, 3, aRow, aCol);
                    // the padding around the strips (SgemmNarrow loads across it) may hold anything in a pooled copy
                    java.util.Arrays.fill(packed.data, 0, Sgemm.PackedA.PAD, Float.NaN);
                    java.util.Arrays.fill(packed.data, packed.data.length - Sgemm.PackedA.PAD, packed.data.length, Float.NaN);
                    Sgemm.gemm(m, n, k, a, 3, aRow, aCol, packed, b, 0, n, 1, ahead, 0, n, accumulate);
                    for (int i = 0; i < plain.length; i++) {
                        if (Float.floatToRawIntBits(plain[i]) != Float.floatToRawIntBits(ahead[i])) {
                            fail(m + "x" + n + "x" + k + (aColumnMajor ? " column-major A" : "") + (accumulate ? " +=" : "")
                                    + ": element " + i + " is " + ahead[i] + " with A packed ahead, " + plain[i] + " without");
                        }
                    }
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> Sgemm.gemm(4, 4, 4, new float[16], 0, 4, 1,
                Sgemm.PackedA.of(4, 5, new float[20], 0, 5, 1), new float[16], 0, 4, 1, new float[16], 0, 4, false));
    }

    /**
     * One K block with A packed ahead and B read in place, on a thread of its own (a Winograd chunk's products, run
     * inside a parallel call) or small: the strips straight to the microkernel ({@code Sgemm.packedStrips}), a rest of
     * 1-4 or 5-15 columns on the narrow kernels; and with A packed ahead at N = 3L (+ a rest column), over several K
     * blocks and in parallel ({@code Sgemm.wideStrips}): the bits of the blocked path, = and +=.
     */
    @Test void packedStripsOnOneThreadGiveTheBlockedBits() {
        Rng rng = new Rng(15);
        int[][] shapes = {{64, 144, 32}, {64, 128, 32}, {64, 112, 32}, {8 * MR, 2 * L + 3, 100}, {4 * MR, L + 9, Sgemm.KC},
                {512, 49, 128}, {MR, L, 7}, {Sgemm.MB + 2 * MR, 3 * L, 40},   // three-vector strips, then NR, half; past an A block
                {512, 49, 2304}, {Sgemm.MB + 2 * MR, 3 * L, Sgemm.KC + 9}, {64, 3 * L, Sgemm.KC}};   // wide strips over K blocks, in parallel
        for (int[] s : shapes) {
            int m = s[0], n = s[1], k = s[2];
            for (boolean accumulate : new boolean[] {false, true}) {
                float[] a = random(rng, m * k), b = random(rng, k * n), c0 = random(rng, m * n);
                float[] plain = c0.clone(), here = c0.clone(), inside = c0.clone();
                Sgemm.gemm(m, n, k, a, 0, k, 1, b, 0, n, 1, plain, 0, n, accumulate);
                Sgemm.PackedA packed = Sgemm.PackedA.of(m, k, a, 0, k, 1);
                Sgemm.gemm(m, n, k, a, 0, k, 1, packed, b, 0, n, 1, here, 0, n, accumulate);
                Parallel.forRange(2, 1, (lo, hi) -> {
                    if (lo == 0) Sgemm.gemm(m, n, k, a, 0, k, 1, packed, b, 0, n, 1, inside, 0, n, accumulate);
                });
                String what = m + "x" + n + "x" + k + (accumulate ? " +=" : "");
                for (int i = 0; i < plain.length; i++) {
                    assertEquals(Float.floatToRawIntBits(plain[i]), Float.floatToRawIntBits(here[i]), what + " element " + i);
                    assertEquals(Float.floatToRawIntBits(plain[i]), Float.floatToRawIntBits(inside[i]), what + " in a parallel call, element " + i);
                }
            }
        }
    }

    /**
     * B packed once ahead (a classifier's constant weight on the right) gives the same bits as packing on every call:
     * B row-major or read transposed, a last strip of at most L columns or of more, several K blocks, more than one
     * column panel, A row- or column-major, = and +=.
     */
    @Test void bPackedAheadGivesTheSameBits() {
        Rng rng = new Rng(15);
        int[][] shapes = {{32, 128, 1600}, {32, 1000, 512}, {32, 10, 128}, {MR + 3, NR + 5, Sgemm.KC + 1},
                {5, L - 3, 2 * Sgemm.KC + 7}, {40, Sgemm.NC + NR + 3, 70}, {100, 3, 300}};
        for (int[] s : shapes) {
            int m = s[0], n = s[1], k = s[2];
            for (boolean bTransposed : new boolean[] {false, true}) {
                for (boolean aColumnMajor : new boolean[] {false, true}) {
                    boolean accumulate = aColumnMajor;
                    float[] a = random(rng, m * k + 3), b = random(rng, k * n + 2), c0 = random(rng, m * n);
                    int aRow = aColumnMajor ? 1 : k, aCol = aColumnMajor ? m : 1, bRow = bTransposed ? 1 : n, bCol = bTransposed ? k : 1;
                    float[] plain = c0.clone(), ahead = c0.clone();
                    Sgemm.gemm(m, n, k, a, 3, aRow, aCol, b, 2, bRow, bCol, plain, 0, n, accumulate);
                    Sgemm.gemm(m, n, k, a, 3, aRow, aCol, Sgemm.PackedB.of(k, n, b, 2, bRow, bCol), ahead, 0, n, accumulate);
                    for (int i = 0; i < plain.length; i++) {
                        if (Float.floatToRawIntBits(plain[i]) != Float.floatToRawIntBits(ahead[i])) {
                            fail(m + "x" + n + "x" + k + (bTransposed ? " B transposed" : "") + (aColumnMajor ? " column-major A, +=" : "")
                                    + ": element " + i + " is " + ahead[i] + " with B packed ahead, " + plain[i] + " without");
                        }
                    }
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> Sgemm.gemm(4, 4, 4, new float[16], 0, 4, 1,
                Sgemm.PackedB.of(5, 4, new float[20], 0, 4, 1), new float[16], 0, 4, false));
    }

    /**
     * A B given strip by strip (each tile packs what it multiplies) gives the bits of the same B stored whole: tiles cut
     * by rows (A the larger operand) and by columns, partial last strips (half and full width), several K blocks, an
     * A past one block of MB rows, A packed ahead or not, C += A·B. Each strip the product asks for lies inside B.
     */
    @Test void bInStripsGivesTheBitsOfBStoredWhole() {
        Rng rng = new Rng(16);
        int[][] shapes = {{512, 128, 2304}, {256, 512, 1152}, {128, 2048, 576}, {MR + 3, NR + 5, Sgemm.KC + 1},
                {40, 3 * NR + L, 300}, {Sgemm.MB + MR + 1, 2 * NR, 70}, {9, 5, 20}, {64, 1, 9}};
        for (int[] s : shapes) {
            int m = s[0], n = s[1], k = s[2];
            for (boolean packedA : new boolean[] {false, true}) {
                boolean accumulate = !packedA;
                float[] a = random(rng, m * k), b = random(rng, k * n), c0 = random(rng, m * n);
                float[] whole = c0.clone(), strips = c0.clone();
                Sgemm.PackedA packed = packedA ? Sgemm.PackedA.of(m, k, a, 0, k, 1) : null;
                Sgemm.gemm(m, n, k, a, 0, k, 1, packed, b, 0, n, 1, whole, 0, n, accumulate);
                Sgemm.gemm(m, n, k, a, 0, k, 1, packed, (p0, kc, col0, cols, dst, d0) -> {
                    assertTrue(p0 >= 0 && kc > 0 && p0 + kc <= k && col0 >= 0 && cols > 0 && col0 + cols <= n,
                            "strip rows " + p0 + "+" + kc + ", columns " + col0 + "+" + cols + " of " + k + "x" + n);
                    SgemmPack.packB(b, 0, n, 1, p0, kc, col0, cols, dst, d0);
                }, strips, 0, n, accumulate);
                for (int i = 0; i < whole.length; i++) {
                    if (Float.floatToRawIntBits(whole[i]) != Float.floatToRawIntBits(strips[i])) {
                        fail(m + "x" + n + "x" + k + (packedA ? " A packed ahead" : ", +=") + ": element " + i + " is "
                                + strips[i] + " with B in strips, " + whole[i] + " with B whole");
                    }
                }
            }
        }
    }

    /**
     * The blocked path's arithmetic, to the bit: every C element is one fma chain from zero per K block, in p order,
     * added to C in K-block order (what the class documents and every kernel must keep). B packed (M past
     * DIRECT_B_ROWS) and read in place, a partial last strip and a partial last row strip, several K blocks, = and +=,
     * A packed ahead or not.
     */
    @Test void theBlockedPathIsOneFmaChainPerKBlockToTheBit() {
        Rng rng = new Rng(17);
        int[][] shapes = {{Sgemm.DIRECT_B_ROWS + 9, 3 * NR + 5, Sgemm.KC + 7}, {40, 6 * NR, 2 * Sgemm.KC + 1}, {3 * MR + 3, 9 * NR, 50},
                {Sgemm.DIRECT_B_ROWS + MR, 8 * NR, 64}};
        for (int[] s : shapes) {
            int m = s[0], n = s[1], k = s[2];
            for (boolean accumulate : new boolean[] {false, true}) {
                for (boolean ahead : new boolean[] {false, true}) {
                    float[] a = random(rng, m * k), b = random(rng, k * n), c = random(rng, m * n), want = c.clone();
                    for (int i = 0; i < m; i++) {
                        for (int j = 0; j < n; j++) {
                            for (int pc = 0; pc < k; pc += Sgemm.KC) {
                                float chain = 0f;
                                for (int p = pc; p < Math.min(k, pc + Sgemm.KC); p++) chain = Math.fma(a[i * k + p], b[p * n + j], chain);
                                want[i * n + j] = pc == 0 && !accumulate ? chain : want[i * n + j] + chain;
                            }
                        }
                    }
                    if (ahead) Sgemm.gemm(m, n, k, a, 0, k, 1, Sgemm.PackedA.of(m, k, a, 0, k, 1), b, 0, n, 1, c, 0, n, accumulate);
                    else Sgemm.gemm(m, n, k, a, 0, k, 1, b, 0, n, 1, c, 0, n, accumulate);
                    for (int i = 0; i < m * n; i++) {
                        if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(c[i])) {
                            fail(m + "x" + n + "x" + k + (accumulate ? " +=" : "") + (ahead ? " A packed ahead" : "") + ": element (" + i / n + ", "
                                    + i % n + ") is " + c[i] + ", the chains give " + want[i]);
                        }
                    }
                }
            }
        }
    }

    @Test void zeroInnerSizeClearsOrKeepsC() {
        float[] c = {1, 2, 3, 4};
        Sgemm.gemm(2, 2, 0, new float[0], 0, 0, 1, new float[0], 0, 2, 1, c, 0, 2, true);
        assertArrayEquals(new float[] {1, 2, 3, 4}, c);
        Sgemm.gemm(2, 2, 0, new float[0], 0, 0, 1, new float[0], 0, 2, 1, c, 0, 2, false);
        assertArrayEquals(new float[4], c);
    }

    @Test void repeatRunsAreBitIdentical() {
        Rng rng = new Rng(12);
        int m = 300, n = 520, k = 700;
        float[] a = random(rng, m * k), b = random(rng, k * n);
        float[] c1 = new float[m * n], c2 = new float[m * n];
        Sgemm.gemm(m, n, k, a, 0, k, 1, b, 0, n, 1, c1, 0, n, false);
        for (int rep = 0; rep < 3; rep++) {
            Sgemm.gemm(m, n, k, a, 0, k, 1, b, 0, n, 1, c2, 0, n, false);
            assertArrayEquals(c1, c2, "repeat " + rep);
        }
    }

    @Test void anElementDoesNotDependOnTheTilingAroundIt() {
        // The first 8 rows computed alone equal the first 8 rows of the big product, bit for bit.
        assertTrue(2L * L * 600 < Sgemm.SMALL && 600 > Sgemm.KC, "the narrow case below must take the tiny-problem loops");
        Rng rng = new Rng(13);
        int m = 400, n = 300, k = 600;
        float[] a = random(rng, m * k), b = random(rng, k * n);
        float[] all = new float[m * n], top = new float[8 * n];
        Sgemm.gemm(m, n, k, a, 0, k, 1, b, 0, n, 1, all, 0, n, false);
        Sgemm.gemm(8, n, k, a, 0, k, 1, b, 0, n, 1, top, 0, n, false);
        for (int i = 0; i < 8 * n; i++) {
            if (Float.floatToRawIntBits(all[i]) != Float.floatToRawIntBits(top[i])) fail("element " + i + ": " + all[i] + " vs " + top[i]);
        }
        // Two rows alone take the direct loops for tiny problems; with K > KC they still sum in K blocks.
        int narrow = L;
        float[] b2 = random(rng, k * narrow), all2 = new float[m * narrow], top2 = new float[2 * narrow];
        Sgemm.gemm(m, narrow, k, a, 0, k, 1, b2, 0, narrow, 1, all2, 0, narrow, false);
        Sgemm.gemm(2, narrow, k, a, 0, k, 1, b2, 0, narrow, 1, top2, 0, narrow, false);
        for (int i = 0; i < 2 * narrow; i++) {
            if (Float.floatToRawIntBits(all2[i]) != Float.floatToRawIntBits(top2[i])) fail("narrow element " + i + ": " + all2[i] + " vs " + top2[i]);
        }
    }

    @Test void theResultDoesNotDependOnHowManyThreadsRunIt() {
        // A call from inside a Parallel chunk runs on that one thread; the same call from outside fans out.
        Rng rng = new Rng(14);
        // Sgemm.bands takes these (bands of columns, of rows, a partial last band) where the threads are several
        int[][] shapes = {{300, 520, 700}, {128, 784, 512}, {256, 256, 256}, {40, 1000, 64}, {1000, 96, 300}};
        for (int[] s : shapes) {
            int m = s[0], n = s[1], k = s[2];
            for (boolean transposed : new boolean[] {false, true}) {
                float[] a = random(rng, m * k), b = random(rng, k * n);
                int aRow = transposed ? 1 : k, aCol = transposed ? m : 1, bRow = transposed ? 1 : n, bCol = transposed ? k : 1;
                float[] fanned = new float[m * n], alone = new float[m * n];
                Sgemm.gemm(m, n, k, a, 0, aRow, aCol, b, 0, bRow, bCol, fanned, 0, n, false);
                Parallel.forRange(2, 1, (lo, hi) -> {
                    if (lo == 0) Sgemm.gemm(m, n, k, a, 0, aRow, aCol, b, 0, bRow, bCol, alone, 0, n, false);
                });
                for (int i = 0; i < m * n; i++) {
                    if (Float.floatToRawIntBits(fanned[i]) != Float.floatToRawIntBits(alone[i])) {
                        fail(m + "x" + n + "x" + k + (transposed ? " transposed" : "") + ", element " + i + ": " + fanned[i] + " vs " + alone[i]);
                    }
                }
            }
        }
    }

    private static void check(Rng rng, int m, int n, int k, boolean aColumnMajor, boolean bColumnMajor, boolean accumulate) {
        String what = m + "x" + n + "x" + k + (aColumnMajor ? " A^T" : "") + (bColumnMajor ? " B^T" : "") + (accumulate ? " C+=" : "");
        int aOff = 3, bOff = 5, cOff = 7, ldc = n + 2;
        float[] a = random(rng, aOff + m * k), b = random(rng, bOff + k * n), c = random(rng, cOff + m * ldc);
        int aRow = aColumnMajor ? 1 : k, aCol = aColumnMajor ? m : 1;
        int bRow = bColumnMajor ? 1 : n, bCol = bColumnMajor ? k : 1;
        float[] before = c.clone();
        Sgemm.gemm(m, n, k, a, aOff, aRow, aCol, b, bOff, bRow, bCol, c, cOff, ldc, accumulate);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = accumulate ? before[cOff + i * ldc + j] : 0, bound = Math.abs(sum);
                for (int p = 0; p < k; p++) {
                    double t = (double) a[aOff + i * aRow + p * aCol] * b[bOff + p * bRow + j * bCol];
                    sum += t;
                    bound += Math.abs(t);
                }
                float got = c[cOff + i * ldc + j];
                if (!(Math.abs(got - sum) <= 1e-5 * bound + 1e-6)) fail(what + ": C[" + i + ", " + j + "] = " + got + ", expected " + sum);
            }
            for (int j = n; j < ldc && i < m - 1; j++) {
                assertTrue(c[cOff + i * ldc + j] == before[cOff + i * ldc + j], what + ": wrote past column N in row " + i);
            }
        }
        for (int i = 0; i < cOff; i++) assertTrue(c[i] == before[i], what + ": wrote before the C offset");
    }

    static float[] random(Rng rng, int size) {
        float[] x = new float[size];
        for (int i = 0; i < size; i++) x[i] = (float) rng.nextGaussian();
        return x;
    }
}
