package dev.ember.kernels.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import org.junit.jupiter.api.Test;

/**
 * {@link Gemv} gives {@link Sgemm}'s bits for one row (the same K-block chains), whatever N's remainder, K's blocks,
 * x's stride and B's layout; and a classifier's row at batch 1 equals that row in a batch.
 */
class GemvTest {
    @Test void oneRowGivesSgemmsBits() {
        Rng rng = new Rng(41);
        int[][] shapes = {{128, 1600}, {1000, 512}, {17, 300}, {16, 1}, {50, 2 * Sgemm.KC + 3}, {3 * 16 * 4 + 5, Sgemm.KC}, {1, 40}};
        for (int[] s : shapes) {
            int n = s[0], k = s[1];
            for (boolean transposed : new boolean[] {false, true}) {
                for (int xStride : new int[] {1, 3}) {
                    float[] b = SgemmTest.random(rng, k * n + 2), x = SgemmTest.random(rng, 1 + (k - 1) * xStride + 5);
                    int bRow = transposed ? 1 : n, bCol = transposed ? k : 1;
                    float[] expected = new float[n], actual = new float[n];
                    Sgemm.gemm(1, n, k, x, 5, 0, xStride, b, 2, bRow, bCol, expected, 0, n, false);
                    Gemv.gemv(n, k, Gemv.pack(b, 2, bRow, bCol, n, k), x, 5, xStride, actual);
                    for (int j = 0; j < n; j++) {
                        if (Float.floatToRawIntBits(expected[j]) != Float.floatToRawIntBits(actual[j])) {
                            fail(n + "x" + k + (transposed ? " B transposed" : "") + " x stride " + xStride + ": output " + j + " is "
                                    + actual[j] + ", Sgemm gives " + expected[j]);
                        }
                    }
                }
            }
        }
    }

    @Test void aClassifiersRowIsTheSameBitsAtBatchOneAsInABatch() {
        Rng rng = new Rng(42);
        Tensor w = Tensor.randn(rng, 0.05f, 128, 1600);   // (N, K), read transposed as ONNX Gemm's transB
        w.storage().markConstant();
        for (int rows : new int[] {3, 32}) {   // SgemmNarrow's lanes over rows; Sgemm with the weight packed as B
            Tensor batch = Tensor.randn(rng, 1f, rows, 1600);
            float[] all = batch.matmul(w.transpose(0, 1)).toFloatArray();
            for (int row = 0; row < rows; row++) {
                float[] one = batch.slice(0, row, row + 1).contiguous().matmul(w.transpose(0, 1)).toFloatArray();   // Gemv
                assertEquals(128, one.length);
                for (int j = 0; j < 128; j++) {
                    if (Float.floatToRawIntBits(one[j]) != Float.floatToRawIntBits(all[row * 128 + j])) {
                        fail("row " + row + ", output " + j + ": " + one[j] + " at batch 1, " + all[row * 128 + j] + " in a batch of " + rows);
                    }
                }
            }
        }
    }
}
