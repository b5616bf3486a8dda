package dev.ember.loaders.onnx.ops;

import dev.ember.autograd.Variable;
import dev.ember.engine.DType;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxException;
import dev.ember.loaders.onnx.OnnxNode;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.ember.loaders.onnx.ops.ElementwiseOps.one;

/**
 * Indexing ops: gathers and scatters, one-hot, arg-max/min, top-k, cumulative sums, non-zero. Index arithmetic runs
 * on the host over row-major arrays; Gather, Compress and CumSum stay differentiable (selection and triangular
 * matrices), the scatters and element gathers refuse a gradient.
 */
final class IndexOps {
    private IndexOps() {}

    static void register(OpTable t) {
        t.add("Gather", 1, (n, in, v) -> one(gather(n, Args.in(n, in, 0), Args.in(n, in, 1))));
        t.add("GatherElements", 11, (n, in, v) -> one(gatherElements(n, Args.in(n, in, 0), Args.in(n, in, 1))));
        t.add("GatherND", 11, (n, in, v) -> one(gatherNd(n, Args.in(n, in, 0), Args.in(n, in, 1))));
        t.add("Scatter", 9, (n, in, v) -> one(scatterElements(n, Args.in(n, in, 0), Args.in(n, in, 1), Args.in(n, in, 2))));
        t.add("ScatterElements", 11, (n, in, v) -> one(scatterElements(n, Args.in(n, in, 0), Args.in(n, in, 1), Args.in(n, in, 2))));
        t.add("ScatterND", 11, (n, in, v) -> one(scatterNd(n, Args.in(n, in, 0), Args.in(n, in, 1), Args.in(n, in, 2))));
        t.add("OneHot", 9, (n, in, v) -> one(oneHot(n, Args.in(n, in, 0), Args.in(n, in, 1), Args.in(n, in, 2))));
        t.add("ArgMax", 1, (n, in, v) -> one(argExtreme(n, Args.in(n, in, 0), true)));
        t.add("ArgMin", 1, (n, in, v) -> one(argExtreme(n, Args.in(n, in, 0), false)));
        t.add("TopK", 1, (n, in, v) -> topK(n, Args.in(n, in, 0), n.attrInt("k")));
        t.add("TopK", 10, (n, in, v) -> topK(n, Args.in(n, in, 0), Args.longs(n, Args.in(n, in, 1), "K")[0]));
        t.add("CumSum", 11, (n, in, v) -> one(cumSum(n, Args.in(n, in, 0), Args.in(n, in, 1))));
        t.add("NonZero", 9, (n, in, v) -> one(nonZero(Args.in(n, in, 0))));
        t.add("Compress", 9, (n, in, v) -> one(compress(n, Args.in(n, in, 0), Args.in(n, in, 1))));
        t.add("Unique", 11, IndexOps::unique);
        t.add("ReverseSequence", 10, (n, in, v) -> one(reverseSequence(n, Args.in(n, in, 0), Args.in(n, in, 1))));
    }

    /** Indices as ints in [0, n): negative ones count from the end. */
    static int[] indices(OnnxNode node, Variable idx, int n, String what) {
        long[] raw = Args.longs(node, idx, what);
        int[] r = new int[raw.length];
        for (int i = 0; i < raw.length; i++) {
            long k = raw[i] < 0 ? raw[i] + n : raw[i];
            if (k < 0 || k >= n) throw new OnnxException(node.describe() + ": " + what + " " + raw[i] + " is out of range for size " + n);
            r[i] = (int) k;
        }
        return r;
    }

    /** out = data with axis replaced by the shape of indices: data[..., indices[j...], ...]. */
    static Variable gather(OnnxNode node, Variable data, Variable idx) {
        int a = Args.axis(node, node.attrInt("axis", 0), data.rank(), "axis");
        int[] index = indices(node, idx, data.dim(a), "index");
        int[] d = data.shape().dims(), id = idx.shape().dims();
        int[] out = new int[d.length - 1 + id.length];
        System.arraycopy(d, 0, out, 0, a);
        System.arraycopy(id, 0, out, a, id.length);
        System.arraycopy(d, a + 1, out, a + id.length, d.length - a - 1);
        return Grad.take(data, a, index).reshape(out);
    }

    /** out[i] = data[i with axis replaced by indices[i]]; out has the shape of indices. */
    static Variable gatherElements(OnnxNode node, Variable data, Variable idx) {
        Grad.refuse(node, data);
        int r = data.rank(), a = Args.axis(node, node.attrInt("axis", 0), r, "axis");
        if (idx.rank() != r) throw new OnnxException(node.describe() + ": indices " + idx.shape() + " must have the rank of data " + data.shape());
        int[] index = indices(node, idx, data.dim(a), "index");
        int[] source = elementTargets(idx.shape(), data.shape(), a, index);
        return Variable.of(Host.gather(data.data(), source, idx.shape().dims()));
    }

