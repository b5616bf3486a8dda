package dev.ember.loaders.onnx.ops;

import dev.ember.autograd.F;
import dev.ember.autograd.Variable;
import dev.ember.engine.Conv2dParams;
import dev.ember.engine.Pool2dParams;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxException;
import dev.ember.loaders.onnx.OnnxNode;

import java.util.Arrays;

import static dev.ember.loaders.onnx.ops.ElementwiseOps.one;

/**
 * Conv and ConvTranspose. Conv runs on the engine's 2-D convolution (1-D as 2-D with a height of 1; 3-D is not
 * supported); asymmetric padding (auto_pad SAME with an even kernel, explicit pads) becomes an explicit zero pad of
 * the input for its uneven part. ConvTranspose is the input-gradient of a convolution: the backend's
 * {@code conv2dBackwardInput} computes it in 2-D (a host loop in 3-D and more), then pads and output_padding crop or
 * extend the result. In 2-D (and 1-D) it trains through {@code F.convTranspose2d}; the host loop of 3-D and more does not.
 */
final class ConvOps {
    private ConvOps() {}

    static void register(OpTable t) {
        t.add("Conv", 1, (n, in, v) -> one(conv(n, Args.in(n, in, 0), Args.in(n, in, 1), Args.opt(in, 2))));
        t.add("ConvTranspose", 1, (n, in, v) -> one(convTranspose(n, Args.in(n, in, 0), Args.in(n, in, 1), Args.opt(in, 2))));
    }

    static Variable conv(OnnxNode node, Variable x, Variable w, Variable b) { return conv(node, x, w, b, false); }

    /** Conv followed by Relu, fused by {@link OnnxOps#resolver()}: {@code node} is the Conv, the result is the Relu's. */
    static Variable[] convRelu(OnnxNode node, Variable[] in, int opset) {
        return one(conv(node, Args.in(node, in, 0), Args.in(node, in, 1), Args.opt(in, 2), true));
    }

    /**
     * {@code pool}(relu(conv)) for a fused Conv, Relu, MaxPool chain: one op where the geometry allows it (2-D, the
     * padding symmetric, the pool one the engine runs), else the three as they are.
     */
    static Variable[] convReluMaxPool(OnnxNode node, Variable[] in, OnnxNode pool) {
        Variable x = Args.in(node, in, 0), w = Args.in(node, in, 1), b = Args.opt(in, 2);
        if (x.rank() == 4 && w.rank() == 4) {
            Args.requireFloat(node, x, "X");
            Args.requireFloat(node, w, "W");
            Geometry g = geometry2d(node, x, w);
            if (g.symmetric()) {
                Conv2dParams p = params2d(node, g);
                Shape ys = p.outputShape(x.shape(), w.shape());
                Pool2dParams pp = PoolOps.enginePool(pool, new int[] {ys.dim(2), ys.dim(3)});
                if (pp != null) return one(F.conv2dMaxPool(x, w, b, true, p, pp));
            }
        }
        return PoolOps.pool(pool, conv(node, x, w, b, true), true);
    }

    /**
     * A fused Conv, then an Add of the conv's output and one more value (a residual block's end), then Relu when
     * {@code relu} ({@link OnnxOps#resolver()}): {@code node} is the Conv, {@code in} its inputs followed by the Add's
     * other input. Where the conv is 2-D with symmetric padding, the other value float and of the conv's output shape,
     * and a Relu follows: one op ({@code F.conv2dAddRelu}, the residual added as the conv's output is written where the
     * backend fuses them) where no gradient is recorded; otherwise the ops one after the other, in the Add's operand
     * order. The same values either way (a + b is b + a in IEEE arithmetic).
     */
    static Variable[] convAdd(OnnxNode node, Variable[] in, OnnxNode add, boolean relu, int opset) {
        int own = node.inputs().size();
        Variable x = Args.in(node, in, 0), w = Args.in(node, in, 1), b = own > 2 ? in[2] : null, side = in[own];
        // recording a gradient, the three ops in the Add's own operand order (the backward pass's order as unfused)
        boolean fusable = relu && !Grad.recording(x, w, b, side);
        if (fusable && x.rank() == 4 && w.rank() == 4 && side.data().dtype() == dev.ember.engine.DType.FLOAT32) {
            Args.requireFloat(node, x, "X");
            Args.requireFloat(node, w, "W");
            Geometry g = geometry2d(node, x, w);
            if (g.symmetric()) {
                Conv2dParams p = params2d(node, g);
                if (side.shape().equals(p.outputShape(x.shape(), w.shape()))) return one(F.conv2dAddRelu(x, w, b, side, p));
            }
        }
        Variable c = conv(node, x, w, b, false);
        boolean first = add.inputs().get(0).equals(node.outputs().get(0));   // the Add's operands in its own order
        Variable[] operands = first ? new Variable[] {c, side} : new Variable[] {side, c};
        return relu ? ElementwiseOps.addRelu(add, operands, opset) : one(ElementwiseOps.arith(add, operands[0], operands[1], '+'));
    }

