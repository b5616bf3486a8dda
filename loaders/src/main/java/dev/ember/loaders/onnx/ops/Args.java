package dev.ember.loaders.onnx.ops;

import dev.ember.autograd.Variable;
import dev.ember.engine.DType;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxException;
import dev.ember.loaders.onnx.OnnxNode;
import dev.ember.loaders.onnx.OnnxTensors;

import java.util.Arrays;

/** Reading a node's inputs and attributes: required/optional inputs, integer vectors, axes, with errors naming the node. */
final class Args {
    private Args() {}

    /** Input {@code i}, which must be present. */
    static Variable in(OnnxNode node, Variable[] inputs, int i) {
        if (i >= inputs.length || inputs[i] == null) {
            throw new OnnxException(node.describe() + ": required input " + i + " is missing");
        }
        return inputs[i];
    }

    /** Input {@code i}, or null when omitted. */
    static Variable opt(Variable[] inputs, int i) { return i < inputs.length ? inputs[i] : null; }

    /** How many outputs the node asks for: trailing empty names do not count. */
    static int outputsWanted(OnnxNode node) {
        int n = node.outputs().size();
        while (n > 0 && node.outputs().get(n - 1).isEmpty()) n--;
        return n;
    }

    static boolean wantsOutput(OnnxNode node, int i) { return i < node.outputs().size() && !node.outputs().get(i).isEmpty(); }

    /** The elements of an integer (or bool) input as long, e.g. a shape or axes vector. */
    static long[] longs(OnnxNode node, Variable v, String what) {
        DType t = v.data().dtype();
        if (t == DType.FLOAT32) throw new OnnxException(node.describe() + ": " + what + " must be an integer tensor, got float32");
        return Host.longs(v.data());
    }

    /** A one-element input as a double (any dtype). */
    static double scalar(OnnxNode node, Variable v, String what) {
        if (v.data().numel() != 1) throw new OnnxException(node.describe() + ": " + what + " must have one element, got shape " + v.shape());
        return Host.doubles(v.data())[0];
    }

    /** A long that must fit an int (sizes, indices, axes). */
    static int toInt(OnnxNode node, long v, String what) {
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) throw new OnnxException(node.describe() + ": " + what + " " + v + " is out of range");
        return (int) v;
    }

    static int[] toInts(OnnxNode node, long[] v, String what) {
        int[] r = new int[v.length];
        for (int i = 0; i < v.length; i++) r[i] = toInt(node, v[i], what);
        return r;
    }

    /**
     * Checks an output size that comes from a tensor's values (a shape input, repeats, pads, sizes) before anything
     * is allocated: the count must fit a Java array and its bytes half the heap, else a typed error instead of an
     * OutOfMemoryError. Returns {@code dims}.
     */
    static int[] checkSize(OnnxNode node, int[] dims, DType dtype) {
        long n = 1;
        for (int d : dims) {
            if (d < 0) throw new OnnxException(node.describe() + ": negative output size in " + Arrays.toString(dims));
            n = times(n, d);
        }
        long budget = Runtime.getRuntime().maxMemory() / 2;
        if (n > Shape.MAX_NUMEL || n * dtype.byteSize() > budget) {
            throw new OnnxException(node.describe() + ": output " + Arrays.toString(dims) + " would need " + n + " elements of " + dtype
                    + ", more than the " + budget / (1 << 20) + " MiB this op may allocate (half the heap)");
        }
        return dims;
    }

    /** a * b for non-negative a, b, saturating at Long.MAX_VALUE instead of overflowing. */
    static long times(long a, long b) { return a == 0 || b == 0 ? 0 : a > Long.MAX_VALUE / b ? Long.MAX_VALUE : a * b; }

    /** Normalizes an axis in [-rank, rank) to [0, rank). */
    static int axis(OnnxNode node, long axis, int rank, String what) {
        if (axis < -rank || axis >= rank) throw new OnnxException(node.describe() + ": " + what + " " + axis + " is out of range for rank " + rank);
        return (int) (axis < 0 ? axis + rank : axis);
    }

    /** Normalized, distinct, sorted axes. */
    static int[] axes(OnnxNode node, long[] axes, int rank, String what) {
        int[] r = new int[axes.length];
        for (int i = 0; i < r.length; i++) r[i] = axis(node, axes[i], rank, what);
        Arrays.sort(r);
        for (int i = 1; i < r.length; i++) {
            if (r[i] == r[i - 1]) throw new OnnxException(node.describe() + ": " + what + " " + Arrays.toString(axes) + " repeats axis " + r[i]);
        }
        return r;
    }

    static int[] range(int from, int to) {
        int[] r = new int[Math.max(0, to - from)];
        for (int i = 0; i < r.length; i++) r[i] = from + i;
        return r;
    }

    static void requireFloat(OnnxNode node, Variable v, String what) {
        if (v.data().dtype() != DType.FLOAT32) {
            throw new OnnxUnsupportedException(node.describe() + ": " + what + " must be float32 in ember, got " + v.data().dtype());
        }
    }

    static void requireFloatTensor(OnnxNode node, Tensor t, String what) {
        if (t.dtype() != DType.FLOAT32) throw new OnnxUnsupportedException(node.describe() + ": " + what + " must be float32 in ember, got " + t.dtype());
    }

    /**
     * The engine dtype an ONNX element type code loads as (DOUBLE and FLOAT16 as float32, INT8/INT16/UINT16 as int32,
     * UINT32 as int64, as {@link OnnxTensors} reads them), or an unsupported-type error naming it.
     */
    static DType dtype(OnnxNode node, long onnxType) {
        DType t = onnxType == (int) onnxType ? OnnxTensors.engineType((int) onnxType) : null;
        if (t == null) {
            throw new OnnxUnsupportedException(node.describe() + ": element type " + OnnxTensors.typeName((int) onnxType) + " is not supported");
        }
        return t;
    }

    /** A tensor's dims with axis {@code a} replaced by {@code n}. */
    static int[] withDim(Tensor t, int a, int n) {
        int[] d = t.dims();
        d[a] = n;
        return d;
    }
}
