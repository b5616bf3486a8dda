package dev.ember.loaders.onnx.train;

import dev.ember.engine.DType;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxAttribute;
import dev.ember.loaders.onnx.OnnxModel;
import dev.ember.loaders.onnx.OnnxNode;
import dev.ember.loaders.onnx.export.GraphBuilder;

import java.util.List;
import java.util.Map;

/** Small ONNX graphs built in memory for the import tests, seeded, opset 14. */
final class TinyModels {
    private TinyModels() {}

    static OnnxNode node(String name, String op, List<String> in, List<String> out, OnnxAttribute... attrs) {
        Map<String, OnnxAttribute> a = new java.util.HashMap<>();
        for (OnnxAttribute x : attrs) a.put(x.name(), x);
        return new OnnxNode(name, op, "", in, out, a);
    }

    /**
     * x (N, 2, 5, 5) -> Conv 3x3 pad 1 (bias through an Identity) -> BatchNormalization -> Clip[0, 6] -> GlobalAveragePool
     * -> Reshape (-1, 3) -> MatMul (3, 4) -> Add bias -> LogSoftmax -> y (N, 4).
     */
    static OnnxModel classifier(long seed) { return classifier(seed, false); }

    /** With {@code featuresOnly}, the same graph and weights cut after the Reshape: output f (N, 3), what the head reads. */
    static OnnxModel classifier(long seed, boolean featuresOnly) {
        Rng rng = new Rng(seed);
        GraphBuilder g = new GraphBuilder("tiny").opset("", 14);
        g.input("x", DType.FLOAT32, GraphBuilder.dims("N", 1, 2, 5, 5));
        g.initializer("conv.w", Tensor.randn(rng, 0.5f, 3, 2, 3, 3));
        g.initializer("conv.b", Tensor.randn(rng, 0.1f, 3));
        g.initializer("bn.scale", Tensor.rand(rng, 0.5f, 1.5f, 3));
        g.initializer("bn.bias", Tensor.randn(rng, 0.1f, 3));
        g.initializer("bn.mean", Tensor.randn(rng, 0.1f, 3));
        g.initializer("bn.var", Tensor.rand(rng, 0.5f, 2f, 3));
        g.initializer("clip.min", Tensor.scalar(0f));
        g.initializer("clip.max", Tensor.scalar(6f));
        g.initializer("shape", Tensor.ofLongs(new long[] {-1, 3}, 2));
        g.initializer("fc.w", Tensor.randn(rng, 0.5f, 3, 4));
        g.initializer("fc.b", Tensor.randn(rng, 0.1f, 4));
        g.node(node("/conv/bias_alias", "Identity", List.of("conv.b"), List.of("conv.b.alias")));
        g.node(node("/conv/Conv", "Conv", List.of("x", "conv.w", "conv.b.alias"), List.of("c"),
                OnnxAttribute.ofInts("pads", new long[] {1, 1, 1, 1}), OnnxAttribute.ofInts("kernel_shape", new long[] {3, 3})));
        g.node(node("/bn/BatchNormalization", "BatchNormalization", List.of("c", "bn.scale", "bn.bias", "bn.mean", "bn.var"), List.of("b")));
        g.node(node("/Clip", "Clip", List.of("b", "clip.min", "clip.max"), List.of("r")));
        g.node(node("/GlobalAveragePool", "GlobalAveragePool", List.of("r"), List.of("p")));
        g.node(node("/Reshape", "Reshape", List.of("p", "shape"), List.of("f")));
        if (featuresOnly) {
            g.output("f", DType.FLOAT32, GraphBuilder.dims("N", 1, 3));
            return OnnxModel.read(g.toBytes());
        }
        g.node(node("/fc/MatMul", "MatMul", List.of("f", "fc.w"), List.of("m")));
        g.node(node("/fc/Add", "Add", List.of("m", "fc.b"), List.of("logits")));
        g.node(node("/LogSoftmax", "LogSoftmax", List.of("logits"), List.of("y"), OnnxAttribute.ofInt("axis", -1)));
        g.output("y", DType.FLOAT32, GraphBuilder.dims("N", 1, 4));
        return OnnxModel.read(g.toBytes());
    }

