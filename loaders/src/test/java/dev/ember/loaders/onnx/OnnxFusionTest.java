package dev.ember.loaders.onnx;

import static dev.ember.loaders.onnx.OnnxTestModels.FLOAT;
import static dev.ember.loaders.onnx.OnnxTestModels.floats;
import static dev.ember.loaders.onnx.OnnxTestModels.load;
import static dev.ember.loaders.onnx.OnnxTestModels.model;
import static dev.ember.loaders.onnx.OnnxTestModels.node;
import static dev.ember.loaders.onnx.OnnxTestModels.value;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.autograd.Variable;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.ops.OnnxOps;
import dev.ember.loaders.onnx.proto.OnnxProto.AttributeProto;
import dev.ember.loaders.onnx.proto.OnnxProto.GraphProto;
import dev.ember.loaders.onnx.proto.OnnxProto.NodeProto;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The session's fusions of Conv then Relu, Add then Relu, Gemm then Relu and Conv, Add, Relu ({@link OpResolver#fuse}): the same values and gradients as
 * the two ops run one after the other, and no fusion where the intermediate value is needed elsewhere.
 */
class OnnxFusionTest {
    private static final OpResolver UNFUSED = (node, opset) -> OnnxOps.resolver().resolve(node, opset);

    /** x (2, 3, 6, 6) -> Conv (4 filters 3x3, pad 1, bias) -> c -> Relu -> r; optionally c is an output too, or y = r + c. */
    private static OnnxModel convRelu(boolean cIsOutput, boolean cReadTwice) {
        Rng rng = new Rng(5);
        GraphProto.Builder g = GraphProto.newBuilder().setName("conv_relu")
                .addNode(node("conv", "Conv", List.of("x", "w", "b"), List.of("c"),
                        AttributeProto.newBuilder().setName("pads").setType(AttributeProto.AttributeType.INTS).addAllInts(List.of(1L, 1L, 1L, 1L)).build()))
                .addNode(node("relu", "Relu", List.of("c"), List.of("r")))
                .addInitializer(floats("w", randn(rng, 4 * 3 * 9), 4, 3, 3, 3))
                .addInitializer(floats("b", randn(rng, 4), 4))
                .addInput(value("x", FLOAT, 2, 3, 6, 6));
        if (cReadTwice) g.addNode(node("add", "Add", List.of("r", "c"), List.of("y"))).addOutput(value("y", FLOAT, 2, 4, 6, 6));
        else g.addOutput(value("r", FLOAT, 2, 4, 6, 6));
        if (cIsOutput) g.addOutput(value("c", FLOAT, 2, 4, 6, 6));
        return load(model(g.build()));
    }

    private static float[] randn(Rng rng, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rng.nextGaussian();
        return v;
    }

    private static Tensor input() { return Tensor.of(randn(new Rng(6), 2 * 3 * 36), 2, 3, 6, 6); }

    @Test void fusedConvReluGivesTheSameValues() {
        for (boolean cIsOutput : new boolean[] {false, true}) {
            for (boolean cReadTwice : new boolean[] {false, true}) {
                OnnxModel m = convRelu(cIsOutput, cReadTwice);
                Map<String, Tensor> fused = new OnnxSession(m, OnnxOps.resolver()).run(Map.of("x", input()));
                Map<String, Tensor> plain = new OnnxSession(m, UNFUSED).run(Map.of("x", input()));
                assertEquals(plain.keySet(), fused.keySet());
                for (String name : plain.keySet()) {
                    assertArrayEquals(plain.get(name).toFloatArray(), fused.get(name).toFloatArray(), 1e-6f, name + " output " + cIsOutput + " twice " + cReadTwice);
                }
                boolean anyNegative = false;
                for (float v : plain.values().iterator().next().toFloatArray()) anyNegative |= v < 0;
                assertEquals(cReadTwice, anyNegative, "the test's data exercise the ReLU (only c itself can be negative)");
            }
        }
    }

