package dev.ember.loaders.onnx.ops;

import dev.ember.autograd.NoGrad;
import dev.ember.autograd.Variable;
import dev.ember.engine.DType;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxException;
import dev.ember.loaders.onnx.OnnxNode;

import static dev.ember.loaders.onnx.ops.ElementwiseOps.one;

/**
 * Linear quantization: q = saturate(round_half_even(x / scale) + zero_point), x = (q - zero_point) * scale, and the
 * integer / quantized matrix products and convolutions. The integer accumulations run in float32 through the
 * engine's matmul and conv2d, exact while every sum stays below 2^24. A quantized type is uint8, or int8 when the
 * zero point loaded as int32 (ONNX before opset 21 quantizes to uint8 or int8 only). Values, not differentiable.
 */
final class QuantOps {
    private QuantOps() {}

    static void register(OpTable t) {
        t.add("QuantizeLinear", 10, (n, in, v) -> {
            Variable zp = Args.opt(in, 2);
            return one(quantize(n, Args.in(n, in, 0).data(), Args.in(n, in, 1).data(), zp == null ? null : zp.data(), axisOf(n, Args.in(n, in, 0))));
        });
        t.add("DequantizeLinear", 10, (n, in, v) -> {
            Variable x = Args.in(n, in, 0), zp = Args.opt(in, 2);
            return one(Variable.of(dequantize(x.data(), Args.in(n, in, 1).data(), zp == null ? null : zp.data(), axisOf(n, x))));
        });
        t.add("DynamicQuantizeLinear", 11, (n, in, v) -> dynamicQuantize(n, Args.in(n, in, 0)));
        t.add("MatMulInteger", 10, (n, in, v) -> one(integer(centered(n, in, 0, 2, -1).matmul(centered(n, in, 1, 3, -2)))));
        t.add("ConvInteger", 10, (n, in, v) -> one(integer(conv(n, centered(n, in, 0, 2, 1), centered(n, in, 1, 3, 0), null))));
        t.add("QLinearMatMul", 10, (n, in, v) -> {
            Tensor acc = centered(n, in, 0, 2, -1).matmul(centered(n, in, 3, 5, -1));
            Tensor scale = in(n, in, 1).mul(in(n, in, 4)).div(in(n, in, 6));
            return one(quantize(n, acc.mul(scale), Tensor.scalar(1f).reshape(), Args.in(n, in, 7).data(), -1));
        });
        t.add("QLinearConv", 10, (n, in, v) -> {
            Variable bias = Args.opt(in, 8);
            Tensor acc = conv(n, centered(n, in, 0, 2, 1), centered(n, in, 3, 5, 0), bias == null ? null : bias.data().to(DType.FLOAT32));
            Tensor wScale = in(n, in, 4);
            if (wScale.numel() > 1) wScale = wScale.reshape(1, wScale.numel(), 1, 1);   // per output channel
            Tensor scale = in(n, in, 1).mul(wScale).div(in(n, in, 6));
            return one(quantize(n, acc.mul(scale), Tensor.scalar(1f).reshape(), Args.in(n, in, 7).data(), 1));
        });
    }

    private static Tensor in(OnnxNode node, Variable[] in, int i) { return Args.in(node, in, i).data().to(DType.FLOAT32); }

    private static long axisOf(OnnxNode node, Variable x) { return node.attrInt("axis", 1); }

    /** A per-axis parameter (C) reshaped to broadcast along {@code axis} of a rank-r tensor; a one-element one as a scalar. */
    private static Tensor along(Tensor p, long axis, int r) {
        if (p.numel() == 1) return p.reshape();
        if (axis < -r || axis >= r) throw new OnnxException("per-axis quantization parameter " + p.shape() + ": axis " + axis + " is out of range for rank " + r);
        int[] d = new int[r];
        java.util.Arrays.fill(d, 1);
        d[(int) Math.floorMod(axis, r)] = p.numel();
        return p.reshape(d);
    }

