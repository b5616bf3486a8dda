package dev.ember.loaders.onnx.ops;

import dev.ember.autograd.Variable;
import dev.ember.engine.DType;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxNode;

import static dev.ember.loaders.onnx.ops.ElementwiseOps.one;

/**
 * The Reduce* family. Axes come from the {@code axes} attribute, or from an input from opset 13 (ReduceSum) / 18
 * (the others); none means all axes, or no reduction at all with {@code noop_with_empty_axes}. float32 reductions are
 * composed from autograd ops (L2 = sqrt(sum x^2), LogSumExp shifted by the max); integers and ReduceProd run on the host.
 */
final class ReduceOps {
    private ReduceOps() {}

    private static final String[] OPS = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
            "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"};

    static void register(OpTable t) {
        for (String op : OPS) {
            int inputSince = op.equals("ReduceSum") ? 13 : 18;
            t.add(op, 1, (n, in, v) -> one(reduce(n, Args.in(n, in, 0), n.attrInts("axes", null), op)));
            t.add(op, inputSince, (n, in, v) -> one(reduce(n, Args.in(n, in, 0), ShapeOps.optionalLongs(n, in, 1, "axes"), op)));
        }
    }

    static Variable reduce(OnnxNode node, Variable x, long[] axes, String op) {
        boolean keep = node.attrInt("keepdims", 1) != 0;
        if (axes == null || axes.length == 0) {
            if (node.attrInt("noop_with_empty_axes", 0) != 0) return x;
            axes = new long[x.rank()];
            for (int i = 0; i < axes.length; i++) axes[i] = i;
        }
        int[] ax = Args.axes(node, axes, x.rank(), "axes");
        if (x.data().dtype() != DType.FLOAT32 || op.equals("ReduceProd")) {
            if (x.data().dtype() == DType.BOOL) throw new OnnxUnsupportedException(node.describe() + ": bool reductions are not supported");
            Grad.refuse(node, x);
            return Variable.of(host(x.data(), ax, keep, op));
        }
        return switch (op) {
            case "ReduceSum" -> x.sum(keep, ax);
            case "ReduceMean" -> x.mean(keep, ax);
            case "ReduceMax" -> x.max(keep, ax);
            case "ReduceMin" -> x.neg().max(keep, ax).neg();
            case "ReduceL1" -> x.abs().sum(keep, ax);
            case "ReduceL2" -> x.square().sum(keep, ax).sqrt();
            case "ReduceLogSum" -> x.sum(keep, ax).log();
            case "ReduceSumSquare" -> x.square().sum(keep, ax);
            default -> {   // ReduceLogSumExp: m + log sum e^(x - m), m the (constant) max
                Tensor m = x.data().max(true, ax);
                Variable y = x.sub(Variable.of(m)).exp().sum(true, ax).log().add(Variable.of(m));
                yield keep ? y : y.reshape(removed(x.shape(), ax));
            }
        };
    }

    /** Reduction on the host in double (integer dtypes, and products). */
    static Tensor host(Tensor x, int[] axes, boolean keep, String op) {
        int[] d = x.dims();
        boolean[] reduced = new boolean[d.length];
        for (int a : axes) reduced[a] = true;
        int[] kept = d.clone();
        for (int a : axes) kept[a] = 1;
        int[] outStrides = Shape.of(kept).contiguousStrides();
        double[] v = Host.doubles(x);
        double[] acc = new double[Shape.of(kept).numel()];
        double init = switch (op) {
            case "ReduceProd" -> 1;
            case "ReduceMax" -> Double.NEGATIVE_INFINITY;
            case "ReduceMin" -> Double.POSITIVE_INFINITY;
            default -> 0;
        };
        java.util.Arrays.fill(acc, init);
        int[] pos = new int[d.length];
        for (int k = 0; k < v.length; k++) {
            int at = 0;
            for (int i = 0; i < d.length; i++) if (!reduced[i]) at += pos[i] * outStrides[i];
            double e = v[k];
            acc[at] = switch (op) {
                case "ReduceProd" -> acc[at] * e;
                case "ReduceMax" -> Math.max(acc[at], e);
                case "ReduceMin" -> Math.min(acc[at], e);
                case "ReduceL1" -> acc[at] + Math.abs(e);
                case "ReduceL2", "ReduceSumSquare" -> acc[at] + e * e;
                case "ReduceLogSumExp" -> acc[at] + Math.exp(e);
                default -> acc[at] + e;
            };
            for (int i = d.length - 1; i >= 0; i--) {
                if (++pos[i] < d[i]) break;
                pos[i] = 0;
            }
        }
        int count = 1;
        for (int a : axes) count *= d[a];
        for (int i = 0; i < acc.length; i++) {
            acc[i] = switch (op) {
                case "ReduceMean" -> acc[i] / count;
                case "ReduceL2" -> Math.sqrt(acc[i]);
                case "ReduceLogSum", "ReduceLogSumExp" -> Math.log(acc[i]);
                default -> acc[i];
            };
        }
        return Host.fromDoubles(x.dtype(), keep ? kept : removed(x.shape(), axes), acc);
    }

    /** shape without the (sorted) axes. */
    static int[] removed(Shape shape, int[] axes) {
        int[] d = new int[shape.rank() - axes.length];
        for (int i = 0, j = 0, k = 0; i < shape.rank(); i++) {
            if (k < axes.length && axes[k] == i) k++;
            else d[j++] = shape.dim(i);
        }
        return d;
    }
}