    /**
     * A Conv ({@code node}, ReLU'd when {@code relu}) and a Conv of the same input ({@code sibling}): {outputs of the
     * first, of the second}. Both 2-D with symmetric padding: {@code F.conv2dPair} (one pass over x where the backend
     * fuses them, the two ops where a gradient is recorded); otherwise each as it is.
     */
    static Variable[] convPair(OnnxNode node, Variable[] in, boolean relu, OnnxNode sibling, Variable[] in2) {
        Variable x = Args.in(node, in, 0), w = Args.in(node, in, 1), b = Args.opt(in, 2);
        Variable x2 = Args.in(sibling, in2, 0), w2 = Args.in(sibling, in2, 1), b2 = Args.opt(in2, 2);
        if (x == x2 && x.rank() == 4 && w.rank() == 4 && w2.rank() == 4) {
            Args.requireFloat(node, x, "X");
            Args.requireFloat(node, w, "W");
            Args.requireFloat(sibling, w2, "W");
            Geometry g = geometry2d(node, x, w), g2 = geometry2d(sibling, x, w2);
            if (g.symmetric() && g2.symmetric()) return F.conv2dPair(x, w, b, relu, params2d(node, g), w2, b2, params2d(sibling, g2));
        }
        return new Variable[] {conv(node, x, w, b, relu), conv(sibling, x2, w2, b2, false)};
    }

    static Variable conv(OnnxNode node, Variable x, Variable w, Variable b, boolean relu) {
        Args.requireFloat(node, x, "X");
        Args.requireFloat(node, w, "W");
        int spatial = spatialRank(node, x, w);
        if (spatial == 1) {   // (N, C, L) -> (N, C, 1, L)
            OnnxNode as2d = lift(node);
            return conv(as2d, x.unsqueeze(2), w.unsqueeze(2), b, relu).squeeze(2);
        }
        Geometry g = geometry2d(node, x, w);
        Conv2dParams p = params2d(node, g);
        Variable xp = x;
        if (!g.symmetric()) {   // the uneven remainder of the padding, as explicit zeros
            int padH = p.padH(), padW = p.padW();
            long[] extra = {0, 0, g.padBegin()[0] - padH, g.padBegin()[1] - padW, 0, 0, g.padEnd()[0] - padH, g.padEnd()[1] - padW};
            xp = ShapeOps.pad(node, x, extra, "constant", 0);
        }
        return F.conv2d(xp, w, b, relu, p);
    }

    /** The 2-D geometry of a Conv {@code node} over x (N, C, H, W) with w (OC, C/group, KH, KW), its kernel checked. */
    private static Geometry geometry2d(OnnxNode node, Variable x, Variable w) {
        int[] in = {x.dim(2), x.dim(3)}, k = {w.dim(2), w.dim(3)};
        checkKernel(node, k);
        return Geometry.of(node, in, k);
    }

    /** The engine's parameters for that geometry: the padding both sides share (all of it where it is symmetric). */
    private static Conv2dParams params2d(OnnxNode node, Geometry g) {
        int group = Args.toInt(node, node.attrInt("group", 1), "group");
        int padH = Math.min(g.padBegin()[0], g.padEnd()[0]), padW = Math.min(g.padBegin()[1], g.padEnd()[1]);
        return new Conv2dParams(g.strides()[0], g.strides()[1], padH, padW, g.dilations()[0], g.dilations()[1], group);
    }

