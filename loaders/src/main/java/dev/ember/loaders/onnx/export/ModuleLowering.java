package dev.ember.loaders.onnx.export;

import dev.ember.autograd.NoGrad;
import dev.ember.autograd.Variable;
import dev.ember.engine.Conv2dParams;
import dev.ember.engine.Pool2dParams;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxAttribute;
import dev.ember.loaders.onnx.OnnxException;
import dev.ember.nn.AvgPool2d;
import dev.ember.nn.BatchNorm2d;
import dev.ember.nn.Conv2d;
import dev.ember.nn.Dropout;
import dev.ember.nn.Flatten;
import dev.ember.nn.GELU;
import dev.ember.nn.GlobalAvgPool2d;
import dev.ember.nn.LayerNorm;
import dev.ember.nn.Linear;
import dev.ember.nn.MaxPool2d;
import dev.ember.nn.Module;
import dev.ember.nn.ReLU;
import dev.ember.nn.Sequential;
import dev.ember.nn.Sigmoid;
import dev.ember.nn.Tanh;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Lowers nn modules to ONNX nodes at opset 17, one module at a time, while running each module once on a sample
 * input so that every value's shape is known (Linear picks Gemm or MatMul by rank, Flatten its axis). Modules run in
 * eval mode, so what is written is the inference computation: BatchNorm with its running statistics, Dropout the
 * identity.
 *
 * <pre>
 *   Linear           Gemm(x, W, b; transB=1) on (N, in); Transpose(W) + MatMul + Add on higher ranks
 *   Conv2d           Conv(x, W, b; kernel_shape, strides, pads, dilations, group)
 *   ReLU/Sigmoid/Tanh Relu/Sigmoid/Tanh
 *   GELU             x * (1 + Erf(x / sqrt 2)) * 0.5  (Gelu itself is opset 20)
 *   MaxPool2d        MaxPool(kernel_shape, strides, pads, ceil_mode)
 *   AvgPool2d        AveragePool(..., count_include_pad)
 *   GlobalAvgPool2d  GlobalAveragePool + Flatten(axis=1): ours returns (N, C)
 *   Flatten          Flatten(axis=1), or Reshape to [0, ..., 0, -1] for other start axes
 *   BatchNorm2d      BatchNormalization(x, weight, bias, running_mean, running_var; epsilon)
 *   LayerNorm        LayerNormalization(x, weight, bias; axis=-k, epsilon)
 *   Dropout          nothing
 *   Sequential       its children in order
 * </pre>
 * Parameters and buffers become initializers under their state-dict names; a tensor shared by two modules is stored
 * once. Constants of the decompositions are Constant nodes, so the initializers are exactly model state.
 */
final class ModuleLowering {
    /** A graph value and the tensor it held when the sample ran. */
    record Traced(String value, Tensor sample) {}

    private final GraphBuilder graph;
    private final Map<Tensor, String> stored = new IdentityHashMap<>();

    ModuleLowering(GraphBuilder graph) { this.graph = graph; }