    @Test void fusedConvReluGivesTheSameGradients() {
        OnnxModel m = convRelu(false, false);
        Map<String, float[]> fused = gradients(new OnnxSession(m, OnnxOps.resolver()), m);
        Map<String, float[]> plain = gradients(new OnnxSession(m, UNFUSED), m);
        for (String name : List.of("x", "w", "b")) assertArrayEquals(plain.get(name), fused.get(name), 1e-5f, "d" + name);
    }

    private static Map<String, float[]> gradients(OnnxSession s, OnnxModel m) {
        Variable x = Variable.param(input());
        Map<String, Variable> params = new LinkedHashMap<>();
        for (String name : List.of("w", "b")) params.put(name, Variable.param(m.graph().initializers().get(name).contiguous()));
        Variable y = s.runVariables(Map.of("x", x), params).get("r");
        y.mul(y).sum().backward();   // a loss whose gradient differs per element, so the ReLU mask matters
        Map<String, float[]> grads = new LinkedHashMap<>();
        grads.put("x", x.grad().toFloatArray());
        for (Map.Entry<String, Variable> e : params.entrySet()) grads.put(e.getKey(), e.getValue().grad().toFloatArray());
        return grads;
    }

    /** x (2, C, 20, 20) -> Conv (4 filters 3x3, pad 1, bias) -> Relu -> MaxPool (k x k, stride 2) -> p (2, 4, 10 or 9, ...). */
    private static OnnxModel convReluPool(int channels, int k) {
        Rng rng = new Rng(7);
        int out = (20 - k) / 2 + 1;
        GraphProto.Builder g = GraphProto.newBuilder().setName("conv_relu_pool")
                .addNode(node("conv", "Conv", List.of("x", "w", "b"), List.of("c"),
                        AttributeProto.newBuilder().setName("pads").setType(AttributeProto.AttributeType.INTS).addAllInts(List.of(1L, 1L, 1L, 1L)).build()))
                .addNode(node("relu", "Relu", List.of("c"), List.of("r")))
                .addNode(node("pool", "MaxPool", List.of("r"), List.of("p"),
                        AttributeProto.newBuilder().setName("kernel_shape").setType(AttributeProto.AttributeType.INTS).addAllInts(List.of((long) k, (long) k)).build(),
                        AttributeProto.newBuilder().setName("strides").setType(AttributeProto.AttributeType.INTS).addAllInts(List.of(2L, 2L)).build()))
                .addInitializer(floats("w", randn(rng, 4 * channels * 9), 4, channels, 3, 3))
                .addInitializer(floats("b", randn(rng, 4), 4))
                .addInput(value("x", FLOAT, 2, channels, 20, 20))
                .addOutput(value("p", FLOAT, 2, 4, out, out));
        return load(model(g.build()));
    }

    /**
     * Conv, Relu, MaxPool run as one op (on one input channel and a 2x2 pool the backend never writes the conv's
     * output): the bits of the three ops, and their gradients when one is recorded; other geometries compose.
     */
    @Test void fusedConvReluMaxPoolGivesTheSameBitsAndGradients() {
        for (int[] c : new int[][] {{1, 2}, {3, 2}, {1, 3}}) {
            OnnxModel m = convReluPool(c[0], c[1]);
            Tensor x = Tensor.of(randn(new Rng(8), 2 * c[0] * 400), 2, c[0], 20, 20);   // rows of 20: SingleChannelConv's
            float[] fused = new OnnxSession(m, OnnxOps.resolver()).run(Map.of("x", x)).get("p").toFloatArray();
            float[] plain = new OnnxSession(m, UNFUSED).run(Map.of("x", x)).get("p").toFloatArray();
            assertEquals(plain.length, fused.length);
            for (int i = 0; i < plain.length; i++) {
                assertEquals(Float.floatToRawIntBits(plain[i]), Float.floatToRawIntBits(fused[i]), "channels " + c[0] + " pool " + c[1] + " element " + i);
            }
        }
        OnnxModel m = convReluPool(1, 2);
        Map<String, float[]> fused = poolGradients(new OnnxSession(m, OnnxOps.resolver()), m);
        Map<String, float[]> plain = poolGradients(new OnnxSession(m, UNFUSED), m);
        for (String name : List.of("x", "w", "b")) assertArrayEquals(plain.get(name), fused.get(name), 0f, "d" + name);
    }

