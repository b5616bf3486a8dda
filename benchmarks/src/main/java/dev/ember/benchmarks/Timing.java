package dev.ember.benchmarks;

import java.util.Arrays;

/**
 * How long to warm up and how long to measure: at least {@code warmCalls} untimed calls and {@code warmSeconds},
 * then timed calls until there are at least {@code minCalls} and {@code budgetSeconds} have passed (never more than
 * {@code maxCalls}). The median is the figure: on a shared machine the mean follows the noise, the median less so.
 */
record Timing(int warmCalls, double warmSeconds, int minCalls, double budgetSeconds, int maxCalls) {
    /**
     * The side-by-side default: three seconds of warm-up, three of measurement. ember's JIT needs 3-4 s before a small
     * model runs compiled throughout (small_cnn at batch 1: 2 ms a call at 1 s, 0.25 at 1.5 s, 0.09 from 3.5 s).
     */
    static final Timing DEFAULT = new Timing(3, 3.0, 10, 3.0, 5000);

    /** Median milliseconds of one call of {@code call}. */
    double medianMs(Runnable call) {
        long start = System.nanoTime();
        for (int i = 0; i < warmCalls || seconds(start) < warmSeconds; i++) call.run();
        double[] ms = new double[maxCalls];
        int n = 0;
        start = System.nanoTime();
        while (n < maxCalls && (n < minCalls || seconds(start) < budgetSeconds)) {
            long t0 = System.nanoTime();
            call.run();
            ms[n++] = (System.nanoTime() - t0) / 1e6;
        }
        return median(Arrays.copyOf(ms, n));
    }

    /** Milliseconds of one call, for first-call latencies. */
    static double onceMs(Runnable call) {
        long t0 = System.nanoTime();
        call.run();
        return (System.nanoTime() - t0) / 1e6;
    }

    static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    private static double seconds(long since) { return (System.nanoTime() - since) * 1e-9; }
}
