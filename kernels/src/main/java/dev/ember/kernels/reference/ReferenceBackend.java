package dev.ember.kernels.reference;

import dev.ember.engine.AdamParams;
import dev.ember.engine.Backend;
import dev.ember.engine.BackendException;
import dev.ember.engine.BinaryOp;
import dev.ember.engine.Conv2dParams;
import dev.ember.engine.CpuStorage;
import dev.ember.engine.DType;
import dev.ember.engine.DTypeException;
import dev.ember.engine.Device;
import dev.ember.engine.Pool2dParams;
import dev.ember.engine.ReduceOp;
import dev.ember.engine.SgdParams;
import dev.ember.engine.Shape;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;
import dev.ember.engine.UnaryOp;

import java.util.Arrays;

/**
 * The scalar oracle: every op as the plainest loop over row-major element numbers, reading inputs through their
 * strides, doing the math in double and rounding once to float32. No vectors, no threads. The CPU backend is
 * tested against this one, and a model can run on it with {@code -Dember.backend=reference}.
 */
public final class ReferenceBackend implements Backend {
    public ReferenceBackend() {}

    @Override public String name() { return "reference"; }

    @Override public Device device() { return Device.CPU; }

    // ---- storage ----

    @Override public Tensor zeros(DType dtype, Shape shape) {
        return Tensor.of(CpuStorage.allocate(dtype, shape.numel()), shape);
    }

    @Override public void copyInto(Tensor src, Tensor dst) {
        if (!src.shape().equals(dst.shape())) throw new ShapeException("copyInto: source " + src.shape() + " and destination " + dst.shape() + " differ");
        Indexer s = new Indexer(src), d = new Indexer(dst);
        boolean integers = !src.dtype().isFloating() && !dst.dtype().isFloating();
        for (int i = 0; i < src.numel(); i++) {
            if (integers) setLong(d.storage, d.at(i), getLong(s.storage, s.at(i)));
            else d.storage.setDouble(d.at(i), s.get(i));
        }
    }

    @Override public Tensor fromHost(Tensor host) {
        requireCpu("fromHost", host);
        return toHost(host);
    }

    @Override public Tensor toHost(Tensor t) {
        requireCpu("toHost", t);
        if (t.isContiguous()) return t;
        Tensor out = zeros(t.dtype(), t.shape());
        copyInto(t, out);
        return out;
    }

    // ---- elementwise ----

    @Override public Tensor unary(UnaryOp op, Tensor x) {
        Indexer xi = new Indexer(x);
        float[] y = new float[x.numel()];
        for (int i = 0; i < y.length; i++) y[i] = (float) ReferenceMath.unary(op, xi.get(i));
        return Tensor.of(CpuStorage.wrap(y), x.shape());
    }

    @Override public Tensor binary(BinaryOp op, Tensor a, Tensor b, Shape outShape) {
        // expand gives broadcast axes stride 0, so element i of each expanded view is the operand of output i
        Indexer ai = new Indexer(a.expand(outShape)), bi = new Indexer(b.expand(outShape));
        float[] y = new float[outShape.numel()];
        for (int i = 0; i < y.length; i++) y[i] = (float) ReferenceMath.binary(op, ai.get(i), bi.get(i));
        return Tensor.of(CpuStorage.wrap(y), outShape);
    }

    // ---- reductions ----

    @Override public Tensor reduce(ReduceOp op, Tensor x, int[] axes, boolean keepDims) {
        int[] dims = x.dims();
        boolean[] reduced = new boolean[dims.length];
        for (int a : axes) reduced[a] = true;
        int[] outDims = new int[dims.length];   // reduced axes as size 1, squeezed at the end when !keepDims
        int count = 1;
        for (int i = 0; i < dims.length; i++) {
            outDims[i] = reduced[i] ? 1 : dims[i];
            if (reduced[i]) count *= dims[i];
        }
        Shape outShape = Shape.of(outDims);
        if (count == 0 && outShape.numel() > 0 && op != ReduceOp.SUM) {
            throw new ShapeException(op + " over an empty axis of " + x.shape() + " (axes " + Arrays.toString(axes) + ") has no value");
        }
        double[] acc = new double[outShape.numel()];
        Arrays.fill(acc, switch (op) {
            case SUM -> 0;
            case MAX -> Double.NEGATIVE_INFINITY;
            case MIN -> Double.POSITIVE_INFINITY;
        });
        Indexer xi = new Indexer(x);
        int[] outStrides = outShape.contiguousStrides();
        for (int i = 0; i < x.numel(); i++) {
            // output position: the input's multi-index with reduced axes set to 0
            int rest = i, o = 0;
            for (int k = dims.length - 1; k >= 0; k--) {
                if (!reduced[k]) o += (rest % dims[k]) * outStrides[k];
                rest /= dims[k];
            }
            double v = xi.get(i);
            acc[o] = switch (op) {
                case SUM -> acc[o] + v;
                case MAX -> Math.max(acc[o], v);
                case MIN -> Math.min(acc[o], v);
            };
        }
        float[] y = new float[acc.length];
        for (int i = 0; i < y.length; i++) y[i] = (float) acc[i];
        return Tensor.of(CpuStorage.wrap(y), keepDims ? outShape : dropAxes(dims, reduced));
    }

