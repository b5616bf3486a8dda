package dev.ember.loaders.onnx.ops;

import dev.ember.loaders.onnx.OnnxException;
import dev.ember.loaders.onnx.OnnxNode;

import java.util.Arrays;

/**
 * The sliding-window attributes shared by Conv and the pools, resolved per spatial axis: kernel, strides,
 * dilations, and begin/end pads from {@code pads} or {@code auto_pad}.
 */
record Geometry(int[] kernel, int[] strides, int[] dilations, int[] padBegin, int[] padEnd) {

    /** Reads the attributes of {@code node} for input spatial sizes {@code in} and kernel sizes {@code kernel}. */
    static Geometry of(OnnxNode node, int[] in, int[] kernel) {
        int n = in.length;
        int[] s = ints(node, "strides", n, 1), d = ints(node, "dilations", n, 1);
        int[] b = new int[n], e = new int[n];
        String auto = node.attrString("auto_pad", "NOTSET");
        switch (auto) {
            case "NOTSET" -> {
                int[] pads = ints(node, "pads", 2 * n, 0);
                System.arraycopy(pads, 0, b, 0, n);
                System.arraycopy(pads, n, e, 0, n);
            }
            case "VALID" -> { }
            case "SAME_UPPER", "SAME_LOWER" -> {
                for (int i = 0; i < n; i++) {
                    int out = Math.ceilDiv(in[i], s[i]);
                    int total = Math.max(0, (out - 1) * s[i] + (kernel[i] - 1) * d[i] + 1 - in[i]);
                    b[i] = auto.equals("SAME_UPPER") ? total / 2 : total - total / 2;
                    e[i] = total - b[i];
                }
            }
            default -> throw new OnnxException(node.describe() + ": unknown auto_pad '" + auto + "'");
        }
        for (int i = 0; i < n; i++) {
            if (s[i] < 1 || d[i] < 1 || b[i] < 0 || e[i] < 0) {
                throw new OnnxException(node.describe() + ": invalid strides " + Arrays.toString(s) + ", dilations " + Arrays.toString(d)
                        + " or pads " + Arrays.toString(b) + Arrays.toString(e));
            }
        }
        return new Geometry(kernel, s, d, b, e);
    }

    /** Output size per axis: floor (or ceil) of (in + pads - dilated kernel) / stride + 1. */
    int[] outputSize(int[] in, boolean ceil) {
        int[] out = new int[in.length];
        for (int i = 0; i < in.length; i++) {
            int span = in[i] + padBegin[i] + padEnd[i] - ((kernel[i] - 1) * dilations[i] + 1);
            out[i] = (ceil ? Math.ceilDiv(span, strides[i]) : Math.floorDiv(span, strides[i])) + 1;
        }
        return out;
    }

    boolean symmetric() { return Arrays.equals(padBegin, padEnd); }

    boolean undilated() { return Arrays.stream(dilations).allMatch(x -> x == 1); }

    /** An int-list attribute with one entry per axis, or {@code dflt} everywhere when absent. */
    static int[] ints(OnnxNode node, String attr, int n, int dflt) {
        long[] v = node.attrInts(attr, null);
        int[] r = new int[n];
        if (v == null) {
            Arrays.fill(r, dflt);
            return r;
        }
        if (v.length != n) throw new OnnxException(node.describe() + ": " + attr + " " + Arrays.toString(v) + " must have " + n + " entries");
        for (int i = 0; i < n; i++) r[i] = Args.toInt(node, v[i], attr);
        return r;
    }
}