    /** For each element of an index tensor (row-major), the flat position in {@code data} it addresses along axis a. */
    private static int[] elementTargets(Shape idxShape, Shape dataShape, int a, int[] index) {
        int r = idxShape.rank();
        int[] strides = dataShape.contiguousStrides(), pos = new int[r], source = new int[index.length];
        for (int k = 0; k < index.length; k++) {
            int at = 0;
            for (int i = 0; i < r; i++) at += (i == a ? index[k] : pos[i]) * strides[i];
            source[k] = at;
            for (int i = r - 1; i >= 0; i--) {
                if (++pos[i] < idxShape.dim(i)) break;
                pos[i] = 0;
            }
        }
        return source;
    }

    static Variable gatherNd(OnnxNode node, Variable data, Variable idx) {
        Grad.refuse(node, data);
        int b = (int) node.attrInt("batch_dims", 0);
        int[] d = data.shape().dims(), id = idx.shape().dims();
        int m = id.length == 0 ? 0 : id[id.length - 1];
        if (id.length < 1 || b < 0 || b + m > d.length || b >= id.length) throw new OnnxException(node.describe() + ": indices " + idx.shape() + " do not fit data " + data.shape() + " with batch_dims " + b);
        long[] raw = Args.longs(node, idx, "indices");
        int batches = Host.product(id, 0, b), tuples = Host.product(id, b, id.length - 1);
        int inner = Host.product(d, b + m, d.length), dataBatch = Host.product(d, b, d.length);
        int[] strides = Shape.of(Arrays.copyOfRange(d, b, d.length)).contiguousStrides();
        int[] source = new int[batches * tuples * inner];
        for (int bt = 0; bt < batches; bt++) {
            for (int t = 0; t < tuples; t++) {
                int at = bt * dataBatch;
                for (int j = 0; j < m; j++) {
                    long k = raw[(bt * tuples + t) * m + j];
                    int dim = d[b + j];
                    if (k < -dim || k >= dim) throw new OnnxException(node.describe() + ": index " + k + " is out of range for size " + dim);
                    at += (int) (k < 0 ? k + dim : k) * strides[j];
                }
                for (int i = 0; i < inner; i++) source[(bt * tuples + t) * inner + i] = at + i;
            }
        }
        int[] out = new int[id.length - 1 + d.length - b - m];
        System.arraycopy(id, 0, out, 0, id.length - 1);
        System.arraycopy(d, b + m, out, id.length - 1, d.length - b - m);
        return Variable.of(Host.gather(data.data(), source, out));
    }

    static Variable scatterElements(OnnxNode node, Variable data, Variable idx, Variable updates) {
        Grad.refuse(node, data, updates);
        ElementwiseOps.sameType(node, data, updates);
        int r = data.rank(), a = Args.axis(node, node.attrInt("axis", 0), r, "axis");
        if (!idx.shape().equals(updates.shape())) throw new OnnxException(node.describe() + ": indices " + idx.shape() + " and updates " + updates.shape() + " differ");
        int[] index = indices(node, idx, data.dim(a), "index");
        int[] target = elementTargets(idx.shape(), data.shape(), a, index);
        return Variable.of(scatter(node, data.data(), target, updates.data()));
    }

    static Variable scatterNd(OnnxNode node, Variable data, Variable idx, Variable updates) {
        Grad.refuse(node, data, updates);
        ElementwiseOps.sameType(node, data, updates);
        int[] d = data.shape().dims(), id = idx.shape().dims();
        int m = id.length == 0 ? 0 : id[id.length - 1];
        if (id.length < 1 || m > d.length) throw new OnnxException(node.describe() + ": indices " + idx.shape() + " do not fit data " + data.shape());
        long[] raw = Args.longs(node, idx, "indices");
        int tuples = Host.product(id, 0, id.length - 1), inner = Host.product(d, m, d.length);
        if (updates.shape().numel() != tuples * inner) throw new OnnxException(node.describe() + ": updates " + updates.shape() + " do not fit indices " + idx.shape());
        int[] strides = data.shape().contiguousStrides();
        int[] target = new int[tuples * inner];
        for (int t = 0; t < tuples; t++) {
            int at = 0;
            for (int j = 0; j < m; j++) {
                long k = raw[t * m + j];
                if (k < -d[j] || k >= d[j]) throw new OnnxException(node.describe() + ": index " + k + " is out of range for size " + d[j]);
                at += (int) (k < 0 ? k + d[j] : k) * strides[j];
            }
            for (int i = 0; i < inner; i++) target[t * inner + i] = at + i;
        }
        return Variable.of(scatter(node, data.data(), target, updates.data()));
    }

