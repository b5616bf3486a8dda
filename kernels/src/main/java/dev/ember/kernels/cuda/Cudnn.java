package dev.ember.kernels.cuda;

import dev.ember.engine.BackendException;
import dev.ember.engine.Conv2dParams;
import dev.ember.engine.Shape;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * cuDNN 9 convolution (forward, backward data, backward filter) through {@code java.lang.foreign} downcalls into the
 * {@code libcudnn.so.9} that {@link LibraryFinder} found. For each geometry one algorithm is chosen once and kept with
 * its workspace size: the first DETERMINISTIC one that cuDNN's heuristics rank (cudnnGet*Algorithm_v7), so the same
 * GPU and cuDNN pick the same algorithm on every run and a seeded run gives the same bits. With
 * {@code -Dember.cudnn.search=true} the algorithms are timed instead (cudnnFind*Algorithm, as PyTorch's
 * {@code cudnn.benchmark}) and the fastest deterministic one is kept: faster for some geometries, but a near tie can
 * go either way from one run to the next, and with it the rounding. Math is plain FMA (no TF32), so results stay
 * within float32 tolerances of the CPU backend.
 * Descriptors are made per call and destroyed after it. cuDNN pooling and batch norm are not bound: the backend
 * uses its own deterministic kernels (pool.cu, norm.cu) for those.
 */
final class Cudnn {
    private static final int NCHW = 0, FLOAT = 0, CROSS_CORRELATION = 1, FMA_MATH = 3, DETERMINISTIC = 1;
    /** cudnnConvolution*AlgoPerf_t: algo, status, time, (pad), memory, determinism, mathType, reserved[3]. */
    private static final long PERF_SIZE = 48, PERF_STATUS = 4, PERF_MEMORY = 16, PERF_DETERMINISM = 24;
    private static final int REQUESTED = 8;

    enum Direction { FORWARD, BACKWARD_DATA, BACKWARD_FILTER }

    /** The algorithm chosen for one geometry and direction, and the workspace it needs. */
    record Choice(int algorithm, long workspaceBytes) {}

    private final Arena arena = Arena.ofShared();
    private final MemorySegment handle;
    private final MethodHandle createTensor, setTensor, destroyTensor, createFilter, setFilter, destroyFilter;
    private final MethodHandle createConv, setConv, setGroups, setMath, destroyConv;
    private final Map<Direction, MethodHandle> find = new HashMap<>(), rank = new HashMap<>(), run = new HashMap<>();
    private final boolean search = Boolean.getBoolean("ember.cudnn.search");
    private final Map<List<Object>, Choice> choices = new HashMap<>();