    /** x (N, 3, 2, 2) -> BatchNormalization (scale 1, bias 0, given running statistics, momentum 0.9) -> y. */
    static OnnxModel batchNorm(float[] mean, float[] var) {
        GraphBuilder g = new GraphBuilder("bn").opset("", 14);
        g.input("x", DType.FLOAT32, GraphBuilder.dims("N", 1, 3, 2, 2));
        g.initializer("scale", Tensor.ones(3));
        g.initializer("bias", Tensor.zeros(3));
        g.initializer("mean", Tensor.of(mean.clone(), 3));
        g.initializer("var", Tensor.of(var.clone(), 3));
        g.node(node("bn", "BatchNormalization", List.of("x", "scale", "bias", "mean", "var"), List.of("y"),
                OnnxAttribute.ofFloat("epsilon", 1e-5f), OnnxAttribute.ofFloat("momentum", 0.9f)));
        g.output("y", DType.FLOAT32, GraphBuilder.dims("N", 1, 3, 2, 2));
        return OnnxModel.read(g.toBytes());
    }

    /** x (N, 4) -> Gemm(W, C) with W (4, 6) when transB = 0 or (6, 4) when 1, alpha 2 -> Relu -> y (N, 6). */
    static OnnxModel gemm(boolean transB, long seed) {
        Rng rng = new Rng(seed);
        GraphBuilder g = new GraphBuilder("gemm").opset("", 14);
        g.input("x", DType.FLOAT32, GraphBuilder.dims("N", 1, 4));
        g.initializer("W", transB ? Tensor.randn(rng, 1f, 6, 4) : Tensor.randn(rng, 1f, 4, 6));
        g.initializer("C", Tensor.randn(rng, 1f, 6));
        g.node(node("gemm", "Gemm", List.of("x", "W", "C"), List.of("z"),
                OnnxAttribute.ofInt("transB", transB ? 1 : 0), OnnxAttribute.ofFloat("alpha", 2f)));
        g.node(node("relu", "Relu", List.of("z"), List.of("y")));
        g.output("y", DType.FLOAT32, GraphBuilder.dims("N", 1, 6));
        return OnnxModel.read(g.toBytes());
    }

    /** a (N, 3) and b (N, 3) -> Mul -> MatMul (3, 2) -> y (N, 2); and Sum(a) -> s: two inputs, two outputs. */
    static OnnxModel twoInputs(long seed) {
        Rng rng = new Rng(seed);
        GraphBuilder g = new GraphBuilder("two").opset("", 14);
        g.input("a", DType.FLOAT32, GraphBuilder.dims("N", 1, 3));
        g.input("b", DType.FLOAT32, GraphBuilder.dims("N", 1, 3));
        g.initializer("w", Tensor.randn(rng, 1f, 3, 2));
        g.node(node("mul", "Mul", List.of("a", "b"), List.of("ab")));
        g.node(node("mm", "MatMul", List.of("ab", "w"), List.of("y")));
        g.node(node("sum", "ReduceSum", List.of("a"), List.of("s"), OnnxAttribute.ofInt("keepdims", 0)));
        g.output("y", DType.FLOAT32, GraphBuilder.dims("N", 1, 2));
        g.output("s", DType.FLOAT32, List.of());
        return OnnxModel.read(g.toBytes());
    }

    /** x (N, 2, 3, 3) -> ConvTranspose (2, 2, 2, 2) -> Conv (1, 2, 1, 1) -> y. */
    static OnnxModel convTranspose(long seed) {
        Rng rng = new Rng(seed);
        GraphBuilder g = new GraphBuilder("deconv").opset("", 14);
        g.input("x", DType.FLOAT32, GraphBuilder.dims("N", 1, 2, 3, 3));
        g.initializer("up.w", Tensor.randn(rng, 0.5f, 2, 2, 2, 2));
        g.initializer("out.w", Tensor.randn(rng, 0.5f, 1, 2, 1, 1));
        g.node(node("/up/ConvTranspose", "ConvTranspose", List.of("x", "up.w"), List.of("u")));
        g.node(node("/out/Conv", "Conv", List.of("u", "out.w"), List.of("y")));
        g.output("y", DType.FLOAT32, GraphBuilder.dims("N", 1, 1, 4, 4));
        return OnnxModel.read(g.toBytes());
    }
}