    @Override public Tensor argMax(Tensor x, int axis, boolean keepDims) {
        Line line = new Line(x.shape(), axis);
        if (line.length == 0 && line.outer * line.inner > 0) throw new ShapeException("argMax over empty axis " + axis + " of " + x.shape());
        Indexer xi = new Indexer(x);
        long[] y = new long[line.outer * line.inner];
        for (int o = 0; o < line.outer; o++) {
            for (int in = 0; in < line.inner; in++) {
                int best = 0;
                double bestValue = xi.get(line.flat(o, 0, in));
                for (int l = 1; l < line.length; l++) {
                    double v = xi.get(line.flat(o, l, in));
                    // strictly greater keeps the first maximum; a NaN wins over any number, the first NaN stays
                    if (v > bestValue || (Double.isNaN(v) && !Double.isNaN(bestValue))) {
                        best = l;
                        bestValue = v;
                    }
                }
                y[o * line.inner + in] = best;
            }
        }
        int[] dims = x.dims();
        boolean[] reduced = new boolean[dims.length];
        reduced[axis] = true;
        dims[axis] = 1;
        return Tensor.of(CpuStorage.wrap(y), keepDims ? Shape.of(dims) : dropAxes(dims, reduced));
    }

    @Override public Tensor softmax(Tensor x, int axis) { return softmax(x, axis, false); }

    @Override public Tensor logSoftmax(Tensor x, int axis) { return softmax(x, axis, true); }

