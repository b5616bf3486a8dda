package dev.ember.kernels.cuda;

import dev.ember.engine.BackendException;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;

/**
 * One GPU through the driver API: its primary context, the PTX modules (loaded on first use, JIT-compiled by
 * the driver for this GPU), kernel lookup and launch, copies and device memory through a {@link CudaAllocator}.
 * Every driver call is checked and a failure names the call and the driver's error. Work goes to the legacy
 * default stream, so launches and copies run in the order they are issued.
 *
 * <p>Order of use: {@link #open} (checks {@link CudaDriver#problem()} first), then any method; the driver's
 * current context is per thread, so each entry point calls {@link #bind()}.
 */
final class CudaContext {
    private static final Map<Integer, CudaContext> OPEN = new HashMap<>();

    private final int index;
    private final CUcontext context = new CUcontext();
    private final String name;
    private final Map<String, CUmodule> modules = new HashMap<>();
    private final Map<Kernel, CUfunction> functions = new EnumMap<>(Kernel.class);
    private final DriverMemory memory;
    private final CudaAllocator allocator;

    private CudaContext(int index) {
        this.index = index;
        CUdevice device = new CUdevice();
        CudaDriver.check(JCudaDriver.cuDeviceGet(device, index), "cuDeviceGet(" + index + ")");
        CudaDriver.check(JCudaDriver.cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain(" + index + ")");
        bind();
        byte[] raw = new byte[256];
        CudaDriver.check(JCudaDriver.cuDeviceGetName(raw, raw.length, device), "cuDeviceGetName");
        int len = 0;
        while (len < raw.length && raw[len] != 0) len++;
        this.name = new String(raw, 0, len, StandardCharsets.US_ASCII);
        this.memory = new DriverMemory(this);
        this.allocator = new CudaAllocator(memory, CudaContext::collectGarbage);
    }

    /** The context of device {@code index}, opened once; a clear {@link BackendException} without driver or device. */
    static synchronized CudaContext open(int index) {
        String problem = CudaDriver.problem();
        if (problem != null) throw new BackendException("cuda:" + index + " requested but " + problem);
        int count = CudaDriver.deviceCount();
        if (index >= count) throw new BackendException("cuda:" + index + " requested but this machine has " + count + " CUDA device(s)");
        return OPEN.computeIfAbsent(index, CudaContext::new);
    }

    int index() { return index; }

    String deviceName() { return name; }

    CudaAllocator allocator() { return allocator; }

    /** {free, total} bytes of device memory. */
    long[] memoryInfo() {
        bind();
        long[] free = new long[1], total = new long[1];
        CudaDriver.check(JCudaDriver.cuMemGetInfo(free, total), "cuMemGetInfo");
        return new long[] {free[0], total[0]};
    }

    void bind() { CudaDriver.check(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent"); }

    void synchronize() {
        bind();
        CudaDriver.check(JCudaDriver.cuCtxSynchronize(), "cuCtxSynchronize");
    }

    // ---- kernels ----

    synchronized CUfunction function(Kernel k) {
        CUfunction f = functions.get(k);
        if (f != null) return f;
        bind();
        CUmodule module = modules.get(k.module);
        if (module == null) {
            module = new CUmodule();
            CudaDriver.check(JCudaDriver.cuModuleLoadData(module, ptx(k)), "cuModuleLoadData(" + k.resource() + ")");
            modules.put(k.module, module);
        }
        f = new CUfunction();
        CudaDriver.check(JCudaDriver.cuModuleGetFunction(f, module, k.entry), "cuModuleGetFunction(" + k.entry + ")");
        functions.put(k, f);
        return f;
    }

    /** The PTX text of {@code k}'s module, NUL-terminated as cuModuleLoadData wants it. */
    static byte[] ptx(Kernel k) {
        try (InputStream in = CudaContext.class.getResourceAsStream(k.resource())) {
            if (in == null) throw new BackendException("cuda: PTX resource " + k.resource() + " is missing from the class path");
            byte[] text = in.readAllBytes();
            byte[] z = new byte[text.length + 1];
            System.arraycopy(text, 0, z, 0, text.length);
            return z;
        } catch (IOException e) {
            throw new BackendException("cuda: cannot read PTX resource " + k.resource(), e);
        }
    }

    /** Launches {@code k} on a (gridX, gridY, gridZ) grid of {@link Kernel#BLOCK}-thread blocks. */
    void launch(Kernel k, int gridX, int gridY, int gridZ, KernelArgs args) {
        CUfunction f = function(k);
        bind();
        CudaDriver.check(JCudaDriver.cuLaunchKernel(f, gridX, gridY, gridZ, Kernel.BLOCK, 1, 1, 0, null, args.pointer(), null),
                "cuLaunchKernel(" + k.entry + ", grid " + gridX + "x" + gridY + "x" + gridZ + ")");
    }

    /** A 1-D grid-stride launch over {@code n} items: enough blocks to fill the GPU, capped (the kernels loop). */
    void launch1d(Kernel k, long n, KernelArgs args) {
        int blocks = (int) Math.max(1, Math.min(Math.ceilDiv(n, Kernel.BLOCK), 65_535));
        launch(k, blocks, 1, 1, args);
    }

    // ---- memory ----

    CUdeviceptr pointer(CudaAllocator.Block b, long byteOffset) { return memory.pointer(b.address(), byteOffset); }

    void copyHostToDevice(CudaAllocator.Block dst, long dstByteOffset, Pointer src, long bytes) {
        if (bytes == 0) return;
        bind();
        CudaDriver.check(JCudaDriver.cuMemcpyHtoD(pointer(dst, dstByteOffset), src, bytes), "cuMemcpyHtoD(" + bytes + " bytes)");
    }

    void copyDeviceToHost(Pointer dst, CudaAllocator.Block src, long srcByteOffset, long bytes) {
        if (bytes == 0) return;
        bind();
        CudaDriver.check(JCudaDriver.cuMemcpyDtoH(dst, pointer(src, srcByteOffset), bytes), "cuMemcpyDtoH(" + bytes + " bytes)");
    }

    void zero(CudaAllocator.Block b, long bytes) {
        if (bytes == 0) return;
        bind();
        CudaDriver.check(JCudaDriver.cuMemsetD8(pointer(b, 0), (byte) 0, bytes), "cuMemsetD8(" + bytes + " bytes)");
    }

    static void collectGarbage() {
        System.gc();
        try {
            Thread.sleep(50);   // give the Cleaner thread a moment to return unreachable tensors' blocks
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
