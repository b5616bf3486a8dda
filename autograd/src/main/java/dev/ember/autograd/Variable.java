package dev.ember.autograd;

import dev.ember.engine.DType;
import dev.ember.engine.DTypeException;
import dev.ember.engine.EmberException;
import dev.ember.engine.Shape;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;

/**
 * A tensor that remembers how it was made, so gradients can flow back to it. {@code data} is the value,
 * {@code grad} the accumulated gradient (null until a backward pass reaches this leaf, and again after
 * {@link #zeroGrad()}).
 *
 * <p>Gradient convention, once for the whole module: backward ADDS into {@code grad} ({@code +=}), so gradients
 * accumulate across backward calls until {@link #zeroGrad()}. Only leaves (variables made by the constructor,
 * {@link #of} or {@link #param}) keep a {@code grad}; gradients of intermediate results live only during the
 * backward pass and are dropped as soon as they have been passed on.
 *
 * <p>Recording: an op records a graph node only when grad mode is on (no {@link NoGrad} scope is open on this
 * thread) and at least one input requires a gradient; otherwise its result is a plain constant.
 *
 * <p>Backward twice: the graph holds what its rules need for as long as the output variable is reachable, so
 * {@link #backward} may run again through the same graph; the second pass adds its gradients to the first.
 * The saved values are those of the forward pass: changing a leaf's data in between (an optimizer step) makes a
 * second pass use the old values.
 */
public final class Variable {
    private Tensor data;
    private Tensor grad;
    private boolean requiresGrad;
    private final Node node;   // null for a leaf

    public Variable(Tensor data, boolean requiresGrad) {
        this(data, requiresGrad, null);
    }

    private Variable(Tensor data, boolean requiresGrad, Node node) {
        if (data == null) throw new EmberException("variable data must not be null");
        if (requiresGrad && data.dtype() != DType.FLOAT32) {
            throw new DTypeException("only float32 variables can require a gradient, got " + data.dtype() + " tensor of shape " + data.shape());
        }
        this.data = data;
        this.requiresGrad = requiresGrad;
        this.node = node;
    }

    /** A constant: no gradient is tracked for it. */
    public static Variable of(Tensor data) { return new Variable(data, false); }

    /** A leaf that requires a gradient (a parameter or an input we differentiate with respect to). */
    public static Variable param(Tensor data) { return new Variable(data, true); }

    /**
     * The result of an op: records {@code backward} as its node when grad mode is on and some input requires a
     * gradient, else returns a constant.
     */
    static Variable fromOp(String op, Tensor out, Node.Backward backward, Variable... inputs) {
        if (recordsGradient(inputs)) return new Variable(out, true, new Node(op, inputs, backward));
        return new Variable(out, false, null);
    }

    /** Whether an op on {@code inputs} records a graph node: outside {@link NoGrad}, when any input requires a gradient. */
    static boolean recordsGradient(Variable... inputs) {
        if (NoGrad.isEnabled()) return false;
        for (Variable in : inputs) if (in != null && in.requiresGrad) return true;
        return false;
    }

    Node node() { return node; }

    // ---- value and gradient ----

    public Tensor data() { return data; }

    /** Replaces the value of a leaf (loading weights, moving to a device); shape must match. */
    public void setData(Tensor data) {
        if (node != null) throw new EmberException("setData on a variable made by " + node.op() + ": only leaves hold replaceable data");
        if (data == null) throw new EmberException("setData: data must not be null");
        if (!data.shape().equals(this.data.shape())) {
            throw new ShapeException("setData: new data " + data.shape() + " does not match the variable's shape " + this.data.shape());
        }
        if (requiresGrad && data.dtype() != DType.FLOAT32) {
            throw new DTypeException("setData: a variable that requires a gradient needs float32, got " + data.dtype());
        }
        this.data = data;
    }

    /** The accumulated gradient, contiguous float32 shaped like {@link #data()}, owned by this variable; or null. */
    public Tensor grad() { return grad; }

    /**
     * Sets (or clears, with null) the gradient, e.g. after clipping. The variable takes the tensor as its own:
     * later backward passes add into it in place. Non-contiguous tensors are copied first.
     */
    public void setGrad(Tensor grad) {
        if (grad == null) {
            this.grad = null;
            return;
        }
        if (!grad.shape().equals(data.shape())) {
            throw new ShapeException("setGrad: gradient " + grad.shape() + " does not match the variable's shape " + data.shape());
        }
        if (grad.dtype() != DType.FLOAT32) throw new DTypeException("setGrad: gradient must be float32, got " + grad.dtype());
        this.grad = grad.isContiguous() ? grad : grad.copy();
    }