    private static Map<String, float[]> poolGradients(OnnxSession s, OnnxModel m) {
        Variable x = Variable.param(Tensor.of(randn(new Rng(9), 800), 2, 1, 20, 20));
        Map<String, Variable> params = new LinkedHashMap<>();
        for (String name : List.of("w", "b")) params.put(name, Variable.param(m.graph().initializers().get(name).contiguous()));
        Variable y = s.runVariables(Map.of("x", x), params).get("p");
        y.mul(y).sum().backward();
        Map<String, float[]> grads = new LinkedHashMap<>();
        grads.put("x", x.grad().toFloatArray());
        for (Map.Entry<String, Variable> e : params.entrySet()) grads.put(e.getKey(), e.getValue().grad().toFloatArray());
        return grads;
    }

    /**
     * x (N, C, H, W) -> Conv (C filters 3x3, pad 1, bias) -> c; s = Add(c, side) or Add(side, c) -> Relu -> y, where
     * side is x itself, or Neg(x) computed after the conv in the file's order (then not ready when the conv runs).
     */
    private static OnnxModel convAddRelu(int n, int channels, int size, boolean convFirst, boolean sideLater) {
        Rng rng = new Rng(13);
        GraphProto.Builder g = GraphProto.newBuilder().setName("conv_add_relu")
                .addNode(node("conv", "Conv", List.of("x", "w", "b"), List.of("c"),
                        AttributeProto.newBuilder().setName("pads").setType(AttributeProto.AttributeType.INTS).addAllInts(List.of(1L, 1L, 1L, 1L)).build()));
        String side = "x";
        if (sideLater) {
            g.addNode(node("neg", "Neg", List.of("x"), List.of("nx")));
            side = "nx";
        }
        g.addNode(node("add", "Add", convFirst ? List.of("c", side) : List.of(side, "c"), List.of("s")))
                .addNode(node("relu", "Relu", List.of("s"), List.of("y")))
                .addInitializer(floats("w", randn(rng, channels * channels * 9), channels, channels, 3, 3))
                .addInitializer(floats("b", randn(rng, channels), channels))
                .addInput(value("x", FLOAT, n, channels, size, size))
                .addOutput(value("y", FLOAT, n, channels, size, size));
        return load(model(g.build()));
    }

    /**
     * Conv, Add (a residual: the block's input), Relu as one op: the bits of the three ops, whichever operand of the Add
     * the conv is, on the paths that add the residual in the conv's output pass (F(4x4) at 32x32, F(2x2) at 16x16) and
     * on one that composes (3 channels); a residual computed after the conv is not fused, with the same values; the
     * gradients when they are recorded.
     */
    @Test void fusedConvAddReluGivesTheSameBitsAndGradients() {
        int[][] cases = {{1, 32, 32}, {1, 64, 16}, {2, 3, 6}};
        for (int[] c : cases) {
            for (boolean convFirst : new boolean[] {true, false}) {
                for (boolean sideLater : new boolean[] {false, true}) {
                    OnnxModel m = convAddRelu(c[0], c[1], c[2], convFirst, sideLater);
                    Tensor x = Tensor.of(randn(new Rng(14), c[0] * c[1] * c[2] * c[2]), c[0], c[1], c[2], c[2]);
                    OnnxSession session = new OnnxSession(m, OnnxOps.resolver());
                    assertEquals(sideLater ? List.of("relu") : List.of("add", "relu"), session.fusedAwayNodes(),
                            "the conv takes the Add and the Relu where the residual is ready, else Add and Relu fuse");
                    float[] fused = session.run(Map.of("x", x)).get("y").toFloatArray();
                    float[] plain = new OnnxSession(m, UNFUSED).run(Map.of("x", x)).get("y").toFloatArray();
                    assertEquals(plain.length, fused.length);
                    boolean clamped = false;
                    for (int i = 0; i < plain.length; i++) {
                        assertEquals(Float.floatToRawIntBits(plain[i]), Float.floatToRawIntBits(fused[i]),
                                Arrays.toString(c) + " conv first " + convFirst + " side later " + sideLater + " element " + i);
                        clamped |= plain[i] == 0f;
                    }
                    assertTrue(clamped, "the test's data exercise the ReLU");
                }
            }
        }
        for (boolean convFirst : new boolean[] {true, false}) {
            OnnxModel m = convAddRelu(1, 3, 6, convFirst, false);
            Tensor input = Tensor.of(randn(new Rng(15), 108), 1, 3, 6, 6);
            Map<String, float[]> fused = gradientsOf(new OnnxSession(m, OnnxOps.resolver()), m, input, "y");
            Map<String, float[]> plain = gradientsOf(new OnnxSession(m, UNFUSED), m, input, "y");
            for (String name : List.of("x", "w", "b")) assertArrayEquals(plain.get(name), fused.get(name), 0f, "d" + name + " conv first " + convFirst);
        }
    }

