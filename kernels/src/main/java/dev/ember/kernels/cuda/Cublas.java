package dev.ember.kernels.cuda;

import dev.ember.engine.BackendException;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * cuBLAS SGEMM and strided-batched SGEMM through {@code java.lang.foreign} downcalls into whichever
 * {@code libcublas.so.13} / {@code .12} {@link LibraryFinder} found. cuBLAS is column-major: a row-major
 * C (M, N) = A (M, K) B (K, N) is computed as the column-major C^T = B^T A^T, i.e. gemm(N, M, K, B, A).
 * The handle works on the primary context ({@link CudaContext} uses it too) and the legacy default stream, so
 * its work is ordered with our kernels. The default math mode keeps full float32 (no TF32).
 */
final class Cublas {
    private static final int OP_N = 0;

    private final MethodHandle sgemm, sgemmStridedBatched;
    private final MemorySegment handle;
    private final Arena arena = Arena.ofShared();   // lives as long as the backend: the library stays loaded

    private Cublas(Path library) {
        Linker linker = Linker.nativeLinker();
        SymbolLookup lib = SymbolLookup.libraryLookup(library, arena);
        MethodHandle create = bind(linker, lib, "cublasCreate_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        MethodHandle setStream = bind(linker, lib, "cublasSetStream_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        sgemm = bind(linker, lib, "cublasSgemm_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
        sgemmStridedBatched = bind(linker, lib, "cublasSgemmStridedBatched", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG,
                JAVA_INT, JAVA_LONG, JAVA_INT));
        MemorySegment out = arena.allocate(ADDRESS);
        check(invoke(create, out), "cublasCreate_v2");
        handle = out.get(ADDRESS, 0);
        check(invoke(setStream, handle, MemorySegment.NULL), "cublasSetStream_v2(default stream)");
    }

    /** cuBLAS from {@code finder}, or null with the reason in {@code why[0]} when the library is not installed. */
    static Cublas load(LibraryFinder finder, String[] why) {
        LibraryFinder.Result r = finder.find("libcublas.so.13", "libcublas.so.12");
        if (!r.found()) {
            why[0] = r.describe();
            return null;
        }
        try {
            return new Cublas(r.path());
        } catch (RuntimeException e) {
            why[0] = "cuBLAS at " + r.path() + " does not load: " + e.getMessage();
            return null;
        }
    }

    /**
     * Row-major, batched: C_i (M, N) = A_i (M, K) B_i (K, N) + beta C_i for i < batch, every operand contiguous per batch,
     * batch strides in elements (0 repeats an operand).
     */
    void sgemmRowMajor(int m, int n, int k, long a, long strideA, long b, long strideB, long c, long strideC, int batch, float betaValue) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment alpha = call.allocateFrom(JAVA_FLOAT, 1f), beta = call.allocateFrom(JAVA_FLOAT, betaValue);
            if (batch == 1) {
                check(invoke(sgemm, handle, OP_N, OP_N, n, m, k, alpha, b, n, a, k, beta, c, n), "cublasSgemm_v2(" + m + "x" + n + "x" + k + ")");
            } else {
                check(invoke(sgemmStridedBatched, handle, OP_N, OP_N, n, m, k, alpha, b, n, strideB, a, k, strideA, beta, c, n, strideC, batch),
                        "cublasSgemmStridedBatched(" + batch + " x " + m + "x" + n + "x" + k + ")");
            }
        }
    }

    static MethodHandle bind(Linker linker, SymbolLookup lib, String name, FunctionDescriptor fd) {
        MemorySegment symbol = lib.find(name).orElseThrow(() -> new BackendException("symbol " + name + " is missing from the library"));
        return linker.downcallHandle(symbol, fd);
    }

    static int invoke(MethodHandle h, Object... args) {
        try {
            return (int) h.invokeWithArguments(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new BackendException("native call failed: " + t, t);
        }
    }

    private static void check(int status, String call) {
        if (status != 0) throw new BackendException("cuda: " + call + " failed: cublasStatus_t " + status + statusName(status));
    }

    private static String statusName(int s) {
        return switch (s) {
            case 1 -> " (CUBLAS_STATUS_NOT_INITIALIZED)";
            case 3 -> " (CUBLAS_STATUS_ALLOC_FAILED)";
            case 7 -> " (CUBLAS_STATUS_INVALID_VALUE)";
            case 8 -> " (CUBLAS_STATUS_ARCH_MISMATCH)";
            case 11 -> " (CUBLAS_STATUS_MAPPING_ERROR)";
            case 13 -> " (CUBLAS_STATUS_EXECUTION_FAILED)";
            case 14 -> " (CUBLAS_STATUS_INTERNAL_ERROR)";
            case 15 -> " (CUBLAS_STATUS_NOT_SUPPORTED)";
            default -> "";
        };
    }
}
