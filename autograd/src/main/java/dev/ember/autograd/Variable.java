package dev.ember.autograd;

import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;

/**
 * A tensor that remembers how it was made, so gradients can flow back to it. {@code data} is the value,
 * {@code grad} the accumulated gradient of the last {@link #backward} (null until then).
 * Gradient convention: backward ADDS into {@code grad} ({@code +=}), so gradients accumulate across calls
 * until {@link #zeroGrad()}.
 *
 * <p>(Skeleton: signatures fixed, bodies being written.)
 */
public final class Variable {
    public Variable(Tensor data, boolean requiresGrad) { throw todo(); }

    /** A constant: no gradient is tracked for it. */
    public static Variable of(Tensor data) { throw todo(); }

    /** A leaf that requires a gradient (a parameter or an input we differentiate with respect to). */
    public static Variable param(Tensor data) { throw todo(); }

    public Tensor data() { throw todo(); }
    /** Replaces the value in place of a leaf (loading weights); shape must match. */
    public void setData(Tensor data) { throw todo(); }
    public Tensor grad() { throw todo(); }
    public void setGrad(Tensor grad) { throw todo(); }
    public void zeroGrad() { throw todo(); }
    public boolean requiresGrad() { throw todo(); }
    public Variable requiresGrad(boolean on) { throw todo(); }
    public boolean isLeaf() { throw todo(); }
    public Variable detach() { throw todo(); }
    public Shape shape() { throw todo(); }
    public int dim(int axis) { throw todo(); }
    public int rank() { throw todo(); }
    public float item() { throw todo(); }

    /** Backpropagates from a one-element variable (seed gradient 1). */
    public void backward() { throw todo(); }
    /** Backpropagates with the given seed gradient (same shape as this variable). */
    public void backward(Tensor seed) { throw todo(); }

    public Variable add(Variable o) { throw todo(); }
    public Variable sub(Variable o) { throw todo(); }
    public Variable mul(Variable o) { throw todo(); }
    public Variable div(Variable o) { throw todo(); }
    public Variable maximum(Variable o) { throw todo(); }
    public Variable add(float v) { throw todo(); }
    public Variable sub(float v) { throw todo(); }
    public Variable mul(float v) { throw todo(); }
    public Variable div(float v) { throw todo(); }
    public Variable pow(float exponent) { throw todo(); }
    public Variable neg() { throw todo(); }
    public Variable exp() { throw todo(); }
    public Variable log() { throw todo(); }
    public Variable sqrt() { throw todo(); }
    public Variable abs() { throw todo(); }
    public Variable square() { throw todo(); }
    public Variable relu() { throw todo(); }
    public Variable sigmoid() { throw todo(); }
    public Variable tanh() { throw todo(); }
    public Variable gelu() { throw todo(); }
    public Variable sum(int... axes) { throw todo(); }
    public Variable sum(boolean keepDims, int... axes) { throw todo(); }
    public Variable mean(int... axes) { throw todo(); }
    public Variable mean(boolean keepDims, int... axes) { throw todo(); }
    public Variable max(boolean keepDims, int... axes) { throw todo(); }
    public Variable reshape(int... dims) { throw todo(); }
    public Variable permute(int... perm) { throw todo(); }
    public Variable transpose(int a, int b) { throw todo(); }
    public Variable flatten(int startAxis) { throw todo(); }
    public Variable expand(int... dims) { throw todo(); }
    public Variable slice(int axis, int start, int end, int step) { throw todo(); }
    public Variable unsqueeze(int axis) { throw todo(); }
    public Variable squeeze(int axis) { throw todo(); }
    public Variable matmul(Variable o) { throw todo(); }
    public Variable softmax(int axis) { throw todo(); }
    public Variable logSoftmax(int axis) { throw todo(); }

    private static UnsupportedOperationException todo() { return new UnsupportedOperationException("autograd is being written"); }
}