    private static Tensor softmax(Tensor x, int axis, boolean log) {
        Line line = new Line(x.shape(), axis);
        Indexer xi = new Indexer(x);
        float[] y = new float[x.numel()];
        for (int o = 0; o < line.outer; o++) {
            for (int in = 0; in < line.inner; in++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int l = 0; l < line.length; l++) max = Math.max(max, xi.get(line.flat(o, l, in)));
                double sum = 0;
                for (int l = 0; l < line.length; l++) sum += Math.exp(xi.get(line.flat(o, l, in)) - max);
                double logSum = Math.log(sum);
                for (int l = 0; l < line.length; l++) {
                    int i = line.flat(o, l, in);
                    double shifted = xi.get(i) - max;
                    y[i] = (float) (log ? shifted - logSum : Math.exp(shifted) / sum);
                }
            }
        }
        return Tensor.of(CpuStorage.wrap(y), x.shape());
    }

    // ---- linear algebra and convolution ----

    @Override public Tensor matmul(Tensor a, Tensor b, Shape outShape) { return ReferenceLinalg.matmul(a, b, outShape); }

    @Override public Tensor conv2d(Tensor x, Tensor w, Conv2dParams p) { return ReferenceLinalg.conv2d(x, w, p); }

    @Override public Tensor conv2dBackwardInput(Tensor dy, Tensor w, Shape inputShape, Conv2dParams p) {
        return ReferenceLinalg.conv2dBackwardInput(dy, w, inputShape, p);
    }

    @Override public Tensor conv2dBackwardWeight(Tensor dy, Tensor x, Shape weightShape, Conv2dParams p) {
        return ReferenceLinalg.conv2dBackwardWeight(dy, x, weightShape, p);
    }

    // ---- pooling ----

    @Override public MaxPoolResult maxPool2d(Tensor x, Pool2dParams p) { return ReferencePool2d.max(x, p); }

    @Override public Tensor maxPool2dBackward(Tensor dy, Tensor indices, Shape inputShape) {
        return ReferencePool2d.maxBackward(dy, indices, inputShape);
    }

    @Override public Tensor avgPool2d(Tensor x, Pool2dParams p) { return ReferencePool2d.avg(x, p); }

    @Override public Tensor avgPool2dBackward(Tensor dy, Shape inputShape, Pool2dParams p) {
        return ReferencePool2d.avgBackward(dy, inputShape, p);
    }

    // ---- indexing ----

    @Override public Tensor oneHot(Tensor labels, int classes) {
        if (labels.dtype() != DType.INT32 && labels.dtype() != DType.INT64) throw new DTypeException("oneHot needs int32/int64 labels, got " + labels.dtype());
        Indexer li = new Indexer(labels);
        float[] y = new float[labels.numel() * classes];   // y (..., classes)
        for (int i = 0; i < labels.numel(); i++) {
            long label = getLong(li.storage, li.at(i));
            if (label < 0 || label >= classes) {
                throw new ShapeException("oneHot: label " + label + " at position " + Arrays.toString(multiIndex(labels.dims(), i))
                        + " of labels " + labels.shape() + " is outside [0, " + classes + ")");
            }
            y[i * classes + (int) label] = 1;
        }
        int[] dims = Arrays.copyOf(labels.dims(), labels.rank() + 1);
        dims[labels.rank()] = classes;
        return Tensor.of(CpuStorage.wrap(y), Shape.of(dims));
    }

    // ---- in place ----

    @Override public void axpy(float alpha, Tensor x, Tensor y) {
        float[] ya = destination("axpy", y);
        sameShape("axpy", x, y);
        Indexer xi = new Indexer(x);
        for (int i = 0; i < y.numel(); i++) ya[y.offset() + i] = (float) (ya[y.offset() + i] + (double) alpha * xi.get(i));
    }

    @Override public void scale(Tensor y, float alpha) {
        float[] ya = destination("scale", y);
        for (int i = 0; i < y.numel(); i++) ya[y.offset() + i] = (float) ((double) ya[y.offset() + i] * alpha);
    }

    @Override public void fill(Tensor y, float value) {
        float[] ya = destination("fill", y);
        Arrays.fill(ya, y.offset(), y.offset() + y.numel(), value);
    }

    @Override public void sgdStep(Tensor param, Tensor grad, Tensor momentumBuf, SgdParams p) {
        float[] w = destination("sgdStep param", param);
        sameShape("sgdStep grad", grad, param);
        boolean momentum = p.momentum() != 0;
        float[] buf = null;
        if (momentum) {
            if (momentumBuf == null) throw new ShapeException("sgdStep: momentum " + p.momentum() + " needs a momentum buffer, got null");
            buf = destination("sgdStep momentumBuf", momentumBuf);
            sameShape("sgdStep momentumBuf", momentumBuf, param);
        }
        Indexer g = new Indexer(grad);
        for (int i = 0; i < param.numel(); i++) {
            int wi = param.offset() + i;
            // g' = g + wd*p
            double d = g.get(i) + (double) p.weightDecay() * w[wi];
            if (momentum) {
                int bi = momentumBuf.offset() + i;
                // buf = g' on the first step, else momentum*buf + (1-dampening)*g'
                double b = p.firstStep() ? d : (double) p.momentum() * buf[bi] + (1 - (double) p.dampening()) * d;
                buf[bi] = (float) b;
                d = p.nesterov() ? d + (double) p.momentum() * buf[bi] : buf[bi];
            }
            w[wi] = (float) (w[wi] - (double) p.lr() * d);
        }
    }

    @Override public void adamStep(Tensor param, Tensor grad, Tensor m, Tensor v, AdamParams p) {
        float[] w = destination("adamStep param", param);
        float[] ma = destination("adamStep m", m);
        float[] va = destination("adamStep v", v);
        sameShape("adamStep grad", grad, param);
        sameShape("adamStep m", m, param);
        sameShape("adamStep v", v, param);
        if (p.step() < 1) throw new ShapeException("adamStep: step counts from 1, got " + p.step());
        double b1 = p.beta1(), b2 = p.beta2(), lr = p.lr(), wd = p.weightDecay();
        double biasCorrection1 = 1 - Math.pow(b1, p.step());
        double biasCorrection2 = 1 - Math.pow(b2, p.step());
        Indexer gi = new Indexer(grad);
        for (int i = 0; i < param.numel(); i++) {
            int wi = param.offset() + i, mi = m.offset() + i, vi = v.offset() + i;
            double g = gi.get(i);
            double pw = w[wi];
            if (p.decoupled()) pw = (float) (pw * (1 - lr * wd));   // AdamW: decay the weight itself
            else g = (float) (g + wd * pw);                        // Adam: L2 through the gradient
            double mNew = (float) (b1 * ma[mi] + (1 - b1) * g);
            double vNew = (float) (b2 * va[vi] + (1 - b2) * g * g);
            ma[mi] = (float) mNew;
            va[vi] = (float) vNew;
            double mHat = mNew / biasCorrection1;
            double vHat = vNew / biasCorrection2;
            w[wi] = (float) (pw - lr * mHat / (Math.sqrt(vHat) + p.eps()));
        }
    }

    // ---- helpers ----

    /** The float array behind a contiguous float32 in-place destination. */
    private static float[] destination(String what, Tensor t) {
        if (t.dtype() != DType.FLOAT32) throw new DTypeException(what + " must be float32, got " + t.dtype());
        if (!t.isContiguous()) throw new ShapeException(what + " must be contiguous, got a view of " + t.shape() + " with strides " + Arrays.toString(t.strides()));
        requireCpu(what, t);
        return ((CpuStorage) t.storage()).floats();
    }

    private static void sameShape(String what, Tensor t, Tensor like) {
        if (!t.shape().equals(like.shape())) throw new ShapeException(what + " has shape " + t.shape() + ", expected " + like.shape());
    }

    private static void requireCpu(String what, Tensor t) {
        if (!(t.storage() instanceof CpuStorage)) throw new BackendException(what + ": the reference backend needs a CPU tensor, got one on " + t.device());
    }

    private static Shape dropAxes(int[] dims, boolean[] drop) {
        int n = 0;
        for (boolean d : drop) if (!d) n++;
        int[] out = new int[n];
        for (int i = 0, j = 0; i < dims.length; i++) if (!drop[i]) out[j++] = dims[i];
        return Shape.of(out);
    }

    static int[] multiIndex(int[] dims, int flat) {
        int[] idx = new int[dims.length];
        for (int i = dims.length - 1; i >= 0; i--) {
            idx[i] = flat % dims[i];
            flat /= dims[i];
        }
        return idx;
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

    /** Integer to integer: narrowing wraps, as Java's casts do. */
    private static void setLong(CpuStorage s, int i, long v) {
        switch (s.dtype()) {
            case INT32 -> s.ints()[i] = (int) v;
            case INT64 -> s.longs()[i] = v;
            case UINT8 -> s.bytes()[i] = (byte) v;
            case BOOL -> s.bytes()[i] = (byte) (v != 0 ? 1 : 0);
            case FLOAT32 -> s.floats()[i] = v;
        }
    }

    /** A tensor seen as (outer, length, inner) around one axis; element (o, l, in) has row-major number {@link #flat}. */
    private static final class Line {
        final int outer, length, inner;

        Line(Shape shape, int axis) {
            int o = 1, in = 1;
            for (int i = 0; i < axis; i++) o *= shape.dim(i);
            for (int i = axis + 1; i < shape.rank(); i++) in *= shape.dim(i);
            this.outer = o;
            this.length = shape.dim(axis);
            this.inner = in;
        }

        int flat(int o, int l, int in) { return (o * length + l) * inner + in; }
    }

    // ---- normalization ----

    @Override public NormResult batchNorm(Tensor x, Tensor gamma, Tensor beta, float eps) { return ReferenceNorm.batchNorm(x, gamma, beta, eps); }

    @Override public Tensor[] batchNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor gamma) {
        return ReferenceNorm.batchNormBackward(dy, x, mean, invStd, gamma);
    }

    @Override public NormResult layerNorm(Tensor x, int normalizedAxes, Tensor gamma, Tensor beta, float eps) {
        return ReferenceNorm.layerNorm(x, normalizedAxes, gamma, beta, eps);
    }

    @Override public Tensor[] layerNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor gamma, int normalizedAxes) {
        return ReferenceNorm.layerNormBackward(dy, x, mean, invStd, gamma, normalizedAxes);
    }
}
