package dev.ember.engine;

import java.util.ArrayDeque;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Float arrays kept for reuse by one owner that runs the same work again and again (an inference session), so that
 * its intermediates are allocated on the first run and reused afterwards instead of being allocated, zeroed by the
 * JVM and collected on every call. This is the memory plan of an engine that knows when each value dies.
 *
 * <p>The owner opens a {@link Lease} around a run. While it is open, {@link #uninitialized} on that thread draws from
 * the pool (kernels call it for outputs they overwrite whole), and the owner gives back, through the lease, the
 * arrays of values no later step reads. A lease takes back only arrays it handed out itself, so a user's input, a
 * model's weights or a constant can never enter the pool. When the last open lease closes, sizes that lease did not
 * take are forgotten, so the pool holds at most the intermediates of one run of the current shapes.
 */
public final class BufferPool {
    /** Smaller arrays are cheaper to allocate than to look up. */
    static final int MIN_FLOATS = 1024;

    private static final ThreadLocal<Lease> CURRENT = new ThreadLocal<>();

    private final Map<Integer, ArrayDeque<float[]>> free = new HashMap<>();   // by length, last given back first
    private int openLeases;

    /**
     * A float array of length {@code n} whose contents are arbitrary: the caller must write every element. From
     * the pool of the lease open on this thread, or newly allocated (zeroed) when there is none or it has no array
     * of that length.
     */
    public static float[] uninitialized(int n) {
        Lease lease = CURRENT.get();
        return lease == null || n < MIN_FLOATS ? new float[n] : lease.take(n);
    }

    /** Makes this pool the one {@link #uninitialized} draws from on this thread until the lease closes. */
    public Lease open() {
        synchronized (this) { openLeases++; }
        Lease lease = new Lease(CURRENT.get());
        CURRENT.set(lease);
        return lease;
    }

    /** Arrays kept now, for tests and memory accounting. */
    public synchronized long pooledFloats() {
        long total = 0;
        for (ArrayDeque<float[]> q : free.values()) total += (long) q.size() * (q.isEmpty() ? 0 : q.peek().length);
        return total;
    }

    private synchronized float[] poll(int n) {
        ArrayDeque<float[]> q = free.get(n);
        return q == null ? null : q.pollLast();
    }

    private synchronized void offer(float[] a) {
        free.computeIfAbsent(a.length, k -> new ArrayDeque<>()).addLast(a);
    }

    private synchronized void closed(Set<Integer> taken) {
        if (--openLeases == 0) free.keySet().retainAll(taken);
    }

    /** One run's use of the pool, on the thread that opened it. */
    public final class Lease implements AutoCloseable {
        private final Lease previous;
        private final Set<float[]> handedOut = Collections.newSetFromMap(new IdentityHashMap<>());
        private final Set<Integer> taken = new HashSet<>();
        private boolean closed;

        private Lease(Lease previous) { this.previous = previous; }

        private float[] take(int n) {
            float[] a = poll(n);
            if (a == null) a = new float[n];
            handedOut.add(a);
            taken.add(n);
            return a;
        }

        /**
         * Gives {@code a} back for reuse if this lease handed it out; the caller promises that nothing reads or
         * writes it any more. Returns whether it was taken back.
         */
        public boolean giveBack(float[] a) {
            if (closed || !handedOut.remove(a)) return false;
            offer(a);
            return true;
        }

        /** Whether this lease handed {@code a} out and has not taken it back. */
        public boolean handedOut(float[] a) { return handedOut.contains(a); }

        @Override public void close() {
            if (closed) return;
            closed = true;
            if (CURRENT.get() == this) {
                if (previous == null) CURRENT.remove();
                else CURRENT.set(previous);
            }
            closed(taken);
        }
    }
}
