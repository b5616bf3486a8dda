package dev.ember.engine;

import java.util.Arrays;

/**
 * An n-dimensional array: a view (shape, strides, offset) into a {@link Storage} of one {@link DType} on one
 * {@link Device}. Views ({@link #reshape}, {@link #permute}, {@link #slice}, {@link #expand}, {@link #squeeze})
 * share storage and never copy; every computing method dispatches through the device's {@link Backend} and
 * returns a new contiguous tensor. Tensors carry no gradient: differentiation lives in the autograd module.
 *
 * <p>Element writes ({@link #set}) are for building inputs; tensors produced by ops are treated as values.
 */
public final class Tensor {
    private final Storage storage;
    private final Shape shape;
    private final int[] strides;
    private final int offset;

    private Tensor(Storage storage, Shape shape, int[] strides, int offset) {
        this.storage = storage;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
    }

    // ---- construction ----

    /** A view into {@code storage}; the caller (a backend) guarantees every addressed element is inside it. */
    public static Tensor view(Storage storage, Shape shape, int[] strides, int offset) {
        if (strides.length != shape.rank()) throw new ShapeException("strides " + Arrays.toString(strides) + " do not match shape " + shape);
        if (shape.numel() > 0) {
            long lo = offset, hi = offset;
            for (int i = 0; i < strides.length; i++) {
                long span = (long) strides[i] * (shape.dim(i) - 1);
                if (span < 0) lo += span; else hi += span;
            }
            if (lo < 0 || hi >= storage.size()) {
                throw new ShapeException("view " + shape + " strides " + Arrays.toString(strides) + " offset " + offset
                        + " reaches outside a storage of " + storage.size() + " elements");
            }
        }
        return new Tensor(storage, shape, strides, offset);
    }

    /** A contiguous tensor over {@code storage} (sizes must agree). */
    public static Tensor of(Storage storage, Shape shape) {
        if (storage.size() != shape.numel()) throw new ShapeException("storage of " + storage.size() + " elements does not fit shape " + shape);
        return new Tensor(storage, shape, shape.contiguousStrides(), 0);
    }

    /** float32 tensor over {@code data} (not copied) with the given shape. */
    public static Tensor of(float[] data, int... dims) { return of(CpuStorage.wrap(data), Shape.of(dims)); }

    public static Tensor ofInts(int[] data, int... dims) { return of(CpuStorage.wrap(data), Shape.of(dims)); }

    public static Tensor ofLongs(long[] data, int... dims) { return of(CpuStorage.wrap(data), Shape.of(dims)); }

    public static Tensor ofBytes(byte[] data, int... dims) { return of(CpuStorage.wrap(data), Shape.of(dims)); }

    public static Tensor scalar(float v) { return of(new float[] {v}); }

    public static Tensor zeros(int... dims) { return zeros(DType.FLOAT32, Shape.of(dims)); }

    public static Tensor zeros(DType dtype, Shape shape) { return of(CpuStorage.allocate(dtype, shape.numel()), shape); }

    public static Tensor full(float value, int... dims) {
        float[] a = new float[Shape.of(dims).numel()];
        Arrays.fill(a, value);
        return of(a, dims);
    }

    public static Tensor ones(int... dims) { return full(1f, dims); }

    /** Standard normal samples from {@code rng}, scaled by {@code std}. */
    public static Tensor randn(Rng rng, float std, int... dims) {
        float[] a = new float[Shape.of(dims).numel()];
        for (int i = 0; i < a.length; i++) a[i] = (float) (rng.nextGaussian() * std);
        return of(a, dims);
    }

    /** Uniform samples in [lo, hi) from {@code rng}. */
    public static Tensor rand(Rng rng, float lo, float hi, int... dims) {
        float[] a = new float[Shape.of(dims).numel()];
        for (int i = 0; i < a.length; i++) a[i] = (float) (lo + (hi - lo) * rng.nextDouble());
        return of(a, dims);
    }

    // ---- metadata ----