    /**
     * x (N, C_in, D...), w (C_in, C_out/group, K...) -> y (N, C_out, O...) with
     * O = stride (D - 1) + output_padding + (K - 1) dilation + 1 - pad_begin - pad_end. 2-D runs on the backend's
     * conv2dBackwardInput, 1-D as 2-D, 3-D and more on a host loop.
     */
    static Variable convTranspose(OnnxNode node, Variable x, Variable w, Variable b) {
        Args.requireFloat(node, x, "X");
        Args.requireFloat(node, w, "W");
        if (x.rank() != w.rank() || x.rank() < 3) throw new OnnxException(node.describe() + ": input " + x.shape() + " and weight " + w.shape() + " must have one rank >= 3");
        int sp = x.rank() - 2;
        if (sp == 1) return convTranspose(lift(node), x.unsqueeze(2), w.unsqueeze(2), b).squeeze(2);
        if (sp > 2) Grad.refuse(node, x, w, b);   // the host loop has no backward
        int[] in = new int[sp], k = new int[sp];
        for (int i = 0; i < sp; i++) {
            in[i] = x.dim(2 + i);
            k[i] = w.dim(2 + i);
        }
        long[] ks = node.attrInts("kernel_shape", null);
        if (ks != null && !java.util.Arrays.equals(ks, java.util.Arrays.stream(k).asLongStream().toArray())) {
            throw new OnnxException(node.describe() + ": kernel_shape " + java.util.Arrays.toString(ks) + " does not match the weight's " + java.util.Arrays.toString(k));
        }
        int group = Args.toInt(node, node.attrInt("group", 1), "group");
        if (group < 1 || x.dim(1) != w.dim(0) || w.dim(0) % group != 0) {
            throw new OnnxException(node.describe() + ": weight " + w.shape() + " does not fit input " + x.shape() + " with group " + group);
        }
        int[] s = Geometry.ints(node, "strides", sp, 1), d = Geometry.ints(node, "dilations", sp, 1);
        int[] outPad = Geometry.ints(node, "output_padding", sp, 0), pads = Geometry.ints(node, "pads", 2 * sp, 0);
        long[] outputShape = node.attrInts("output_shape", null);
        String auto = node.attrString("auto_pad", "NOTSET");
        int[] full = new int[sp], begin = new int[sp], end = new int[sp];
        for (int i = 0; i < sp; i++) {
            full[i] = s[i] * (in[i] - 1) + (k[i] - 1) * d[i] + 1;
            int natural = full[i] + outPad[i];
            Integer target = null;
            if (outputShape != null) target = Args.toInt(node, outputShape[outputShape.length - sp + i], "output_shape");
            else if (auto.equals("SAME_UPPER") || auto.equals("SAME_LOWER")) target = in[i] * s[i];
            if (target != null) {   // pads from the target size; SAME_UPPER puts the odd one at the end
                int total = natural - target;
                begin[i] = auto.equals("SAME_UPPER") ? Math.floorDiv(total, 2) : total - Math.floorDiv(total, 2);
                end[i] = total - begin[i];
            } else if (!auto.equals("VALID")) {
                begin[i] = pads[i];
                end[i] = pads[sp + i];
            }
        }
        int outChannels = w.dim(1) * group;
        Variable y;
        if (sp == 2) {   // full size s (in - 1) + (k - 1) d + 1, differentiable
            y = F.convTranspose2d(x, w, null, new Conv2dParams(s[0], s[1], 0, 0, d[0], d[1], group), 0, 0);
        } else {
            y = Variable.of(hostTranspose(x.data(), w.data(), group, s, d, full));
        }
        // output_padding extends the end, pads crop (negative pads extend): one pad with signed amounts
        long[] adjust = new long[2 * (sp + 2)];
        for (int i = 0; i < sp; i++) {
            adjust[2 + i] = -begin[i];
            adjust[sp + 4 + i] = outPad[i] - end[i];
        }
        boolean noAdjust = java.util.Arrays.stream(adjust).allMatch(a -> a == 0);
        Variable out = noAdjust ? y : ShapeOps.pad(node, y, adjust, "constant", 0);
        if (b != null) {
            int[] bd = new int[sp + 2];
            java.util.Arrays.fill(bd, 1);
            bd[1] = outChannels;
            out = out.add(b.reshape(bd));
        }
        return out;
    }

