package dev.ember.loaders.onnx.ops;

import dev.ember.autograd.F;
import dev.ember.autograd.Variable;
import dev.ember.engine.DType;
import dev.ember.engine.Pool2dParams;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxException;
import dev.ember.loaders.onnx.OnnxNode;

import static dev.ember.loaders.onnx.ops.ElementwiseOps.one;

/**
 * MaxPool, AveragePool and the global pools. The common 2-D case (float32, no dilation, symmetric pads of at most half
 * the kernel, floor rounding, no Indices output) runs on the engine's differentiable pooling; everything else
 * (1-D/3-D, dilations, asymmetric or SAME pads, ceil_mode, Indices, uint8) on a host loop over N-D windows.
 */
final class PoolOps {
    private PoolOps() {}

    static void register(OpTable t) {
        t.add("MaxPool", 1, (n, in, v) -> pool(n, Args.in(n, in, 0), true));
        t.add("AveragePool", 1, (n, in, v) -> pool(n, Args.in(n, in, 0), false));
        t.add("MaxUnpool", 9, (n, in, v) -> one(maxUnpool(n, Args.in(n, in, 0), Args.in(n, in, 1), Args.opt(in, 2))));
        t.add("GlobalAveragePool", 1, (n, in, v) -> {
            Variable x = Args.in(n, in, 0);
            Args.requireFloat(n, x, "X");
            return one(x.mean(true, Args.range(2, x.rank())));
        });
        t.add("GlobalMaxPool", 1, (n, in, v) -> {
            Variable x = Args.in(n, in, 0);
            Args.requireFloat(n, x, "X");
            return one(x.max(true, Args.range(2, x.rank())));
        });
    }

    /**
     * The parameters of a MaxPool {@code node} over 2-D maps of {@code size} where {@link #pool} would run it on the
     * engine (one output, undilated, symmetric padding, no ceil mode), or null.
     */
    static Pool2dParams enginePool(OnnxNode node, int[] size) {
        if (!node.has("kernel_shape") || Args.wantsOutput(node, 1)) return null;
        int[] k = Geometry.ints(node, "kernel_shape", 2, -1);
        Geometry g = Geometry.of(node, size, k);
        if (node.attrInt("ceil_mode", 0) != 0 || !g.undilated() || !g.symmetric() || 2 * g.padBegin()[0] > k[0] || 2 * g.padBegin()[1] > k[1]) return null;
        for (int o : g.outputSize(size, false)) if (o < 1) return null;
        return new Pool2dParams(k[0], k[1], g.strides()[0], g.strides()[1], g.padBegin()[0], g.padBegin()[1], false, false);
    }

    static Variable[] pool(OnnxNode node, Variable x, boolean max) {
        if (x.rank() < 3) throw new OnnxException(node.describe() + ": input must be (N, C, spatial...), got " + x.shape());
        int spatial = x.rank() - 2;
        int[] in = new int[spatial];
        for (int i = 0; i < spatial; i++) in[i] = x.dim(2 + i);
        int[] k = Geometry.ints(node, "kernel_shape", spatial, -1);
        if (!node.has("kernel_shape")) throw new OnnxException(node.describe() + ": kernel_shape is required");
        Geometry g = Geometry.of(node, in, k);
        boolean ceil = node.attrInt("ceil_mode", 0) != 0;
        boolean countPad = node.attrInt("count_include_pad", 0) != 0;
        boolean wantIndices = max && Args.wantsOutput(node, 1);
        int[] out = g.outputSize(in, ceil);
        for (int o : out) if (o < 1) throw new OnnxException(node.describe() + ": the kernel does not fit input " + x.shape());

        boolean engine = spatial == 2 && x.data().dtype() == DType.FLOAT32 && g.undilated() && g.symmetric() && !ceil && !wantIndices
                && 2 * g.padBegin()[0] <= k[0] && 2 * g.padBegin()[1] <= k[1];
        if (engine) {
            Pool2dParams p = new Pool2dParams(k[0], k[1], g.strides()[0], g.strides()[1], g.padBegin()[0], g.padBegin()[1], false, countPad);
            return new Variable[] {max ? F.maxPool2d(x, p) : F.avgPool2d(x, p)};
        }
        Grad.refuse(node, x);
        if (!max && x.data().dtype() != DType.FLOAT32) throw new OnnxUnsupportedException(node.describe() + ": AveragePool of " + x.data().dtype());
        long storageOrder = node.attrInt("storage_order", 0);
        if (wantIndices && storageOrder != 0 && spatial != 2) throw new OnnxUnsupportedException(node.describe() + ": column-major indices need 2-D pooling");
        Tensor[] r = hostPool(x.data(), g, out, max, countPad, storageOrder != 0);
        return wantIndices ? new Variable[] {Variable.of(r[0]), Variable.of(r[1])} : new Variable[] {Variable.of(r[0])};
    }

