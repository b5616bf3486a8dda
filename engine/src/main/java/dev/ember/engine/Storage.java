package dev.ember.engine;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * A flat buffer of elements of one dtype on one device. Tensors are views into a storage
 * (shape, strides, offset), so reshape/permute/slice/expand never copy.
 *
 * <p>A storage marked {@linkplain #markConstant constant} (a model's weights in an inference session) promises that
 * its elements never change again; backends may then keep forms derived from it, such as a GEMM-packed copy of a
 * weight, instead of recomputing them on every call.
 */
public abstract class Storage {
    private final DType dtype;
    /** Forms derived from a constant storage's values; null until {@link #markConstant} (most storage never is). */
    private volatile Map<Object, Object> derived;
    TensorScope owner;           // the scope that made it, or null (TensorScope.track)
    int birth;                   // its place in the owner's list: storages made later have larger ones
    boolean detached;            // kept past every TensorScope (TensorScope.detach)
    private boolean deviceReleased;

    protected Storage(DType dtype) { this.dtype = dtype; }

    /**
     * For device storages, called by their constructor: the {@link TensorScope} open on this thread, if any, owns the
     * storage and calls {@link #releaseDeviceMemory} when it closes (or when a backward pass frees it early), unless it
     * was detached. CPU storage is always tracked.
     */
    protected final void trackInScope() { TensorScope.track(this); }

    /**
     * Gives a device storage's memory back now (to its allocator's cache): its scope closed. Called at most once;
     * afterwards {@link #isReleased} is true and the storage must refuse to be used ({@link ReleasedTensorException}).
     */
    protected void releaseDeviceMemory() {}

    /**
     * Whether this storage was released (the {@link TensorScope} it was made in closed, or a backward pass freed the
     * gradient it held), so its elements can no longer be used.
     */
    public boolean isReleased() { return deviceReleased; }

    /** TensorScope.detach: kept past every scope, owned by none. */
    void keepPastScopes() {
        detached = true;
        owner = null;
    }

    /** TensorScope's release of a device storage: once, and never a detached one; returns whether it released. */
    final boolean releaseDevice() {
        if (detached || deviceReleased) return false;
        deviceReleased = true;
        releaseDeviceMemory();
        return true;
    }

    /**
     * Promises that nothing writes to this storage from now on, so that backends may cache forms derived from its
     * values ({@link #derived}). Irreversible. Writing to it afterwards gives stale results, not an error.
     */
    public final synchronized void markConstant() {
        if (derived == null) derived = new ConcurrentHashMap<>();
    }

    /** Whether {@link #markConstant} was called. */
    public final boolean isConstant() { return derived != null; }

    /**
     * For backends: the form of this constant storage's values named by {@code key} (which must capture everything
     * it depends on: offset, shape, layout), made once by {@code make} and kept as long as the storage.
     */
    @SuppressWarnings("unchecked")
    public final <T> T derived(Object key, Supplier<T> make) {
        Map<Object, Object> forms = derived;
        if (forms == null) throw new IllegalStateException("derived forms are kept only for constant storage");
        return (T) forms.computeIfAbsent(key, k -> make.get());
    }

    public DType dtype() { return dtype; }

    public abstract Device device();

    /** Number of elements (not bytes). */
    public abstract int size();
}
