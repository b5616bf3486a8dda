package dev.ember.loaders.onnx.ops;

import dev.ember.autograd.F;
import dev.ember.autograd.Variable;
import dev.ember.loaders.onnx.OnnxException;
import dev.ember.loaders.onnx.OnnxNode;

import java.util.Arrays;

import static dev.ember.loaders.onnx.ops.ElementwiseOps.one;

/**
 * Normalizations, composed from autograd ops (or autograd's fused layer norm) so they stay differentiable:
 * BatchNormalization (running statistics, or batch statistics with training_mode), LayerNormalization (with its
 * optional Mean and InvStdDev outputs), InstanceNormalization, LRN, MeanVarianceNormalization.
 */
final class NormOps {
    private NormOps() {}

    static void register(OpTable t) {
        t.add("BatchNormalization", 1, NormOps::batchNorm);
        t.add("LayerNormalization", 17, NormOps::layerNorm);
        t.add("InstanceNormalization", 1, (n, in, v) -> one(instanceNorm(n, Args.in(n, in, 0), Args.in(n, in, 1), Args.in(n, in, 2))));
        t.add("GroupNormalization", 18, NormOps::groupNorm);
        t.add("LpNormalization", 1, (n, in, v) -> {
            Variable x = Args.in(n, in, 0);
            Args.requireFloat(n, x, "input");
            int a = Args.axis(n, n.attrInt("axis", -1), x.rank(), "axis");
            long p = n.attrInt("p", 2);
            if (p != 1 && p != 2) throw new OnnxException(n.describe() + ": p must be 1 or 2, got " + p);
            Variable norm = p == 1 ? x.abs().sum(true, a) : x.square().sum(true, a).sqrt();
            return one(x.div(norm));
        });
        t.add("LRN", 1, (n, in, v) -> one(lrn(n, Args.in(n, in, 0))));
        t.add("MeanVarianceNormalization", 9, (n, in, v) -> {
            Variable x = Args.in(n, in, 0);
            Args.requireFloat(n, x, "X");
            int[] axes = Args.axes(n, n.attrInts("axes", new long[] {0, 2, 3}), x.rank(), "axes");
            Variable mean = x.mean(true, axes);   // as the ONNX function: (x - E x) / (sqrt(E x^2 - (E x)^2) + 1e-9)
            Variable std = x.square().mean(true, axes).sub(mean.square()).sqrt();
            return one(x.sub(mean).div(std.add(1e-9f)));
        });
    }

    /** A per-channel vector (C) as (1, C, 1, ...) for x of rank r; a per-activation tensor (C, D...) (spatial=0) as (1, C, D...). */
    private static Variable channels(Variable p, int rank) {
        if (p.rank() > 1) return p.unsqueeze(0);
        int[] d = new int[rank];
        Arrays.fill(d, 1);
        d[1] = p.dim(0);
        return p.reshape(d);
    }

    /**
     * y = (x - mean) / sqrt(var + eps) * scale + B over channel axis 1. With training_mode (opset 14+) the batch's
     * mean and biased variance are used and the updated running statistics are the extra outputs:
     * running = running * momentum + batch * (1 - momentum).
     */
    static Variable[] batchNorm(OnnxNode node, Variable[] in, int opset) {
        Variable x = Args.in(node, in, 0), scale = Args.in(node, in, 1), bias = Args.in(node, in, 2);
        Variable mean = Args.in(node, in, 3), var = Args.in(node, in, 4);
        Args.requireFloat(node, x, "X");
        float eps = node.attrFloat("epsilon", 1e-5f), momentum = node.attrFloat("momentum", 0.9f);
        boolean training = opset >= 14 ? node.attrInt("training_mode", 0) != 0 : Args.outputsWanted(node) > 1;
        if (opset < 9 && node.attrInt("spatial", 1) == 0 && scale.rank() == 1 && x.rank() > 2) {
            throw new OnnxUnsupportedException(node.describe() + ": spatial=0 with per-channel parameters is not supported");
        }
        int r = x.rank();
        if (!training) {   // a per-channel affine map: y = x a + b, a = scale / sqrt(var + eps), b = B - mean a (small tensors)
            Variable a = scale.div(var.add(eps).sqrt());
            Variable b = bias.sub(mean.mul(a));
            return one(x.mul(channels(a, r)).add(channels(b, r)));
        }
        if (opset < 14) throw new OnnxUnsupportedException(node.describe() + ": training outputs before opset 14 are not supported");
        int[] axes = new int[r - 1];
        axes[0] = 0;
        for (int i = 2; i < r; i++) axes[i - 1] = i;
        Variable batchMean = x.mean(true, axes);                           // batchMean (1, C, 1, ...)
        Variable centered = x.sub(batchMean);
        Variable batchVar = centered.square().mean(true, axes);            // biased, as the ONNX reference
        Variable y = centered.div(batchVar.add(eps).sqrt()).mul(channels(scale, r)).add(channels(bias, r));
        Variable runMean = mean.mul(momentum).add(batchMean.reshape(mean.shape().dims()).mul(1 - momentum));
        Variable runVar = var.mul(momentum).add(batchVar.reshape(var.shape().dims()).mul(1 - momentum));
        return new Variable[] {y, runMean, runVar};
    }

