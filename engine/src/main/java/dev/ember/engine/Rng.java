package dev.ember.engine;

/**
 * The one source of randomness: SplitMix64 (Steele, Lea, Flood 2014), whose whole state is one {@code long}.
 * Initialization, data order, augmentation and dropout each take an {@code Rng} (or a {@link #split()} of one),
 * so a seed fixes a whole run, and {@link #state()} / {@link #fromState(long)} let a checkpoint resume the
 * exact stream.
 */
public final class Rng {
    private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;

    private long state;

    public Rng(long seed) { this.state = seed; }

    /** An Rng that continues exactly where the one whose {@link #state()} this was left off. */
    public static Rng fromState(long state) { return new Rng(state); }

    /** Everything needed to continue this stream. */
    public long state() { return state; }

    /** An independent stream seeded from this one (advances this one by one draw). */
    public Rng split() { return new Rng(mix(nextLong())); }

    public long nextLong() {
        state += GOLDEN_GAMMA;
        return mix(state);
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Uniform in [0, 1) with 53 random bits. */
    public double nextDouble() { return (nextLong() >>> 11) * 0x1.0p-53; }

    public float nextFloat() { return (nextLong() >>> 40) * 0x1.0p-24f; }

    /** Uniform in [0, bound), unbiased (rejection as in java.util.Random). */
    public int nextInt(int bound) {
        if (bound <= 0) throw new IllegalArgumentException("bound must be positive, got " + bound);
        int r = (int) (nextLong() >>> 33);
        int m = bound - 1;
        if ((bound & m) == 0) return (int) ((bound * (long) r) >> 31);
        for (int u = r; u - (r = u % bound) + m < 0; u = (int) (nextLong() >>> 33)) { }
        return r;
    }

    /**
     * Standard normal by the polar Box-Muller method. The second value of each pair is dropped so the state
     * stays one {@code long}.
     */
    public double nextGaussian() {
        double u, v, s;
        do {
            u = 2 * nextDouble() - 1;
            v = 2 * nextDouble() - 1;
            s = u * u + v * v;
        } while (s >= 1 || s == 0);
        return u * Math.sqrt(-2 * Math.log(s) / s);
    }

    /** A seeded Fisher-Yates permutation of 0..n-1. */
    public int[] permutation(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