    /**
     * A shortcut block's end: x (1, C, S, S) -> Conv 3x3 (pad 1) -> c3, and x (or Neg(x), made between the two convs)
     * -> Conv 1x1 -> c1, the 1x1 after the 3x3 in the file or before it; Add(c3, c1) -> Relu -> y.
     */
    private static OnnxModel shortcutBlock(int channels, int size, boolean shortcutLast, boolean shortcutReadsLater) {
        Rng rng = new Rng(17);
        AttributeProto pads = AttributeProto.newBuilder().setName("pads").setType(AttributeProto.AttributeType.INTS).addAllInts(List.of(1L, 1L, 1L, 1L)).build();
        NodeProto conv3 = node("conv3", "Conv", List.of("x", "w3", "b3"), List.of("c3"), pads);
        NodeProto conv1 = node("conv1", "Conv", List.of(shortcutReadsLater ? "nx" : "x", "w1"), List.of("c1"));
        GraphProto.Builder g = GraphProto.newBuilder().setName("shortcut_block");
        if (shortcutLast) g.addNode(conv3);
        if (shortcutReadsLater) g.addNode(node("neg", "Neg", List.of("x"), List.of("nx")));
        g.addNode(conv1);
        if (!shortcutLast) g.addNode(conv3);
        g.addNode(node("add", "Add", List.of("c3", "c1"), List.of("s")))
                .addNode(node("relu", "Relu", List.of("s"), List.of("y")))
                .addInitializer(floats("w3", randn(rng, channels * channels * 9), channels, channels, 3, 3))
                .addInitializer(floats("b3", randn(rng, channels), channels))
                .addInitializer(floats("w1", randn(rng, channels * channels), channels, channels, 1, 1))
                .addInput(value("x", FLOAT, 1, channels, size, size))
                .addOutput(value("y", FLOAT, 1, channels, size, size));
        return load(model(g.build()));
    }

