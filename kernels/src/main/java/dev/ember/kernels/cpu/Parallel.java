package dev.ember.kernels.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The CPU backend's one thread pool, sized to the cores ({@code -Dember.threads=N} overrides).
 * Work is cut into chunks whose boundaries depend only on the problem size and the grain, never on the
 * thread count or on timing, and each chunk writes its own outputs: results are bit-identical run to run
 * and across machines, whichever thread happens to run a chunk. A nested call (from inside a chunk) runs inline.
 *
 * <p>Why not a ForkJoinPool: waking a parked pool thread and then the waiting caller costs 15-40 us on the
 * 2-core machine, as much as a whole 256^3 matrix product per thread. Here the caller runs chunks itself, the
 * {@code THREADS - 1} workers claim chunks from a shared counter (so a core slowed by another process simply
 * takes fewer), and an idle worker spins for {@link #SPIN_NANOS} before parking: the kernels of a training step
 * arrive back to back, so the workers are usually still spinning when the next call comes.
 */
final class Parallel {
    static final int THREADS = Math.max(1, Integer.getInteger("ember.threads", Runtime.getRuntime().availableProcessors()));
    /** How long an idle worker waits for the next call before it parks (bounds the CPU burnt between calls). */
    private static final long SPIN_NANOS = 200_000;

    /** Body over a half-open range of indices. */
    @FunctionalInterface
    interface Range { void run(int lo, int hi); }

    /** One call's chunks; whoever claims a chunk runs it. */
    private static final class Job {
        final long id;
        final Range body;
        final int n, grain, chunks;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        final AtomicReference<Throwable> failure = new AtomicReference<>();

        Job(long id, Range body, int n, int grain, int chunks) {
            this.id = id;
            this.body = body;
            this.n = n;
            this.grain = grain;
            this.chunks = chunks;
        }

        /** Claims and runs chunks until none is left. */
        void work() {
            for (int c; (c = next.getAndIncrement()) < chunks; ) {
                try {
                    if (failure.get() == null) body.run(c * grain, (int) Math.min(n, (long) (c + 1) * grain));
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    done.incrementAndGet();
                }
            }
        }
    }

    private static final class Worker extends Thread {
        volatile boolean parked;

        Worker(int index) {
            super("ember-cpu-" + index);
            setDaemon(true);
        }

        @Override public void run() {
            long last = 0; // the id of the last job seen (an id, not the job: its arrays must not stay reachable)
            while (true) {
                Job job = awaitJob(last);
                last = job.id;
                job.work();
            }
        }

        /** Spins, then parks, until a job newer than {@code last} is published. */
        private Job awaitJob(long last) {
            long spinUntil = System.nanoTime() + SPIN_NANOS;
            for (int i = 0; ; i++) {
                Job job = current;
                if (job != null && job.id != last) return job;
                if ((i & 63) != 0 || System.nanoTime() < spinUntil) {
                    Thread.onSpinWait();
                    continue;
                }
                parked = true; // forRange reads this after writing current: one of the two sees the other
                job = current;
                if (job == null || job.id == last) LockSupport.park(this);
                parked = false;
                spinUntil = System.nanoTime() + SPIN_NANOS;
            }
        }
    }

    /** The job being run, or null between calls (so a finished job's arrays are not kept alive). */
    private static volatile Job current;
    /** One call at a time uses the workers; a concurrent call from another thread runs inline. */
    private static final ReentrantLock LOCK = new ReentrantLock();
    /** Id of the last job published (written under LOCK). */
    private static long lastId;
    private static final Worker[] WORKERS = new Worker[THREADS - 1];

    static {
        for (int i = 0; i < WORKERS.length; i++) {
            WORKERS[i] = new Worker(i + 1);
            WORKERS[i].start();
        }
    }

    private Parallel() {}

    /** Whether a {@link #forRange} called here would run its chunks inline: one thread, or inside another call's chunk. */
    static boolean inline() { return WORKERS.length == 0 || Thread.currentThread() instanceof Worker || LOCK.isHeldByCurrentThread(); }

    /** Runs {@code body} over [0, n) in chunks of {@code grain} (the last may be shorter). */
    static void forRange(int n, int grain, Range body) {
        if (n <= 0) return;
        int g = Math.max(1, grain);
        int chunks = (int) Math.min(Integer.MAX_VALUE, ((long) n + g - 1) / g);
        if (chunks == 1 || WORKERS.length == 0 || Thread.currentThread() instanceof Worker
                || LOCK.isHeldByCurrentThread() || !LOCK.tryLock()) {
            for (int c = 0; c < chunks; c++) body.run(c * g, (int) Math.min(n, (long) (c + 1) * g));
            return;
        }
        try {
            Job job = new Job(++lastId, body, n, g, chunks);
            current = job;
            for (Worker w : WORKERS) {
                if (w.parked) LockSupport.unpark(w);
            }
            job.work();
            awaitDone(job);
            Throwable t = job.failure.get();
            if (t instanceof RuntimeException e) throw e;
            if (t instanceof Error e) throw e;
            if (t != null) throw new IllegalStateException(t);
        } finally {
            current = null;
            LOCK.unlock();
        }
    }

    /** Waits for the chunks other threads claimed; they are short, so spin (yielding if a worker was descheduled). */
    private static void awaitDone(Job job) {
        long yieldAfter = System.nanoTime() + SPIN_NANOS / 10;
        for (int i = 0; job.done.get() < job.chunks; i++) {
            if ((i & 63) == 0 && System.nanoTime() > yieldAfter) Thread.yield();
            else Thread.onSpinWait();
        }
    }

    /** A grain that gives about {@code 4 * THREADS} chunks but none smaller than {@code minGrain}. */
    static int grain(int n, int minGrain) {
        return Math.max(minGrain, (n + 4 * THREADS - 1) / (4 * THREADS));
    }
}
