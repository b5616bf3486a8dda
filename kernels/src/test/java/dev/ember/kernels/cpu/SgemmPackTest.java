package dev.ember.kernels.cpu;

import dev.ember.engine.Rng;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The packed strips against their definition, element by element (packing only moves values, so exact equality):
 * A strip (kc, MR) with dst[p*MR + r] = A[row0 + r, p0 + p] and zero rows past the valid ones; B strip (kc, w) with
 * dst[p*w + j] = B[p0 + p, col0 + j], w = NR or L for a narrow last strip, and zero columns past the valid ones.
 * Every layout (row-major, column-major, neither stride unit), full and partial strips, and kc around the 16-step
 * blocks of the vector transposes (1, 15, 16, 17, 47, 64). Values land at an offset in a buffer pre-filled with
 * garbage, which must survive outside the strip.
 */
class SgemmPackTest {
    private static final int MR = SgemmKernel.MR, NR = SgemmKernel.NR, L = SgemmKernel.L;
    private static final int[] KCS = {1, 15, 16, 17, 47, 64};
    private static final float GARBAGE = -12345f;

    /** Strides of a (rows, cols) matrix stored row-major, column-major, or with both strides above 1. */
    private static int[][] layouts(int rows, int cols) {
        return new int[][] {{cols, 1}, {1, rows}, {2 * cols + 1, 2}};
    }

    @Test void packAMatchesItsDefinition() {
        Rng rng = new Rng(21);
        int m = 3 * MR + 5, k = 100;
        for (int[] layout : layouts(m, k)) {
            int aRow = layout[0], aCol = layout[1], aOff = 7;
            float[] a = SgemmTest.random(rng, aOff + 1 + (m - 1) * aRow + (k - 1) * aCol);
            for (int kc : KCS) {
                for (int row0 : new int[] {0, MR, 3 * MR}) { // the last start leaves 5 valid rows
                    int rows = Math.min(MR, m - row0), p0 = 3, d0 = 11;
                    float[] dst = garbage(d0 + kc * MR + 9);
                    SgemmPack.packA(a, aOff, aRow, aCol, row0, rows, p0, kc, dst, d0);
                    String what = "A strides (" + aRow + ", " + aCol + "), kc " + kc + ", rows " + rows;
                    for (int p = 0; p < kc; p++) {
                        for (int r = 0; r < MR; r++) {
                            float want = r < rows ? a[aOff + (row0 + r) * aRow + (p0 + p) * aCol] : 0f;
                            assertEquals(want, dst[d0 + p * MR + r], what + ": step " + p + ", row " + r);
                        }
                    }
                    assertUntouchedOutside(dst, d0, kc * MR, what);
                }
            }
        }
    }

    @Test void packBMatchesItsDefinition() {
        Rng rng = new Rng(22);
        int k = 100;
        for (int cols : new int[] {NR, NR - 1, L + 1, L, L - 1, 1}) {
            int n = cols + 2 * NR;
            for (int[] layout : layouts(k, n)) {
                int bRow = layout[0], bCol = layout[1], bOff = 5;
                float[] b = SgemmTest.random(rng, bOff + 1 + (k - 1) * bRow + (n - 1) * bCol);
                for (int kc : KCS) {
                    int col0 = 2 * NR, p0 = 3, d0 = 13, w = SgemmPack.width(cols);
                    assertEquals(cols <= L ? L : NR, w, "width of " + cols + " columns");
                    float[] dst = garbage(d0 + kc * w + 9);
                    SgemmPack.packB(b, bOff, bRow, bCol, p0, kc, col0, cols, dst, d0);
                    String what = "B strides (" + bRow + ", " + bCol + "), kc " + kc + ", cols " + cols;
                    for (int p = 0; p < kc; p++) {
                        for (int j = 0; j < w; j++) {
                            float want = j < cols ? b[bOff + (p0 + p) * bRow + (col0 + j) * bCol] : 0f;
                            assertEquals(want, dst[d0 + p * w + j], what + ": step " + p + ", column " + j);
                        }
                    }
                    assertUntouchedOutside(dst, d0, kc * w, what);
                }
            }
        }
    }

    private static float[] garbage(int size) {
        float[] x = new float[size];
        java.util.Arrays.fill(x, GARBAGE);
        return x;
    }

    private static void assertUntouchedOutside(float[] dst, int from, int length, String what) {
        for (int i = 0; i < dst.length; i++) {
            if ((i < from || i >= from + length) && dst[i] != GARBAGE) fail(what + ": wrote outside the strip at " + i);
        }
    }
}
