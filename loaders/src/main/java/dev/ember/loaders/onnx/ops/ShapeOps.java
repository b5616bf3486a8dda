package dev.ember.loaders.onnx.ops;

import dev.ember.autograd.Variable;
import dev.ember.engine.DType;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxException;
import dev.ember.loaders.onnx.OnnxNode;

import java.util.Arrays;

import static dev.ember.loaders.onnx.ops.ElementwiseOps.one;

/**
 * Ops that move or make elements without arithmetic: reshapes, transposes, slicing, joining, padding, constants,
 * casts. Any dtype; float32 results stay differentiable (views and movements are autograd ops, joins and reversed
 * slices go through {@link Grad}). Shape vectors (int64) are read on the host.
 */
final class ShapeOps {
    private ShapeOps() {}

    static void register(OpTable t) {
        t.add("Identity", 1, (n, in, v) -> one(Args.in(n, in, 0)));
        t.add("Reshape", 1, (n, in, v) -> one(reshape(n, Args.in(n, in, 0), n.attrInts("shape", new long[0]), false)));
        t.add("Reshape", 5, (n, in, v) -> one(reshape(n, Args.in(n, in, 0), Args.longs(n, Args.in(n, in, 1), "shape"),
                n.attrInt("allowzero", 0) != 0)));
        t.add("Flatten", 1, (n, in, v) -> {
            Variable x = Args.in(n, in, 0);
            long axis = n.attrInt("axis", 1);   // in [-rank, rank]: rank gives (N, 1)
            if (axis < -x.rank() || axis > x.rank()) throw new OnnxException(n.describe() + ": axis " + axis + " is out of range for rank " + x.rank());
            int a = (int) (axis < 0 ? axis + x.rank() : axis);
            int[] d = x.shape().dims();
            return one(x.reshape(Host.product(d, 0, a), Host.product(d, a, d.length)));
        });
        t.add("Transpose", 1, (n, in, v) -> {
            Variable x = Args.in(n, in, 0);
            long[] perm = n.attrInts("perm", null);
            int[] p = new int[x.rank()];
            if (perm != null && perm.length != p.length) throw new OnnxException(n.describe() + ": perm " + Arrays.toString(perm) + " does not match rank " + p.length);
            for (int i = 0; i < p.length; i++) p[i] = perm == null ? p.length - 1 - i : Args.axis(n, perm[i], p.length, "perm");
            return one(x.permute(p));
        });
        t.add("Squeeze", 1, (n, in, v) -> one(squeeze(n, Args.in(n, in, 0), n.attrInts("axes", null))));
        t.add("Squeeze", 13, (n, in, v) -> one(squeeze(n, Args.in(n, in, 0), optionalLongs(n, in, 1, "axes"))));
        t.add("Unsqueeze", 1, (n, in, v) -> one(unsqueeze(n, Args.in(n, in, 0), n.attrInts("axes", null))));
        t.add("Unsqueeze", 13, (n, in, v) -> one(unsqueeze(n, Args.in(n, in, 0), Args.longs(n, Args.in(n, in, 1), "axes"))));
        t.add("Concat", 1, (n, in, v) -> one(concat(n, in)));
        t.add("Split", 1, (n, in, v) -> split(n, Args.in(n, in, 0), n.attrInts("split", null)));
        t.add("Split", 13, (n, in, v) -> split(n, Args.in(n, in, 0), optionalLongs(n, in, 1, "split")));
        t.add("Slice", 1, (n, in, v) -> one(slice(n, Args.in(n, in, 0), n.attrInts("starts", null), n.attrInts("ends", null),
                n.attrInts("axes", null), null)));
        t.add("Slice", 10, (n, in, v) -> one(slice(n, Args.in(n, in, 0), Args.longs(n, Args.in(n, in, 1), "starts"),
                Args.longs(n, Args.in(n, in, 2), "ends"), optionalLongs(n, in, 3, "axes"), optionalLongs(n, in, 4, "steps"))));
        t.add("Expand", 8, (n, in, v) -> {
            Variable x = Args.in(n, in, 0);
            int[] target = Args.toInts(n, Args.longs(n, Args.in(n, in, 1), "shape"), "shape");
            Args.checkSize(n, target, x.data().dtype());
            Shape out = Shape.broadcast(x.shape(), Shape.of(target));
            Args.checkSize(n, out.dims(), x.data().dtype());
            return one(out.equals(x.shape()) ? x : x.expand(out.dims()));
        });
        t.add("Tile", 6, (n, in, v) -> one(tile(n, Args.in(n, in, 0), Args.longs(n, Args.in(n, in, 1), "repeats"))));
        t.add("Shape", 1, (n, in, v) -> one(shape(n, Args.in(n, in, 0))));
        t.add("Size", 1, (n, in, v) -> one(Variable.of(Tensor.ofLongs(new long[] {Args.in(n, in, 0).data().numel()}))));
        t.add("Constant", 1, (n, in, v) -> one(Variable.of(constant(n))));
        t.add("ConstantOfShape", 9, (n, in, v) -> one(constantOfShape(n, Args.in(n, in, 0))));
        t.add("Cast", 1, (n, in, v) -> one(cast(n, Args.in(n, in, 0), n.attrInt("to"))));
        t.add("CastLike", 15, (n, in, v) -> one(cast(n, Args.in(n, in, 0), Args.in(n, in, 1).data().dtype())));
        t.add("Range", 11, (n, in, v) -> one(range(n, Args.in(n, in, 0), Args.in(n, in, 1), Args.in(n, in, 2))));
        t.add("Pad", 1, (n, in, v) -> one(pad(n, Args.in(n, in, 0), n.attrInts(n.has("paddings") ? "paddings" : "pads", null),
                n.attrString("mode", "constant"), n.attrFloat("value", 0f))));
        t.add("Pad", 11, (n, in, v) -> {
            Variable x = Args.in(n, in, 0), value = Args.opt(in, 2);
            long[] pads = Args.longs(n, Args.in(n, in, 1), "pads");
            long[] axes = optionalLongs(n, in, 3, "axes");
            if (axes != null) pads = padsOnAxes(n, pads, axes, x.rank());
            double c = value == null ? 0 : Args.scalar(n, value, "constant_value");
            return one(pad(n, x, pads, n.attrString("mode", "constant"), c));
        });
        t.add("DepthToSpace", 1, (n, in, v) -> one(depthToSpace(n, Args.in(n, in, 0))));
        t.add("SpaceToDepth", 1, (n, in, v) -> one(spaceToDepth(n, Args.in(n, in, 0))));
        t.add("EyeLike", 9, (n, in, v) -> one(eyeLike(n, Args.in(n, in, 0))));
        t.add("Trilu", 14, (n, in, v) -> one(trilu(n, Args.in(n, in, 0), Args.opt(in, 1))));
    }