    /**
     * The Add of two convs' outputs goes to the conv doing more work per output (the 3x3, whose Winograd output
     * transform adds it, not the 1x1 that would compose): a 1x1 after it in the file runs first, unless its input is
     * made after the 3x3 runs; either way the bits of the unfused graph.
     */
    @Test void aShortcutConvRunsFirstSoTheThreeByThreeTakesTheAdd() {
        for (boolean shortcutLast : new boolean[] {true, false}) {
            for (boolean readsLater : new boolean[] {false, true}) {
                OnnxModel m = shortcutBlock(32, 32, shortcutLast, readsLater);
                OnnxSession session = new OnnxSession(m, OnnxOps.resolver());
                List<String> order = session.executionOrder();
                String what = "shortcut last in the file " + shortcutLast + ", reads a later value " + readsLater;
                boolean moved = shortcutLast && !readsLater;
                if (moved || !shortcutLast) assertTrue(order.indexOf("conv1") < order.indexOf("conv3"), what + ": " + order);
                else assertTrue(order.indexOf("conv1") > order.indexOf("conv3"), what + ": the shortcut's input is not ready: " + order);
                assertEquals(List.of("add", "relu"), session.fusedAwayNodes(), what);
                Tensor x = Tensor.of(randn(new Rng(18), 32 * 32 * 32), 1, 32, 32, 32);
                float[] fused = session.run(Map.of("x", x)).get("y").toFloatArray();
                float[] plain = new OnnxSession(m, UNFUSED).run(Map.of("x", x)).get("y").toFloatArray();
                for (int i = 0; i < plain.length; i++) {
                    assertEquals(Float.floatToRawIntBits(plain[i]), Float.floatToRawIntBits(fused[i]), what + " element " + i);
                }
            }
        }
        // the file's order, where the 3x3 already runs last, is kept
        assertEquals(List.of("conv1", "conv3", "add", "relu"), new OnnxSession(shortcutBlock(8, 6, false, false), OnnxOps.resolver()).executionOrder());
    }

    /**
     * A downsampling block: x (1, C, S, S) -> Conv 3x3/2 (pad 1) -> Relu -> Conv 3x3 (pad 1) -> c, and x -> Conv 1x1/2
     * -> d (listed after the block's convs, as torch exports resnet), Add(c, d) -> Relu -> y; the shortcut's weight an
     * initializer, or (as torch exports resnet18) an Identity's output made first.
     */
    private static OnnxModel downsamplingBlock(int channels, int size, boolean identityWeight) {
        Rng rng = new Rng(19);
        AttributeProto pads = AttributeProto.newBuilder().setName("pads").setType(AttributeProto.AttributeType.INTS).addAllInts(List.of(1L, 1L, 1L, 1L)).build();
        AttributeProto strides = AttributeProto.newBuilder().setName("strides").setType(AttributeProto.AttributeType.INTS).addAllInts(List.of(2L, 2L)).build();
        int out = 2 * channels, half = size / 2;
        GraphProto.Builder g = GraphProto.newBuilder().setName("downsampling_block");
        if (identityWeight) g.addNode(node("weight", "Identity", List.of("wd0"), List.of("wd")));
        g.addNode(node("conv_a", "Conv", List.of("x", "w", "b"), List.of("a"), pads, strides))
                .addNode(node("relu_a", "Relu", List.of("a"), List.of("ra")))
                .addNode(node("conv_b", "Conv", List.of("ra", "wb", "bb"), List.of("c"), pads))
                .addNode(node("down", "Conv", List.of("x", "wd", "bd"), List.of("d"), strides))
                .addNode(node("add", "Add", List.of("c", "d"), List.of("s")))
                .addNode(node("relu", "Relu", List.of("s"), List.of("y")))
                .addInitializer(floats("w", randn(rng, out * channels * 9), out, channels, 3, 3))
                .addInitializer(floats("b", randn(rng, out), out))
                .addInitializer(floats("wb", randn(rng, out * out * 9), out, out, 3, 3))
                .addInitializer(floats("bb", randn(rng, out), out))
                .addInitializer(floats(identityWeight ? "wd0" : "wd", randn(rng, out * channels), out, channels, 1, 1))
                .addInitializer(floats("bd", randn(rng, out), out))
                .addInput(value("x", FLOAT, 1, channels, size, size))
                .addOutput(value("y", FLOAT, 1, out, half, half));
        return load(model(g.build()));
    }

