package dev.ember.engine;

import java.util.ArrayList;
import java.util.List;

/**
 * The tensors of one unit of repeated work, a training step say, which die together: storage made on this thread
 * while the scope is open is released when it closes. The float arrays the engine allocated for CPU storage go back to
 * a {@link BufferPool} from which the next step's tensors take theirs, so a step allocates nothing the second time
 * round and the JVM's heap stays at what one step needs instead of growing with the garbage of many; device memory
 * (a CUDA tensor's) goes back to its allocator's cache at once, rather than when the JVM collects the tensor.
 *
 * <p>Using a released tensor throws {@link ReleasedTensorException}; it never reads another step's values. What must
 * outlive the scope (an optimizer's state made on its first step, a tensor the caller keeps) is {@link #detach}ed.
 * Storage made before the scope opened (a model's parameters, a data set) is not touched, and updating it in place
 * inside the scope is fine. An array the caller handed in ({@code Tensor.of(float[])}) is never reused: its tensor is
 * released, the array stays the caller's. Storage made on other threads is not tracked and lives as long as something
 * references it.
 *
 * <pre>{@code
 * BufferPool pool = new BufferPool();
 * for (Batch b : batches) {
 *     try (TensorScope step = TensorScope.open(pool)) {
 *         optimizer.zeroGrad();
 *         Variable loss = Loss.crossEntropy(model.forward(Variable.of(b.x())), b.y());
 *         loss.backward();
 *         optimizer.step();
 *         total += loss.item();
 *     }
 * }
 * }</pre>
 *
 * <p>Scopes nest; they must close in the reverse order of opening, on the thread that opened them.
 */
public final class TensorScope implements AutoCloseable {
    private static final ThreadLocal<TensorScope> CURRENT = new ThreadLocal<>();

    private final TensorScope outer;
    private final Thread owner = Thread.currentThread();
    private final BufferPool.Lease lease;
    private final List<Storage> made = new ArrayList<>();
    private boolean closed;

    private TensorScope(TensorScope outer, BufferPool.Lease lease) {
        this.outer = outer;
        this.lease = lease;
    }

    /** This thread's pool for {@link #open()}: one, so that a training step and the evaluation after it share arrays. */
    private static final ThreadLocal<BufferPool> THREAD_POOL = ThreadLocal.withInitial(BufferPool::new);

    /**
     * Opens a scope on this thread over the thread's own pool, which keeps about one scope's arrays of the shapes in use
     * for the next scope on this thread (see {@link BufferPool} for what it keeps and for how long).
     */
    public static TensorScope open() { return open(THREAD_POOL.get()); }

    /** Opens a scope on this thread whose tensors take their arrays from {@code pool} and give them back to it. */
    public static TensorScope open(BufferPool pool) {
        TensorScope scope = new TensorScope(CURRENT.get(), pool.open());
        CURRENT.set(scope);
        return scope;
    }

    /** Called by every new CPU storage and by device storages: the innermost scope open on this thread, if any, owns it. */
    static void track(Storage s) {
        TensorScope scope = CURRENT.get();
        if (scope == null) return;
        s.owner = scope;
        s.birth = scope.made.size();
        scope.made.add(s);
    }

    /**
     * Where the innermost scope open on this thread stands now, for {@link #releaseIfMadeSince}: storage made from
     * here on gets a place at or after it. -1 when no scope is open.
     */
    public static int mark() {
        TensorScope scope = CURRENT.get();
        return scope == null ? -1 : scope.made.size();
    }

    /**
     * Whether the innermost scope open on this thread made {@code t}'s storage at or after {@code mark} (and has not
     * released it): then only code that ran since the mark can hold it.
     */
    public static boolean madeSince(Tensor t, int mark) {
        TensorScope scope = CURRENT.get();
        Storage s = t.storage();
        return mark >= 0 && scope != null && s.owner == scope && s.birth >= mark && !s.isReleased();
    }

    /**
     * Releases {@code t}'s storage now, before its scope closes, if the innermost scope open on this thread made it at
     * or after {@code mark}, and gives its array back for the rest of the scope: to the innermost lease open on this
     * thread if that one handed it out, else to the scope's pool. For a value only its
     * maker could have seen (a gradient a backward pass has passed on): using it afterwards throws
     * {@link ReleasedTensorException}. Returns whether it was released.
     */
    public static boolean releaseIfMadeSince(Tensor t, int mark) {
        if (!madeSince(t, mark)) return false;
        TensorScope scope = CURRENT.get();
        if (!(t.storage() instanceof CpuStorage c)) return t.storage().releaseDevice();
        Object array = c.release();
        if (array == null) return false;
        // back to the lease that handed it out: an inner one first (an OnnxSession's own, its run inside the caller's
        // scope), where it would otherwise be lost to both: resnet18 at 32x3x64x64 under a scope left its stem's 8 MB
        // output as garbage every call and the heap grew to 1.5 GB
        if (!BufferPool.giveBackToCurrent(array)) scope.lease.giveBack(array);
        return true;
    }

    /**
     * Keeps {@code t}'s storage (and so every view of it) past every scope: it is not released, and its array is
     * never reused. Returns {@code t}.
     */
    public static Tensor detach(Tensor t) {
        if (t.storage() instanceof CpuStorage c) {
            Object array = c.detach();
            for (TensorScope s = CURRENT.get(); s != null && array != null; s = s.outer) s.lease.disown(array);   // nor through another storage over it
        } else {
            t.storage().keepPastScopes();
        }
        return t;
    }

    /** Storage this scope owns now, for tests and accounting. */
    public int trackedStorages() { return made.size(); }

    /** Releases every tensor made in this scope and not detached, and gives their arrays to the pool. */
    @Override public void close() {
        if (closed) return;
        if (Thread.currentThread() != owner) throw new IllegalStateException("a TensorScope closes on the thread that opened it");
        if (CURRENT.get() != this) throw new IllegalStateException("an inner TensorScope is still open; scopes close in the reverse order of opening");
        closed = true;
        for (Storage s : made) {
            if (!(s instanceof CpuStorage c)) {
                s.releaseDevice();
                continue;
            }
            Object array = c.release();
            if (array != null) lease.giveBack(array);   // only arrays the pool handed out are taken back
        }
        made.clear();
        lease.close();
        if (outer == null) CURRENT.remove();
        else CURRENT.set(outer);
    }
}