    /** Forgets the gradient ({@link #grad()} is null until the next backward pass), as PyTorch's set_to_none. */
    public void zeroGrad() { grad = null; }

    /** Takes {@code g} as this leaf's gradient as it is; the backward pass calls it for a gradient only it holds. */
    void adoptGrad(Tensor g) {
        if (grad != null) throw new IllegalStateException("adoptGrad over an existing gradient");
        grad = g;
    }

    /** Adds one backward pass's contribution: the first one is copied so the gradient never aliases another tensor. */
    void accumulateGrad(Tensor g) {
        if (grad == null) grad = g.copy();
        else grad.backend().axpy(1f, g, grad);
    }

    public boolean requiresGrad() { return requiresGrad; }

    /** Switches gradient tracking of a leaf on or off (freezing); returns this variable. */
    public Variable requiresGrad(boolean on) {
        if (node != null) {
            throw new EmberException("requiresGrad(" + on + ") on a variable made by " + node.op() + ": only leaves can be switched; use detach()");
        }
        if (on && data.dtype() != DType.FLOAT32) throw new DTypeException("only float32 variables can require a gradient, got " + data.dtype());
        requiresGrad = on;
        return this;
    }

    public boolean isLeaf() { return node == null; }

    /** A constant sharing this variable's data, cut from the graph. */
    public Variable detach() { return new Variable(data, false, null); }

    public Shape shape() { return data.shape(); }
    public int dim(int axis) { return data.dim(axis); }
    public int rank() { return data.rank(); }
    public float item() { return data.item(); }

    // ---- backward ----

    /** Backpropagates from a one-element variable (seed gradient 1). */
    public void backward() {
        if (data.numel() != 1) {
            throw new ShapeException("backward() needs a one-element variable, got shape " + data.shape()
                    + "; pass a seed gradient to backward(seed)");
        }
        backward(data.scalarLike(1f).reshape(data.dims()));
    }

    /**
     * Backpropagates from a one-element variable, handing each leaf's gradient to {@code hook} as soon as the pass has
     * summed all of it (once every op that used the leaf has run its backward). A gradient the hook takes is neither
     * added to the leaf's {@code grad} nor held any longer: an optimizer can update the leaf there and then (see
     * {@code Optimizer.backwardAndStep}), so a step never holds every parameter's gradient at once. Leaves the hook
     * declines get theirs as {@link #backward()} gives it.
     */
    public void backward(LeafHook hook) {
        if (hook == null) throw new EmberException("backward: the leaf hook must not be null");
        if (data.numel() != 1) {
            throw new ShapeException("backward(hook) needs a one-element variable, got shape " + data.shape());
        }
        checkBackward();
        BackwardPass.run(this, data.scalarLike(1f).reshape(data.dims()), hook);
    }

    /** What {@link #backward(LeafHook)} hands each leaf's complete gradient to. */
    @FunctionalInterface
    public interface LeafHook {
        /**
         * {@code grad} is {@code leaf}'s whole gradient from this pass, shaped like it (possibly a view, valid only
         * during the call); returns whether the hook used it up (true) or the leaf should accumulate it (false).
         * Every op that reads {@code leaf}'s value in its backward has run, so the hook may change that value.
         */
        boolean take(Variable leaf, Tensor grad);
    }

    /** Backpropagates with the given seed gradient (same shape as this variable). */
    public void backward(Tensor seed) {
        checkBackward();
        if (!seed.shape().equals(data.shape())) {
            throw new ShapeException("backward seed " + seed.shape() + " does not match the variable's shape " + data.shape());
        }
        if (seed.dtype() != DType.FLOAT32) throw new DTypeException("backward seed must be float32, got " + seed.dtype());
        BackwardPass.run(this, seed, null);
    }

    private void checkBackward() {
        if (!requiresGrad) {
            throw new EmberException("backward on a variable that does not require a gradient"
                    + " (no input of its graph requires one, or it was made under NoGrad)");
        }
    }

    // ---- elementwise ----

