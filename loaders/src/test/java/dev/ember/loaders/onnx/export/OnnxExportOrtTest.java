package dev.ember.loaders.onnx.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.ember.autograd.Loss;
import dev.ember.autograd.NoGrad;
import dev.ember.autograd.Variable;
import dev.ember.engine.Conv2dParams;
import dev.ember.engine.DType;
import dev.ember.engine.Pool2dParams;
import dev.ember.engine.Rng;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxAttribute;
import dev.ember.loaders.onnx.OnnxException;
import dev.ember.loaders.onnx.OnnxModel;
import dev.ember.loaders.onnx.OnnxNode;
import dev.ember.loaders.onnx.OnnxValueInfo;
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
import dev.ember.optim.AdamW;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Models built from nn modules, trained a few steps, exported, loaded by ONNX Runtime: ORT's outputs match ours on
 * the same random batch of 3 within 1e-5 (absolute, or relative to the value where it is larger than 1).
 */
class OnnxExportOrtTest {
    private static final float TOLERANCE = 1e-5f;

    @TempDir Path dir;

    @Test
    void mlpMatchesOnnxRuntime() throws Exception {
        Rng rng = new Rng(1);
        Sequential mlp = new Sequential(new Linear(10, 32, rng), new ReLU(), new Dropout(0.2f, rng), new Linear(32, 16, rng), new Tanh(),
                new Linear(16, 16, false, rng), new Sigmoid(), new Linear(16, 4, rng));
        train(mlp, Shape.of(8, 10), 4, rng);
        Path f = dir.resolve("mlp.onnx");
        OnnxExport.write(mlp, Shape.of(1, 10), f);
        assertMatchesOrt(mlp, f, Shape.of(3, 10), rng);
        assertTrue(mlp.isTraining(), "the model's mode is restored after export");

        OnnxModel read = OnnxModel.read(f);
        assertEquals(List.of("Gemm", "Relu", "Gemm", "Tanh", "Gemm", "Sigmoid", "Gemm"), opTypes(read));
        assertEquals(mlp.stateDict().keySet(), read.graph().initializers().keySet(), "initializers are the parameters, by name");
        assertEquals(17, read.opset(""));
        assertEquals(8, read.irVersion());
        assertEquals("ember 0.1.0", read.producer());
        OnnxValueInfo in = read.graph().inputs().get(0);
        assertEquals("input", in.name());
        assertEquals("batch", in.shape().get(0).param());
        assertEquals(10, in.shape().get(1).value());
        assertEquals("output", read.graph().outputs().get(0).name());
        assertEquals("batch", read.graph().outputs().get(0).shape().get(0).param());
        for (String name : mlp.stateDict().keySet()) {
            assertArrayEquals(mlp.stateDict().get(name).toFloatArray(), read.graph().initializers().get(name).toFloatArray(), name);
        }
    }

    @Test
    void cnnWithBatchNormMatchesOnnxRuntime() throws Exception {
        Rng rng = new Rng(2);
        Sequential cnn = new Sequential(
                new Conv2d(3, 8, 3, 1, 1, rng), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),
                new Conv2d(8, 12, 3, 3, new Conv2dParams(2, 1, 1, 2, 1, 2, 2), false, rng), new BatchNorm2d(12, 1e-3f, 0.3f, false), new ReLU(),
                new MaxPool2d(new Pool2dParams(3, 2, 2, 1, 1, 0, false, true)),
                new Flatten(), new Linear(12 * 2 * 4, 10, rng));
        train(cnn, Shape.of(6, 3, 12, 10), 10, rng);
        Path f = dir.resolve("cnn.onnx");
        OnnxExport.write(cnn, Shape.of(1, 3, 12, 10), f);
        assertMatchesOrt(cnn, f, Shape.of(3, 3, 12, 10), rng);