    Traced lower(Module m, String path, Traced in) {
        if (m instanceof OnnxExportable e) {
            String out = e.exportOnnx(graph, path.isEmpty() ? "" : path + ".", in.value());
            if (!graph.hasValue(out)) throw new OnnxException("module '" + path + "' (" + typeName(m) + ") returned '" + out + "', which it did not define");
            return new Traced(out, run(m, in.sample()));
        }
        if (m instanceof Sequential s) {
            Traced t = in;
            for (Map.Entry<String, Module> c : s.namedChildren().entrySet()) t = lower(c.getValue(), join(path, c.getKey()), t);
            return t;
        }
        Tensor out = run(m, in.sample());
        String x = in.value();
        String value = switch (m) {
            case Linear l -> linear(l, path, x, in.sample().rank());
            case Conv2d c -> conv(c, path, x);
            case ReLU _ -> graph.node("Relu", hint(path, "Relu"), List.of(x));
            case Sigmoid _ -> graph.node("Sigmoid", hint(path, "Sigmoid"), List.of(x));
            case Tanh _ -> graph.node("Tanh", hint(path, "Tanh"), List.of(x));
            case GELU _ -> gelu(path, x);
            case MaxPool2d p -> graph.node("MaxPool", hint(path, "MaxPool"), List.of(x), pool(p.geometry()));
            case AvgPool2d p -> avgPool(p.geometry(), path, x);
            case GlobalAvgPool2d _ -> graph.node("Flatten", hint(path, "Flatten"),
                    List.of(graph.node("GlobalAveragePool", hint(path, "GlobalAveragePool"), List.of(x))), OnnxAttribute.ofInt("axis", 1));
            case Flatten _ -> flatten(path, x, out.rank());
            case BatchNorm2d b -> batchNorm(b, path, x);
            case LayerNorm l -> layerNorm(l, path, x);
            case Dropout _ -> x;
            default -> throw new OnnxException("cannot export module '" + (path.isEmpty() ? "<root>" : path) + "' (" + typeName(m)
                    + "): no ONNX lowering for it; supported are Sequential, Linear, Conv2d, ReLU, GELU, Sigmoid, Tanh, MaxPool2d, AvgPool2d, "
                    + "GlobalAvgPool2d, Flatten, BatchNorm2d, LayerNorm, Dropout, and modules implementing OnnxExportable");
        };
        return new Traced(value, out);
    }

    // ---- per module ----

    private String linear(Linear l, String path, String x, int rank) {
        String w = store(path, "weight", l.weight().data());
        String b = l.bias() == null ? null : store(path, "bias", l.bias().data());
        if (rank == 2) {
            List<String> ins = b == null ? List.of(x, w) : List.of(x, w, b);
            return graph.node("Gemm", hint(path, "Gemm"), ins, OnnxAttribute.ofInt("transB", 1));
        }
        String wt = graph.node("Transpose", hint(path, "Transpose"), List.of(w), OnnxAttribute.ofInts("perm", new long[] {1, 0}));
        String y = graph.node("MatMul", hint(path, "MatMul"), List.of(x, wt));
        return b == null ? y : graph.node("Add", hint(path, "Add"), List.of(y, b));
    }

    private String conv(Conv2d c, String path, String x) {
        Conv2dParams p = c.geometry();
        Tensor weight = c.weight().data();   // (OC, C/groups, KH, KW)
        List<String> ins = new ArrayList<>(List.of(x, store(path, "weight", weight)));
        if (c.bias() != null) ins.add(store(path, "bias", c.bias().data()));
        return graph.node("Conv", hint(path, "Conv"), ins,
                OnnxAttribute.ofInts("kernel_shape", new long[] {weight.dim(2), weight.dim(3)}),
                OnnxAttribute.ofInts("strides", new long[] {p.strideH(), p.strideW()}),
                OnnxAttribute.ofInts("pads", new long[] {p.padH(), p.padW(), p.padH(), p.padW()}),
                OnnxAttribute.ofInts("dilations", new long[] {p.dilationH(), p.dilationW()}),
                OnnxAttribute.ofInt("group", p.groups()));
    }

    /** Exact GELU, x * Phi(x) = x * (1 + erf(x / sqrt 2)) / 2, from opset-13 ops. */
    private String gelu(String path, String x) {
        String sqrt2 = graph.constant(hint(path, "sqrt2"), Tensor.scalar((float) Math.sqrt(2)));
        String one = graph.constant(hint(path, "one"), Tensor.scalar(1f));
        String half = graph.constant(hint(path, "half"), Tensor.scalar(0.5f));
        String erf = graph.node("Erf", hint(path, "Erf"), List.of(graph.node("Div", hint(path, "Div"), List.of(x, sqrt2))));
        String phi2 = graph.node("Add", hint(path, "Add"), List.of(erf, one));
        String xPhi2 = graph.node("Mul", hint(path, "Mul"), List.of(x, phi2));
        return graph.node("Mul", hint(path, "Mul"), List.of(xPhi2, half));
    }

