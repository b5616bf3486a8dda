package dev.ember.kernels.cuda;

import dev.ember.engine.DType;
import dev.ember.engine.Device;
import dev.ember.engine.ReleasedTensorException;
import dev.ember.engine.Storage;

import java.lang.ref.Cleaner;

/**
 * Storage in device memory: one {@link CudaAllocator} block. It goes back to the allocator's cache when the
 * {@link dev.ember.engine.TensorScope} it was made in closes (a training step's activations and gradients: the next
 * step reuses them, as PyTorch's caching allocator would), else when the storage becomes unreachable (a
 * {@link Cleaner}); the allocator's pressure hook runs a GC before it reports out-of-memory, which returns such blocks
 * in time. Whichever comes first frees the block; a released storage refuses to give its address.
 */
final class CudaStorage extends Storage {
    private static final Cleaner CLEANER = Cleaner.create();

    private final CudaContext context;
    private final CudaAllocator.Block block;
    private final int size;
    private final FreeOnce free;

    private CudaStorage(CudaContext context, DType dtype, int size, CudaAllocator.Block block, FreeOnce free) {
        super(dtype);
        this.context = context;
        this.block = block;
        this.size = size;
        this.free = free;
    }

    static CudaStorage allocate(CudaContext context, DType dtype, int size) {
        CudaAllocator allocator = context.allocator();
        CudaAllocator.Block block = allocator.allocate((long) size * dtype.byteSize());
        FreeOnce free = new FreeOnce(allocator, block);
        CudaStorage s = new CudaStorage(context, dtype, size, block, free);
        CLEANER.register(s, free);   // captures the allocator and block, never the storage
        s.trackInScope();
        return s;
    }

    /** The block back to the allocator, once: by the scope (its thread) or by the Cleaner (its own), whichever is first. */
    private static final class FreeOnce implements Runnable {
        private final CudaAllocator allocator;
        private final CudaAllocator.Block block;
        private boolean done;

        FreeOnce(CudaAllocator allocator, CudaAllocator.Block block) {
            this.allocator = allocator;
            this.block = block;
        }

        @Override public synchronized void run() {
            if (done) return;
            done = true;
            allocator.free(block);
        }
    }

    @Override protected void releaseDeviceMemory() { free.run(); }

    @Override public Device device() { return Device.cuda(context.index()); }

    @Override public int size() { return size; }

    CudaContext context() { return context; }

    CudaAllocator.Block block() {
        requireLive();
        return block;
    }

    /** Device address of element 0. */
    long address() {
        requireLive();
        return block.address();
    }

    private void requireLive() {
        if (isReleased()) throw new ReleasedTensorException(size, dtype());
    }
}
