package dev.ember.kernels.cpu;

import dev.ember.engine.BufferPool;
import dev.ember.engine.CpuStorage;
import dev.ember.engine.DType;
import dev.ember.engine.DTypeException;
import dev.ember.engine.Shape;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;

import java.util.Arrays;

/** float32 one-hot rows (..., classes) from int32/int64 labels; the first label outside [0, classes) is an error. */
final class CpuOneHot {
    private CpuOneHot() {}

    static Tensor oneHot(Tensor labels, int classes) {
        if (labels.dtype() != DType.INT32 && labels.dtype() != DType.INT64) throw new DTypeException("oneHot needs int32/int64 labels, got " + labels.dtype());
        Tensor c = CpuCopy.contiguous(labels);
        CpuStorage s = CpuCopy.storage(c);
        int n = labels.numel(), at = c.offset();
        float[] y = BufferPool.zeroed(Math.multiplyExact(n, classes));   // y (..., classes)
        for (int i = 0; i < n; i++) {
            long label = CpuCopy.getLong(s, at + i);
            if (label < 0 || label >= classes) {
                throw new ShapeException("oneHot: label " + label + " at position " + Arrays.toString(position(labels.dims(), i))
                        + " of labels " + labels.shape() + " is outside [0, " + classes + ")");
            }
            y[i * classes + (int) label] = 1f;
        }
        int[] dims = Arrays.copyOf(labels.dims(), labels.rank() + 1);
        dims[labels.rank()] = classes;
        return Tensor.of(CpuStorage.wrap(y), Shape.of(dims));
    }

    /** The multi-index of row-major element {@code flat}. */
    private static int[] position(int[] dims, int flat) {
        int[] idx = new int[dims.length];
        for (int i = dims.length - 1; i >= 0; i--) {
            idx[i] = flat % dims[i];
            flat /= dims[i];
        }
        return idx;
    }
}