    /** A copy of data where element target[k] is replaced (or reduced, per the reduction attribute) with updates[k]. */
    private static Tensor scatter(OnnxNode node, Tensor data, int[] target, Tensor updates) {
        String reduction = node.attrString("reduction", "none");
        double[] out = Host.doubles(data), u = Host.doubles(updates);
        for (int k = 0; k < target.length; k++) {
            int at = target[k];
            out[at] = switch (reduction) {
                case "none" -> u[k];
                case "add" -> out[at] + u[k];
                case "mul" -> out[at] * u[k];
                case "max" -> Math.max(out[at], u[k]);
                case "min" -> Math.min(out[at], u[k]);
                default -> throw new OnnxException(node.describe() + ": unknown reduction '" + reduction + "'");
            };
        }
        if (data.dtype() == DType.INT64) {   // through long, so large int64 values survive
            long[] l = Host.longs(data), ul = Host.longs(updates);
            for (int k = 0; k < target.length; k++) {
                int at = target[k];
                l[at] = switch (reduction) {
                    case "add" -> l[at] + ul[k];
                    case "mul" -> l[at] * ul[k];
                    case "max" -> Math.max(l[at], ul[k]);
                    case "min" -> Math.min(l[at], ul[k]);
                    default -> ul[k];
                };
            }
            return Host.fromLongs(DType.INT64, data.dims(), l);
        }
        return Host.fromDoubles(data.dtype(), data.dims(), out);
    }