    /** The longs of optional input {@code i}, or null when omitted. */
    static long[] optionalLongs(OnnxNode node, Variable[] in, int i, String what) {
        Variable v = Args.opt(in, i);
        return v == null ? null : Args.longs(node, v, what);
    }

    /** ONNX Reshape: 0 copies the input's size at that position (unless allowzero), one -1 is inferred. */
    static Variable reshape(OnnxNode node, Variable x, long[] shape, boolean allowZero) {
        int[] d = new int[shape.length];
        int infer = -1;
        long known = 1;
        for (int i = 0; i < shape.length; i++) {
            long s = shape[i];
            if (s == -1) {
                if (infer >= 0) throw new OnnxException(node.describe() + ": shape " + Arrays.toString(shape) + " has more than one -1");
                infer = i;
                continue;
            }
            if (s == 0 && !allowZero) {
                if (i >= x.rank()) throw new OnnxException(node.describe() + ": shape " + Arrays.toString(shape) + " copies axis " + i + " of " + x.shape());
                d[i] = x.dim(i);
            } else if (s < 0) {
                throw new OnnxException(node.describe() + ": shape " + Arrays.toString(shape) + " has negative size " + s);
            } else {
                d[i] = Args.toInt(node, s, "shape size");
            }
            known = Args.times(known, d[i]);
        }
        int numel = x.shape().numel();
        if (infer >= 0) {
            if (known == 0 || numel % known != 0) {
                throw new OnnxException(node.describe() + ": cannot reshape " + x.shape() + " to " + Arrays.toString(shape));
            }
            d[infer] = (int) (numel / known);
        }
        if (Shape.of(d).numel() != numel) throw new OnnxException(node.describe() + ": cannot reshape " + x.shape() + " to " + Arrays.toString(shape));
        return x.reshape(d);
    }

