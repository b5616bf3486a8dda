package dev.ember.autograd;

import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;

/** Seeded test inputs shaped to keep finite differences honest: away from kinks, poles and ties. */
final class Inputs {
    private Inputs() {}

    /** Uniform in [lo, hi). */
    static Tensor uniform(long seed, float lo, float hi, int... dims) {
        return Tensor.rand(new Rng(seed), lo, hi, dims);
    }

    /** Magnitudes in [0.2, 1.2) with random signs: at least 0.2 from the kink of relu and abs at 0. */
    static Tensor awayFromZero(long seed, int... dims) {
        Rng rng = new Rng(seed);
        float[] a = new float[Tensor.zeros(dims).numel()];
        for (int i = 0; i < a.length; i++) a[i] = (float) ((0.2 + rng.nextDouble()) * (rng.nextDouble() < 0.5 ? -1 : 1));
        return Tensor.of(a, dims);
    }

    /** Distinct values 0.1 apart, shuffled, centred on 0: no two elements close enough to swap under a 1e-2 step. */
    static Tensor distinct(long seed, int... dims) {
        int n = Tensor.zeros(dims).numel();
        int[] p = new Rng(seed).permutation(n);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (p[i] - n / 2f) * 0.1f;
        return Tensor.of(a, dims);
    }

    static float[] floats(Variable v) { return v.data().toFloatArray(); }
}
