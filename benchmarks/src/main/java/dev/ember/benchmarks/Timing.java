package dev.ember.benchmarks;

import java.util.Arrays;

/**
 * How long to warm up and how long to measure: at least {@code warmCalls} untimed calls and {@code warmSeconds}, then,
 * up to {@code steadySeconds} in all, windows of {@link #WINDOW_SECONDS} of untimed calls until {@link #FLAT_WINDOWS}
 * in a row no longer beat the best window's median by {@link #STEADY} (the side has reached its steady state); then
 * timed calls until there are at least {@code minCalls} and {@code budgetSeconds} have passed (never more than
 * {@code maxCalls}). The median is the figure: on a shared machine the mean follows the noise, the median less so.
 */
record Timing(int warmCalls, double warmSeconds, int minCalls, double budgetSeconds, int maxCalls, double steadySeconds) {
    /**
     * The side-by-side default: at least three seconds of warm-up, then on until steady (at most 25 s), three seconds
     * of measurement. ember's JIT needs 3-4 s before a small model runs compiled throughout (small_cnn at batch 1: 2 ms
     * a call at 1 s, 0.25 at 1.5 s, 0.09 from 3.5 s), and far longer for resnet18, whose per-call code C2 compiles
     * only as the calls add up (at 1x3x224x224: 16.4 ms a call at 6 s, 15.1 at 9, 14.4 at 12, 13.7 from 18 s on).
     */
    static final Timing DEFAULT = new Timing(3, 3.0, 10, 3.0, 100_000, 25.0);

    /** Warm-up of a fixed length: no steady-state windows. */
    Timing(int warmCalls, double warmSeconds, int minCalls, double budgetSeconds, int maxCalls) {
        this(warmCalls, warmSeconds, minCalls, budgetSeconds, maxCalls, 0);
    }

    /** Length of a warm-up window. */
    static final double WINDOW_SECONDS = 1.5;
    /** How much a window's median must beat the best before it for the warm-up to go on. */
    static final double STEADY = 0.02;
    /** Windows in a row that do not, after which the side counts as steady. */
    static final int FLAT_WINDOWS = 2;

    /** Median milliseconds of one call of {@code call}. */
    double medianMs(Runnable call) {
        warm(call);
        double[] ms = new double[maxCalls];
        int n = 0;
        long start = System.nanoTime();
        while (n < maxCalls && (n < minCalls || seconds(start) < budgetSeconds)) {
            long t0 = System.nanoTime();
            call.run();
            ms[n++] = (System.nanoTime() - t0) / 1e6;
        }
        return median(Arrays.copyOf(ms, n));
    }

    /** Length of one block of {@link #alternatingMediansMs}. */
    static final double BLOCK_SECONDS = 0.1;
    /**
     * Idle time before each block of {@link #alternatingMediansMs}: the other side's pool threads spin for a while
     * after their last call (ONNX Runtime's by default), and without a pause they compete with this side's first
     * calls (resnet18 at batch 1 measured 52 ms a call right after ORT's blocks, 25 ms alone).
     */
    static final long PAUSE_MS = 20;

    /**
     * Median milliseconds of a call of {@code a} and of {@code b}, measured in alternating blocks of about
     * {@link #BLOCK_SECONDS} (a, b, a, b, ...) until each side has had {@code budgetSeconds} and {@code minCalls}
     * (at most {@code maxCalls} calls each), after each side's warm-up as in {@link #medianMs}. The shared machine
     * changes speed for seconds at a time (resnet18 at batch 1 runs at 25 or 45 ms a call, switching both ways
     * mid-run), so measuring one side after the other can let a switch fall on one side only; alternating blocks
     * give both sides the same mix. Each block starts after {@link #PAUSE_MS} of idle time and one untimed call.
     */
    double[] alternatingMediansMs(Runnable a, Runnable b) {
        warm(a);
        warm(b);
        Samples sa = new Samples(), sb = new Samples();
        while (sa.n < maxCalls && sb.n < maxCalls
                && (sa.n < minCalls || sb.n < minCalls || sa.seconds < budgetSeconds || sb.seconds < budgetSeconds)) {
            sa.block(a);
            sb.block(b);
        }
        return new double[] {median(Arrays.copyOf(sa.ms, sa.n)), median(Arrays.copyOf(sb.ms, sb.n))};
    }

    private void warm(Runnable call) {
        long start = System.nanoTime();
        for (int i = 0; i < warmCalls || seconds(start) < warmSeconds; i++) call.run();
        double best = Double.MAX_VALUE;
        for (int flat = 0; flat < FLAT_WINDOWS && seconds(start) + WINDOW_SECONDS <= steadySeconds; ) {
            Samples window = new Samples();
            window.timed(call, WINDOW_SECONDS);
            double m = median(Arrays.copyOf(window.ms, window.n));
            if (m < best * (1 - STEADY)) flat = 0;
            else flat++;
            best = Math.min(best, m);
        }
    }

    /** One side's timed calls. */
    private static final class Samples {
        double[] ms = new double[1024];
        int n;
        double seconds;

        void block(Runnable call) {
            pause();
            call.run();   // untimed: the other side's block left its own data in the caches
            timed(call, BLOCK_SECONDS);
        }

        /** Timed calls of {@code call} until {@code length} seconds have passed (at least one). */
        void timed(Runnable call, double length) {
            long start = System.nanoTime();
            do {
                long t0 = System.nanoTime();
                call.run();
                if (n == ms.length) ms = Arrays.copyOf(ms, 2 * n);
                ms[n++] = (System.nanoTime() - t0) / 1e6;
            } while (seconds(start) < length);
            seconds += seconds(start);
        }
    }

    /** Idle for {@link #PAUSE_MS} before a side's block, so that the other side's spinning threads have stopped. */
    static void pause() {
        try {
            Thread.sleep(PAUSE_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Milliseconds of one call, for first-call latencies. */
    static double onceMs(Runnable call) {
        long t0 = System.nanoTime();
        call.run();
        return (System.nanoTime() - t0) / 1e6;
    }

    /** Median of the values that are numbers (a side that failed leaves NaN); NaN when none is. */
    static double medianOfNumbers(double[] values) {
        double[] v = Arrays.stream(values).filter(d -> !Double.isNaN(d)).toArray();
        return v.length == 0 ? Double.NaN : median(v);
    }

    /** {lowest, highest} of the values that are numbers; NaNs when none is. */
    static double[] range(double[] values) {
        double[] v = Arrays.stream(values).filter(d -> !Double.isNaN(d)).toArray();
        return v.length == 0 ? new double[] {Double.NaN, Double.NaN}
                : new double[] {Arrays.stream(v).min().getAsDouble(), Arrays.stream(v).max().getAsDouble()};
    }

    static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    private static double seconds(long since) { return (System.nanoTime() - since) * 1e-9; }
}