    static Variable squeeze(OnnxNode node, Variable x, long[] axes) {
        int[] d = x.shape().dims();
        boolean[] drop = new boolean[d.length];
        if (axes == null) {
            for (int i = 0; i < d.length; i++) drop[i] = d[i] == 1;
        } else {
            for (int a : Args.axes(node, axes, d.length, "axes")) {
                if (d[a] != 1) throw new OnnxException(node.describe() + ": cannot squeeze axis " + a + " of " + x.shape() + " (size " + d[a] + ")");
                drop[a] = true;
            }
        }
        return x.reshape(Arrays.stream(Args.range(0, d.length)).filter(i -> !drop[i]).map(i -> d[i]).toArray());
    }

    static Variable unsqueeze(OnnxNode node, Variable x, long[] axes) {
        if (axes == null) throw new OnnxException(node.describe() + ": axes are required");
        int rank = x.rank() + axes.length;
        boolean[] added = new boolean[rank];
        for (int a : Args.axes(node, axes, rank, "axes")) added[a] = true;
        int[] d = new int[rank];
        for (int i = 0, j = 0; i < rank; i++) d[i] = added[i] ? 1 : x.dim(j++);
        return x.reshape(d);
    }

    static Variable concat(OnnxNode node, Variable[] in) {
        if (in.length == 0) throw new OnnxException(node.describe() + " needs at least one input");
        Variable first = Args.in(node, in, 0);
        int rank = first.rank();
        int axis = Args.axis(node, node.attrInt("axis"), rank, "axis");
        for (int i = 0; i < in.length; i++) {
            Variable p = Args.in(node, in, i);
            ElementwiseOps.sameType(node, first, p);
            boolean fits = p.rank() == rank;
            for (int a = 0; fits && a < rank; a++) fits = a == axis || p.dim(a) == first.dim(a);
            if (!fits) throw new OnnxException(node.describe() + ": input " + i + " " + p.shape() + " does not fit " + first.shape() + " on axes other than " + axis);
        }
        return in.length == 1 ? first : Grad.concat(in, axis);
    }

    static Variable[] split(OnnxNode node, Variable x, long[] sizes) {
        int axis = Args.axis(node, node.attrInt("axis", 0), x.rank(), "axis");
        int parts = node.outputs().size(), dim = x.dim(axis);
        if (sizes == null) {
            if (parts == 0 || dim % parts != 0) throw new OnnxException(node.describe() + ": cannot split size " + dim + " into " + parts + " equal parts");
            sizes = new long[parts];
            Arrays.fill(sizes, dim / parts);
        }
        if (sizes.length != parts || Arrays.stream(sizes).sum() != dim || Arrays.stream(sizes).anyMatch(s -> s < 0)) {
            throw new OnnxException(node.describe() + ": split " + Arrays.toString(sizes) + " does not divide size " + dim + " into " + parts + " outputs");
        }
        Variable[] out = new Variable[parts];
        int at = 0;
        for (int i = 0; i < parts; i++) {
            out[i] = x.slice(axis, at, at + (int) sizes[i], 1);
            at += (int) sizes[i];
        }
        return out;
    }

    /** ONNX Slice: starts/ends clamp to the axis (negative counts from the end), steps may be negative. */
    static Variable slice(OnnxNode node, Variable x, long[] starts, long[] ends, long[] axes, long[] steps) {
        if (starts == null || ends == null || starts.length != ends.length) throw new OnnxException(node.describe() + ": starts and ends must have one length");
        int k = starts.length;
        if ((axes != null && axes.length != k) || (steps != null && steps.length != k)) {
            throw new OnnxException(node.describe() + ": axes and steps must have the length of starts (" + k + ")");
        }
        int[] ax = new int[k];
        for (int i = 0; i < k; i++) ax[i] = Args.axis(node, axes == null ? i : axes[i], x.rank(), "axes");
        Args.axes(node, Arrays.stream(ax).asLongStream().toArray(), x.rank(), "axes");   // checks repeats
        Variable y = x;
        for (int i = 0; i < k; i++) {
            int a = ax[i];
            long dim = y.dim(a), step = steps == null ? 1 : steps[i];
            if (step == 0) throw new OnnxException(node.describe() + ": step 0 on axis " + a);
            long s = starts[i] < 0 ? starts[i] + dim : starts[i];
            long e = ends[i] < 0 ? ends[i] + dim : ends[i];
            if (step > 0) {
                s = Math.clamp(s, 0, dim);
                e = Math.clamp(e, 0, dim);
                if (s == 0 && e == dim && step == 1) continue;
                y = y.slice(a, (int) s, (int) Math.max(e, s), (int) Math.min(step, Math.max(dim, 1)));
            } else {
                s = Math.clamp(s, 0, dim - 1);
                e = Math.clamp(e, -1, dim - 1);
                int count = s > e ? (int) ((s - e - 1) / -step + 1) : 0;
                int[] index = new int[count];
                for (int j = 0; j < count; j++) index[j] = (int) (s + j * step);
                y = Grad.take(y, a, index);
            }
        }
        return y;
    }

