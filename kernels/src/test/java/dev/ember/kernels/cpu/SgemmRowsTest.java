package dev.ember.kernels.cpu;

import dev.ember.engine.Rng;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * SgemmRows (A in row panels, lanes over A's rows) gives Sgemm's bits: one or two passes of columns, a last pass of
 * 1 to CG columns, partial and whole last panels, one K block and several with a short last one, A row- or
 * column-major, B and C with row strides wider than N and offsets, = and +=; it writes nothing past C's N columns, and a
 * range of panels nothing outside its rows.
 */
class SgemmRowsTest {
    private static final int PR = SgemmRows.PR, CG = SgemmRows.CG, KC = Sgemm.KC;

    @Test void givesSgemmsBits() {
        Rng rng = new Rng(21);
        int[][] shapes = {
            {512, 16, 512}, {512, 16, 4608}, {256, 16, 2304}, {PR + 5, CG + 3, KC + 9}, {3 * PR, CG, 2 * KC},
            {PR - 1, 5, 300}, {1, 1, 40}, {7, 2 * CG - 1, 3 * KC + 1}, {2 * PR + 17, 1, 700}, {100, CG + 1, 1},
            {64, 12, 1152}, {33, 4, KC},
        };
        for (int[] s : shapes) {
            int m = s[0], n = s[1], k = s[2];
            for (boolean aColumnMajor : new boolean[] {false, true}) {
                for (boolean accumulate : new boolean[] {false, true}) {
                    int bRow = n + 3, ldc = n + 2, bOff = 5, cOff = 7;
                    float[] a = random(rng, m * k + 3), b = random(rng, bOff + k * bRow), c0 = random(rng, cOff + m * ldc + 4);
                    int aRow = aColumnMajor ? 1 : k, aCol = aColumnMajor ? m : 1;
                    float[] expected = c0.clone(), got = c0.clone();
                    Sgemm.gemm(m, n, k, a, 3, aRow, aCol, b, bOff, bRow, 1, expected, cOff, ldc, accumulate);
                    SgemmRows.gemm(m, n, k, SgemmRows.Panels.of(m, k, a, 3, aRow, aCol), b, bOff, bRow, got, cOff, ldc, accumulate);
                    String what = m + "x" + n + "x" + k + (aColumnMajor ? " column-major A" : "") + (accumulate ? " +=" : "");
                    for (int i = 0; i < got.length; i++) {
                        if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(got[i])) {
                            fail(what + ": element " + i + " is " + got[i] + " in row panels, " + expected[i] + " from Sgemm");
                        }
                    }
                    // Sgemm writes only C's N columns: so does SgemmRows (the padding columns kept their values)
                    for (int i = 0; i < m; i++) {
                        for (int j = n; j < ldc; j++) assertTrue(got[cOff + i * ldc + j] == c0[cOff + i * ldc + j], what + ": wrote past column N");
                    }
                }
            }
        }
    }

    @Test void theResultDoesNotDependOnTheThreadRunningIt() throws Exception {
        Rng rng = new Rng(22);
        int m = 512, n = 16, k = 600;
        float[] a = random(rng, m * k), b = random(rng, k * n), fanned = new float[m * n], alone = new float[m * n];
        SgemmRows.Panels panels = SgemmRows.Panels.of(m, k, a, 0, k, 1);
        SgemmRows.gemm(m, n, k, panels, b, 0, n, fanned, 0, n, false);
        // from inside a parallel chunk the panels run on that thread, one after the other
        Parallel.forRange(2, 1, (lo, hi) -> {
            if (lo == 0) SgemmRows.gemm(m, n, k, panels, b, 0, n, alone, 0, n, false);
        });
        for (int i = 0; i < fanned.length; i++) {
            assertTrue(Float.floatToRawIntBits(fanned[i]) == Float.floatToRawIntBits(alone[i]), "element " + i);
        }
    }

    /** A range of panels computes those rows as the whole product does, and leaves every other row of C as it was. */
    @Test void aRangeOfPanelsWritesItsRowsOnly() {
        Rng rng = new Rng(23);
        int m = 3 * PR + 9, n = CG + 5, k = KC + 40, panels = (m + PR - 1) / PR;
        float[] a = random(rng, m * k), b = random(rng, k * n), c0 = random(rng, m * n), whole = c0.clone();
        SgemmRows.Panels packed = SgemmRows.Panels.of(m, k, a, 0, k, 1);
        SgemmRows.gemm(m, n, k, packed, b, 0, n, whole, 0, n, false);
        for (int[] range : new int[][] {{0, 1}, {1, 3}, {3, panels}, {2, 2}}) {
            float[] got = c0.clone();
            SgemmRows.gemm(range[0], range[1], m, n, k, packed, b, 0, n, got, 0, n, false);
            for (int i = 0; i < m * n; i++) {
                boolean mine = i / n >= range[0] * PR && i / n < range[1] * PR;
                float expected = mine ? whole[i] : c0[i];
                assertTrue(Float.floatToRawIntBits(expected) == Float.floatToRawIntBits(got[i]),
                        "panels " + range[0] + ".." + range[1] + ": element " + i + (mine ? "" : " (another panel's row)"));
            }
        }
        assertThrows(IllegalArgumentException.class, () -> SgemmRows.gemm(2, panels + 1, m, n, k, packed, b, 0, n, new float[m * n], 0, n, false));
        assertThrows(IllegalArgumentException.class, () -> SgemmRows.gemm(2, 1, m, n, k, packed, b, 0, n, new float[m * n], 0, n, false));
    }

    @Test void rejectsAMismatchedPanelOrTooManyColumns() {
        SgemmRows.Panels panels = SgemmRows.Panels.of(4, 5, new float[20], 0, 5, 1);
        assertThrows(IllegalArgumentException.class, () -> SgemmRows.gemm(4, 4, 4, panels, new float[16], 0, 4, new float[16], 0, 4, false));
        SgemmRows.Panels wide = SgemmRows.Panels.of(4, 4, new float[16], 0, 4, 1);
        int n = SgemmRows.MAX_N + 1;
        assertThrows(IllegalArgumentException.class, () -> SgemmRows.gemm(4, n, 4, wide, new float[4 * n], 0, n, new float[4 * n], 0, n, false));
    }

    private static float[] random(Rng rng, int size) {
        float[] x = new float[size];
        for (int i = 0; i < size; i++) x[i] = (float) rng.nextGaussian();
        return x;
    }
}
