package dev.ember.loaders.onnx.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.autograd.GradCheck;
import dev.ember.autograd.NoGrad;
import dev.ember.autograd.Variable;
import dev.ember.engine.DType;
import dev.ember.engine.EmberException;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxException;
import dev.ember.loaders.onnx.OnnxModel;
import dev.ember.loaders.onnx.OnnxSession;
import dev.ember.loaders.onnx.OnnxValueInfo;
import dev.ember.loaders.onnx.ops.OnnxOps;
import dev.ember.nn.Linear;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Import of small in-memory graphs: which initializers become parameters, forward, backward, modes, freezing, heads. */
class OnnxModuleTest {
    private static Tensor input(long seed, int... dims) { return Tensor.randn(new Rng(seed), 1f, dims); }

    private static Tensor run(OnnxModule m, Tensor x) {
        try (NoGrad _ = NoGrad.enter()) {
            return m.forward(Variable.of(x)).data();
        }
    }

    @Test void floatInitializersBecomeParametersUnderTheirOnnxNames() {
        OnnxModel model = TinyModels.classifier(1);
        OnnxModule m = new OnnxModule(model);
        assertEquals(List.of("conv.w", "conv.b", "bn.scale", "bn.bias", "fc.w", "fc.b"), new ArrayList<>(m.namedParameters().keySet()));
        assertEquals(List.of("bn.mean", "bn.var"), new ArrayList<>(m.namedBuffers().keySet()), "running statistics are buffers");
        assertFalse(m.stateDict().containsKey("shape"), "int64 shape stays a constant");
        assertFalse(m.stateDict().containsKey("clip.min"), "Clip bounds are settings, not weights");
        for (Map.Entry<String, Variable> p : m.namedParameters().entrySet()) {
            Tensor original = model.graph().initializers().get(p.getKey());
            assertArrayEquals(original.toFloatArray(), p.getValue().data().toFloatArray(), 0f, p.getKey());
            assertNotSame(original, p.getValue().data(), "parameters are copies: training leaves the model untouched");
            assertTrue(p.getValue().requiresGrad());
        }
        assertTrue(m.toString().contains("nodes=9"), m.toString());
    }