    /** Tile: (d0, d1, ...) -> (1, d0, 1, d1, ...) expanded to (r0, d0, r1, d1, ...) and merged to (r0 d0, r1 d1, ...). */
    static Variable tile(OnnxNode node, Variable x, long[] repeats) {
        int r = x.rank();
        if (repeats.length != r) throw new OnnxException(node.describe() + ": repeats " + Arrays.toString(repeats) + " must have one entry per axis of " + x.shape());
        int[] spread = new int[2 * r], expanded = new int[2 * r], out = new int[r];
        for (int i = 0; i < r; i++) {
            int rep = Args.toInt(node, repeats[i], "repeat");
            if (rep < 0) throw new OnnxException(node.describe() + ": negative repeat " + rep);
            spread[2 * i] = 1;
            spread[2 * i + 1] = x.dim(i);
            expanded[2 * i] = rep;
            expanded[2 * i + 1] = x.dim(i);
            out[i] = (int) Math.min((long) rep * x.dim(i), Integer.MAX_VALUE);
        }
        Args.checkSize(node, out, x.data().dtype());
        return x.reshape(spread).expand(expanded).reshape(out);
    }

    static Variable shape(OnnxNode node, Variable x) {
        int r = x.rank();
        long start = node.attrInt("start", 0), end = node.attrInt("end", r);
        int s = (int) Math.clamp(start < 0 ? start + r : start, 0, r);
        int e = (int) Math.clamp(end < 0 ? end + r : end, 0, r);
        long[] d = new long[Math.max(0, e - s)];
        for (int i = 0; i < d.length; i++) d[i] = x.dim(s + i);
        return Variable.of(Tensor.ofLongs(d, d.length));
    }

    static Tensor constant(OnnxNode node) {
        if (node.has("value")) return node.attrTensor("value");
        if (node.has("value_float")) return Tensor.scalar(node.attrFloat("value_float", 0f)).reshape();
        if (node.has("value_floats")) {
            float[] f = node.attrFloats("value_floats", null);
            return Tensor.of(f, f.length);
        }
        if (node.has("value_int")) return Tensor.ofLongs(new long[] {node.attrInt("value_int")});
        if (node.has("value_ints")) {
            long[] l = node.attrInts("value_ints", null);
            return Tensor.ofLongs(l, l.length);
        }
        if (node.has("value_string") || node.has("value_strings")) throw new OnnxUnsupportedException(node.describe() + ": string constants are not supported");
        if (node.has("sparse_value")) throw new OnnxUnsupportedException(node.describe() + ": sparse constants are not supported");
        throw new OnnxException(node.describe() + " has no value attribute");
    }

    static Variable constantOfShape(OnnxNode node, Variable shape) {
        int[] dims = Args.toInts(node, Args.longs(node, shape, "shape"), "size");
        Args.checkSize(node, dims, node.has("value") ? node.attrTensor("value").dtype() : DType.FLOAT32);
        if (!node.has("value")) return Variable.of(Host.full(DType.FLOAT32, dims, 0));
        Tensor v = node.attrTensor("value");
        if (v.numel() != 1) throw new OnnxException(node.describe() + ": value must have one element, got " + v.shape());
        double value = v.dtype() == DType.FLOAT32 ? v.toFloatArray()[0] : v.toLongArray()[0];
        return Variable.of(Host.full(v.dtype(), dims, value));
    }

    static Variable cast(OnnxNode node, Variable x, DType to) {
        if (x.data().dtype() == to) return x;
        return Variable.of(x.data().to(to));
    }