    public Variable add(Variable o) { return ElementwiseOps.add(this, o); }
    public Variable sub(Variable o) { return ElementwiseOps.sub(this, o); }
    public Variable mul(Variable o) { return ElementwiseOps.mul(this, o); }
    public Variable div(Variable o) { return ElementwiseOps.div(this, o); }
    /** Elementwise max; where both are equal the gradient is split evenly, as in PyTorch. */
    public Variable maximum(Variable o) { return ElementwiseOps.maximum(this, o); }
    public Variable add(float v) { return ElementwiseOps.addScalar(this, v); }
    public Variable sub(float v) { return ElementwiseOps.addScalar(this, -v); }
    public Variable mul(float v) { return ElementwiseOps.mulScalar(this, v); }
    public Variable div(float v) { return ElementwiseOps.divScalar(this, v); }
    public Variable pow(float exponent) { return ElementwiseOps.pow(this, exponent); }
    public Variable neg() { return ElementwiseOps.neg(this); }
    public Variable exp() { return ElementwiseOps.exp(this); }
    public Variable log() { return ElementwiseOps.log(this); }
    public Variable sqrt() { return ElementwiseOps.sqrt(this); }
    /** |x|; the gradient at 0 is 0. */
    public Variable abs() { return ElementwiseOps.abs(this); }
    public Variable square() { return ElementwiseOps.square(this); }
    /** max(x, 0); the gradient at 0 is 0. */
    public Variable relu() { return ElementwiseOps.relu(this); }
    public Variable sigmoid() { return ElementwiseOps.sigmoid(this); }
    public Variable tanh() { return ElementwiseOps.tanh(this); }
    /** The exact (erf) GELU. */
    public Variable gelu() { return ElementwiseOps.gelu(this); }

    // ---- reductions ----

    /** Sum over {@code axes} (all axes when none given). */
    public Variable sum(int... axes) { return ReduceOps.sum(this, false, axes); }
    public Variable sum(boolean keepDims, int... axes) { return ReduceOps.sum(this, keepDims, axes); }
    public Variable mean(int... axes) { return ReduceOps.mean(this, false, axes); }
    public Variable mean(boolean keepDims, int... axes) { return ReduceOps.mean(this, keepDims, axes); }
    /** Largest element over {@code axes}; tied maxima share the gradient evenly (PyTorch's amax). */
    public Variable max(boolean keepDims, int... axes) { return ReduceOps.max(this, keepDims, axes); }
    public Variable softmax(int axis) { return ReduceOps.softmax(this, axis); }
    public Variable logSoftmax(int axis) { return ReduceOps.logSoftmax(this, axis); }

    // ---- movement ----

    public Variable reshape(int... dims) { return MovementOps.reshape(this, dims); }
    public Variable permute(int... perm) { return MovementOps.permute(this, perm); }
    public Variable transpose(int a, int b) {
        int[] perm = new int[rank()];
        for (int i = 0; i < perm.length; i++) perm[i] = i;
        int x = shape().axis(a), y = shape().axis(b);
        perm[x] = y;
        perm[y] = x;
        return permute(perm);
    }
    /** Merges axes {@code startAxis..end} into one: (N, C, H, W).flatten(1) is (N, C*H*W). */
    public Variable flatten(int startAxis) {
        int a = rank() == 0 ? 0 : shape().axis(startAxis);
        int[] d = new int[a + 1];
        for (int i = 0; i < a; i++) d[i] = dim(i);
        int rest = 1;
        for (int i = a; i < rank(); i++) rest *= dim(i);
        d[a] = rest;
        return reshape(d);
    }
    public Variable expand(int... dims) { return MovementOps.expand(this, dims); }
    public Variable slice(int axis, int start, int end, int step) { return MovementOps.slice(this, axis, start, end, step); }
    public Variable unsqueeze(int axis) { return reshape(data.unsqueeze(axis).dims()); }
    public Variable squeeze(int axis) { return reshape(data.squeeze(axis).dims()); }

    // ---- linear algebra ----

    /** Matrix product with NumPy semantics: 1-D operands are promoted and the added axis removed. */
    /** Joins {@code parts} along {@code axis} (other sizes equal); gradients go back as slices. */
    public static Variable cat(int axis, Variable... parts) {
        if (parts.length == 0) throw new ShapeException("cat needs at least one part");
        return MovementOps.cat(parts, axis);
    }

    /** Whole slices along {@code axis} in the order of {@code index} (repeats allowed); gradients add back. */
    public Variable indexSelect(int axis, int... index) { return MovementOps.indexSelect(this, axis, index); }

    public Variable matmul(Variable o) {
        if (rank() == 0 || o.rank() == 0) throw new ShapeException("matmul needs rank >= 1 operands, got " + shape() + " and " + o.shape());
        Variable a = rank() == 1 ? unsqueeze(0) : this;
        Variable b = o.rank() == 1 ? o.unsqueeze(1) : o;
        Variable c = LinalgOps.matmul(a, b);
        if (rank() == 1) c = c.squeeze(-2);
        if (o.rank() == 1) c = c.squeeze(-1);
        return c;
    }

    @Override public String toString() {
        String how = node != null ? " from " + node.op() : requiresGrad ? " (leaf, requires grad)" : "";
        return "Variable" + how + " " + data;
    }
}
