package dev.ember.kernels.cpu;

import dev.ember.engine.DType;
import dev.ember.engine.DTypeException;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/** In-place updates of a contiguous float32 destination: y += alpha*x, y *= alpha, y = value. */
final class CpuInPlace {
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    /** Elements per parallel chunk. */
    static final int GRAIN = 1 << 15;

    private CpuInPlace() {}

    static void axpy(float alpha, Tensor x, Tensor y) {
        float[] ys = destination("axpy y", y);
        sameShape("axpy x", x, y);
        Tensor xc = CpuCopy.contiguous(x);
        float[] xs = CpuCopy.floats(xc);
        int xo = xc.offset(), yo = y.offset();
        FloatVector va = FloatVector.broadcast(SPECIES, alpha);
        Parallel.forRange(y.numel(), GRAIN, (lo, hi) -> {
            int i = lo;
            for (int bound = lo + SPECIES.loopBound(hi - lo); i < bound; i += SPECIES.length()) {
                FloatVector.fromArray(SPECIES, xs, xo + i).fma(va, FloatVector.fromArray(SPECIES, ys, yo + i)).intoArray(ys, yo + i);
            }
            for (; i < hi; i++) ys[yo + i] = Math.fma(xs[xo + i], alpha, ys[yo + i]);
        });
    }

    static void scale(Tensor y, float alpha) {
        float[] ys = destination("scale y", y);
        int yo = y.offset();
        Parallel.forRange(y.numel(), GRAIN, (lo, hi) -> {
            int i = lo;
            for (int bound = lo + SPECIES.loopBound(hi - lo); i < bound; i += SPECIES.length()) {
                FloatVector.fromArray(SPECIES, ys, yo + i).mul(alpha).intoArray(ys, yo + i);
            }
            for (; i < hi; i++) ys[yo + i] *= alpha;
        });
    }

    static void fill(Tensor y, float value) {
        float[] ys = destination("fill y", y);
        Arrays.fill(ys, y.offset(), y.offset() + y.numel(), value);
    }

    /** The float array behind an in-place destination, which must be contiguous float32 on the CPU. */
    static float[] destination(String what, Tensor t) {
        if (t.dtype() != DType.FLOAT32) throw new DTypeException(what + " must be float32, got " + t.dtype());
        if (!t.isContiguous()) throw new ShapeException(what + " must be contiguous, got a view of " + t.shape() + " with strides " + Arrays.toString(t.strides()));
        return CpuCopy.floats(t);
    }

    static void sameShape(String what, Tensor t, Tensor like) {
        if (!t.shape().equals(like.shape())) throw new ShapeException(what + " has shape " + t.shape() + ", expected " + like.shape());
    }
}
