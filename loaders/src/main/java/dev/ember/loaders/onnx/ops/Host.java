package dev.ember.loaders.onnx.ops;

import dev.ember.engine.CpuStorage;
import dev.ember.engine.DType;
import dev.ember.engine.Device;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;

import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;
import java.util.function.LongBinaryOperator;
import java.util.function.LongUnaryOperator;

/**
 * Host-side element access for the ops that have no engine kernel (index and shape arithmetic, rarely used math):
 * any dtype read into a {@code long[]} or {@code double[]} in row-major order, and CPU tensors built back from such
 * arrays. Integer math goes through {@code long} so int64 values survive; float math through {@code double}.
 */
final class Host {
    private Host() {}

    /** int32, int64 and uint8: the types whose arithmetic is integer arithmetic. */
    static boolean isInteger(DType t) { return t == DType.INT32 || t == DType.INT64 || t == DType.UINT8; }

    /** Elements in row-major order, float32 widened exactly, integers through long. */
    static double[] doubles(Tensor t) {
        double[] d = new double[t.numel()];
        if (t.dtype() == DType.FLOAT32) {
            float[] f = t.toFloatArray();
            for (int i = 0; i < d.length; i++) d[i] = f[i];
        } else {
            long[] l = t.toLongArray();
            for (int i = 0; i < d.length; i++) d[i] = l[i];
        }
        return d;
    }

    /** Elements in row-major order as long (floats truncate toward zero). */
    static long[] longs(Tensor t) { return t.toLongArray(); }

    static float[] floats(Tensor t) { return t.toFloatArray(); }

    /** A CPU tensor of {@code dtype} holding {@code v} (converted as {@link CpuStorage#setDouble} does). */
    static Tensor fromDoubles(DType dtype, int[] dims, double[] v) {
        if (dtype == DType.FLOAT32) {
            float[] f = new float[v.length];
            for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
            return Tensor.of(f, dims);
        }
        long[] l = new long[v.length];
        for (int i = 0; i < v.length; i++) l[i] = (long) v[i];
        return fromLongs(dtype, dims, l);
    }

    /** A CPU tensor of {@code dtype} holding {@code v}: narrower integers wrap, bool is v != 0. */
    static Tensor fromLongs(DType dtype, int[] dims, long[] v) {
        Shape shape = Shape.of(dims);
        return switch (dtype) {
            case INT64 -> Tensor.of(CpuStorage.wrap(v.clone()), shape);
            case INT32 -> {
                int[] a = new int[v.length];
                for (int i = 0; i < v.length; i++) a[i] = (int) v[i];
                yield Tensor.of(CpuStorage.wrap(a), shape);
            }
            case UINT8 -> {
                byte[] a = new byte[v.length];
                for (int i = 0; i < v.length; i++) a[i] = (byte) v[i];
                yield Tensor.of(CpuStorage.wrap(a), shape);
            }
            case BOOL -> {
                byte[] a = new byte[v.length];
                for (int i = 0; i < v.length; i++) a[i] = (byte) (v[i] != 0 ? 1 : 0);
                yield Tensor.of(CpuStorage.wrapBool(a), shape);
            }
            case FLOAT32 -> {
                float[] a = new float[v.length];
                for (int i = 0; i < v.length; i++) a[i] = v[i];
                yield Tensor.of(CpuStorage.wrap(a), shape);
            }
        };
    }

    static Tensor bools(int[] dims, boolean[] v) {
        byte[] a = new byte[v.length];
        for (int i = 0; i < v.length; i++) a[i] = (byte) (v[i] ? 1 : 0);
        return Tensor.of(CpuStorage.wrapBool(a), Shape.of(dims));
    }

    /** A CPU tensor of {@code dtype} with every element {@code value}. */
    static Tensor full(DType dtype, int[] dims, double value) {
        int n = Shape.of(dims).numel();
        if (dtype == DType.FLOAT32) {
            float[] a = new float[n];
            java.util.Arrays.fill(a, (float) value);
            return Tensor.of(a, dims);
        }
        long[] a = new long[n];
        java.util.Arrays.fill(a, (long) value);
        return fromLongs(dtype, dims, a);
    }

    /**
     * For each element of {@code to} (row-major), the row-major index of the element of {@code from} it is
     * broadcast from (NumPy rules; {@code from} must broadcast to {@code to}).
     */
    static int[] broadcastIndex(Shape from, Shape to) {
        int r = to.rank(), lead = r - from.rank();
        int[] stride = new int[r];   // stride (to's rank): from's contiguous stride, 0 on broadcast axes
        int[] fromStrides = from.contiguousStrides();
        for (int i = lead; i < r; i++) stride[i] = from.dim(i - lead) == 1 ? 0 : fromStrides[i - lead];
        int[] index = new int[to.numel()];
        int[] pos = new int[r];
        int at = 0;
        for (int k = 0; k < index.length; k++) {
            index[k] = at;
            for (int i = r - 1; i >= 0; i--) {
                pos[i]++;
                at += stride[i];
                if (pos[i] < to.dim(i)) break;
                at -= stride[i] * pos[i];
                pos[i] = 0;
            }
        }
        return index;
    }

    /**
     * The elements of {@code t} in a row-major primitive array ({@code float[]}, {@code int[]}, {@code long[]}, or
     * {@code byte[]} for uint8/bool). May be the tensor's own storage: callers only read it.
     */
    static Object array(Tensor t) {
        Tensor h = t.device().kind() == Device.Kind.CPU ? t : t.to(Device.CPU);
        if (!h.isContiguous() || h.offset() != 0 || h.storage().size() != h.numel()) h = h.copy();
        CpuStorage s = (CpuStorage) h.storage();
        return switch (h.dtype()) {
            case FLOAT32 -> s.floats();
            case INT32 -> s.ints();
            case INT64 -> s.longs();
            case UINT8, BOOL -> s.bytes();
        };
    }