    private Cudnn(Path library) {
        Linker linker = Linker.nativeLinker();
        SymbolLookup lib = SymbolLookup.libraryLookup(library, arena);
        FunctionDescriptor outPtr = FunctionDescriptor.of(JAVA_INT, ADDRESS), onePtr = FunctionDescriptor.of(JAVA_INT, ADDRESS);
        MethodHandle create = Cublas.bind(linker, lib, "cudnnCreate", outPtr);
        MethodHandle setStream = Cublas.bind(linker, lib, "cudnnSetStream", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        createTensor = Cublas.bind(linker, lib, "cudnnCreateTensorDescriptor", outPtr);
        setTensor = Cublas.bind(linker, lib, "cudnnSetTensor4dDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        destroyTensor = Cublas.bind(linker, lib, "cudnnDestroyTensorDescriptor", onePtr);
        createFilter = Cublas.bind(linker, lib, "cudnnCreateFilterDescriptor", outPtr);
        setFilter = Cublas.bind(linker, lib, "cudnnSetFilter4dDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        destroyFilter = Cublas.bind(linker, lib, "cudnnDestroyFilterDescriptor", onePtr);
        createConv = Cublas.bind(linker, lib, "cudnnCreateConvolutionDescriptor", outPtr);
        setConv = Cublas.bind(linker, lib, "cudnnSetConvolution2dDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        setGroups = Cublas.bind(linker, lib, "cudnnSetConvolutionGroupCount", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        setMath = Cublas.bind(linker, lib, "cudnnSetConvolutionMathType", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        destroyConv = Cublas.bind(linker, lib, "cudnnDestroyConvolutionDescriptor", onePtr);
        // find(handle, descA, descB, conv, descC, requested, int* returned, perf*)
        FunctionDescriptor findFd = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
        find.put(Direction.FORWARD, Cublas.bind(linker, lib, "cudnnFindConvolutionForwardAlgorithm", findFd));
        find.put(Direction.BACKWARD_DATA, Cublas.bind(linker, lib, "cudnnFindConvolutionBackwardDataAlgorithm", findFd));
        find.put(Direction.BACKWARD_FILTER, Cublas.bind(linker, lib, "cudnnFindConvolutionBackwardFilterAlgorithm", findFd));
        // the heuristics take the same arguments and fill the same records (time -1): nothing is run
        rank.put(Direction.FORWARD, Cublas.bind(linker, lib, "cudnnGetConvolutionForwardAlgorithm_v7", findFd));
        rank.put(Direction.BACKWARD_DATA, Cublas.bind(linker, lib, "cudnnGetConvolutionBackwardDataAlgorithm_v7", findFd));
        rank.put(Direction.BACKWARD_FILTER, Cublas.bind(linker, lib, "cudnnGetConvolutionBackwardFilterAlgorithm_v7", findFd));
        // run(handle, alpha*, descA, a, descB, b, conv, algo, workspace, workspaceBytes, beta*, descC, c)
        FunctionDescriptor runFd = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS, JAVA_INT,
                JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG);
        run.put(Direction.FORWARD, Cublas.bind(linker, lib, "cudnnConvolutionForward", runFd));
        run.put(Direction.BACKWARD_DATA, Cublas.bind(linker, lib, "cudnnConvolutionBackwardData", runFd));
        run.put(Direction.BACKWARD_FILTER, Cublas.bind(linker, lib, "cudnnConvolutionBackwardFilter", runFd));
        MemorySegment out = arena.allocate(ADDRESS);
        check(Cublas.invoke(create, out), "cudnnCreate");
        handle = out.get(ADDRESS, 0);
        check(Cublas.invoke(setStream, handle, MemorySegment.NULL), "cudnnSetStream(default stream)");
    }

    /** How algorithms are chosen, for messages: "heuristic algorithms" or "timed algorithm search". */
    String choosing() { return search ? "timed algorithm search, -Dember.cudnn.search=true" : "heuristic algorithms"; }

    /** cuDNN from {@code finder}, or null with the reason in {@code why[0]}. */
    static Cudnn load(LibraryFinder finder, String[] why) {
        LibraryFinder.Result r = finder.find("libcudnn.so.9");
        if (!r.found()) {
            why[0] = r.describe();
            return null;
        }
        try {
            return new Cudnn(r.path());
        } catch (RuntimeException e) {
            why[0] = "cuDNN at " + r.path() + " does not load: " + e.getMessage();
            return null;
        }
    }

    /**
     * One convolution pass. FORWARD: c = y from a = x, b = w. BACKWARD_DATA: c = dx from a = w, b = dy.
     * BACKWARD_FILTER: c = dw from a = x, b = dy. Device addresses; {@code workspace} gives a block of at least
     * the returned choice's size (called with the size, returns the address).
     */
    synchronized void convolution(Direction dir, Shape x, Shape w, Shape y, Conv2dParams p, long a, long b, long c,
                                  java.util.function.LongUnaryOperator workspace) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment xd = tensor(call, x), yd = tensor(call, y), wd = filter(call, w), cd = conv(call, p);
            try {
                MemorySegment descA, descB, descC;
                switch (dir) {
                    case FORWARD -> { descA = xd; descB = wd; descC = yd; }
                    case BACKWARD_DATA -> { descA = wd; descB = yd; descC = xd; }
                    default -> { descA = xd; descB = yd; descC = wd; }
                }
                Choice choice = choices.computeIfAbsent(List.of(dir, x, w, y, p), key -> search(dir, call, descA, descB, cd, descC));
                long ws = choice.workspaceBytes() == 0 ? 0 : workspace.applyAsLong(choice.workspaceBytes());
                MemorySegment alpha = call.allocateFrom(JAVA_FLOAT, 1f), beta = call.allocateFrom(JAVA_FLOAT, 0f);
                check(Cublas.invoke(run.get(dir), handle, alpha, descA, a, descB, b, cd, choice.algorithm(), ws, choice.workspaceBytes(), beta, descC, c),
                        "cudnnConvolution " + dir + " " + x + " * " + w);
            } finally {
                Cublas.invoke(destroyTensor, xd);
                Cublas.invoke(destroyTensor, yd);
                Cublas.invoke(destroyFilter, wd);
                Cublas.invoke(destroyConv, cd);
            }
        }
    }

    private Choice search(Direction dir, Arena call, MemorySegment a, MemorySegment b, MemorySegment conv, MemorySegment c) {
        MemorySegment count = call.allocate(JAVA_INT), perf = call.allocate(PERF_SIZE * REQUESTED, 8);
        MethodHandle how = (search ? find : rank).get(dir);
        check(Cublas.invoke(how, handle, a, b, conv, c, REQUESTED, count, perf), (search ? "cudnnFind " : "cudnnGet_v7 ") + dir + " algorithm");
        // results come best first (fastest measured, or best ranked): take the first deterministic success
        for (int i = 0; i < count.get(JAVA_INT, 0); i++) {
            long at = i * PERF_SIZE;
            if (perf.get(JAVA_INT, at + PERF_STATUS) == 0 && perf.get(JAVA_INT, at + PERF_DETERMINISM) == DETERMINISTIC) {
                return new Choice(perf.get(JAVA_INT, at), perf.get(JAVA_LONG, at + PERF_MEMORY));
            }
        }
        throw new BackendException("cuda: cuDNN found no deterministic " + dir + " convolution algorithm");
    }

    private MemorySegment tensor(Arena call, Shape s) {
        MemorySegment out = call.allocate(ADDRESS);
        check(Cublas.invoke(createTensor, out), "cudnnCreateTensorDescriptor");
        MemorySegment d = out.get(ADDRESS, 0);
        check(Cublas.invoke(setTensor, d, NCHW, FLOAT, s.dim(0), s.dim(1), s.dim(2), s.dim(3)), "cudnnSetTensor4dDescriptor " + s);
        return d;
    }

    private MemorySegment filter(Arena call, Shape s) {
        MemorySegment out = call.allocate(ADDRESS);
        check(Cublas.invoke(createFilter, out), "cudnnCreateFilterDescriptor");
        MemorySegment d = out.get(ADDRESS, 0);
        check(Cublas.invoke(setFilter, d, FLOAT, NCHW, s.dim(0), s.dim(1), s.dim(2), s.dim(3)), "cudnnSetFilter4dDescriptor " + s);
        return d;
    }

    private MemorySegment conv(Arena call, Conv2dParams p) {
        MemorySegment out = call.allocate(ADDRESS);
        check(Cublas.invoke(createConv, out), "cudnnCreateConvolutionDescriptor");
        MemorySegment d = out.get(ADDRESS, 0);
        check(Cublas.invoke(setConv, d, p.padH(), p.padW(), p.strideH(), p.strideW(), p.dilationH(), p.dilationW(), CROSS_CORRELATION, FLOAT),
                "cudnnSetConvolution2dDescriptor " + p);
        check(Cublas.invoke(setGroups, d, p.groups()), "cudnnSetConvolutionGroupCount(" + p.groups() + ")");
        check(Cublas.invoke(setMath, d, FMA_MATH), "cudnnSetConvolutionMathType(FMA)");
        return d;
    }

    private static void check(int status, String call) {
        if (status != 0) throw new BackendException("cuda: " + call + " failed: cudnnStatus_t " + status);
    }
}