    /**
     * The block's 3x3/2 conv and its 1x1/2 shortcut read the same x: one op at the 3x3's step computes both (the
     * shortcut's own step does nothing), with the bits and the gradients of the graph run unfused.
     */
    @Test void aShortcutConvRunsBesideTheConvReadingItsInput() {
        for (boolean identityWeight : new boolean[] {false, true}) {
            OnnxModel m = downsamplingBlock(16, 16, identityWeight);
            OnnxSession session = new OnnxSession(m, OnnxOps.resolver());
            assertEquals(List.of("relu_a", "down", "add", "relu"), session.fusedAwayNodes(), "identity weight " + identityWeight);
            Tensor x = Tensor.of(randn(new Rng(20), 16 * 16 * 16), 1, 16, 16, 16);
            float[] fused = session.run(Map.of("x", x)).get("y").toFloatArray();
            float[] plain = new OnnxSession(m, UNFUSED).run(Map.of("x", x)).get("y").toFloatArray();
            for (int i = 0; i < plain.length; i++) assertEquals(Float.floatToRawIntBits(plain[i]), Float.floatToRawIntBits(fused[i]), "element " + i);
            Map<String, float[]> fusedGrads = gradientsOf(session, m, x, "y"), plainGrads = gradientsOf(new OnnxSession(m, UNFUSED), m, x, "y");
            for (String name : List.of("x", "w", "b")) assertArrayEquals(plainGrads.get(name), fusedGrads.get(name), 0f, "d" + name);
        }
    }

    /** The gradients of sum(y^2) for output y in x and the initializers w and b, the x given and recorded. */
    private static Map<String, float[]> gradientsOf(OnnxSession s, OnnxModel m, Tensor input, String output) {
        Variable x = Variable.param(input);
        Map<String, Variable> params = new LinkedHashMap<>();
        for (String name : List.of("w", "b")) params.put(name, Variable.param(m.graph().initializers().get(name).contiguous()));
        Variable y = s.runVariables(Map.of("x", x), params).get(output);
        y.mul(y).sum().backward();   // a loss whose gradient differs per element, so the ReLU mask matters
        Map<String, float[]> grads = new LinkedHashMap<>();
        grads.put("x", x.grad().toFloatArray());
        for (Map.Entry<String, Variable> e : params.entrySet()) grads.put(e.getKey(), e.getValue().grad().toFloatArray());
        return grads;
    }

    /** x (6, 20) -> Gemm (w (7, 20), transB, bias (7); alpha, beta) -> g -> Relu -> r (6, 7). */
    private static OnnxModel gemmRelu(float alpha, float beta, boolean bias) {
        Rng rng = new Rng(11);
        GraphProto.Builder g = GraphProto.newBuilder().setName("gemm_relu")
                .addNode(node("gemm", "Gemm", bias ? List.of("x", "w", "b") : List.of("x", "w"), List.of("g"),
                        AttributeProto.newBuilder().setName("transB").setType(AttributeProto.AttributeType.INT).setI(1).build(),
                        AttributeProto.newBuilder().setName("alpha").setType(AttributeProto.AttributeType.FLOAT).setF(alpha).build(),
                        AttributeProto.newBuilder().setName("beta").setType(AttributeProto.AttributeType.FLOAT).setF(beta).build()))
                .addNode(node("relu", "Relu", List.of("g"), List.of("r")))
                .addInitializer(floats("w", randn(rng, 7 * 20), 7, 20))
                .addInput(value("x", FLOAT, 6, 20))
                .addOutput(value("r", FLOAT, 6, 7));
        if (bias) g.addInitializer(floats("b", randn(rng, 7), 7));
        return load(model(g.build()));
    }

    /** Gemm then Relu as one op (the bias and the ReLU in one pass): the bits of the two ops, and their gradients. */
    @Test void fusedGemmReluGivesTheSameBitsAndGradients() {
        Tensor x = Tensor.of(randn(new Rng(12), 120), 6, 20);
        for (float[] ab : new float[][] {{1f, 1f, 1f}, {0.5f, 1f, 1f}, {1f, 2f, 1f}, {1f, 1f, 0f}}) {
            OnnxModel m = gemmRelu(ab[0], ab[1], ab[2] != 0f);
            float[] fused = new OnnxSession(m, OnnxOps.resolver()).run(Map.of("x", x)).get("r").toFloatArray();
            float[] plain = new OnnxSession(m, UNFUSED).run(Map.of("x", x)).get("r").toFloatArray();
            assertEquals(plain.length, fused.length);
            boolean clamped = false;
            for (int i = 0; i < plain.length; i++) {
                assertEquals(Float.floatToRawIntBits(plain[i]), Float.floatToRawIntBits(fused[i]), "alpha, beta, bias " + Arrays.toString(ab) + " element " + i);
                clamped |= plain[i] == 0f;
            }
            assertTrue(clamped, "the test's data exercise the ReLU");
        }
        OnnxModel m = gemmRelu(1f, 1f, true);
        Map<String, float[]> fused = gradientsOf(new OnnxSession(m, OnnxOps.resolver()), m, x, "r");
        Map<String, float[]> plain = gradientsOf(new OnnxSession(m, UNFUSED), m, x, "r");
        for (String name : List.of("x", "w", "b")) assertArrayEquals(plain.get(name), fused.get(name), 0f, "d" + name);
    }

