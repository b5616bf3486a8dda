package dev.ember.kernels.cpu;

import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Comparisons shared by the matmul and convolution tests. */
final class MatmulConvAssert {
    private MatmulConvAssert() {}

    /**
     * |actual - expected| <= 1e-5 * bound + 1e-6 per element, where {@code bound} is the same computation on the
     * absolute values of the inputs (the sum of |terms|), the scale a float32 rounding error is relative to.
     */
    static void assertNear(Tensor expected, Tensor bound, Tensor actual, String what) {
        if (!expected.shape().equals(actual.shape())) fail(what + ": shape " + actual.shape() + ", expected " + expected.shape());
        float[] e = expected.toFloatArray(), b = bound.toFloatArray(), a = actual.toFloatArray();
        for (int i = 0; i < e.length; i++) {
            if (!(Math.abs(a[i] - e[i]) <= 1e-5 * b[i] + 1e-6)) fail(what + ": element " + i + " = " + a[i] + ", expected " + e[i]);
        }
    }

    static void assertBitIdentical(Tensor expected, Tensor actual, String what) {
        assertArrayEquals(expected.toFloatArray(), actual.toFloatArray(), what);
    }

    /** sum_i a_i b_i in double. */
    static double dot(Tensor a, Tensor b) {
        float[] x = a.toFloatArray(), y = b.toFloatArray();
        double s = 0;
        for (int i = 0; i < x.length; i++) s += (double) x[i] * y[i];
        return s;
    }

    static Tensor abs(Tensor t) {
        float[] x = t.toFloatArray();
        for (int i = 0; i < x.length; i++) x[i] = Math.abs(x[i]);
        return Tensor.of(x, t.dims());
    }

    static Tensor randn(Rng rng, int... dims) { return Tensor.randn(rng, 1f, dims); }
}
