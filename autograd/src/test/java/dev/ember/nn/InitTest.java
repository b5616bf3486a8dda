package dev.ember.nn;

import dev.ember.engine.EmberException;
import dev.ember.engine.Rng;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Statistics of large draws: the mean within 5 standard errors of 0, the standard deviation within 1% of the
 * formula, uniform draws inside their bounds and reaching close to them.
 */
class InitTest {
    private static final int OUT = 256, IN = 512;   // 131072 samples; fan_in 512, fan_out 256

    private static void assertStats(float[] a, double wantStd, double bound) {
        double sum = 0, sq = 0, maxAbs = 0;
        for (float v : a) {
            sum += v;
            sq += (double) v * v;
            maxAbs = Math.max(maxAbs, Math.abs(v));
        }
        double mean = sum / a.length;
        double std = Math.sqrt(sq / a.length - mean * mean);
        assertEquals(0, mean, 5 * wantStd / Math.sqrt(a.length), "mean");
        assertEquals(wantStd, std, 0.01 * wantStd, "std");
        if (bound > 0) {
            assertTrue(maxAbs <= bound, "max |w| " + maxAbs + " exceeds bound " + bound);
            assertTrue(maxAbs > 0.999 * bound, "max |w| " + maxAbs + " never came near bound " + bound);
        }
    }

    @Test void gainsMatchCalculateGain() {
        assertEquals(1.0, Init.gain(Init.Nonlinearity.LINEAR, 0), 1e-12);
        assertEquals(5.0 / 3, Init.gain(Init.Nonlinearity.TANH, 0), 1e-12);
        assertEquals(Math.sqrt(2), Init.gain(Init.Nonlinearity.RELU, 0), 1e-12);
        assertEquals(Math.sqrt(2 / 1.0001), Init.gain(Init.Nonlinearity.LEAKY_RELU, 0.01), 1e-12);
    }

    @Test void fansCountTheReceptiveField() {
        assertEquals(3 * 5 * 5, Init.fanIn(Shape.of(16, 3, 5, 5)));
        assertEquals(16 * 5 * 5, Init.fanOut(Shape.of(16, 3, 5, 5)));
        assertEquals(IN, Init.fanIn(Shape.of(OUT, IN)));
        assertThrows(EmberException.class, () -> Init.fanIn(Shape.of(7)));
    }

    @Test void kaimingUniformForRelu() {
        float[] w = Init.kaimingUniform(Tensor.zeros(OUT, IN), 0, Init.FanMode.FAN_IN, Init.Nonlinearity.RELU, new Rng(1)).toFloatArray();
        double bound = Math.sqrt(2) * Math.sqrt(3.0 / IN);        // gain * sqrt(3 / fan_in)
        assertStats(w, bound / Math.sqrt(3), bound);               // U(-b, b) has std b / sqrt(3)
    }

    @Test void kaimingNormalFanOutForLeakyRelu() {
        float[] w = Init.kaimingNormal(Tensor.zeros(OUT, IN), 0.2, Init.FanMode.FAN_OUT, Init.Nonlinearity.LEAKY_RELU, new Rng(2)).toFloatArray();
        assertStats(w, Math.sqrt(2 / 1.04) / Math.sqrt(OUT), 0);   // gain / sqrt(fan_out)
    }

    @Test void xavierUniformAndNormal() {
        double bound = Math.sqrt(6.0 / (IN + OUT));
        assertStats(Init.xavierUniform(Tensor.zeros(OUT, IN), 1, new Rng(3)).toFloatArray(), bound / Math.sqrt(3), bound);
        assertStats(Init.xavierNormal(Tensor.zeros(OUT, IN), 5.0 / 3, new Rng(4)).toFloatArray(), 5.0 / 3 * Math.sqrt(2.0 / (IN + OUT)), 0);
    }

    @Test void linearDefaultIsUniformOverOneOverSqrtFanIn() {
        Linear lin = new Linear(IN, OUT, new Rng(5));
        double bound = 1 / Math.sqrt(IN);
        assertStats(lin.weight().data().toFloatArray(), bound / Math.sqrt(3), bound);
        for (float b : lin.bias().data().toFloatArray()) assertTrue(Math.abs(b) <= bound);
    }

    @Test void conv2dDefaultUsesFanInOfOneGroup() {
        // weight (64, 32/2, 3, 3): fan_in = 16 * 9 = 144, bound 1/12
        Conv2d conv = new Conv2d(32, 64, 3, 1, 1, 1, 2, true, new Rng(6));
        assertEquals(Shape.of(64, 16, 3, 3), conv.weight().shape());
        float[] w = conv.weight().data().toFloatArray();
        double bound = 1 / 12.0;
        double maxAbs = 0, sq = 0;
        for (float v : w) {
            maxAbs = Math.max(maxAbs, Math.abs(v));
            sq += (double) v * v;
        }
        assertTrue(maxAbs <= bound && maxAbs > 0.99 * bound, "max |w| " + maxAbs);
        assertEquals(bound / Math.sqrt(3), Math.sqrt(sq / w.length), 0.03 * bound);
        for (float b : conv.bias().data().toFloatArray()) assertTrue(Math.abs(b) <= bound);
    }

    @Test void sameSeedSameWeights() {
        Linear a = new Linear(20, 30, new Rng(42)), b = new Linear(20, 30, new Rng(42)), c = new Linear(20, 30, new Rng(43));
        assertArrayEquals(a.weight().data().toFloatArray(), b.weight().data().toFloatArray(), 0f);
        assertArrayEquals(a.bias().data().toFloatArray(), b.bias().data().toFloatArray(), 0f);
        assertFalse(java.util.Arrays.equals(a.weight().data().toFloatArray(), c.weight().data().toFloatArray()));
        Conv2d x = new Conv2d(3, 8, 3, 1, 1, new Rng(7)), y = new Conv2d(3, 8, 3, 1, 1, new Rng(7));
        assertArrayEquals(x.weight().data().toFloatArray(), y.weight().data().toFloatArray(), 0f);
        Tensor n1 = Init.kaimingNormal(Tensor.zeros(4, 4), 0, Init.FanMode.FAN_IN, Init.Nonlinearity.RELU, new Rng(8));
        Tensor n2 = Init.kaimingNormal(Tensor.zeros(4, 4), 0, Init.FanMode.FAN_IN, Init.Nonlinearity.RELU, new Rng(8));
        assertArrayEquals(n1.toFloatArray(), n2.toFloatArray(), 0f);
    }
}
