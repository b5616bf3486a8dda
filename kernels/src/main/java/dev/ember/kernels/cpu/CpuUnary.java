package dev.ember.kernels.cpu;

import dev.ember.engine.BufferPool;
import dev.ember.engine.CpuStorage;
import dev.ember.engine.Tensor;
import dev.ember.engine.UnaryOp;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * y = op(x) for every {@link UnaryOp}: a vector loop per op and a scalar tail with the same math. A strided
 * input is made contiguous first. exp, sigmoid, erf and GELU go through {@link CpuMath}, so results do not depend
 * on whether a loop is compiled yet; LOG and TANH run lane by lane through {@link StrictMath} for the same reason.
 */
final class CpuUnary {
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    /** Elements per parallel chunk. */
    private static final int GRAIN = 1 << 14;
    private static final float INV_SQRT_2PI = (float) (1 / Math.sqrt(2 * Math.PI));

    private CpuUnary() {}

    static Tensor apply(UnaryOp op, Tensor x) {
        Tensor c = CpuCopy.contiguous(x);
        float[] xs = CpuCopy.floats(c);   // x (numel) from offset xo
        int xo = c.offset();
        float[] y = BufferPool.uninitialized(x.numel());   // every element written
        Parallel.forRange(y.length, GRAIN, (lo, hi) -> run(op, xs, xo, y, lo, hi));
        return Tensor.of(CpuStorage.wrap(y), x.shape());
    }

    /** y[i] = op(x[xo + i]) for i in [lo, hi): vector body, scalar tail. */
    static void run(UnaryOp op, float[] x, int xo, float[] y, int lo, int hi) {
        // one loop per op, each passing only arrays to its helpers (see CpuMath on why no vector crosses a call)
        int end = lo + SPECIES.loopBound(hi - lo);
        int i = switch (op) {
            case NEG -> neg(x, xo, y, lo, end);
            case ABS -> abs(x, xo, y, lo, end);
            case SQUARE -> square(x, xo, y, lo, end);
            case SQRT -> sqrt(x, xo, y, lo, end);
            case RECIPROCAL -> reciprocal(x, xo, y, lo, end);
            case EXP -> exp(x, xo, y, lo, end);
            case LOG, TANH -> lo;   // lane by lane through StrictMath
            case RELU -> relu(x, xo, y, lo, end);
            case STEP -> step(x, xo, y, lo, end);
            case SIGN -> sign(x, xo, y, lo, end);
            case SIGMOID -> sigmoid(x, xo, y, lo, end);
            case ERF -> erf(x, xo, y, lo, end);
            case GELU -> gelu(x, xo, y, lo, end);
            case GELU_GRAD -> geluGrad(x, xo, y, lo, end);
        };
        for (; i < hi; i++) y[i] = scalar(op, x[xo + i]);
    }

    // Each loop covers [lo, end), a whole number of vectors, and returns end.

    private static int neg(float[] x, int xo, float[] y, int lo, int end) {
        for (int i = lo; i < end; i += SPECIES.length()) FloatVector.fromArray(SPECIES, x, xo + i).neg().intoArray(y, i);
        return end;
    }

    private static int abs(float[] x, int xo, float[] y, int lo, int end) {
        for (int i = lo; i < end; i += SPECIES.length()) FloatVector.fromArray(SPECIES, x, xo + i).abs().intoArray(y, i);
        return end;
    }

    private static int square(float[] x, int xo, float[] y, int lo, int end) {
        for (int i = lo; i < end; i += SPECIES.length()) {
            FloatVector v = FloatVector.fromArray(SPECIES, x, xo + i);
            v.mul(v).intoArray(y, i);
        }
        return end;
    }

    private static int sqrt(float[] x, int xo, float[] y, int lo, int end) {
        for (int i = lo; i < end; i += SPECIES.length()) FloatVector.fromArray(SPECIES, x, xo + i).sqrt().intoArray(y, i);
        return end;
    }

    private static int reciprocal(float[] x, int xo, float[] y, int lo, int end) {
        FloatVector one = FloatVector.broadcast(SPECIES, 1f);
        for (int i = lo; i < end; i += SPECIES.length()) one.div(FloatVector.fromArray(SPECIES, x, xo + i)).intoArray(y, i);
        return end;
    }

    private static int exp(float[] x, int xo, float[] y, int lo, int end) {
        CpuMath.exp(x, xo + lo, y, lo, end - lo);
        return end;
    }

