package dev.ember.kernels.cpu;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.RecursiveAction;

/**
 * The CPU backend's one thread pool, sized to the cores ({@code -Dember.threads=N} overrides).
 * Work is cut into chunks whose boundaries depend only on the problem size and the grain, never on the
 * thread count or on timing, and each chunk writes its own outputs: results are bit-identical run to run
 * and across machines. A call from inside the pool runs inline (no nested fan-out).
 */
final class Parallel {
    static final int THREADS = Math.max(1, Integer.getInteger("ember.threads", Runtime.getRuntime().availableProcessors()));
    private static final ForkJoinPool POOL = THREADS > 1 ? new ForkJoinPool(THREADS) : null;

    /** Body over a half-open range of indices. */
    @FunctionalInterface
    interface Range { void run(int lo, int hi); }

    private Parallel() {}

    /** Runs {@code body} over [0, n) in chunks of {@code grain} (the last may be shorter). */
    static void forRange(int n, int grain, Range body) {
        if (n <= 0) return;
        int g = Math.max(1, grain);
        int chunks = (int) Math.min(Integer.MAX_VALUE, ((long) n + g - 1) / g);
        if (chunks == 1 || POOL == null || ForkJoinTask.inForkJoinPool()) {
            for (int c = 0; c < chunks; c++) body.run(c * g, (int) Math.min(n, (long) (c + 1) * g));
            return;
        }
        List<RecursiveAction> tasks = new ArrayList<>(chunks);
        for (int c = 0; c < chunks; c++) {
            int lo = c * g, hi = (int) Math.min(n, (long) (c + 1) * g);
            tasks.add(new RecursiveAction() {
                @Override protected void compute() { body.run(lo, hi); }
            });
        }
        POOL.invoke(new RecursiveAction() {
            @Override protected void compute() { invokeAll(tasks); }
        });
    }

    /** A grain that gives about {@code 4 * THREADS} chunks but none smaller than {@code minGrain}. */
    static int grain(int n, int minGrain) {
        return Math.max(minGrain, (n + 4 * THREADS - 1) / (4 * THREADS));
    }
}