    /** a (2, 4, 5, 5) + b (2, 4, 5, 5), or b (4, 1, 1) broadcast, -> s -> Relu -> y; optionally s is an output too. */
    private static OnnxModel addRelu(boolean broadcast, boolean sIsOutput) {
        GraphProto.Builder g = GraphProto.newBuilder().setName("add_relu")
                .addNode(node("add", "Add", List.of("a", "b"), List.of("s")))
                .addNode(node("relu", "Relu", List.of("s"), List.of("y")))
                .addInput(value("a", FLOAT, 2, 4, 5, 5))
                .addInput(broadcast ? value("b", FLOAT, 4, 1, 1) : value("b", FLOAT, 2, 4, 5, 5))
                .addOutput(value("y", FLOAT, 2, 4, 5, 5));
        if (sIsOutput) g.addOutput(value("s", FLOAT, 2, 4, 5, 5));
        return load(model(g.build()));
    }

    private static Map<String, Tensor> addends(boolean broadcast) {
        return Map.of("a", Tensor.of(randn(new Rng(7), 200), 2, 4, 5, 5),
                "b", broadcast ? Tensor.of(randn(new Rng(8), 4), 4, 1, 1) : Tensor.of(randn(new Rng(8), 200), 2, 4, 5, 5));
    }

    @Test void fusedAddReluGivesTheSameBits() {
        for (boolean broadcast : new boolean[] {false, true}) {
            for (boolean sIsOutput : new boolean[] {false, true}) {
                OnnxModel m = addRelu(broadcast, sIsOutput);
                Map<String, Tensor> fused = new OnnxSession(m, OnnxOps.resolver()).run(addends(broadcast));
                Map<String, Tensor> plain = new OnnxSession(m, UNFUSED).run(addends(broadcast));
                assertEquals(plain.keySet(), fused.keySet());
                for (String name : plain.keySet()) {
                    assertArrayEquals(plain.get(name).toFloatArray(), fused.get(name).toFloatArray(), name + " broadcast " + broadcast + " s output " + sIsOutput);
                }
                int zeros = 0;
                for (float v : fused.get("y").toFloatArray()) zeros += v == 0f ? 1 : 0;
                assertTrue(zeros > 20 && zeros < 180, "the ReLU clamps some sums and not others: " + zeros + " of 200");
            }
        }
    }

    @Test void fusedAddReluGivesTheSameGradients() {
        OnnxModel m = addRelu(false, false);
        Map<String, float[]> fused = addGradients(new OnnxSession(m, OnnxOps.resolver()));
        Map<String, float[]> plain = addGradients(new OnnxSession(m, UNFUSED));
        for (String name : List.of("a", "b")) assertArrayEquals(plain.get(name), fused.get(name), "d" + name);
    }

    private static Map<String, float[]> addGradients(OnnxSession s) {
        Variable a = Variable.param(addends(false).get("a")), b = Variable.param(addends(false).get("b"));
        Variable y = s.runVariables(Map.of("a", a, "b", b), Map.of()).get("y");
        y.mul(y).sum().backward();
        return Map.of("a", a.grad().toFloatArray(), "b", b.grad().toFloatArray());
    }
}