    /**
     * Cast to an ONNX type: the engine type it loads as, with the narrower type's values (int8 and int16 wrap,
     * float16 rounds to nearest even, bfloat16 truncates as the ONNX reference does, double is float32).
     */
    static Variable cast(OnnxNode node, Variable x, long onnxTo) {
        Variable y = cast(node, x, Args.dtype(node, onnxTo));
        return switch ((int) onnxTo) {
            case 3 -> narrow(y, v -> (byte) v);                 // INT8
            case 4 -> narrow(y, v -> v & 0xFFFF);               // UINT16
            case 5 -> narrow(y, v -> (short) v);                // INT16
            case 12 -> narrow(y, v -> v & 0xFFFFFFFFL);         // UINT32
            case 10 -> Variable.of(Host.mapFloat(y.data(), v -> Float.float16ToFloat(Float.floatToFloat16((float) v))));
            case 16 -> Variable.of(Host.mapFloat(y.data(), v -> Float.intBitsToFloat(Float.floatToRawIntBits((float) v) & 0xFFFF0000)));
            default -> y;
        };
    }

    private static Variable narrow(Variable y, java.util.function.LongUnaryOperator f) {
        long[] v = Host.longs(y.data());
        for (int i = 0; i < v.length; i++) v[i] = f.applyAsLong(v[i]);
        return Variable.of(Host.fromLongs(y.data().dtype(), y.shape().dims(), v));
    }

    static Variable range(OnnxNode node, Variable start, Variable limit, Variable delta) {
        DType t = start.data().dtype();
        double s = Args.scalar(node, start, "start"), l = Args.scalar(node, limit, "limit"), d = Args.scalar(node, delta, "delta");
        if (d == 0) throw new OnnxException(node.describe() + ": delta is 0");
        double count = Math.ceil((l - s) / d);
        if (!(count <= Shape.MAX_NUMEL)) throw new OnnxException(node.describe() + ": range of " + count + " elements is too large");
        int n = (int) Math.max(count, 0);
        Args.checkSize(node, new int[] {n}, t);
        if (t == DType.FLOAT32) {
            float[] a = new float[n];
            for (int i = 0; i < n; i++) a[i] = (float) (s + i * d);
            return Variable.of(Tensor.of(a, n));
        }
        ElementwiseOps.requireInteger(node, t);
        long[] a = new long[n];
        long ls = (long) s, ld = (long) d;
        for (int i = 0; i < n; i++) a[i] = ls + i * ld;
        return Variable.of(Host.fromLongs(t, new int[] {n}, a));
    }

    /** Pads given for {@code axes} only, spread to all axes (opset 18's axes input). */
    static long[] padsOnAxes(OnnxNode node, long[] pads, long[] axes, int rank) {
        if (pads.length != 2 * axes.length) throw new OnnxException(node.describe() + ": pads must have 2 entries per axis in axes");
        long[] full = new long[2 * rank];
        for (int i = 0; i < axes.length; i++) {
            int a = Args.axis(node, axes[i], rank, "axes");
            full[a] = pads[i];
            full[rank + a] = pads[axes.length + i];
        }
        return full;
    }

    /**
     * Pads x by pads (begin_0.., end_0..), negative values crop. Modes: constant (value), reflect (mirror without
     * repeating the edge), edge (repeat the edge), wrap.
     */
    static Variable pad(OnnxNode node, Variable x, long[] pads, String mode, double value) {
        int r = x.rank();
        if (pads == null || pads.length != 2 * r) throw new OnnxException(node.describe() + ": pads must have 2 x rank = " + 2 * r + " entries");
        int[] padded = x.shape().dims();
        for (int a = 0; a < r; a++) padded[a] = (int) Math.clamp(padded[a] + pads[a] + pads[r + a], 0, Integer.MAX_VALUE);
        Args.checkSize(node, padded, x.data().dtype());
        Variable y = x;
        for (int a = 0; a < r; a++) {
            int b = Args.toInt(node, pads[a], "pad"), e = Args.toInt(node, pads[r + a], "pad");
            if (b < 0 || e < 0) {   // crop first
                int n = y.dim(a);
                y = y.slice(a, Math.max(-b, 0), n - Math.max(-e, 0), 1);
                b = Math.max(b, 0);
                e = Math.max(e, 0);
            }
            if (b == 0 && e == 0) continue;
            int n = y.dim(a);
            if (mode.equals("constant")) {
                Variable before = Variable.of(Host.full(y.data().dtype(), Args.withDim(y.data(), a, b), value));
                Variable after = Variable.of(Host.full(y.data().dtype(), Args.withDim(y.data(), a, e), value));
                y = Grad.concat(new Variable[] {before, y, after}, a);
                continue;
            }
            if (n == 0) throw new OnnxException(node.describe() + ": cannot " + mode + "-pad an empty axis " + a);
            int[] index = new int[b + n + e];
            for (int i = 0; i < index.length; i++) {
                int src = i - b;
                index[i] = switch (mode) {
                    case "edge" -> Math.clamp(src, 0, n - 1);
                    case "wrap" -> Math.floorMod(src, n);
                    case "reflect" -> {
                        if (n == 1) yield 0;
                        int period = 2 * (n - 1), m = Math.floorMod(src, period);
                        yield m < n ? m : period - m;
                    }
                    default -> throw new OnnxUnsupportedException(node.describe() + ": pad mode '" + mode + "' is not supported");
                };
            }
            y = Grad.take(y, a, index);
        }
        return y;
    }