    /** A new primitive array for {@code n} elements of {@code dtype}, as {@link #array} returns them. */
    static Object newArray(DType dtype, int n) {
        return switch (dtype) {
            case FLOAT32 -> new float[n];
            case INT32 -> new int[n];
            case INT64 -> new long[n];
            case UINT8, BOOL -> new byte[n];
        };
    }

    /** A CPU tensor over {@code array} (from {@link #newArray}, not copied). */
    static Tensor wrap(DType dtype, Object array, int[] dims) {
        CpuStorage s = switch (dtype) {
            case FLOAT32 -> CpuStorage.wrap((float[]) array);
            case INT32 -> CpuStorage.wrap((int[]) array);
            case INT64 -> CpuStorage.wrap((long[]) array);
            case UINT8 -> CpuStorage.wrap((byte[]) array);
            case BOOL -> CpuStorage.wrapBool((byte[]) array);
        };
        return Tensor.of(s, Shape.of(dims));
    }

    /**
     * Whole slices of {@code x} along {@code axis}, in the order of {@code index} (repeats allowed): result slice j is
     * x's slice index[j]. Any dtype; indices must already be in range.
     */
    static Tensor take(Tensor x, int axis, int[] index) {
        int[] d = x.dims();
        int n = d[axis], outer = product(d, 0, axis), inner = product(d, axis + 1, d.length);
        Object src = array(x);
        d[axis] = index.length;
        Object dst = newArray(x.dtype(), Shape.of(d).numel());
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < index.length; j++) {
                System.arraycopy(src, (o * n + index[j]) * inner, dst, (o * index.length + j) * inner, inner);
            }
        }
        return wrap(x.dtype(), dst, d);
    }

    /** A tensor of {@code dims} whose element k is x's row-major element {@code source[k]}. Any dtype. */
    static Tensor gather(Tensor x, int[] source, int[] dims) {
        Object src = array(x);
        Object dst = newArray(x.dtype(), source.length);
        switch (src) {
            case float[] a -> { float[] d = (float[]) dst; for (int k = 0; k < source.length; k++) d[k] = a[source[k]]; }
            case int[] a -> { int[] d = (int[]) dst; for (int k = 0; k < source.length; k++) d[k] = a[source[k]]; }
            case long[] a -> { long[] d = (long[]) dst; for (int k = 0; k < source.length; k++) d[k] = a[source[k]]; }
            case byte[] a -> { byte[] d = (byte[]) dst; for (int k = 0; k < source.length; k++) d[k] = a[source[k]]; }
            default -> throw new IllegalStateException("unknown array " + src.getClass());
        }
        return wrap(x.dtype(), dst, dims);
    }

    /** {@code parts} joined along {@code axis} (same dtype, same sizes on the other axes). */
    static Tensor concat(Tensor[] parts, int axis) {
        int[] d = parts[0].dims();
        int total = 0;
        for (Tensor p : parts) total += p.dim(axis);
        int outer = product(d, 0, axis), inner = product(d, axis + 1, d.length);
        d[axis] = total;
        Object dst = newArray(parts[0].dtype(), Shape.of(d).numel());
        int offset = 0;
        for (Tensor p : parts) {
            int n = p.dim(axis);
            Object src = array(p);
            for (int o = 0; o < outer; o++) System.arraycopy(src, o * n * inner, dst, (o * total + offset) * inner, n * inner);
            offset += n;
        }
        return wrap(parts[0].dtype(), dst, d);
    }

    /** f(x) elementwise, computed on longs; the result has {@code out} dtype. */
    static Tensor mapLong(Tensor x, DType out, LongUnaryOperator f) {
        long[] v = longs(x);
        for (int k = 0; k < v.length; k++) v[k] = f.applyAsLong(v[k]);
        return fromLongs(out, x.dims(), v);
    }

    /** f(a, b) with broadcasting, computed on longs; the result has {@code out} dtype. */
    static Tensor mapLong(Tensor a, Tensor b, DType out, LongBinaryOperator f) {
        Shape s = Shape.broadcast(a.shape(), b.shape());
        long[] x = longs(a), y = longs(b);
        int[] ia = broadcastIndex(a.shape(), s), ib = broadcastIndex(b.shape(), s);
        long[] r = new long[s.numel()];
        for (int k = 0; k < r.length; k++) r[k] = f.applyAsLong(x[ia[k]], y[ib[k]]);
        return fromLongs(out, s.dims(), r);
    }

    /** f(a, b) with broadcasting, computed on doubles; the result has {@code out} dtype. */
    static Tensor mapDouble(Tensor a, Tensor b, DType out, DoubleBinaryOperator f) {
        Shape s = Shape.broadcast(a.shape(), b.shape());
        double[] x = doubles(a), y = doubles(b);
        int[] ia = broadcastIndex(a.shape(), s), ib = broadcastIndex(b.shape(), s);
        double[] r = new double[s.numel()];
        for (int k = 0; k < r.length; k++) r[k] = f.applyAsDouble(x[ia[k]], y[ib[k]]);
        return fromDoubles(out, s.dims(), r);
    }

    /** f(x) elementwise on doubles into float32. */
    static Tensor mapFloat(Tensor x, DoubleUnaryOperator f) {
        float[] a = floats(x);
        for (int i = 0; i < a.length; i++) a[i] = (float) f.applyAsDouble(a[i]);
        return Tensor.of(a, x.dims());
    }

    /** Product of dims[from..to). */
    static int product(int[] dims, int from, int to) {
        long p = 1;
        for (int i = from; i < to; i++) p *= dims[i];
        return Math.toIntExact(p);
    }
}
