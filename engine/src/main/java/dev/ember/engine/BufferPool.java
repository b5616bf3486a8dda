package dev.ember.engine;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Float (and int) arrays kept for reuse by one owner that runs the same work again and again (an inference session, a
 * training loop through {@link TensorScope}), so that its intermediates are allocated on the first run and reused
 * afterwards instead of being allocated, zeroed by the JVM and collected on every call. This is the memory plan of an
 * engine that knows when each value dies.
 *
 * <p>The owner opens a {@link Lease} around a run. While it is open, {@link #uninitialized} on that thread draws from
 * the pool (kernels call it for outputs they overwrite whole), and the owner gives back, through the lease, the
 * arrays of values no later step reads. A lease takes back only arrays it handed out itself, so a user's input, a
 * model's weights or a constant can never enter the pool. A length is kept while one of the last {@value #KEEP_RUNS}
 * runs (times the last open lease closed) took it, so the pool holds about one run's intermediates of the current
 * shapes: a training epoch's shorter last batch does not make the full batches' arrays garbage, while a shape that
 * stopped coming back is let go.
 */
public final class BufferPool {
    /** Smaller arrays are cheaper to allocate than to look up. */
    static final int MIN_FLOATS = 1024;

    private static final ThreadLocal<Lease> CURRENT = new ThreadLocal<>();

    /** What an array must match to be reused: its element type and its length. */
    private record Size(Class<?> type, int length) {
        static Size of(Object array) {
            return new Size(array.getClass(), array instanceof float[] f ? f.length : ((int[]) array).length);
        }
    }

    private final Map<Size, ArrayDeque<Object>> free = new HashMap<>();   // last given back first
    /** Runs a length may go untaken before its arrays are let go. */
    static final int KEEP_RUNS = 4;

    private final Map<Size, Long> lastTaken = new HashMap<>();   // the run that last took each length
    private long runs;
    private int openLeases;

    /**
     * A float array of length {@code n} whose contents are arbitrary: the caller must write every element. From
     * the pool of the lease open on this thread, or newly allocated (zeroed) when there is none or it has no array
     * of that length.
     */
    public static float[] uninitialized(int n) {
        float[] a = (float[]) pooled(float[].class, n);
        return a != null ? a : new float[n];
    }

    /**
     * A zeroed float array of length {@code n}: from the pool of the lease open on this thread (then cleared), or
     * newly allocated.
     */
    public static float[] zeroed(int n) {
        float[] a = (float[]) pooled(float[].class, n);
        if (a == null) return new float[n];
        Arrays.fill(a, 0f);
        return a;
    }

    /** {@link #zeroed} for an int array (a max pool's indices). */
    public static int[] zeroedInts(int n) {
        int[] a = (int[]) pooled(int[].class, n);
        if (a == null) return new int[n];
        Arrays.fill(a, 0);
        return a;
    }

    /** An array of {@code type} and length {@code n} from the lease open on this thread, or null (no lease, or too small). */
    private static Object pooled(Class<?> type, int n) {
        Lease lease = CURRENT.get();
        return lease == null || n < MIN_FLOATS ? null : lease.take(new Size(type, n));
    }

    /**
     * Gives {@code a}, which the caller took from {@link #uninitialized} or {@link #zeroed} and will not use again
     * (a kernel's scratch), back to the lease open on this thread, if that lease handed it out.
     */
    public static void recycle(float[] a) {
        Lease lease = CURRENT.get();
        if (lease != null) lease.giveBack(a);
    }

    /** Gives {@code a} (a float or int array) back to the lease open on this thread if that lease handed it out. */
    static boolean giveBackToCurrent(Object a) {
        Lease lease = CURRENT.get();
        return lease != null && lease.giveBack(a);
    }

    /** Makes this pool the one {@link #uninitialized} draws from on this thread until the lease closes. */
    public Lease open() {
        synchronized (this) { openLeases++; }
        Lease lease = new Lease(CURRENT.get());
        CURRENT.set(lease);
        return lease;
    }

    /** Array elements kept now (floats and ints), for tests and memory accounting. */
    public synchronized long pooledFloats() {
        long total = 0;
        for (Map.Entry<Size, ArrayDeque<Object>> e : free.entrySet()) total += (long) e.getValue().size() * e.getKey().length();
        return total;
    }

    private synchronized Object poll(Size size) {
        ArrayDeque<Object> q = free.get(size);
        return q == null ? null : q.pollLast();
    }

    private synchronized void offer(Object a) {
        free.computeIfAbsent(Size.of(a), k -> new ArrayDeque<>()).addLast(a);
    }

    private synchronized void closed(Set<Size> taken) {
        for (Size size : taken) lastTaken.put(size, runs);
        if (--openLeases > 0) return;
        runs++;
        lastTaken.values().removeIf(run -> run < runs - KEEP_RUNS);
        free.keySet().retainAll(lastTaken.keySet());
    }

    /** One run's use of the pool, on the thread that opened it. */
    public final class Lease implements AutoCloseable {
        private final Lease previous;
        private final Set<Object> handedOut = Collections.newSetFromMap(new IdentityHashMap<>());
        private final Set<Size> taken = new HashSet<>();
        private boolean closed;

        private Lease(Lease previous) { this.previous = previous; }

        /** An array of that size from the pool, or a new (zeroed) one. */
        private Object take(Size size) {
            Object a = poll(size);
            if (a == null) a = size.type() == float[].class ? new float[size.length()] : new int[size.length()];
            handedOut.add(a);
            taken.add(size);
            return a;
        }

        /**
         * Gives {@code a} (a float or int array) back for reuse if this lease handed it out; the caller promises that
         * nothing reads or writes it any more. Returns whether it was taken back.
         */
        public boolean giveBack(Object a) {
            if (closed || !handedOut.remove(a)) return false;
            offer(a);
            return true;
        }

        /** Forgets that this lease handed {@code a} out, so that it is never taken back (its owner keeps it). */
        void disown(Object a) { handedOut.remove(a); }

        /** Whether this lease handed {@code a} out and has not taken it back. */
        public boolean handedOut(Object a) { return handedOut.contains(a); }

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
