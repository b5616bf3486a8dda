package dev.ember.kernels.cuda;

import dev.ember.engine.BackendException;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

import java.nio.charset.StandardCharsets;

/**
 * The first touch of JCuda, made once: loading its native library needs the NVIDIA driver's libcuda.so.1, and a
 * failure there (an {@link UnsatisfiedLinkError}, then {@link NoClassDefFoundError} on every later touch) must
 * become a message, never a crash. {@link #problem()} is null when the driver loads, initialises and shows at least one
 * device; callers check it before any other JCuda call.
 */
final class CudaDriver {
    private static volatile String problem;
    private static volatile int deviceCount = -1;

    private CudaDriver() {}

    /** Null when CUDA is usable here, else why not. Never throws. */
    static String problem() {
        if (deviceCount < 0) probe();
        return problem;
    }

    static int deviceCount() {
        String p = problem();
        if (p != null) throw new BackendException("cuda: " + p);
        return deviceCount;
    }

    /** Throws a {@link BackendException} naming the call and the driver's error name unless {@code result} is CUDA_SUCCESS. */
    static void check(int result, String call) {
        if (result != CUresult.CUDA_SUCCESS) throw new BackendException("cuda: " + call + " failed: " + CUresult.stringFor(result) + " (" + result + ")");
    }

    private static synchronized void probe() {
        if (deviceCount >= 0) return;
        int count = 0;
        String why = null;
        try {
            JCudaDriver.setExceptionsEnabled(false);
            int r = JCudaDriver.cuInit(0);
            if (r == CUresult.CUDA_ERROR_NO_DEVICE) {
                why = "no CUDA device (the driver loads but reports none)";
            } else if (r != CUresult.CUDA_SUCCESS) {
                why = "cuInit failed: " + CUresult.stringFor(r);
            } else {
                int[] n = new int[1], version = new int[1];
                r = JCudaDriver.cuDeviceGetCount(n);
                if (r != CUresult.CUDA_SUCCESS) why = "cuDeviceGetCount failed: " + CUresult.stringFor(r);
                else if (n[0] == 0) why = "no CUDA device (the driver reports 0)";
                else if (JCudaDriver.cuDriverGetVersion(version) == CUresult.CUDA_SUCCESS) why = tooOld(version[0], ptxVersion());
                // (a driver that cannot say its version is let through: loading a module would then say what is wrong)
                if (why == null) count = n[0];
            }
        } catch (Throwable t) {
            why = describeLoadFailure(t);
        }
        problem = why;
        deviceCount = count;
    }

    /**
     * Null when a driver of CUDA version {@code driver} (cuDriverGetVersion: 1000 * major + 10 * minor) can JIT-compile
     * PTX of ISA {@code ptx} ("9.0"), else why not: a driver older than the PTX would fail at the first kernel, midway
     * through a run, so {@code --device auto} must fall back to the CPU instead. PTX ISA 9.x came with CUDA 13.x,
     * 8.x with CUDA 12.x.
     */
    static String tooOld(int driver, String ptx) {
        String[] mm = ptx.split("\\.");
        int major = Integer.parseInt(mm[0]), minor = mm.length > 1 ? Integer.parseInt(mm[1]) : 0;
        int needed = major >= 8 ? (major + 4) * 1000 + minor * 10 : 0;
        if (driver >= needed) return null;
        return "the NVIDIA driver supports CUDA " + driver / 1000 + "." + driver % 1000 / 10 + ", and ember's kernels (PTX ISA " + ptx
                + ") need a driver for CUDA " + needed / 1000 + "." + needed % 1000 / 10 + " or newer: update the driver (R580 or later for CUDA 13)";
    }

    /** The ISA version of the PTX carried in the jar (every module is built by one nvcc: PtxResourcesTest checks it). */
    static String ptxVersion() {
        try {
            for (String line : new String(CudaContext.ptx(Kernel.UNARY), StandardCharsets.US_ASCII).split("\n")) {
                if (line.startsWith(".version ")) return line.substring(9).trim();
            }
        } catch (BackendException e) {
            // a missing resource fails the first kernel load with its own message; the driver check lets it through
        }
        return "0.0";
    }

    /** JCuda's load error spells out every attempt; keep the line that says what is missing. */
    static String describeLoadFailure(Throwable t) {
        String all = String.valueOf(t.getMessage());
        if (all.contains("libcuda.so")) return "no CUDA driver (libcuda.so.1 not found)";
        if (t instanceof NoClassDefFoundError) return "no CUDA driver (JCuda's native library failed to load earlier: " + firstLine(all) + ")";
        return "JCuda does not load: " + t.getClass().getSimpleName() + ": " + firstLine(all);
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
