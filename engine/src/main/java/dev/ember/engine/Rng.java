package dev.ember.engine;

import java.util.SplittableRandom;

/**
 * The one source of randomness: a seeded {@link SplittableRandom}. Initialization, data order, augmentation
 * and dropout each take an {@code Rng} (or a {@link #split()} of one) so a seed fixes a whole run.
 */
public final class Rng {
    private final SplittableRandom random;
    private double spareGaussian = Double.NaN;

    public Rng(long seed) { this.random = new SplittableRandom(seed); }

    private Rng(SplittableRandom r) { this.random = r; }

    /** An independent stream derived from this one (advances this one by one step). */
    public Rng split() { return new Rng(random.split()); }

    public double nextDouble() { return random.nextDouble(); }

    public float nextFloat() { return (float) random.nextDouble(); }

    /** Uniform in [0, bound). */
    public int nextInt(int bound) { return random.nextInt(bound); }

    public long nextLong() { return random.nextLong(); }

    /** Standard normal by the polar Box-Muller method (deterministic, unlike Math.random-based helpers). */
    public double nextGaussian() {
        if (!Double.isNaN(spareGaussian)) {
            double g = spareGaussian;
            spareGaussian = Double.NaN;
            return g;
        }
        double u, v, s;
        do {
            u = 2 * random.nextDouble() - 1;
            v = 2 * random.nextDouble() - 1;
            s = u * u + v * v;
        } while (s >= 1 || s == 0);
        double m = Math.sqrt(-2 * Math.log(s) / s);
        spareGaussian = v * m;
        return u * m;
    }

    /** A seeded Fisher-Yates permutation of 0..n-1. */
    public int[] permutation(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