    static Variable oneHot(OnnxNode node, Variable idx, Variable depthInput, Variable values) {
        long depthL = (long) Args.scalar(node, depthInput, "depth");
        int depth = Args.toInt(node, depthL, "depth");
        if (depth < 1) throw new OnnxException(node.describe() + ": depth must be >= 1, got " + depth);
        if (values.shape().numel() != 2) throw new OnnxException(node.describe() + ": values must be [off, on], got shape " + values.shape());
        int r = idx.rank() + 1, a = Args.axis(node, node.attrInt("axis", -1), r, "axis");
        double[] raw = Host.doubles(idx.data()), onOff = Host.doubles(values.data());
        int[] id = idx.shape().dims();
        int outer = Host.product(id, 0, a), inner = Host.product(id, a, id.length);
        int[] out = new int[r];
        System.arraycopy(id, 0, out, 0, a);
        out[a] = depth;
        System.arraycopy(id, a, out, a + 1, id.length - a);
        Args.checkSize(node, out, values.data().dtype());
        double[] y = new double[outer * depth * inner];
        Arrays.fill(y, onOff[0]);
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                long k = (long) raw[o * inner + i];
                if (k < 0) k += depth;
                if (k >= 0 && k < depth) y[(o * depth + (int) k) * inner + i] = onOff[1];
            }
        }
        return Variable.of(Host.fromDoubles(values.data().dtype(), out, y));
    }

    static Variable argExtreme(OnnxNode node, Variable x, boolean max) {
        int r = x.rank(), a = Args.axis(node, node.attrInt("axis", 0), r, "axis");
        boolean keep = node.attrInt("keepdims", 1) != 0, last = node.attrInt("select_last_index", 0) != 0;
        int[] d = x.shape().dims();
        int outer = Host.product(d, 0, a), n = d[a], inner = Host.product(d, a + 1, r);
        if (n == 0) throw new OnnxException(node.describe() + ": cannot take an arg-extreme over an empty axis");
        double[] v = Host.doubles(x.data());
        long[] y = new long[outer * inner];
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                int best = 0;
                double bv = v[o * n * inner + i];
                for (int k = 1; k < n; k++) {
                    double c = v[(o * n + k) * inner + i];
                    boolean better = max ? (last ? c >= bv : c > bv) : (last ? c <= bv : c < bv);
                    if (better) {
                        best = k;
                        bv = c;
                    }
                }
                y[o * inner + i] = best;
            }
        }
        int[] out = keep ? Args.withDim(x.data(), a, 1) : removeAxis(d, a);
        return Variable.of(Tensor.ofLongs(y, out));
    }

    static int[] removeAxis(int[] d, int a) {
        int[] r = new int[d.length - 1];
        System.arraycopy(d, 0, r, 0, a);
        System.arraycopy(d, a + 1, r, a, d.length - a - 1);
        return r;
    }

    /** The k largest (or smallest) along axis, with their int64 indices; ties keep the lower index first. */
    static Variable[] topK(OnnxNode node, Variable x, long kL) {
        Grad.refuse(node, x);
        int r = x.rank(), a = Args.axis(node, node.attrInt("axis", -1), r, "axis");
        boolean largest = node.attrInt("largest", 1) != 0;
        int[] d = x.shape().dims();
        int outer = Host.product(d, 0, a), n = d[a], inner = Host.product(d, a + 1, r);
        if (kL < 0 || kL > n) throw new OnnxException(node.describe() + ": k = " + kL + " is out of range for size " + n);
        int k = (int) kL;
        double[] v = Host.doubles(x.data());
        double[] values = new double[outer * k * inner];
        long[] idx = new long[outer * k * inner];
        Integer[] order = new Integer[n];
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                final int base = o * n * inner + i;
                for (int j = 0; j < n; j++) order[j] = j;
                Arrays.sort(order, (p, q) -> {
                    int c = Double.compare(v[base + p * inner], v[base + q * inner]);
                    return c != 0 ? (largest ? -c : c) : Integer.compare(p, q);
                });
                for (int j = 0; j < k; j++) {
                    values[(o * k + j) * inner + i] = v[base + order[j] * inner];
                    idx[(o * k + j) * inner + i] = order[j];
                }
            }
        }
        int[] out = Args.withDim(x.data(), a, k);
        return new Variable[] {Variable.of(Host.fromDoubles(x.data().dtype(), out, values)), Variable.of(Tensor.ofLongs(idx, out))};
    }

    /** Running sums along axis (exclusive: without the element itself; reverse: from the end). Linear, so differentiable. */
    static Variable cumSum(OnnxNode node, Variable x, Variable axisInput) {
        int a = Args.axis(node, Args.longs(node, axisInput, "axis")[0], x.rank(), "axis");
        boolean exclusive = node.attrInt("exclusive", 0) != 0, reverse = node.attrInt("reverse", 0) != 0;
        int n = x.dim(a);
        if (Grad.recording(x)) {
            float[] m = new float[n * n];   // m (n, n): 1 where input i feeds output o
            for (int i = 0; i < n; i++) {
                for (int o = 0; o < n; o++) {
                    boolean feeds = reverse ? (exclusive ? i > o : i >= o) : (exclusive ? i < o : i <= o);
                    if (feeds) m[i * n + o] = 1f;
                }
            }
            return Grad.alongAxis(x, a, Tensor.of(m, n, n));
        }
        int[] d = x.shape().dims();
        int outer = Host.product(d, 0, a), inner = Host.product(d, a + 1, d.length);
        boolean isFloat = x.data().dtype() == DType.FLOAT32;
        if (!isFloat) ElementwiseOps.requireInteger(node, x.data().dtype());
        double[] v = isFloat ? Host.doubles(x.data()) : null;
        long[] l = isFloat ? null : Host.longs(x.data());
        double[] yd = isFloat ? new double[v.length] : null;
        long[] yl = isFloat ? null : new long[l.length];
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                double accD = 0;
                long accL = 0;
                for (int s = 0; s < n; s++) {
                    int k = reverse ? n - 1 - s : s;
                    int at = (o * n + k) * inner + i;
                    if (isFloat) {
                        if (exclusive) { yd[at] = accD; accD += v[at]; } else { accD += v[at]; yd[at] = accD; }
                    } else {
                        if (exclusive) { yl[at] = accL; accL += l[at]; } else { accL += l[at]; yl[at] = accL; }
                    }
                }
            }
        }
        return Variable.of(isFloat ? Host.fromDoubles(DType.FLOAT32, d, yd) : Host.fromLongs(x.data().dtype(), d, yl));
    }

    /** The coordinates (rank, count) of the non-zero elements, in row-major order. */
    static Variable nonZero(Variable x) {
        double[] v = Host.doubles(x.data());
        int r = x.rank();
        int[] d = x.shape().dims();
        List<Integer> hits = new ArrayList<>();
        for (int i = 0; i < v.length; i++) if (v[i] != 0) hits.add(i);
        long[] y = new long[r * hits.size()];
        for (int j = 0; j < hits.size(); j++) {
            int rest = hits.get(j);
            for (int i = r - 1; i >= 0; i--) {
                y[i * hits.size() + j] = rest % d[i];
                rest /= d[i];
            }
        }
        return Variable.of(Tensor.ofLongs(y, r, hits.size()));
    }

    /** The slices along axis (or elements of the flattened input) where condition is true. */
    static Variable compress(OnnxNode node, Variable x, Variable cond) {
        long[] c = Args.longs(node, cond, "condition");
        Variable src = x;
        int a;
        if (node.has("axis")) {
            a = Args.axis(node, node.attrInt("axis"), x.rank(), "axis");
        } else {
            src = x.reshape(x.shape().numel());
            a = 0;
        }
        if (c.length > src.dim(a)) throw new OnnxException(node.describe() + ": condition has " + c.length + " entries for size " + src.dim(a));
        int[] index = Arrays.stream(Args.range(0, c.length)).filter(i -> c[i] != 0).toArray();
        return Grad.take(src, a, index);
    }

    /**
     * The distinct elements (or, with axis, distinct slices along it) of x: Y, the index of each one's first
     * occurrence, for each element of x the position of its value in Y, and the counts. sorted=1 (default) orders Y
     * ascending (slices lexicographically), else by first occurrence.
     */
    static Variable[] unique(OnnxNode node, Variable[] in, int opset) {
        Variable x = Args.in(node, in, 0);
        Grad.refuse(node, x);
        boolean sorted = node.attrInt("sorted", 1) != 0;
        Variable src = node.has("axis") ? x : x.reshape(x.shape().numel());
        int a = node.has("axis") ? Args.axis(node, node.attrInt("axis"), x.rank(), "axis") : 0;
        int[] d = src.shape().dims();
        int n = d[a], outer = Host.product(d, 0, a), inner = Host.product(d, a + 1, d.length);
        double[] v = Host.doubles(src.data());
        double[][] slices = new double[n][outer * inner];   // slice k: every element with index k on the axis
        for (int o = 0; o < outer; o++) {
            for (int k = 0; k < n; k++) System.arraycopy(v, (o * n + k) * inner, slices[k], o * inner, inner);
        }
        List<Integer> firsts = new ArrayList<>();   // first occurrence of each distinct slice, in order of appearance
        int[] inverse = new int[n];
        for (int k = 0; k < n; k++) {
            int found = -1;
            for (int j = 0; j < firsts.size() && found < 0; j++) if (Arrays.equals(slices[firsts.get(j)], slices[k])) found = j;
            if (found < 0) {
                found = firsts.size();
                firsts.add(k);
            }
            inverse[k] = found;
        }
        Integer[] order = new Integer[firsts.size()];   // order[i]: the distinct slice shown at position i of Y
        for (int i = 0; i < order.length; i++) order[i] = i;
        if (sorted) Arrays.sort(order, (p, q) -> Arrays.compare(slices[firsts.get(p)], slices[firsts.get(q)]));
        int[] position = new int[order.length];
        for (int i = 0; i < order.length; i++) position[order[i]] = i;
        int[] index = new int[order.length];
        long[] firstIdx = new long[order.length], counts = new long[order.length], inv = new long[n];
        for (int i = 0; i < order.length; i++) {
            index[i] = firsts.get(order[i]);
            firstIdx[i] = index[i];
        }
        for (int k = 0; k < n; k++) {
            inv[k] = position[inverse[k]];
            counts[position[inverse[k]]]++;
        }
        return new Variable[] {Variable.of(Host.take(src.data(), a, index)), Variable.of(Tensor.ofLongs(firstIdx, firstIdx.length)),
                Variable.of(Tensor.ofLongs(inv, n)), Variable.of(Tensor.ofLongs(counts, counts.length))};
    }

    static Variable reverseSequence(OnnxNode node, Variable x, Variable lens) {
        Grad.refuse(node, x);
        int r = x.rank();
        int batchAxis = Args.axis(node, node.attrInt("batch_axis", 1), r, "batch_axis");
        int timeAxis = Args.axis(node, node.attrInt("time_axis", 0), r, "time_axis");
        long[] len = Args.longs(node, lens, "sequence_lens");
        int[] d = x.shape().dims(), strides = x.shape().contiguousStrides();
        int numel = x.shape().numel();
        int[] source = new int[numel];
        int[] pos = new int[r];
        for (int k = 0; k < numel; k++) {
            int t = pos[timeAxis], b = pos[batchAxis];
            long l = len[b];
            int srcT = t < l ? (int) (l - 1 - t) : t;
            source[k] = k + (srcT - t) * strides[timeAxis];
            for (int i = r - 1; i >= 0; i--) {
                if (++pos[i] < d[i]) break;
                pos[i] = 0;
            }
        }
        return Variable.of(Host.gather(x.data(), source, d));
    }
}
