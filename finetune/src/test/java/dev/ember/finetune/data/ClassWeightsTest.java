package dev.ember.finetune.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.engine.DType;
import dev.ember.engine.EmberException;
import dev.ember.engine.Tensor;
import org.junit.jupiter.api.Test;

class ClassWeightsTest {
    @Test
    void inverseFrequencyMatchesSklearnBalanced() {
        // N = 100, K = 3: w = 100 / (3 n) -> 100/240, 100/60, 100/3
        Tensor w = ClassWeights.inverseFrequency(new long[] {80, 15, 5});
        assertEquals(DType.FLOAT32, w.dtype());
        assertArrayEquals(new float[] {100f / 240, 100f / 45, 100f / 15}, w.toFloatArray(), 1e-6f);
        // the weighted sample count equals N
        float[] a = w.toFloatArray();
        assertEquals(100, 80 * a[0] + 15 * a[1] + 5 * a[2], 1e-4);
    }

    @Test
    void inverseFrequencyGivesOnesForBalancedAndZeroForAbsent() {
        assertArrayEquals(new float[] {1, 1, 1}, ClassWeights.inverseFrequency(new long[] {7, 7, 7}).toFloatArray(), 1e-7f);
        // N = 30, K = 2 present: 30 / (2 * 10) = 1.5, 30 / (2 * 20) = 0.75
        assertArrayEquals(new float[] {1.5f, 0, 0.75f}, ClassWeights.inverseFrequency(new long[] {10, 0, 20}).toFloatArray(), 1e-6f);
    }

    @Test
    void effectiveNumberByHand() {
        // beta 0.9, n = 1, 2: raw = 0.1/0.1 = 1, 0.1/0.19; normalized to sum 2
        double r0 = 1, r1 = 0.1 / 0.19, s = r0 + r1;
        float[] w = ClassWeights.effectiveNumber(new long[] {1, 2}, 0.9).toFloatArray();
        assertArrayEquals(new float[] {(float) (2 * r0 / s), (float) (2 * r1 / s)}, w, 1e-6f);
        assertEquals(2, w[0] + w[1], 1e-6);
        // beta 0: all 1; beta near 1: close to inverse frequency ratios
        assertArrayEquals(new float[] {1, 1, 1}, ClassWeights.effectiveNumber(new long[] {1, 10, 100}, 0).toFloatArray(), 1e-6f);
        float[] near = ClassWeights.effectiveNumber(new long[] {10, 100}, 0.99999).toFloatArray();
        assertEquals(10, near[0] / near[1], 0.01);
        assertTrue(ClassWeights.effectiveNumber(new long[] {3, 0}, 0.9).toFloatArray()[1] == 0f);
    }

    @Test
    void errors() {
        assertTrue(assertThrows(EmberException.class, () -> ClassWeights.effectiveNumber(new long[] {1}, 1.0)).getMessage().contains("beta must be in [0, 1)"));
        assertTrue(assertThrows(EmberException.class, () -> ClassWeights.inverseFrequency(new long[] {0, 0})).getMessage().contains("all 2 class counts are 0"));
        assertTrue(assertThrows(EmberException.class, () -> ClassWeights.inverseFrequency(new long[] {3, -1})).getMessage().contains("negative"));
    }
}
