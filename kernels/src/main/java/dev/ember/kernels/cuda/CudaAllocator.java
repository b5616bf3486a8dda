package dev.ember.kernels.cuda;

import dev.ember.engine.BackendException;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * A caching device allocator, so ops never call cuMemAlloc in steady state. A request is rounded up to its size
 * class (powers of two from {@link #MIN_CLASS} to 1 MiB, then whole MiB) and served from that class's free list
 * when it has a block (a hit), else from the device (a miss). Freed blocks go back to their list, not to the
 * device. When the device is out of memory, every cached block is released and the request retried; then the
 * pressure hook runs (the backend's: a GC, so unreachable tensors return their blocks) and it is retried once more.
 *
 * <p>Blocks are reused in the order the one stream runs, so a block freed while a kernel still reads it is only
 * handed to work queued after that kernel. Thread-safe (one lock; every call is short).
 */
final class CudaAllocator {
    static final long MIN_CLASS = 512;
    static final long MIB = 1 << 20;

    /** An allocated block: {@code address} on the device, {@code sizeClass} bytes reserved for {@code requested}. */
    record Block(long address, long sizeClass, long requested) {}

    /** Counters: bytes handed out (by size class), bytes cached in free lists, the peak of bytes handed out, free-list hits and misses, blocks given back to the device. */
    record Stats(long bytesInUse, long bytesCached, long peakBytesInUse, long hits, long misses, long releases) {}

    private final RawDeviceMemory raw;
    private final Runnable onPressure;
    private final TreeMap<Long, ArrayDeque<Long>> freeLists = new TreeMap<>();
    private final Map<Long, Block> live = new HashMap<>();
    private long bytesInUse, bytesCached, peak, hits, misses, releases;

    CudaAllocator(RawDeviceMemory raw, Runnable onPressure) {
        this.raw = raw;
        this.onPressure = onPressure;
    }

    /** Size class of a request: the next power of two (at least MIN_CLASS) up to 1 MiB, else the next MiB multiple. */
    static long sizeClass(long bytes) {
        if (bytes < 0) throw new BackendException("cuda allocator: negative size " + bytes);
        if (bytes <= MIN_CLASS) return MIN_CLASS;
        if (bytes <= MIB) return Long.highestOneBit(bytes - 1) << 1;
        return Math.ceilDiv(bytes, MIB) * MIB;
    }

    Block allocate(long bytes) {
        long cls = sizeClass(bytes);
        Block b = tryAllocate(bytes, cls, true);
        if (b == null && onPressure != null) {
            // outside the lock: a GC lets Cleaners return the blocks of unreachable tensors through free()
            onPressure.run();
            b = tryAllocate(bytes, cls, false);
        }
        if (b == null) {
            synchronized (this) {
                throw new BackendException("cuda: out of device memory allocating " + bytes + " bytes (size class " + cls
                        + "); the device has " + raw.freeBytes() + " bytes free, " + bytesInUse + " bytes are in use by tensors");
            }
        }
        return b;
    }

    /** From the free list, else from the device, else from the device after releasing the cache; null when all fail. */
    private synchronized Block tryAllocate(long bytes, long cls, boolean count) {
        ArrayDeque<Long> list = freeLists.get(cls);
        long address;
        if (list != null && !list.isEmpty()) {
            address = list.pop();
            bytesCached -= cls;
            if (count) hits++;
        } else {
            if (count) misses++;
            address = raw.allocate(cls);
            if (address == 0 && bytesCached > 0) {
                releaseCached();
                address = raw.allocate(cls);
            }
            if (address == 0) return null;
        }
        Block b = new Block(address, cls, bytes);
        live.put(address, b);
        bytesInUse += cls;
        peak = Math.max(peak, bytesInUse);
        return b;
    }

    /** Returns {@code b} to its free list (the device keeps the memory). */
    synchronized void free(Block b) {
        Block known = live.remove(b.address());
        if (known == null) throw new BackendException("cuda allocator: block at 0x" + Long.toHexString(b.address()) + " is not allocated (freed twice?)");
        bytesInUse -= known.sizeClass();
        bytesCached += known.sizeClass();
        freeLists.computeIfAbsent(known.sizeClass(), k -> new ArrayDeque<>()).push(known.address());
    }

    /** Gives every cached block back to the device; returns the bytes released. */
    synchronized long releaseCached() {
        long released = 0;
        for (Map.Entry<Long, ArrayDeque<Long>> e : freeLists.entrySet()) {
            for (long address : e.getValue()) {
                raw.free(address);
                released += e.getKey();
                releases++;
            }
        }
        freeLists.clear();
        bytesCached -= released;
        return released;
    }

    synchronized Stats stats() { return new Stats(bytesInUse, bytesCached, peak, hits, misses, releases); }
}