    /** The unpadded transposed convolution on the host: y[n, oc, i s + j d] += x[n, ic, i] w[ic, oc', j], any rank. */
    private static Tensor hostTranspose(Tensor x, Tensor w, int group, int[] s, int[] d, int[] full) {
        int sp = s.length, n = x.dim(0), cin = x.dim(1), coutG = w.dim(1), cinG = cin / group, cout = coutG * group;
        int[] in = java.util.Arrays.copyOfRange(x.dims(), 2, x.rank()), k = java.util.Arrays.copyOfRange(w.dims(), 2, w.rank());
        int planeIn = Host.product(in, 0, sp), planeK = Host.product(k, 0, sp), planeOut = Host.product(full, 0, sp);
        int[] outStrides = Shape.of(full).contiguousStrides();
        float[] xv = x.toFloatArray(), wv = w.toFloatArray(), y = new float[n * cout * planeOut];
        int[] offset = new int[planeIn * planeK];   // offset[i * planeK + j]: output position of input i through tap j
        int[] pi = new int[sp], pj = new int[sp];
        for (int i = 0; i < planeIn; i++) {
            for (int rest = i, a = sp - 1; a >= 0; a--) { pi[a] = rest % in[a]; rest /= in[a]; }
            for (int j = 0; j < planeK; j++) {
                for (int rest = j, a = sp - 1; a >= 0; a--) { pj[a] = rest % k[a]; rest /= k[a]; }
                int at = 0;
                for (int a = 0; a < sp; a++) at += (pi[a] * s[a] + pj[a] * d[a]) * outStrides[a];
                offset[i * planeK + j] = at;
            }
        }
        for (int b = 0; b < n; b++) {
            for (int ic = 0; ic < cin; ic++) {
                int g = ic / cinG;
                for (int oc = 0; oc < coutG; oc++) {
                    int yBase = (b * cout + g * coutG + oc) * planeOut, wBase = (ic * coutG + oc) * planeK, xBase = (b * cin + ic) * planeIn;
                    for (int i = 0; i < planeIn; i++) {
                        float xi = xv[xBase + i];
                        for (int j = 0; j < planeK; j++) y[yBase + offset[i * planeK + j]] += xi * wv[wBase + j];
                    }
                }
            }
        }
        int[] dims = new int[sp + 2];
        dims[0] = n;
        dims[1] = cout;
        System.arraycopy(full, 0, dims, 2, sp);
        return Tensor.of(y, dims);
    }

    private static int spatialRank(OnnxNode node, Variable x, Variable w) {
        if (x.rank() != w.rank() || x.rank() < 3) throw new OnnxException(node.describe() + ": input " + x.shape() + " and weight " + w.shape() + " must have one rank >= 3");
        int spatial = x.rank() - 2;
        if (spatial > 2) throw new OnnxUnsupportedException(node.describe() + ": " + spatial + "-D convolution is not supported (1-D and 2-D are)");
        return spatial;
    }

    private static void checkKernel(OnnxNode node, int[] k) {
        long[] ks = node.attrInts("kernel_shape", null);
        if (ks != null && (ks.length != 2 || ks[0] != k[0] || ks[1] != k[1])) {
            throw new OnnxException(node.describe() + ": kernel_shape " + Arrays.toString(ks) + " does not match the weight's " + Arrays.toString(k));
        }
    }

    /** The node with its per-axis attributes given a leading height axis of size 1, for running 1-D as 2-D. */
    static OnnxNode lift(OnnxNode node) {
        var attrs = new java.util.HashMap<>(node.attributes());
        lift(attrs, "strides", 1, 1);
        lift(attrs, "dilations", 1, 1);
        lift(attrs, "kernel_shape", 1, 1);
        lift(attrs, "output_padding", 1, 0);
        lift(attrs, "output_shape", 1, 1);
        lift(attrs, "pads", 2, 0);
        return new OnnxNode(node.name(), node.opType(), node.domain(), node.inputs(), node.outputs(), attrs);
    }

    /** Prepends {@code value} for the new height axis to an ints attribute ({@code groups} lists: begins, ends). */
    private static void lift(java.util.Map<String, dev.ember.loaders.onnx.OnnxAttribute> attrs, String name, int groups, long value) {
        var a = attrs.get(name);
        if (a == null || a.ints() == null) return;
        long[] v = a.ints();
        int per = v.length / groups;
        long[] r = new long[v.length + groups];
        for (int gi = 0; gi < groups; gi++) {
            r[gi * (per + 1)] = value;
            System.arraycopy(v, gi * per, r, gi * (per + 1) + 1, per);
        }
        attrs.put(name, dev.ember.loaders.onnx.OnnxAttribute.ofInts(name, r));
    }
}