        OnnxModel read = OnnxModel.read(f);
        assertEquals(List.of("Conv", "BatchNormalization", "Relu", "MaxPool", "Conv", "BatchNormalization", "Relu", "MaxPool", "Flatten", "Gemm"), opTypes(read));
        Set<String> expected = new LinkedHashSet<>(cnn.stateDict().keySet());
        expected.removeIf(k -> k.endsWith("num_batches_tracked"));   // a counter the inference graph does not read
        assertEquals(expected, read.graph().initializers().keySet());
    }

    @Test
    void normsPoolsAndActivationsMatchOnnxRuntime() throws Exception {
        Rng rng = new Rng(3);
        Sequential net = new Sequential(
                new Conv2d(3, 8, 3, 1, 1, rng), new GELU(), new AvgPool2d(3, 2, 1),
                new Conv2d(8, 8, 1, 1, 0, rng), new Sigmoid(),
                new Flatten(2),                                   // (N, 8, 16): Reshape, then Linear on rank 3
                new Linear(16, 6, rng), new LayerNorm(6), new GELU(),
                new LayerNorm(new int[] {8, 6}, 1e-4f, false), new Tanh(),
                new Flatten(), new Linear(48, 5, rng));
        Sequential pooled = new Sequential(new Conv2d(3, 4, 3, 1, 1, rng), new AvgPool2d(new Pool2dParams(2, 2, 2, 2, 1, 1, false, false)),
                new Tanh(), new GlobalAvgPool2d(), new LayerNorm(4), new Linear(4, 3, rng));
        train(net, Shape.of(4, 3, 8, 8), 5, rng);
        train(pooled, Shape.of(4, 3, 8, 8), 3, rng);

        Path f = dir.resolve("net.onnx");
        OnnxExport.write(net, Shape.of(2, 3, 8, 8), f);
        assertMatchesOrt(net, f, Shape.of(3, 3, 8, 8), rng);
        List<String> ops = opTypes(OnnxModel.read(f));
        for (String op : List.of("Erf", "AveragePool", "Reshape", "MatMul", "LayerNormalization", "Sigmoid", "Tanh")) assertTrue(ops.contains(op), op + " in " + ops);

        Path g = dir.resolve("pooled.onnx");
        OnnxExport.write(pooled, Shape.of(1, 3, 8, 8), g);
        assertMatchesOrt(pooled, g, Shape.of(3, 3, 8, 8), rng);
        assertTrue(opTypes(OnnxModel.read(g)).contains("GlobalAveragePool"));
    }

    /** The path an imported model takes: a graph read back, new weights and a new head, written by GraphBuilder. */
    @Test
    void aGraphReadBackCanBeRewrittenWithNewWeightsAndANewHead() throws Exception {
        Rng rng = new Rng(4);
        Sequential mlp = new Sequential(new Linear(6, 12, rng), new ReLU(), new Linear(12, 4, rng));
        Path f = dir.resolve("base.onnx");
        OnnxExport.write(mlp, Shape.of(1, 6), f);
        OnnxModel imported = OnnxModel.read(f);

        // "fine-tune": change the weights, and replace the 4-class head by a 3-class one
        train(mlp, Shape.of(8, 6), 4, rng);
        Linear head = new Linear(12, 3, rng);
        mlp.set(2, head);

        GraphBuilder graph = new GraphBuilder("finetuned");
        for (Map.Entry<String, Integer> o : imported.opsets().entrySet()) graph.opset(o.getKey(), o.getValue());
        for (OnnxValueInfo in : imported.graph().inputs()) graph.input(in);
        Map<String, Tensor> weights = mlp.stateDict();
        OnnxNode oldHead = imported.graph().order().getLast();
        for (String name : imported.graph().initializers().keySet()) if (!oldHead.inputs().contains(name)) graph.initializer(name, weights.get(name));
        for (OnnxNode n : imported.graph().order()) if (n != oldHead) graph.node(n);
        String w = graph.initializer("2.weight", head.weight().data());
        String b = graph.initializer("2.bias", head.bias().data());
        graph.node(new OnnxNode("head", "Gemm", "", List.of(oldHead.inputs().get(0), w, b), List.of("logits"),
                Map.of("transB", OnnxAttribute.ofInt("transB", 1))));
        graph.output("logits", DType.FLOAT32, GraphBuilder.dims("batch", 1, 3));
        Path out = dir.resolve("finetuned.onnx");
        graph.write(out);
        assertMatchesOrt(mlp, out, Shape.of(3, 6), rng);
    }

    @Test
    void anUnsupportedModuleIsATypedErrorNamingIt() throws IOException {
        Module custom = new Module() {
            @Override public Variable forward(Variable x) { return x.mul(2f); }
        };
        Rng rng = new Rng(5);
        Sequential m = new Sequential(new Linear(4, 4, rng), new Sequential(new ReLU(), custom));
        Path f = dir.resolve("m.onnx");
        Files.writeString(f, "previous");
        OnnxException e = assertThrows(OnnxException.class, () -> OnnxExport.write(m, Shape.of(1, 4), f));
        assertTrue(e.getMessage().contains("module '1.1'"), e.getMessage());
        assertEquals("previous", Files.readString(f), "a failed export leaves the file alone");
    }

    @Test
    void anExportableModuleLowersItself() throws Exception {
        final class Doubler extends Module implements OnnxExportable {
            @Override public Variable forward(Variable x) { return x.mul(2f); }

            @Override public String exportOnnx(GraphBuilder graph, String prefix, String input) {
                String two = graph.constant(prefix + "two", Tensor.scalar(2f));
                return graph.node("Mul", prefix + "Mul", List.of(input, two));
            }
        }
        Rng rng = new Rng(6);
        Sequential m = new Sequential(new Linear(4, 5, rng), new Doubler(), new ReLU());
        Path f = dir.resolve("d.onnx");
        OnnxExport.write(m, Shape.of(1, 4), f);
        assertMatchesOrt(m, f, Shape.of(3, 4), rng);
        byte[] once = Files.readAllBytes(f);
        OnnxExport.write(m, Shape.of(1, 4), f);
        assertArrayEquals(once, Files.readAllBytes(f), "the same model gives the same bytes");
    }

    // ---- helpers ----

    /** A few AdamW steps on random data so weights and running statistics are not their initial values. */
    private static void train(Module model, Shape batch, int classes, Rng rng) {
        AdamW opt = new AdamW(model.parameters(), AdamW.options(0.01f));
        model.train();
        for (int step = 0; step < 3; step++) {
            Tensor x = Tensor.randn(rng, 1f, batch.dims());
            long[] y = new long[batch.dim(0)];
            for (int i = 0; i < y.length; i++) y[i] = rng.nextInt(classes);
            opt.zeroGrad();
            Variable loss = Loss.crossEntropy(model.forward(Variable.of(x)), Tensor.ofLongs(y, y.length));
            loss.backward();
            opt.step();
        }
    }

    private static void assertMatchesOrt(Module model, Path file, Shape inputShape, Rng rng) throws OrtException {
        Tensor x = Tensor.randn(rng, 1f, inputShape.dims());
        Tensor ours;
        boolean wasTraining = model.isTraining();
        model.eval();
        try (NoGrad _ = NoGrad.enter()) {
            ours = model.forward(Variable.of(x)).data();
        } finally {
            model.train(wasTraining);
        }
        float[] theirs;
        long[] theirShape;
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(1);
            try (OrtSession session = env.createSession(file.toString(), options);
                 OnnxTensor input = OnnxTensor.createTensor(env, FloatBuffer.wrap(x.toFloatArray()), toLongs(inputShape.dims()));
                 OrtSession.Result result = session.run(Map.of(session.getInputNames().iterator().next(), input))) {
                OnnxTensor out = (OnnxTensor) result.get(0);
                theirShape = out.getInfo().getShape();
                FloatBuffer fb = out.getFloatBuffer();
                theirs = new float[fb.remaining()];
                fb.get(theirs);
            }
        }
        assertArrayEquals(toLongs(ours.dims()), theirShape, "output shape");
        float[] a = ours.toFloatArray();
        float worst = 0;
        for (int i = 0; i < a.length; i++) {
            float err = Math.abs(a[i] - theirs[i]) / Math.max(1f, Math.abs(a[i]));
            worst = Math.max(worst, err);
        }
        assertTrue(worst <= TOLERANCE, file.getFileName() + ": max error " + worst + " > " + TOLERANCE);
        assertFalse(Float.isNaN(worst));
    }

    private static List<String> opTypes(OnnxModel m) {
        List<String> ops = new ArrayList<>();
        for (OnnxNode n : m.graph().nodes()) if (!n.opType().equals("Constant")) ops.add(n.opType());
        return ops;
    }

    private static long[] toLongs(int[] a) {
        long[] r = new long[a.length];
        for (int i = 0; i < a.length; i++) r[i] = a[i];
        return r;
    }
}