    public Shape shape() { return shape; }
    public int[] dims() { return shape.dims(); }
    public int dim(int axis) { return shape.dim(axis); }
    public int rank() { return shape.rank(); }
    public int numel() { return shape.numel(); }
    public DType dtype() { return storage.dtype(); }
    public Device device() { return storage.device(); }
    public Storage storage() { return storage; }
    public int[] strides() { return strides.clone(); }
    public int stride(int axis) { return strides[shape.axis(axis)]; }
    public int offset() { return offset; }
    public Backend backend() { return Backends.of(device()); }

    /** Row-major with no gaps (offset may be non-zero). Size-1 axes may have any stride. */
    public boolean isContiguous() {
        int expect = 1;
        for (int i = shape.rank() - 1; i >= 0; i--) {
            int d = shape.dim(i);
            if (d != 1 && strides[i] != expect) return false;
            expect *= d;
        }
        return true;
    }

    // ---- views (no copy) ----

    /** Same elements, new shape; one size may be -1 (inferred). A view when contiguous, else a copy. */
    public Tensor reshape(int... newDims) {
        int[] d = newDims.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < d.length; i++) {
            if (d[i] == -1) {
                if (infer >= 0) throw new ShapeException("reshape " + shape + " to " + Arrays.toString(newDims) + ": only one size may be -1");
                infer = i;
            } else {
                if (d[i] < 0) throw new ShapeException("reshape " + shape + " to " + Arrays.toString(newDims) + ": negative size");
                known *= d[i];
            }
        }
        if (infer >= 0) {
            if (known == 0 || numel() % known != 0) throw new ShapeException("cannot reshape " + shape + " (" + numel() + " elements) to " + Arrays.toString(newDims));
            d[infer] = (int) (numel() / known);
        }
        Shape s = Shape.of(d);
        if (s.numel() != numel()) throw new ShapeException("cannot reshape " + shape + " (" + numel() + " elements) to " + s + " (" + s.numel() + ")");
        Tensor c = contiguous();
        return new Tensor(c.storage, s, s.contiguousStrides(), c.offset);
    }

    /** Reorders axes: result axis i is this tensor's axis {@code perm[i]}. */
    public Tensor permute(int... perm) {
        if (perm.length != rank()) throw new ShapeException("permute " + Arrays.toString(perm) + " does not match rank of " + shape);
        int[] d = new int[perm.length], s = new int[perm.length];
        boolean[] seen = new boolean[perm.length];
        for (int i = 0; i < perm.length; i++) {
            int a = shape.axis(perm[i]);
            if (seen[a]) throw new ShapeException("permute " + Arrays.toString(perm) + " repeats axis " + a);
            seen[a] = true;
            d[i] = shape.dim(a);
            s[i] = strides[a];
        }
        return new Tensor(storage, Shape.of(d), s, offset);
    }

    public Tensor transpose(int a, int b) {
        int[] perm = new int[rank()];
        for (int i = 0; i < perm.length; i++) perm[i] = i;
        int x = shape.axis(a), y = shape.axis(b);
        perm[x] = y;
        perm[y] = x;
        return permute(perm);
    }

    /** Swaps the last two axes. */
    public Tensor mT() {
        if (rank() < 2) throw new ShapeException("mT needs rank >= 2, got " + shape);
        return transpose(-2, -1);
    }

    /** Elements {@code start, start+step, ...} below {@code end} along {@code axis}; bounds clamp as in Python. */
    public Tensor slice(int axis, int start, int end, int step) {
        int a = shape.axis(axis);
        if (step < 1) throw new ShapeException("slice step must be >= 1, got " + step);
        int n = shape.dim(a);
        int lo = Math.clamp(start < 0 ? start + n : start, 0, n);
        int hi = Math.clamp(end < 0 ? end + n : end, 0, n);
        int len = hi > lo ? (hi - lo + step - 1) / step : 0;
        int[] d = shape.dims(), s = strides.clone();
        d[a] = len;
        s[a] = strides[a] * step;
        return new Tensor(storage, Shape.of(d), s, len == 0 ? offset : offset + lo * strides[a]);
    }

    public Tensor slice(int axis, int start, int end) { return slice(axis, start, end, 1); }

    /** Broadcasts to {@code newDims} (NumPy rules; -1 keeps a size) with stride 0 on repeated axes. */
    public Tensor expand(int... newDims) {
        int r = newDims.length;
        if (r < rank()) throw new ShapeException("cannot expand " + shape + " to fewer axes " + Arrays.toString(newDims));
        int[] d = new int[r], s = new int[r];
        for (int i = 0; i < r; i++) {
            int j = i - (r - rank());
            int have = j >= 0 ? shape.dim(j) : 1;
            int want = newDims[i] == -1 ? have : newDims[i];
            if (j < 0 && newDims[i] == -1) throw new ShapeException("expand " + shape + " to " + Arrays.toString(newDims) + ": -1 on a new axis");
            if (have == want) {
                d[i] = have;
                s[i] = j >= 0 ? strides[j] : 0;
            } else if (have == 1) {
                d[i] = want;
                s[i] = 0;
            } else {
                throw new ShapeException("cannot expand " + shape + " to " + Arrays.toString(newDims) + ": axis " + i + " has size " + have);
            }
        }
        return new Tensor(storage, Shape.of(d), s, offset);
    }

    public Tensor expand(Shape target) { return expand(target.dims()); }

    /** Removes axis {@code axis}, which must have size 1. */
    public Tensor squeeze(int axis) {
        int a = shape.axis(axis);
        if (shape.dim(a) != 1) throw new ShapeException("cannot squeeze axis " + axis + " of " + shape + ": size is " + shape.dim(a));
        return new Tensor(storage, Shape.of(remove(shape.dims(), a)), remove(strides, a), offset);
    }

    /** Removes every axis of size 1. */
    public Tensor squeeze() {
        Tensor t = this;
        for (int i = rank() - 1; i >= 0; i--) if (shape.dim(i) == 1) t = t.squeeze(i);
        return t;
    }

    /** Inserts a size-1 axis at position {@code axis} (0..rank; negative counts from the end of the result). */
    public Tensor unsqueeze(int axis) {
        int a = axis < 0 ? axis + rank() + 1 : axis;
        if (a < 0 || a > rank()) throw new ShapeException("unsqueeze axis " + axis + " is out of range for " + shape);
        int[] d = new int[rank() + 1], s = new int[rank() + 1];
        for (int i = 0, j = 0; i < d.length; i++) {
            if (i == a) {
                d[i] = 1;
                s[i] = j < rank() ? strides[j] * shape.dim(j) : 1;
            } else {
                d[i] = shape.dim(j);
                s[i] = strides[j++];
            }
        }
        return new Tensor(storage, Shape.of(d), s, offset);
    }

    /** Merges axes {@code startAxis..end} into one: (N, C, H, W).flatten(1) is (N, C*H*W). */
    public Tensor flatten(int startAxis) {
        int a = rank() == 0 ? 0 : shape.axis(startAxis);
        int[] d = new int[a + 1];
        for (int i = 0; i < a; i++) d[i] = shape.dim(i);
        int rest = 1;
        for (int i = a; i < rank(); i++) rest *= shape.dim(i);
        d[a] = rest;
        return reshape(d);
    }

    private static int[] remove(int[] a, int i) {
        int[] r = new int[a.length - 1];
        System.arraycopy(a, 0, r, 0, i);
        System.arraycopy(a, i + 1, r, i, a.length - i - 1);
        return r;
    }

    // ---- copies and conversion ----

    /** This tensor when contiguous, else a contiguous copy. */
    public Tensor contiguous() { return isContiguous() ? this : copy(); }

    /** A new contiguous tensor with the same elements. */
    public Tensor copy() { return backend().copy(this); }

    /** Converts the element type (float to integer truncates toward zero). */
    public Tensor to(DType dtype) {
        if (dtype == dtype()) return this;
        Tensor out = backend().zeros(dtype, shape);
        backend().copyInto(this, out);
        return out;
    }

    /** This tensor on {@code device} (itself when already there). */
    public Tensor to(Device device) {
        if (device.equals(device())) return this;
        Tensor host = backend().toHost(this);
        return Backends.of(device).fromHost(host);
    }

    /** Writes {@code src} into this view (same shape, or broadcastable to it). */
    public void copyFrom(Tensor src) {
        sameDevice(src);
        Tensor s = src.shape.equals(shape) ? src : src.expand(shape);
        backend().copyInto(s, this);
    }

    /** All elements as a new float array in row-major order. */
    public float[] toFloatArray() {
        Tensor h = hostContiguous(DType.FLOAT32);
        float[] a = ((CpuStorage) h.storage).floats();
        return h.offset == 0 && a.length == numel() ? (h == this ? a.clone() : a) : Arrays.copyOfRange(a, h.offset, h.offset + numel());
    }

    public int[] toIntArray() {
        Tensor h = hostContiguous(DType.INT32);
        int[] a = ((CpuStorage) h.storage).ints();
        return h.offset == 0 && a.length == numel() ? (h == this ? a.clone() : a) : Arrays.copyOfRange(a, h.offset, h.offset + numel());
    }

    public long[] toLongArray() {
        Tensor h = hostContiguous(DType.INT64);
        long[] a = ((CpuStorage) h.storage).longs();
        return h.offset == 0 && a.length == numel() ? (h == this ? a.clone() : a) : Arrays.copyOfRange(a, h.offset, h.offset + numel());
    }

    private Tensor hostContiguous(DType want) {
        Tensor t = device().kind() == Device.Kind.CPU ? this : backend().toHost(this);
        t = t.to(want);
        return t.contiguous();
    }

    /** The single element of a one-element tensor. */
    public float item() {
        if (numel() != 1) throw new ShapeException("item() needs exactly one element, tensor has shape " + shape);
        return toFloatArray()[0];
    }

    /** Element at {@code index} (CPU tensors), widened to float. */
    public float get(int... index) { return (float) cpu().getDouble(flatIndex(index)); }

    /** Sets the element at {@code index} (CPU tensors) — for building inputs, not inside computations. */
    public void set(float value, int... index) { cpu().setDouble(flatIndex(index), value); }

    private CpuStorage cpu() {
        if (!(storage instanceof CpuStorage c)) throw new BackendException("element access needs a CPU tensor, this one is on " + device());
        return c;
    }

    private int flatIndex(int[] index) {
        if (index.length != rank()) throw new ShapeException("index " + Arrays.toString(index) + " does not match rank of " + shape);
        int at = offset;
        for (int i = 0; i < index.length; i++) {
            if (index[i] < 0 || index[i] >= shape.dim(i)) throw new ShapeException("index " + Arrays.toString(index) + " is out of bounds for " + shape);
            at += index[i] * strides[i];
        }
        return at;
    }

    // ---- elementwise ----

    public Tensor unary(UnaryOp op) {
        requireFloat("unary " + op, this);
        return backend().unary(op, this);
    }

    public Tensor binary(BinaryOp op, Tensor other) {
        requireFloat("binary " + op, this);
        requireFloat("binary " + op, other);
        sameDevice(other);
        return backend().binary(op, this, other, Shape.broadcast(shape, other.shape));
    }

    /** max(this + other, 0) with broadcasting, in one pass where the backend fuses it ({@link Backend#addRelu}). */
    public Tensor addRelu(Tensor other) {
        requireFloat("addRelu", this);
        requireFloat("addRelu", other);
        sameDevice(other);
        return backend().addRelu(this, other, Shape.broadcast(shape, other.shape));
    }

    /** This gradient times [x > 0]: the ReLU's backward ({@link Backend#reluBackward}), x of the same shape. */
    public Tensor reluBackward(Tensor x) {
        requireFloat("reluBackward", this);
        requireFloat("reluBackward", x);
        sameDevice(x);
        if (!x.shape.equals(shape)) throw new ShapeException("reluBackward: gradient " + shape + " and input " + x.shape + " differ");
        return backend().reluBackward(this, x);
    }

    public Tensor add(Tensor o) { return binary(BinaryOp.ADD, o); }
    public Tensor sub(Tensor o) { return binary(BinaryOp.SUB, o); }
    public Tensor mul(Tensor o) { return binary(BinaryOp.MUL, o); }
    public Tensor div(Tensor o) { return binary(BinaryOp.DIV, o); }
    public Tensor pow(Tensor o) { return binary(BinaryOp.POW, o); }
    public Tensor maximum(Tensor o) { return binary(BinaryOp.MAX, o); }
    public Tensor minimum(Tensor o) { return binary(BinaryOp.MIN, o); }
    public Tensor eq(Tensor o) { return binary(BinaryOp.EQ, o); }
    public Tensor lt(Tensor o) { return binary(BinaryOp.LT, o); }
    public Tensor gt(Tensor o) { return binary(BinaryOp.GT, o); }

    public Tensor add(float v) { return add(scalarLike(v)); }
    public Tensor sub(float v) { return sub(scalarLike(v)); }
    public Tensor mul(float v) { return mul(scalarLike(v)); }
    public Tensor div(float v) { return div(scalarLike(v)); }
    public Tensor pow(float v) { return pow(scalarLike(v)); }

    public Tensor neg() { return unary(UnaryOp.NEG); }
    public Tensor abs() { return unary(UnaryOp.ABS); }
    public Tensor square() { return unary(UnaryOp.SQUARE); }
    public Tensor sqrt() { return unary(UnaryOp.SQRT); }
    public Tensor reciprocal() { return unary(UnaryOp.RECIPROCAL); }
    public Tensor exp() { return unary(UnaryOp.EXP); }
    public Tensor log() { return unary(UnaryOp.LOG); }
    public Tensor relu() { return unary(UnaryOp.RELU); }
    public Tensor sigmoid() { return unary(UnaryOp.SIGMOID); }
    public Tensor tanh() { return unary(UnaryOp.TANH); }
    public Tensor erf() { return unary(UnaryOp.ERF); }
    public Tensor gelu() { return unary(UnaryOp.GELU); }

    /** A 0-d float32 tensor holding {@code v} on this tensor's device. */
    public Tensor scalarLike(float v) {
        Tensor s = scalar(v);
        return device().kind() == Device.Kind.CPU ? s : s.to(device());
    }

    // ---- reductions ----

    public Tensor reduce(ReduceOp op, boolean keepDims, int... axes) {
        requireFloat("reduce " + op, this);
        return backend().reduce(op, this, normalizeAxes(axes), keepDims);
    }

    /** Sum over {@code axes} (all axes when none given). */
    public Tensor sum(boolean keepDims, int... axes) { return reduce(ReduceOp.SUM, keepDims, axes); }
    public Tensor sum(int... axes) { return sum(false, axes); }

    public Tensor mean(boolean keepDims, int... axes) {
        int[] ax = normalizeAxes(axes);
        long n = 1;
        for (int a : ax) n *= shape.dim(a);
        return sum(keepDims, ax).mul(1f / n);
    }
    public Tensor mean(int... axes) { return mean(false, axes); }

    public Tensor max(boolean keepDims, int... axes) { return reduce(ReduceOp.MAX, keepDims, axes); }
    public Tensor min(boolean keepDims, int... axes) { return reduce(ReduceOp.MIN, keepDims, axes); }

    public Tensor argMax(int axis) {
        requireFloat("argMax", this);
        return backend().argMax(this, shape.axis(axis), false);
    }

    public Tensor softmax(int axis) {
        requireFloat("softmax", this);
        return backend().softmax(this, shape.axis(axis));
    }

    public Tensor logSoftmax(int axis) {
        requireFloat("logSoftmax", this);
        return backend().logSoftmax(this, shape.axis(axis));
    }

    /** Sorted distinct non-negative axes; none given means all. */
    public int[] normalizeAxes(int... axes) {
        if (axes.length == 0) {
            int[] all = new int[rank()];
            for (int i = 0; i < all.length; i++) all[i] = i;
            return all;
        }
        int[] a = new int[axes.length];
        for (int i = 0; i < a.length; i++) a[i] = shape.axis(axes[i]);
        Arrays.sort(a);
        for (int i = 1; i < a.length; i++) if (a[i] == a[i - 1]) throw new ShapeException("axis " + a[i] + " repeated in " + Arrays.toString(axes));
        return a;
    }

    // ---- linear algebra ----

    /** Matrix product with NumPy semantics: 1-D operands are promoted and the added axis removed. */
    public Tensor matmul(Tensor other) {
        requireFloat("matmul", this);
        requireFloat("matmul", other);
        sameDevice(other);
        if (rank() == 0 || other.rank() == 0) throw new ShapeException("matmul needs rank >= 1 operands, got " + shape + " and " + other.shape);
        Tensor a = rank() == 1 ? unsqueeze(0) : this;
        Tensor b = other.rank() == 1 ? other.unsqueeze(1) : other;
        int k = a.dim(-1);
        if (b.dim(-2) != k) throw new ShapeException("matmul " + shape + " @ " + other.shape + ": inner sizes " + k + " and " + b.dim(-2) + " differ");
        Shape batchA = Shape.of(Arrays.copyOf(a.dims(), a.rank() - 2));
        Shape batchB = Shape.of(Arrays.copyOf(b.dims(), b.rank() - 2));
        int[] batch = Shape.broadcast(batchA, batchB).dims();
        int[] out = Arrays.copyOf(batch, batch.length + 2);
        out[batch.length] = a.dim(-2);
        out[batch.length + 1] = b.dim(-1);
        Tensor c = backend().matmul(a, b, Shape.of(out));
        if (rank() == 1) c = c.squeeze(-2);
        if (other.rank() == 1) c = c.squeeze(-1);
        return c;
    }

    public Tensor conv2d(Tensor weight, Conv2dParams p) {
        requireFloat("conv2d", this);
        requireFloat("conv2d", weight);
        sameDevice(weight);
        p.outputShape(shape, weight.shape);
        return backend().conv2d(this, weight, p);
    }

    /**
     * conv2d(weight) + bias (OC, or null), then a ReLU when {@code relu}, as one op: no gradient, the inference form
     * (see {@link Backend#conv2dBiasRelu}).
     */
    public Tensor conv2dBiasRelu(Tensor weight, Tensor bias, boolean relu, Conv2dParams p) {
        requireFloat("conv2d", this);
        requireFloat("conv2d", weight);
        sameDevice(weight);
        Shape ys = p.outputShape(shape, weight.shape);
        if (bias != null) {
            requireFloat("conv2d", bias);
            sameDevice(bias);
            if (bias.rank() != 1 || bias.dim(0) != ys.dim(1)) throw new ShapeException("conv2d bias must be (" + ys.dim(1) + "), got " + bias.shape);
        }
        return backend().conv2dBiasRelu(this, weight, bias, relu, p);
    }

    /**
     * maxPool2dValues(conv2dBiasRelu(weight, bias, relu, p), pool) as one op: no gradient, the inference form (see
     * {@link Backend#conv2dMaxPool}).
     */
    public Tensor conv2dMaxPool(Tensor weight, Tensor bias, boolean relu, Conv2dParams p, Pool2dParams pool) {
        requireFloat("conv2d", this);
        requireFloat("conv2d", weight);
        sameDevice(weight);
        Shape ys = p.outputShape(shape, weight.shape);
        pool.outputShape(ys);
        if (bias != null) {
            requireFloat("conv2d", bias);
            sameDevice(bias);
            if (bias.rank() != 1 || bias.dim(0) != ys.dim(1)) throw new ShapeException("conv2d bias must be (" + ys.dim(1) + "), got " + bias.shape);
        }
        return backend().conv2dMaxPool(this, weight, bias, relu, p, pool);
    }

    /**
     * max(conv2dBiasRelu(weight, bias, false, p) + residual, 0) as one op, residual of the convolution's output shape:
     * no gradient, the inference form (see {@link Backend#conv2dAddRelu}).
     */
    public Tensor conv2dAddRelu(Tensor weight, Tensor bias, Tensor residual, Conv2dParams p) {
        requireFloat("conv2d", this);
        requireFloat("conv2d", weight);
        requireFloat("conv2d", residual);
        sameDevice(weight);
        sameDevice(residual);
        Shape ys = p.outputShape(shape, weight.shape);
        if (!residual.shape.equals(ys)) throw new ShapeException("conv2dAddRelu residual must be " + ys + ", got " + residual.shape);
        if (bias != null) {
            requireFloat("conv2d", bias);
            sameDevice(bias);
            if (bias.rank() != 1 || bias.dim(0) != ys.dim(1)) throw new ShapeException("conv2d bias must be (" + ys.dim(1) + "), got " + bias.shape);
        }
        return backend().conv2dAddRelu(this, weight, bias, residual, p);
    }

    /**
     * {this.conv2dBiasRelu(weight, bias, relu, p), this.conv2dBiasRelu(weight2, bias2, false, p2)} as one op: no
     * gradient, the inference form (see {@link Backend#conv2dPair}).
     */
    public Tensor[] conv2dPair(Tensor weight, Tensor bias, boolean relu, Conv2dParams p, Tensor weight2, Tensor bias2, Conv2dParams p2) {
        requireFloat("conv2d", this);
        p.outputShape(shape, weight.shape);
        p2.outputShape(shape, weight2.shape);
        for (Tensor[] wb : new Tensor[][] {{weight, bias}, {weight2, bias2}}) {
            requireFloat("conv2d", wb[0]);
            sameDevice(wb[0]);
            int oc = wb[0].dim(0);
            if (wb[1] != null) {
                requireFloat("conv2d", wb[1]);
                sameDevice(wb[1]);
                if (wb[1].rank() != 1 || wb[1].dim(0) != oc) throw new ShapeException("conv2d bias must be (" + oc + "), got " + wb[1].shape);
            }
        }
        return backend().conv2dPair(this, weight, bias, relu, p, weight2, bias2, p2);
    }

    public Backend.MaxPoolResult maxPool2d(Pool2dParams p) {
        requireFloat("maxPool2d", this);
        p.outputShape(shape);
        return backend().maxPool2d(this, p);
    }

    /** The values of {@link #maxPool2d} without the winners' indices (inference, where nothing routes a gradient). */
    public Tensor maxPool2dValues(Pool2dParams p) {
        requireFloat("maxPool2d", this);
        p.outputShape(shape);
        return backend().maxPool2dValues(this, p);
    }

    public Tensor avgPool2d(Pool2dParams p) {
        requireFloat("avgPool2d", this);
        p.outputShape(shape);
        return backend().avgPool2d(this, p);
    }

    /** float32 one-hot rows for integer labels. */
    public Tensor oneHot(int classes) {
        if (dtype() != DType.INT32 && dtype() != DType.INT64) throw new DTypeException("oneHot needs int32/int64 labels, got " + dtype());
        if (classes < 1) throw new ShapeException("oneHot needs classes >= 1, got " + classes);
        return backend().oneHot(this, classes);
    }

    // ---- checks ----

    public void sameDevice(Tensor other) {
        if (!device().equals(other.device())) throw new BackendException("operands on different devices: " + device() + " and " + other.device());
    }

    static void requireFloat(String op, Tensor t) {
        if (t.dtype() != DType.FLOAT32) throw new DTypeException(op + " needs float32, got " + t.dtype() + " tensor of shape " + t.shape);
    }

    @Override public String toString() {
        StringBuilder b = new StringBuilder("Tensor").append(shape).append(' ').append(dtype().name().toLowerCase());
        if (device().kind() != Device.Kind.CPU) b.append(" on ").append(device());
        if (storage instanceof CpuStorage cpu && cpu.isReleased()) return b.append(" (released)").toString();   // a log line, not an error
        if (numel() <= 16 && storage instanceof CpuStorage) {
            Tensor c = contiguous();
            b.append(' ').append('[');
            for (int i = 0; i < numel(); i++) b.append(i == 0 ? "" : ", ").append(((CpuStorage) c.storage).getDouble(c.offset + i));
            b.append(']');
        }
        return b.toString();
    }
}
