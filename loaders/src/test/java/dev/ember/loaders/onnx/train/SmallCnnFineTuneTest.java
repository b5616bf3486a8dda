package dev.ember.loaders.onnx.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.autograd.NoGrad;
import dev.ember.autograd.Variable;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.loaders.data.LabeledData;
import dev.ember.loaders.onnx.OnnxModel;
import dev.ember.loaders.onnx.OnnxNode;
import dev.ember.nn.Linear;
import dev.ember.optim.Adam;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * small_cnn.onnx with a new 5-class head: fc1 and the head train, the convolutions stay frozen bit for bit, the loss
 * falls; the result exported to ONNX runs in ONNX Runtime with our outputs (1e-5) and reads back into ember unchanged.
 */
class SmallCnnFineTuneTest {
    @TempDir Path dir;

    @Test void replaceHeadTrainExportAndCompareWithOnnxRuntime() throws Exception {
        OnnxModule model = new OnnxModule(OnnxModel.read(ReferenceModelsTest.models().resolve("small_cnn.onnx")));
        assertEquals("/fc2/Gemm", HeadReplacement.find(model.model().graph()).name());
        Linear head = model.replaceHead(5, new Rng(1));
        assertEquals(128, head.inFeatures(), "read from fc2.weight (10, 128) with transB=1");
        assertEquals(List.of("conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias", "head.weight", "head.bias"),
                new ArrayList<>(model.namedParameters().keySet()));
        assertEquals("[batch, 5]", model.model().graph().outputs().get(0).shape().toString());

        model.freeze("*");
        List<String> trained = new ArrayList<>(model.unfreeze("fc1.*"));
        trained.addAll(model.unfreeze("head.*"));
        var before = FineTuning.snapshot(model);
        LabeledData data = FineTuning.batch(32, 5, 1, 28, 2);
        float[] losses = FineTuning.train(model, new Adam(model.parameters(), Adam.options(3e-3f)), data, 8);
        FineTuning.assertLossFalls(losses, 0.3f);
        FineTuning.assertOnlyTrainedChanged(model, before, trained);

        Path file = dir.resolve("small_cnn_tuned.onnx");
        OnnxModuleExport.write(model, file);
        model.eval();
        Tensor x = data.inputs().slice(0, 0, 4);
        Tensor ours;
        try (NoGrad _ = NoGrad.enter()) {
            ours = model.forward(Variable.of(x)).data();
        }
        Tensor ort = OrtRunner.run(file, "input", x);
        assertArrayEquals(ours.dims(), ort.dims());
        float diff = OrtRunner.maxAbsDiff(ours, ort);
        assertTrue(diff <= 1e-5f, "ONNX Runtime differs by " + diff);

        OnnxModel written = OnnxModel.read(file);
        assertEquals(14, written.opset(""), "the imported opset is kept");
        OnnxNode last = written.graph().order().get(written.graph().order().size() - 1);
        assertEquals(List.of("Gemm", "head.weight", "head.bias"), List.of(last.opType(), last.inputs().get(1), last.inputs().get(2)));
        assertArrayEquals(model.namedParameters().get("fc1.weight").data().toFloatArray(), written.graph().initializers().get("fc1.weight").toFloatArray(), 0f);
        OnnxModule reread = new OnnxModule(written);
        reread.eval();
        try (NoGrad _ = NoGrad.enter()) {
            assertArrayEquals(ours.toFloatArray(), reread.forward(Variable.of(x)).data().toFloatArray(), 0f, "ember reads its export back unchanged");
        }
        assertEquals(model.stateDict().keySet(), reread.stateDict().keySet());
        for (Map.Entry<String, Tensor> e : model.stateDict().entrySet()) {
            assertArrayEquals(e.getValue().toFloatArray(), reread.stateDict().get(e.getKey()).toFloatArray(), 0f, e.getKey());
        }
    }
}