    @Test void theModuleHoldsItsWeightsOnceAndNeverAsConstants() {
        OnnxModel model = TinyModels.classifier(1);
        Map<String, float[]> before = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : model.graph().initializers().entrySet()) {
            if (e.getValue().dtype() == DType.FLOAT32) before.put(e.getKey(), e.getValue().toFloatArray());
        }
        OnnxModule m = new OnnxModule(model);
        m.replaceHead(3, new Rng(5));
        Map<String, Tensor> graph = m.model().graph().initializers();
        for (Map.Entry<String, Variable> p : m.namedParameters().entrySet()) {
            assertSame(p.getValue().data(), graph.get(p.getKey()), p.getKey() + ": the graph the module runs holds the parameter itself, no second copy");
        }
        for (Map.Entry<String, Tensor> b : m.namedBuffers().entrySet()) assertSame(b.getValue(), graph.get(b.getKey()), b.getKey());
        // a training step: weights the session had marked constant would keep stale packed forms and give wrong values
        Variable out = m.forward(Variable.param(input(3, 4, 2, 5, 5)));
        out.sum().backward();
        new dev.ember.optim.Sgd(m.parameters(), dev.ember.optim.Sgd.options(0.1f)).step();
        for (Variable p : m.parameters()) assertFalse(p.data().storage().isConstant(), "a parameter is never marked constant");
        m.eval();
        Tensor x = input(4, 4, 2, 5, 5);
        Map<String, Tensor> current = new LinkedHashMap<>(m.stateDict());
        OnnxModel snapshot = m.model().withInitializers(copies(current, m.model()));
        assertArrayEquals(new OnnxSession(snapshot, OnnxOps.resolver()).run(Map.of("x", x)).get("y").toFloatArray(), run(m, x).toFloatArray(), 0f,
                "after a step the module computes with its updated weights");
        for (Map.Entry<String, float[]> e : before.entrySet()) {
            assertArrayEquals(e.getValue(), model.graph().initializers().get(e.getKey()).toFloatArray(), 0f, e.getKey() + ": the caller's model is untouched");
        }
    }

    /** Fresh copies of the module's state that are initializers of {@code m}. */
    private static Map<String, Tensor> copies(Map<String, Tensor> state, OnnxModel m) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : state.entrySet()) if (m.graph().initializers().containsKey(e.getKey())) out.put(e.getKey(), e.getValue().copy());
        return out;
    }

    @Test void aReplacementInitializerMustMatchTheOneItReplaces() {
        OnnxModel model = TinyModels.classifier(1);
        OnnxException e = assertThrows(OnnxException.class, () -> model.withInitializers(Map.of("fc.b", Tensor.zeros(7))));
        assertTrue(e.getMessage().contains("fc.b") && e.getMessage().contains("replacement"), e.getMessage());
        assertThrows(OnnxException.class, () -> model.withInitializers(Map.of("nope", Tensor.zeros(1))));
    }

    @Test void forwardMatchesTheSessionInEvalMode() {
        OnnxModel model = TinyModels.classifier(2);
        Tensor x = input(3, 4, 2, 5, 5);
        Tensor want = new OnnxSession(model, OnnxOps.resolver()).run(Map.of("x", x)).get("y");
        OnnxModule m = new OnnxModule(model);
        m.eval();
        assertArrayEquals(want.toFloatArray(), run(m, x).toFloatArray(), 0f);
    }

    @Test void gradientsMatchFiniteDifferences() {
        // through the session with every initializer of the differentiable path as an input of f
        OnnxModel model = TinyModels.classifier(4);
        OnnxSession session = new OnnxSession(model, OnnxOps.resolver());
        Map<String, Tensor> init = model.graph().initializers();
        String[] names = {"conv.w", "conv.b", "bn.scale", "bn.bias", "fc.w", "fc.b"};
        Tensor[] inputs = new Tensor[names.length + 1];
        inputs[0] = input(5, 2, 2, 5, 5);
        for (int i = 0; i < names.length; i++) inputs[i + 1] = init.get(names[i]);
        GradCheck.check(v -> {
            Map<String, Variable> bound = new LinkedHashMap<>();
            for (int i = 0; i < names.length; i++) bound.put(names[i], v[i + 1]);
            return session.runVariables(Map.of("x", v[0]), bound).get("y");
        }, inputs);
    }

    @Test void backwardReachesEveryParameter() {
        OnnxModule m = new OnnxModule(TinyModels.classifier(6));
        m.eval();   // batch statistics of a batch of 2 would make the check depend on the batch; tested below
        m.forward(Variable.of(input(7, 2, 2, 5, 5))).mul(Variable.of(input(8, 2, 4))).sum().backward();
        for (Map.Entry<String, Variable> p : m.namedParameters().entrySet()) {
            Tensor g = p.getValue().grad();
            assertNotNull(g, p.getKey() + " has a gradient");
            assertTrue(g.abs().sum().item() > 0, p.getKey() + " has a non-zero gradient");
        }
    }

    @Test void batchNormFollowsTheModuleMode() {
        float[] mean = {0.5f, -1f, 2f}, var = {1f, 4f, 0.25f};
        OnnxModule m = new OnnxModule(TinyModels.batchNorm(mean, var));
        Tensor x = input(9, 4, 3, 2, 2).mul(3f).add(1f);
        float[] xs = x.toFloatArray();

        m.eval();
        float[] y = run(m, x).toFloatArray();
        for (int i = 0; i < xs.length; i++) {
            int c = (i / 4) % 3;
            assertEquals((xs[i] - mean[c]) / Math.sqrt(var[c] + 1e-5), y[i], 1e-5, "eval: running statistics at " + i);
        }
        assertArrayEquals(mean, m.namedBuffers().get("mean").toFloatArray(), 0f, "eval leaves the statistics");

        m.train();
        y = run(m, x).toFloatArray();
        float[] runningMean = m.namedBuffers().get("mean").toFloatArray(), runningVar = m.namedBuffers().get("var").toFloatArray();
        for (int c = 0; c < 3; c++) {
            double sum = 0, sq = 0, ySum = 0, ySq = 0;
            for (int i = 0; i < xs.length; i++) {
                if ((i / 4) % 3 != c) continue;
                sum += xs[i];
                sq += (double) xs[i] * xs[i];
                ySum += y[i];
                ySq += (double) y[i] * y[i];
            }
            double bMean = sum / 16, bVar = sq / 16 - bMean * bMean;
            assertEquals(0, ySum / 16, 1e-5, "train: batch-normalized mean, channel " + c);
            assertEquals(1, ySq / 16, 1e-3, "train: batch-normalized variance, channel " + c);
            assertEquals(0.9 * mean[c] + 0.1 * bMean, runningMean[c], 1e-5, "running mean, channel " + c);
            assertEquals(0.9 * var[c] + 0.1 * bVar, runningVar[c], 1e-4, "running variance, channel " + c);
        }
    }

    @Test void freezesByParameterOrNodeName() {
        OnnxModule m = new OnnxModule(TinyModels.classifier(10));
        assertEquals(List.of("conv.w", "conv.b"), m.parametersOfNodes("/conv/*"), "conv.b is read through an Identity");
        assertEquals(List.of("fc.w", "fc.b"), m.freeze("fc.*"));
        assertFalse(m.namedParameters().get("fc.w").requiresGrad());
        assertEquals(List.of("bn.scale", "bn.bias"), m.freezeNodes("/bn/*"));
        assertFalse(m.namedParameters().get("bn.bias").requiresGrad());
        assertTrue(m.namedParameters().get("conv.w").requiresGrad());
        m.unfreezeNodes("/fc/*");
        assertTrue(m.namedParameters().get("fc.w").requiresGrad() && m.namedParameters().get("fc.b").requiresGrad());
        EmberException e = assertThrows(EmberException.class, () -> m.freezeNodes("/nothing/*"));
        assertTrue(e.getMessage().contains("/nothing/*"), e.getMessage());
    }

    @Test void findsTheHeadBehindPassThroughOps() {
        assertEquals("/fc/MatMul", HeadReplacement.find(TinyModels.classifier(1).graph()).name(), "MatMul + bias Add, under LogSoftmax");
        assertEquals("gemm", HeadReplacement.find(TinyModels.gemm(true, 1).graph()).name(), "Gemm under Relu");
        assertEquals("mm", HeadReplacement.find(TinyModels.twoInputs(1).graph()).name());
        OnnxException e = assertThrows(OnnxException.class, () -> HeadReplacement.find(TinyModels.batchNorm(new float[3], new float[3]).graph()));
        assertTrue(e.getMessage().contains("no Gemm or MatMul"), e.getMessage());
        assertThrows(OnnxException.class, () -> HeadReplacement.find(TinyModels.classifier(1).graph(), "/Reshape"));
        assertThrows(OnnxException.class, () -> HeadReplacement.find(TinyModels.classifier(1).graph(), "absent"));
    }

    @Test void replacesAMatMulHeadAndItsBias() {
        OnnxModule m = new OnnxModule(TinyModels.classifier(11));
        Linear head = m.replaceHead(7, new Rng(12));
        assertEquals(3, head.inFeatures());
        assertEquals(List.of("conv.w", "conv.b", "bn.scale", "bn.bias", "head.weight", "head.bias"), new ArrayList<>(m.namedParameters().keySet()));
        assertEquals(head.weight(), m.namedParameters().get("head.weight"));
        assertFalse(m.model().graph().initializers().containsKey("fc.w"), "the old weight leaves the graph");
        OnnxValueInfo out = m.model().graph().outputs().get(0);
        assertEquals("[N, 7]", out.shape().toString());

        m.eval();
        Tensor x = input(13, 3, 2, 5, 5);
        Tensor y = run(m, x);
        assertArrayEquals(new int[] {3, 7}, y.dims());
        // the new logits: LogSoftmax(features . W^T + b), with the features the old head read
        Tensor features = new OnnxSession(TinyModels.classifier(11, true), OnnxOps.resolver()).run(Map.of("x", x)).get("f");
        Tensor logits;
        try (NoGrad _ = NoGrad.enter()) {
            logits = head.forward(Variable.of(features)).logSoftmax(-1).data();
        }
        assertArrayEquals(logits.toFloatArray(), y.toFloatArray(), 1e-6f);

        // gradients reach the new head
        m.train();
        m.forward(Variable.of(x)).sum().backward();
        assertNotNull(head.weight().grad());
    }

    @Test void replacesGemmHeadsWithEitherWeightLayout() {
        for (boolean transB : new boolean[] {false, true}) {
            OnnxModule m = new OnnxModule(TinyModels.gemm(transB, 14));
            Linear head = m.replaceHead("gemm", 3, new Rng(15));
            assertEquals(4, head.inFeatures(), "transB=" + transB);
            assertEquals(List.of("head.weight", "head.bias"), new ArrayList<>(m.namedParameters().keySet()));
            Tensor x = input(16, 5, 4);
            Tensor want;
            try (NoGrad _ = NoGrad.enter()) {
                want = head.forward(Variable.of(x)).relu().data();
            }
            assertArrayEquals(want.toFloatArray(), run(m, x).toFloatArray(), 1e-6f);
        }
    }

    @Test void replacingTwiceSwapsTheHead() {
        OnnxModule m = new OnnxModule(TinyModels.gemm(true, 17));
        Linear first = m.replaceHead(3, new Rng(18));
        Linear second = m.replaceHead(5, new Rng(19));
        assertNotSame(first, second);
        assertEquals(second, m.head());
        assertEquals(List.of("head.weight", "head.bias"), new ArrayList<>(m.namedParameters().keySet()));
        assertEquals(second.weight(), m.namedParameters().get("head.weight"));
        assertArrayEquals(new int[] {2, 5}, run(m, input(20, 2, 4)).dims());
        assertThrows(EmberException.class, () -> m.replaceHead(0, new Rng(1)));
    }

    @Test void runsSeveralInputsAndOutputsByName() {
        OnnxModule m = new OnnxModule(TinyModels.twoInputs(21));
        Tensor a = input(22, 2, 3), b = input(23, 2, 3);
        Map<String, Variable> out = m.forward(Map.of("a", Variable.of(a), "b", Variable.of(b)));
        assertEquals(List.of("y", "s"), new ArrayList<>(out.keySet()));
        assertEquals(a.sum().item(), out.get("s").item(), 1e-5f);
        OnnxException e = assertThrows(OnnxException.class, () -> m.forward(Variable.of(a)));
        assertTrue(e.getMessage().contains("forward(Map)"), e.getMessage());
        assertNull(m.head());
    }

    @Test void gradientsFlowThroughConvTranspose() {
        OnnxModule m = new OnnxModule(TinyModels.convTranspose(24));
        Variable x = Variable.of(input(25, 1, 2, 3, 3));
        m.forward(x).sum().backward();
        assertNotNull(m.namedParameters().get("up.w").grad(), "the transposed convolution's weight trains");
        assertNotNull(m.namedParameters().get("out.w").grad(), "the layers after it train");
    }
}
