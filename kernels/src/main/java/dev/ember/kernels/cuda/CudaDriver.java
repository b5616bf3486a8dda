package dev.ember.kernels.cuda;

import dev.ember.engine.BackendException;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

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
                int[] n = new int[1];
                r = JCudaDriver.cuDeviceGetCount(n);
                if (r != CUresult.CUDA_SUCCESS) why = "cuDeviceGetCount failed: " + CUresult.stringFor(r);
                else if (n[0] == 0) why = "no CUDA device (the driver reports 0)";
                else count = n[0];
            }
        } catch (Throwable t) {
            why = describeLoadFailure(t);
        }
        problem = why;
        deviceCount = count;
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
