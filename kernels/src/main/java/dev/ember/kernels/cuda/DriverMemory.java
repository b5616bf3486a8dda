package dev.ember.kernels.cuda;

import dev.ember.engine.BackendException;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUpointer_attribute;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

import java.util.HashMap;
import java.util.Map;

/**
 * cuMemAlloc / cuMemFree on one context. JCuda hands out {@link CUdeviceptr} objects, while kernels, cuBLAS and
 * cuDNN want plain addresses: each allocation's address is read once (CU_POINTER_ATTRIBUTE_DEVICE_POINTER) and its
 * CUdeviceptr kept, so {@link #pointer} can turn an address inside a block back into one for the copy calls.
 */
final class DriverMemory implements RawDeviceMemory {
    private final CudaContext context;
    private final Map<Long, CUdeviceptr> blocks = new HashMap<>();

    DriverMemory(CudaContext context) { this.context = context; }

    @Override public synchronized long allocate(long bytes) {
        context.bind();
        CUdeviceptr p = new CUdeviceptr();
        int r = JCudaDriver.cuMemAlloc(p, bytes);
        if (r == CUresult.CUDA_ERROR_OUT_OF_MEMORY) return 0;
        CudaDriver.check(r, "cuMemAlloc(" + bytes + ")");
        long[] address = new long[1];
        CudaDriver.check(JCudaDriver.cuPointerGetAttribute(Pointer.to(address), CUpointer_attribute.CU_POINTER_ATTRIBUTE_DEVICE_POINTER, p),
                "cuPointerGetAttribute(DEVICE_POINTER)");
        blocks.put(address[0], p);
        return address[0];
    }

    @Override public synchronized void free(long address) {
        CUdeviceptr p = blocks.remove(address);
        if (p == null) throw new BackendException("cuda: free of unknown device address 0x" + Long.toHexString(address));
        context.bind();
        CudaDriver.check(JCudaDriver.cuMemFree(p), "cuMemFree");
    }

    @Override public long freeBytes() { return context.memoryInfo()[0]; }

    /** A CUdeviceptr for {@code byteOffset} bytes into the block at {@code base}. */
    synchronized CUdeviceptr pointer(long base, long byteOffset) {
        CUdeviceptr p = blocks.get(base);
        if (p == null) throw new BackendException("cuda: no device block at 0x" + Long.toHexString(base));
        return byteOffset == 0 ? p : p.withByteOffset(byteOffset);
    }
}