    /**
     * The inverse of MaxPool with Indices: zeros of the pooled input's shape (what the pool geometry implies from x)
     * with each x written at its flat index; a larger output_shape extends that at the end of each spatial axis.
     */
    static Variable maxUnpool(OnnxNode node, Variable x, Variable indices, Variable outputShape) {
        Grad.refuse(node, x);
        int spatial = x.rank() - 2;
        if (spatial < 1) throw new OnnxException(node.describe() + ": input must be (N, C, spatial...), got " + x.shape());
        int[] k = Geometry.ints(node, "kernel_shape", spatial, 1), s = Geometry.ints(node, "strides", spatial, 1);
        int[] pads = Geometry.ints(node, "pads", 2 * spatial, 0);
        int[] dims = x.shape().dims();
        for (int i = 0; i < spatial; i++) dims[2 + i] = (x.dim(2 + i) - 1) * s[i] + k[i] - pads[i] - pads[spatial + i];
        Args.checkSize(node, dims, x.data().dtype());
        double[] v = Host.doubles(x.data()), y = new double[Shape.of(dims).numel()];
        long[] at = Args.longs(node, indices, "indices");
        if (at.length != v.length) throw new OnnxException(node.describe() + ": indices " + indices.shape() + " must match x " + x.shape());
        for (int j = 0; j < v.length; j++) {
            if (at[j] < 0 || at[j] >= y.length) throw new OnnxException(node.describe() + ": index " + at[j] + " is out of range for " + Shape.of(dims));
            y[(int) at[j]] = v[j];
        }
        Variable out = Variable.of(Host.fromDoubles(x.data().dtype(), dims, y));
        if (outputShape == null) return out;
        int[] want = Args.toInts(node, Args.longs(node, outputShape, "output_shape"), "output_shape");
        Args.checkSize(node, want, x.data().dtype());
        if (want.length != dims.length) throw new OnnxException(node.describe() + ": output_shape must have rank " + dims.length);
        long[] grow = new long[2 * dims.length];
        for (int i = 0; i < dims.length; i++) {
            if (want[i] < dims[i] || (i < 2 && want[i] != dims[i])) {
                throw new OnnxException(node.describe() + ": output_shape " + java.util.Arrays.toString(want) + " is smaller than the unpooled " + Shape.of(dims));
            }
            grow[dims.length + i] = want[i] - dims[i];
        }
        return ShapeOps.pad(node, out, grow, "constant", 0);
    }

    /**
     * Pools every (n, c) plane of x (N, C, D1..Dk) over windows; padded cells never win a max and count toward an
     * average only with countPad (and then only up to the explicit padding). Returns {values, int64 indices}.
     */
    static Tensor[] hostPool(Tensor x, Geometry g, int[] out, boolean max, boolean countPad, boolean columnMajor) {
        int[] d = x.dims();
        int sp = d.length - 2, planes = d[0] * d[1];
        int[] in = java.util.Arrays.copyOfRange(d, 2, d.length);
        int planeIn = Host.product(in, 0, sp), planeOut = Host.product(out, 0, sp), window = Host.product(g.kernel(), 0, sp);
        int[] inStrides = Shape.of(in).contiguousStrides();
        double[] v = Host.doubles(x);
        double[] y = new double[planes * planeOut];
        long[] idx = new long[planes * planeOut];
        int[] o = new int[sp], w = new int[sp];
        for (int op = 0; op < planeOut; op++) {
            for (int rest = op, i = sp - 1; i >= 0; i--) {   // output coordinates
                o[i] = rest % out[i];
                rest /= out[i];
            }
            for (int plane = 0; plane < planes; plane++) {
                double best = Double.NEGATIVE_INFINITY, sum = 0;
                int count = 0, bestAt = -1;
                java.util.Arrays.fill(w, 0);
                for (int kk = 0; kk < window; kk++) {
                    int at = 0;
                    boolean inside = true, inPadded = true;
                    for (int i = 0; i < sp; i++) {
                        int c = o[i] * g.strides()[i] - g.padBegin()[i] + w[i] * g.dilations()[i];
                        if (c < 0 || c >= in[i]) inside = false;
                        if (c < -g.padBegin()[i] || c >= in[i] + g.padEnd()[i]) inPadded = false;
                        at += c * inStrides[i];
                    }
                    if (inside) {
                        double e = v[plane * planeIn + at];
                        if (e > best || bestAt < 0) {
                            best = e;
                            bestAt = at;
                        }
                        sum += e;
                        count++;
                    } else if (countPad && inPadded) {
                        count++;
                    }
                    for (int i = sp - 1; i >= 0; i--) {
                        if (++w[i] < g.kernel()[i]) break;
                        w[i] = 0;
                    }
                }
                y[plane * planeOut + op] = max ? best : sum / count;
                long flat = bestAt;
                if (columnMajor && sp == 2 && bestAt >= 0) flat = (long) (bestAt % in[1]) * in[0] + bestAt / in[1];
                idx[plane * planeOut + op] = (long) plane * planeIn + flat;
            }
        }
        int[] outDims = new int[d.length];
        outDims[0] = d[0];
        outDims[1] = d[1];
        System.arraycopy(out, 0, outDims, 2, sp);
        return new Tensor[] {Host.fromDoubles(x.dtype(), outDims, y), Tensor.ofLongs(idx, outDims)};
    }
}
