package dev.ember.kernels.cpu;

import dev.ember.engine.ReduceOp;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** A bias gradient's sum over (N, H, W) read in place gives the bits of the sum over the permuted copy. */
class CpuReduceTest {
    private static final CpuBackend CPU = new CpuBackend();

    @Test void aSumOverBatchAndPixelsReadInPlaceEqualsTheSumOfThePermutedCopy() {
        // H*W: one vector (16), several (64), a block exactly (1024), a row ending mid-block (48 * 40 images)
        int[][] shapes = {{5, 7, 4, 4}, {9, 3, 8, 8}, {2, 6, 32, 32}, {40, 11, 6, 8}, {1, 4, 16, 4}};
        for (int[] s : shapes) {
            Tensor x = Tensor.randn(new Rng(s[0] * 31 + s[1]), 1f, s);
            float[] inPlace = CPU.reduce(ReduceOp.SUM, x, new int[] {0, 2, 3}, false).toFloatArray();
            Tensor copy = x.permute(1, 0, 2, 3).contiguous().reshape(s[1], s[0] * s[2] * s[3]);
            assertArrayEquals(CPU.reduce(ReduceOp.SUM, copy, new int[] {1}, false).toFloatArray(), inPlace, java.util.Arrays.toString(s));
            float[] ref = new ReferenceBackend().reduce(ReduceOp.SUM, x, new int[] {0, 2, 3}, false).toFloatArray();
            for (int i = 0; i < ref.length; i++) assertEquals(ref[i], inPlace[i], 1e-4f * (1 + Math.abs(ref[i])), "channel " + i);
            assertEquals(4, CPU.reduce(ReduceOp.SUM, x, new int[] {0, 2, 3}, true).rank());
        }
    }
}