    static Variable depthToSpace(OnnxNode node, Variable x) {
        int b = Args.toInt(node, node.attrInt("blocksize"), "blocksize");
        if (x.rank() != 4 || b < 1 || x.dim(1) % (b * b) != 0) throw new OnnxException(node.describe() + ": cannot rearrange " + x.shape() + " with blocksize " + b);
        int n = x.dim(0), c = x.dim(1) / (b * b), h = x.dim(2), w = x.dim(3);
        Variable y = node.attrString("mode", "DCR").equals("CRD")
                ? x.reshape(n, c, b, b, h, w).permute(0, 1, 4, 2, 5, 3)
                : x.reshape(n, b, b, c, h, w).permute(0, 3, 4, 1, 5, 2);
        return y.reshape(n, c, h * b, w * b);
    }

    static Variable spaceToDepth(OnnxNode node, Variable x) {
        int b = Args.toInt(node, node.attrInt("blocksize"), "blocksize");
        if (x.rank() != 4 || b < 1 || x.dim(2) % b != 0 || x.dim(3) % b != 0) throw new OnnxException(node.describe() + ": cannot rearrange " + x.shape() + " with blocksize " + b);
        int n = x.dim(0), c = x.dim(1), h = x.dim(2) / b, w = x.dim(3) / b;
        return x.reshape(n, c, h, b, w, b).permute(0, 3, 5, 1, 2, 4).reshape(n, c * b * b, h, w);
    }

    static Variable eyeLike(OnnxNode node, Variable x) {
        if (x.rank() != 2) throw new OnnxException(node.describe() + ": input must be 2-D, got " + x.shape());
        DType t = node.has("dtype") ? Args.dtype(node, node.attrInt("dtype")) : x.data().dtype();
        int rows = x.dim(0), cols = x.dim(1);
        long k = node.attrInt("k", 0);
        long[] a = new long[rows * cols];
        for (int i = 0; i < rows; i++) {
            long j = i + k;
            if (j >= 0 && j < cols) a[i * cols + (int) j] = 1;
        }
        return Variable.of(Host.fromLongs(t, new int[] {rows, cols}, a));
    }

    /** Keeps the upper (j - i >= k) or lower (j - i <= k) triangle of the last two axes, zeroing the rest. */
    static Variable trilu(OnnxNode node, Variable x, Variable kInput) {
        if (x.rank() < 2) throw new OnnxException(node.describe() + ": input must have rank >= 2, got " + x.shape());
        long k = kInput == null ? 0 : Args.longs(node, kInput, "k")[0];
        boolean upper = node.attrInt("upper", 1) != 0;
        int rows = x.dim(-2), cols = x.dim(-1);
        int n = x.shape().numel();
        float[] keep = new float[n];   // keep (X): 1 inside the triangle
        for (int at = 0; at < n; at++) {
            int i = (at / cols) % rows, j = at % cols;
            long diff = (long) j - i;
            keep[at] = (upper ? diff >= k : diff <= k) ? 1f : 0f;
        }
        Tensor mask = Tensor.of(keep, x.shape().dims());
        if (x.data().dtype() == DType.FLOAT32) {
            float[] v = x.data().toFloatArray();
            for (int at = 0; at < n; at++) if (keep[at] == 0f) v[at] = 0f;
            return Grad.elementwise(Tensor.of(v, x.shape().dims()), new Variable[] {x}, i -> mask);
        }
        long[] v = Host.longs(x.data());
        for (int at = 0; at < n; at++) if (keep[at] == 0f) v[at] = 0;
        return Variable.of(Host.fromLongs(x.data().dtype(), x.shape().dims(), v));
    }
}