    private static OnnxAttribute[] pool(Pool2dParams p) {
        return new OnnxAttribute[] {
            OnnxAttribute.ofInts("kernel_shape", new long[] {p.kernelH(), p.kernelW()}),
            OnnxAttribute.ofInts("strides", new long[] {p.strideH(), p.strideW()}),
            OnnxAttribute.ofInts("pads", new long[] {p.padH(), p.padW(), p.padH(), p.padW()}),
            OnnxAttribute.ofInt("ceil_mode", p.ceilMode() ? 1 : 0),
        };
    }

    private String avgPool(Pool2dParams p, String path, String x) {
        List<OnnxAttribute> attrs = new ArrayList<>(List.of(pool(p)));
        attrs.add(OnnxAttribute.ofInt("count_include_pad", p.countIncludePad() ? 1 : 0));
        return graph.node("AveragePool", hint(path, "AveragePool"), List.of(x), attrs.toArray(OnnxAttribute[]::new));
    }

    /** Ours keeps the axes before the start axis and merges the rest; the traced output's rank says where it started. */
    private String flatten(String path, String x, int outRank) {
        int start = outRank - 1;
        if (start == 1) return graph.node("Flatten", hint(path, "Flatten"), List.of(x), OnnxAttribute.ofInt("axis", 1));
        long[] target = new long[start + 1];   // 0 keeps an input axis, -1 takes the rest
        target[start] = -1;
        String shape = graph.constant(hint(path, "shape"), Tensor.ofLongs(target, target.length));
        return graph.node("Reshape", hint(path, "Reshape"), List.of(x, shape));
    }

    private String batchNorm(BatchNorm2d b, String path, String x) {
        int channels = b.runningMean().numel();
        String scale = b.weight() != null ? store(path, "weight", b.weight().data()) : graph.constant(hint(path, "scale"), Tensor.ones(channels));
        String shift = b.bias() != null ? store(path, "bias", b.bias().data()) : graph.constant(hint(path, "shift"), Tensor.zeros(channels));
        String mean = store(path, "running_mean", b.runningMean());
        String var = store(path, "running_var", b.runningVar());
        return graph.node("BatchNormalization", hint(path, "BatchNormalization"), List.of(x, scale, shift, mean, var),
                OnnxAttribute.ofFloat("epsilon", b.eps()));
    }

    private String layerNorm(LayerNorm l, String path, String x) {
        int[] normalized = l.normalizedShape();
        List<String> ins = new ArrayList<>(List.of(x));
        ins.add(l.weight() != null ? store(path, "weight", l.weight().data()) : graph.constant(hint(path, "scale"), Tensor.ones(normalized)));
        if (l.bias() != null) ins.add(store(path, "bias", l.bias().data()));
        return graph.node("LayerNormalization", hint(path, "LayerNormalization"), ins,
                OnnxAttribute.ofInt("axis", -normalized.length), OnnxAttribute.ofFloat("epsilon", l.eps()));
    }

    // ---- helpers ----

    /** The initializer for state {@code name} of the module at {@code path}; a tensor already stored keeps its first name. */
    private String store(String path, String name, Tensor t) {
        String have = stored.get(t);
        if (have != null) return have;
        String full = join(path, name);
        graph.initializer(full, t);
        stored.put(t, full);
        return full;
    }

    private static Tensor run(Module m, Tensor sample) {
        try (NoGrad _ = NoGrad.enter()) {
            return m.forward(Variable.of(sample)).data();
        }
    }

    private static String hint(String path, String op) { return path.isEmpty() ? op : path + "/" + op; }

    private static String join(String path, String name) { return path.isEmpty() ? name : path + "." + name; }

    private static String typeName(Module m) { return m.getClass().getSimpleName().isEmpty() ? m.getClass().getName() : m.getClass().getSimpleName(); }
}
