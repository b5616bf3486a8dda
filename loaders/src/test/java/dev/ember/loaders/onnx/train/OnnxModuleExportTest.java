package dev.ember.loaders.onnx.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.autograd.NoGrad;
import dev.ember.autograd.Variable;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.loaders.data.LabeledData;
import dev.ember.loaders.onnx.OnnxModel;
import dev.ember.loaders.onnx.OnnxNode;
import dev.ember.optim.Sgd;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tiny classifier with a replaced MatMul head, trained in training mode (so its BatchNormalization statistics move),
 * exported: ONNX Runtime computes our eval-mode outputs within 1e-5, and the file holds the trained values.
 */
class OnnxModuleExportTest {
    @TempDir Path dir;

    @Test void exportsTrainedWeightsStatisticsAndTheNewHead() throws Exception {
        OnnxModule m = new OnnxModule(TinyModels.classifier(30));
        m.replaceHead(3, new Rng(31));
        Tensor x = Tensor.randn(new Rng(32), 1f, 6, 2, 5, 5);
        float[] meanBefore = m.namedBuffers().get("bn.mean").toFloatArray();
        FineTuning.train(m, new Sgd(m.parameters(), Sgd.options(0.1f)), new LabeledData(x, Tensor.ofLongs(new long[] {0, 1, 2, 0, 1, 2}, 6), 3), 2);
        assertFalse(Arrays.equals(meanBefore, m.namedBuffers().get("bn.mean").toFloatArray()), "training moved the running mean");

        Path file = dir.resolve("tiny.onnx");
        OnnxModuleExport.write(m, file);
        m.eval();
        Tensor ours;
        try (NoGrad _ = NoGrad.enter()) {
            ours = m.forward(Variable.of(x)).data();
        }
        Tensor ort = OrtRunner.run(file, "x", x);
        assertArrayEquals(ours.dims(), ort.dims());
        float diff = OrtRunner.maxAbsDiff(ours, ort);
        assertTrue(diff <= 1e-5f, "ONNX Runtime differs by " + diff);

        OnnxModel written = OnnxModel.read(file);
        List<String> ops = written.graph().order().stream().map(OnnxNode::opType).toList();
        assertEquals(List.of("Identity", "Conv", "BatchNormalization", "Clip", "GlobalAveragePool", "Reshape", "Transpose", "MatMul", "Add", "LogSoftmax"), ops);
        assertArrayEquals(m.namedBuffers().get("bn.mean").toFloatArray(), written.graph().initializers().get("bn.mean").toFloatArray(), 0f);
        assertArrayEquals(m.namedParameters().get("head.weight").data().toFloatArray(), written.graph().initializers().get("head.weight").toFloatArray(), 0f);
        assertFalse(written.graph().initializers().containsKey("fc.w"));
        assertTrue(written.graph().initializers().containsKey("shape") && written.graph().initializers().containsKey("clip.max"), "constants kept");
    }
}
