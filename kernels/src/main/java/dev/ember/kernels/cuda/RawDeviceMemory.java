package dev.ember.kernels.cuda;

/**
 * The device's own allocator, under {@link CudaAllocator}: the driver's cuMemAlloc/cuMemFree on a GPU
 * ({@link DriverMemory}), a fake in the allocator's tests.
 */
interface RawDeviceMemory {
    /** A new block of {@code bytes} bytes, or 0 when the device is out of memory (other failures throw). */
    long allocate(long bytes);

    void free(long address);

    /** Free bytes on the device, for out-of-memory messages. */
    long freeBytes();
}
