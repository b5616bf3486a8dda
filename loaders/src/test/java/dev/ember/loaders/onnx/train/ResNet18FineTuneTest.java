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
import dev.ember.nn.Linear;
import dev.ember.optim.Adam;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * resnet18.onnx fine-tuned on the CPU: a new 10-class head, everything frozen but the head and layer4 (found by node
 * name: torch named the folded conv weights onnx::Conv_NNN), a few Adam steps on one fixed batch of 3x32x32 images
 * (Fashion-MNIST when installed, else a seeded synthetic task). The loss falls; frozen parameters keep every bit;
 * the export runs in ONNX Runtime with our outputs.
 */
class ResNet18FineTuneTest {
    @TempDir Path dir;

    @Test void fineTunesLayer4AndANewHead() throws Exception {
        OnnxModule model = new OnnxModule(OnnxModel.read(ReferenceModelsTest.models().resolve("resnet18.onnx")));
        Linear head = model.replaceHead(10, new Rng(7));
        assertEquals(512, head.inFeatures());
        assertEquals("[batch, 10]", model.model().graph().outputs().get(0).shape().toString());
        assertTrue(!model.namedParameters().containsKey("fc.weight") && !model.namedParameters().containsKey("fc.bias"));
        assertEquals(26, model.namedParameters().size(), "24 conv tensors (20 weights, 4 biases torch deduplicated) and the 2 head tensors");

        model.freeze("*");
        List<String> layer4 = model.unfreezeNodes("/layer4/*");
        assertEquals(List.of("onnx::Conv_238", "onnx::Conv_239", "onnx::Conv_241", "onnx::Conv_244", "onnx::Conv_247", "onnx::Conv_250"), layer4);
        List<String> trained = new ArrayList<>(layer4);
        trained.addAll(model.unfreeze("head.*"));
        var before = FineTuning.snapshot(model);

        LabeledData data = FineTuning.batch(16, 10, 3, 32, 8);
        float[] losses = FineTuning.train(model, new Adam(model.parameters(), Adam.options(1e-3f)), data, 8);
        FineTuning.assertLossFalls(losses, 0.3f);
        FineTuning.assertOnlyTrainedChanged(model, before, trained);

        Path file = dir.resolve("resnet18_tuned.onnx");
        OnnxModuleExport.write(model, file);
        model.eval();
        Tensor x = data.inputs().slice(0, 0, 2);
        Tensor ours;
        try (NoGrad _ = NoGrad.enter()) {
            ours = model.forward(Variable.of(x)).data();
        }
        Tensor ort = OrtRunner.run(file, "input", x);
        assertArrayEquals(ours.dims(), ort.dims());
        float diff = OrtRunner.maxAbsDiff(ours, ort);
        assertTrue(diff <= 1e-5f, "ONNX Runtime differs by " + diff);
    }
}
