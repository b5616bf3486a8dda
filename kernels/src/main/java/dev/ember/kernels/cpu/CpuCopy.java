package dev.ember.kernels.cpu;

import dev.ember.engine.BackendException;
import dev.ember.engine.BufferPool;
import dev.ember.engine.CpuStorage;
import dev.ember.engine.DType;
import dev.ember.engine.Shape;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;

/**
 * Strided copies with dtype conversion: float to integer truncates toward zero, integer narrowing wraps, uint8 is
 * read unsigned. Float-to-float runs with unit strides become {@link System#arraycopy}.
 */
final class CpuCopy {
    /** Elements per parallel chunk: a copy is memory-bound, so only large ones are worth splitting. */
    private static final int GRAIN = 1 << 16;
    /**
     * Elements per chunk of a copy in short or strided runs, where each element costs several times a streamed one:
     * resnet18's bias gradients at 2x2 pixels permute (N, C, 4) to (C, N, 4) in runs of 4, 32k elements in ~0.2 ms
     * on one thread, five times a training step, while the other core waited.
     */
    private static final int SHORT_RUN_GRAIN = 1 << 13;
    /** Runs shorter than this, or strided, take {@link #SHORT_RUN_GRAIN}. */
    private static final int SHORT_RUN = 64;

    private CpuCopy() {}

    static Tensor zeros(DType dtype, Shape shape) {
        return Tensor.of(CpuStorage.allocate(dtype, shape.numel()), shape);
    }

    static void copyInto(Tensor src, Tensor dst) {
        if (!src.shape().equals(dst.shape())) throw new ShapeException("copyInto: source " + src.shape() + " and destination " + dst.shape() + " differ");
        CpuStorage from = storage(src), to = storage(dst);
        StridedWalk walk = new StridedWalk(dst.dims(), new int[][] {dst.strides(), src.strides()}, new int[] {dst.offset(), src.offset()});
        int ds = walk.innerStride(0), ss = walk.innerStride(1);
        int grain = ds == 1 && ss == 1 && walk.runLength() >= SHORT_RUN ? GRAIN : SHORT_RUN_GRAIN;
        Parallel.forRange(walk.numel(), grain, (lo, hi) ->
                walk.forEachRun(lo, hi, (off, n) -> copyRun(from, off[1], ss, to, off[0], ds, n)));
    }

    /**
     * A contiguous copy of {@code t}. Its float array comes unzeroed (from the pool in a scope), since the copy writes
     * every element: resnet18's gradient copies were zeroed on the calling thread while the others waited.
     */
    static Tensor copy(Tensor t) {
        Tensor out = t.dtype() == DType.FLOAT32
                ? Tensor.of(CpuStorage.wrap(BufferPool.uninitialized(t.numel())), t.shape())
                : zeros(t.dtype(), t.shape());
        copyInto(t, out);
        return out;
    }

    /** {@code t} itself when contiguous, else a contiguous copy. */
    static Tensor contiguous(Tensor t) { return t.isContiguous() ? t : copy(t); }

    /** The CPU storage behind {@code t}, or an error naming the device it is on. */
    static CpuStorage storage(Tensor t) {
        if (!(t.storage() instanceof CpuStorage c)) throw new BackendException("the CPU backend needs CPU tensors, got one on " + t.device());
        return c;
    }

    /** The float array behind a float32 CPU tensor. */
    static float[] floats(Tensor t) { return storage(t).floats(); }

    private static void copyRun(CpuStorage from, int s0, int ss, CpuStorage to, int d0, int ds, int n) {
        if (to.dtype() == DType.FLOAT32) {
            float[] d = to.floats();
            switch (from.dtype()) {
                case FLOAT32 -> {
                    float[] s = from.floats();
                    if (ss == 1 && ds == 1) System.arraycopy(s, s0, d, d0, n);
                    else for (int i = 0; i < n; i++) d[d0 + i * ds] = s[s0 + i * ss];
                }
                case INT32 -> { int[] s = from.ints(); for (int i = 0; i < n; i++) d[d0 + i * ds] = s[s0 + i * ss]; }
                case INT64 -> { long[] s = from.longs(); for (int i = 0; i < n; i++) d[d0 + i * ds] = s[s0 + i * ss]; }
                case UINT8 -> { byte[] s = from.bytes(); for (int i = 0; i < n; i++) d[d0 + i * ds] = s[s0 + i * ss] & 0xFF; }
                case BOOL -> { byte[] s = from.bytes(); for (int i = 0; i < n; i++) d[d0 + i * ds] = s[s0 + i * ss]; }
            }
        } else if (from.dtype() == DType.FLOAT32) {
            for (int i = 0; i < n; i++) to.setDouble(d0 + i * ds, from.getDouble(s0 + i * ss));
        } else {
            // integer to integer through long, so int64 values above 2^53 survive
            for (int i = 0; i < n; i++) setLong(to, d0 + i * ds, getLong(from, s0 + i * ss));
        }
    }

    static long getLong(CpuStorage s, int i) {
        return switch (s.dtype()) {
            case INT32 -> s.ints()[i];
            case INT64 -> s.longs()[i];
            case UINT8 -> s.bytes()[i] & 0xFF;
            case BOOL -> s.bytes()[i];
            case FLOAT32 -> (long) s.floats()[i];
        };
    }

    private static void setLong(CpuStorage s, int i, long v) {
        switch (s.dtype()) {
            case INT32 -> s.ints()[i] = (int) v;
            case INT64 -> s.longs()[i] = v;
            case UINT8 -> s.bytes()[i] = (byte) v;
            case BOOL -> s.bytes()[i] = (byte) (v != 0 ? 1 : 0);
            case FLOAT32 -> s.floats()[i] = v;
        }
    }
}
