package dev.ember.kernels.cuda;

import dev.ember.engine.DType;
import dev.ember.engine.Device;
import dev.ember.engine.Storage;

import java.lang.ref.Cleaner;

/**
 * Storage in device memory: one {@link CudaAllocator} block. Tensors carry no close(), so the block goes back to the
 * allocator's cache when the storage becomes unreachable (a {@link Cleaner}); the allocator's pressure hook runs a GC
 * before it reports out-of-memory, which returns such blocks in time.
 */
final class CudaStorage extends Storage {
    private static final Cleaner CLEANER = Cleaner.create();

    private final CudaContext context;
    private final CudaAllocator.Block block;
    private final int size;

    private CudaStorage(CudaContext context, DType dtype, int size, CudaAllocator.Block block) {
        super(dtype);
        this.context = context;
        this.block = block;
        this.size = size;
    }

    static CudaStorage allocate(CudaContext context, DType dtype, int size) {
        CudaAllocator allocator = context.allocator();
        CudaAllocator.Block block = allocator.allocate((long) size * dtype.byteSize());
        CudaStorage s = new CudaStorage(context, dtype, size, block);
        CLEANER.register(s, () -> allocator.free(block));   // captures the allocator and block, never the storage
        return s;
    }

    @Override public Device device() { return Device.cuda(context.index()); }

    @Override public int size() { return size; }

    CudaContext context() { return context; }

    CudaAllocator.Block block() { return block; }

    /** Device address of element 0. */
    long address() { return block.address(); }
}