    private static int relu(float[] x, int xo, float[] y, int lo, int end) {
        for (int i = lo; i < end; i += SPECIES.length()) FloatVector.fromArray(SPECIES, x, xo + i).max(0f).intoArray(y, i);
        return end;
    }

    private static int step(float[] x, int xo, float[] y, int lo, int end) {
        FloatVector zero = FloatVector.zero(SPECIES);
        for (int i = lo; i < end; i += SPECIES.length()) {
            zero.blend(1f, FloatVector.fromArray(SPECIES, x, xo + i).compare(VectorOperators.GT, 0f)).intoArray(y, i);
        }
        return end;
    }

    /** Keeps 0, -0 and NaN as they are, like Math.signum. */
    private static int sign(float[] x, int xo, float[] y, int lo, int end) {
        for (int i = lo; i < end; i += SPECIES.length()) {
            FloatVector v = FloatVector.fromArray(SPECIES, x, xo + i);
            v.blend(1f, v.compare(VectorOperators.GT, 0f)).blend(-1f, v.compare(VectorOperators.LT, 0f)).intoArray(y, i);
        }
        return end;
    }

    /** 1 / (1 + e^-x): -x into y, e^ in place, then the reciprocal. */
    private static int sigmoid(float[] x, int xo, float[] y, int lo, int end) {
        neg(x, xo, y, lo, end);
        CpuMath.exp(y, lo, y, lo, end - lo);
        FloatVector one = FloatVector.broadcast(SPECIES, 1f);
        for (int i = lo; i < end; i += SPECIES.length()) one.div(one.add(FloatVector.fromArray(SPECIES, y, i))).intoArray(y, i);
        return end;
    }

    private static int erf(float[] x, int xo, float[] y, int lo, int end) {
        CpuMath.erf(x, xo + lo, y, lo, end - lo);
        return end;
    }

    /** x * Phi(x): Phi into y, then times x. */
    private static int gelu(float[] x, int xo, float[] y, int lo, int end) {
        CpuMath.normalCdf(x, xo + lo, y, lo, end - lo);
        for (int i = lo; i < end; i += SPECIES.length()) {
            FloatVector.fromArray(SPECIES, x, xo + i).mul(FloatVector.fromArray(SPECIES, y, i)).intoArray(y, i);
        }
        return end;
    }

    /** Phi(x) + x * phi(x), phi(x) = e^(-x^2/2) / sqrt(2 pi): Phi into y, then the second term added. */
    private static int geluGrad(float[] x, int xo, float[] y, int lo, int end) {
        CpuMath.normalCdf(x, xo + lo, y, lo, end - lo);
        float[] density = new float[end - lo];   // e^(-x^2/2)
        for (int i = lo; i < end; i += SPECIES.length()) {
            FloatVector v = FloatVector.fromArray(SPECIES, x, xo + i);
            v.mul(v).mul(-0.5f).intoArray(density, i - lo);
        }
        CpuMath.exp(density, 0, density, 0, density.length);
        for (int i = lo; i < end; i += SPECIES.length()) {
            FloatVector v = FloatVector.fromArray(SPECIES, x, xo + i);
            FloatVector.fromArray(SPECIES, y, i).add(v.mul(FloatVector.fromArray(SPECIES, density, i - lo)).mul(INV_SQRT_2PI)).intoArray(y, i);
        }
        return end;
    }

    static float scalar(UnaryOp op, float v) {
        return switch (op) {
            case NEG -> -v;
            case ABS -> Math.abs(v);
            case SQUARE -> v * v;
            case SQRT -> (float) Math.sqrt(v);
            case RECIPROCAL -> 1f / v;
            case EXP -> CpuMath.exp(v);
            case LOG -> (float) StrictMath.log(v);
            case RELU -> Math.max(v, 0f);
            case STEP -> v > 0 ? 1f : 0f;
            case SIGN -> Math.signum(v);
            case SIGMOID -> 1f / (1f + CpuMath.exp(-v));
            case TANH -> (float) StrictMath.tanh(v);
            case ERF -> CpuMath.erf(v);
            case GELU -> v * CpuMath.normalCdf(v);
            case GELU_GRAD -> CpuMath.normalCdf(v) + v * CpuMath.exp(v * v * -0.5f) * INV_SQRT_2PI;
        };
    }
}