    /**
     * Normalizes over axes [axis, rank): y = (x - mean) * invStd * scale + B; the optional outputs are the mean and
     * 1 / sqrt(var + eps) with the normalized axes kept as size 1.
     */
    static Variable[] layerNorm(OnnxNode node, Variable[] in, int opset) {
        Variable x = Args.in(node, in, 0), scale = Args.in(node, in, 1), bias = Args.opt(in, 2);
        Args.requireFloat(node, x, "X");
        int r = x.rank(), axis = Args.axis(node, node.attrInt("axis", -1), r, "axis");
        float eps = node.attrFloat("epsilon", 1e-5f);
        int[] normalized = Arrays.copyOfRange(x.shape().dims(), axis, r);
        boolean exactParams = Arrays.equals(scale.shape().dims(), normalized) && (bias == null || Arrays.equals(bias.shape().dims(), normalized));
        if (Args.outputsWanted(node) == 1 && exactParams) return one(F.layerNorm(x, r - axis, scale, bias, eps));
        int[] axes = Args.range(axis, r);
        Variable mean = x.mean(true, axes);
        Variable centered = x.sub(mean);
        Variable invStd = centered.square().mean(true, axes).add(eps).pow(-0.5f);
        Variable y = centered.mul(invStd).mul(scale);
        if (bias != null) y = y.add(bias);
        return new Variable[] {y, mean, invStd};
    }

    /**
     * x (N, C, ...) normalized over each of num_groups groups of C / num_groups channels (and all spatial positions);
     * then scale and bias per group (opset 18) or per channel (opset 21).
     */
    static Variable[] groupNorm(OnnxNode node, Variable[] in, int opset) {
        Variable x = Args.in(node, in, 0), scale = Args.in(node, in, 1), bias = Args.in(node, in, 2);
        Args.requireFloat(node, x, "X");
        int groups = Args.toInt(node, node.attrInt("num_groups"), "num_groups");
        int r = x.rank(), n = x.dim(0), c = x.dim(1);
        if (r < 2 || groups < 1 || c % groups != 0) throw new OnnxException(node.describe() + ": " + c + " channels cannot form " + groups + " groups");
        float eps = node.attrFloat("epsilon", 1e-5f);
        int[] dims = x.shape().dims();
        Variable g = x.reshape(n, groups, -1);                                    // g (N, G, C/G * spatial)
        Variable centered = g.sub(g.mean(true, 2));
        Variable normalized = centered.div(centered.square().mean(true, 2).add(eps).sqrt());
        boolean perGroup = opset < 21 && scale.shape().numel() == groups;
        if (perGroup) {
            return one(normalized.mul(scale.reshape(1, groups, 1)).add(bias.reshape(1, groups, 1)).reshape(dims));
        }
        Variable y = normalized.reshape(dims);
        return one(y.mul(channels(scale, r)).add(channels(bias, r)));
    }

    /** Per (n, c) over the spatial axes: (x - mean) / sqrt(var + eps) * scale_c + B_c. */
    static Variable instanceNorm(OnnxNode node, Variable x, Variable scale, Variable bias) {
        Args.requireFloat(node, x, "input");
        if (x.rank() < 3) throw new OnnxException(node.describe() + ": input must be (N, C, spatial...), got " + x.shape());
        int r = x.rank();
        int[] axes = Args.range(2, r);
        float eps = node.attrFloat("epsilon", 1e-5f);
        Variable mean = x.mean(true, axes);
        Variable centered = x.sub(mean);
        Variable var = centered.square().mean(true, axes);
        return centered.div(var.add(eps).sqrt()).mul(channels(scale, r)).add(channels(bias, r));
    }

    /** y = x / (bias + alpha / size * sum of x^2 over a window of size channels around c)^beta. */
    static Variable lrn(OnnxNode node, Variable x) {
        Args.requireFloat(node, x, "X");
        int size = Args.toInt(node, node.attrInt("size"), "size");
        float alpha = node.attrFloat("alpha", 1e-4f), beta = node.attrFloat("beta", 0.75f), bias = node.attrFloat("bias", 1f);
        if (x.rank() < 3 || size < 1) throw new OnnxException(node.describe() + ": needs (N, C, ...) input and size >= 1");
        int r = x.rank(), c = x.dim(1);
        long[] pads = new long[2 * r];
        pads[1] = (size - 1) / 2;
        pads[r + 1] = size - 1 - (size - 1) / 2;
        Variable sq = ShapeOps.pad(node, x.square(), pads, "constant", 0);   // sq (N, C + size - 1, ...)
        Variable sum = sq.slice(1, 0, c, 1);
        for (int j = 1; j < size; j++) sum = sum.add(sq.slice(1, j, j + c, 1));
        return x.div(sum.mul(alpha / size).add(bias).pow(beta));
    }
}