    /** saturate(round_half_even(x / scale) + zero_point) into the zero point's type (uint8 when absent). */
    static Variable quantize(OnnxNode node, Tensor x, Tensor scale, Tensor zeroPoint, long axis) {
        Args.requireFloatTensor(node, x, "x");
        DType out = zeroPoint == null ? DType.UINT8 : zeroPoint.dtype();
        long lo = out == DType.UINT8 ? 0 : -128, hi = out == DType.UINT8 ? 255 : 127;
        if (out != DType.UINT8 && out != DType.INT32) throw new OnnxUnsupportedException(node.describe() + ": quantizing to " + out + " is not supported");
        int r = x.rank();
        Tensor zp = zeroPoint == null ? Tensor.scalar(0f).reshape() : along(zeroPoint.to(DType.FLOAT32), axis, r);
        Tensor scaled = x.div(along(scale.to(DType.FLOAT32), axis, r));   // float32 division, as the reference
        float[] q = scaled.toFloatArray(), z = zp.expand(x.shape()).contiguous().toFloatArray();
        long[] y = new long[q.length];
        for (int i = 0; i < q.length; i++) y[i] = Math.clamp((long) Math.rint(q[i]) + (long) z[i], lo, hi);
        return Variable.of(Host.fromLongs(out, x.dims(), y));
    }

    static Tensor dequantize(Tensor x, Tensor scale, Tensor zeroPoint, long axis) {
        int r = x.rank();
        Tensor xf = x.to(DType.FLOAT32);
        if (zeroPoint != null) xf = xf.sub(along(zeroPoint.to(DType.FLOAT32), axis, r));
        return xf.mul(along(scale.to(DType.FLOAT32), axis, r));
    }

    /** Quantizes x to uint8 with the scale and zero point that map [min(0, min x), max(0, max x)] onto [0, 255]. */
    static Variable[] dynamicQuantize(OnnxNode node, Variable x) {
        Args.requireFloat(node, x, "x");
        float[] v = x.data().toFloatArray();
        float min = 0, max = 0;
        for (float f : v) {
            min = Math.min(min, f);
            max = Math.max(max, f);
        }
        float scale = (max - min) / 255f;
        float zp = (float) Math.clamp(Math.rint(0 - min / scale), 0, 255);
        Variable y = quantize(node, x.data(), Tensor.scalar(scale).reshape(), Host.fromLongs(DType.UINT8, new int[0], new long[] {(long) zp}), 0);
        return new Variable[] {y, Variable.of(Tensor.scalar(scale).reshape()), Variable.of(Host.fromLongs(DType.UINT8, new int[0], new long[] {(long) zp}))};
    }

    /** Input {@code i} minus its optional zero point (input {@code zpInput}, per-axis along {@code axis}), as float32. */
    private static Tensor centered(OnnxNode node, Variable[] in, int i, int zpInput, int axis) {
        Tensor x = Args.in(node, in, i).data();
        Variable zp = Args.opt(in, zpInput);
        Tensor xf = x.to(DType.FLOAT32);
        if (zp == null) return xf;
        return xf.sub(along(zp.data().to(DType.FLOAT32), axis, x.rank()));
    }

    private static Tensor conv(OnnxNode node, Tensor x, Tensor w, Tensor bias) {
        try (NoGrad g = NoGrad.enter()) {
            return ConvOps.conv(node, Variable.of(x), Variable.of(w), bias == null ? null : Variable.of(bias)).data();
        }
    }

    /** An integer-valued float32 result as int32. */
    private static Variable integer(Tensor acc) {
        float[] a = acc.toFloatArray();
        long[] r = new long[a.length];
        for (int i = 0; i < a.length; i++) {
            if (Math.abs(a[i]) >= (1 << 24)) throw new OnnxUnsupportedException("integer accumulation " + a[i] + " exceeds the exact float32 range (2^24)");
            r[i] = Math.round(a[i]);
        }
        return Variable.of(Host.fromLongs(DType.INT32, acc.dims(), r));
    }

}
