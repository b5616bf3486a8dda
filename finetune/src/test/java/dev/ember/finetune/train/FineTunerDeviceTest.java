package dev.ember.finetune.train;

import dev.ember.engine.Backends;
import dev.ember.engine.DType;
import dev.ember.engine.Device;
import dev.ember.engine.Rng;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxModel;
import dev.ember.loaders.onnx.export.OnnxExport;
import dev.ember.finetune.data.SampleSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * FineTuner on a device, in CI: {@link FakeCudaProvider} serves cuda:0 with the CPU's arithmetic in storage that reports
 * a CUDA device and refuses host tensors and released ones. So a run there must give the CPU run's bits: any batch,
 * constant, BatchNorm buffer or optimizer state left on the host, or used after its step's scope, is an error.
 */
class FineTunerDeviceTest {
    @TempDir Path dir;

    private static final FineTuneConfig CONFIG = FineTuneConfig.defaults().batchSize(8).epochs(4).optimizer(FineTuneConfig.OptimizerKind.ADAM)
            .lr(0.01f).unfreeze(FineTuneConfig.Unfreeze.GRADUAL, 1).balance("weighted").labelSmoothing(0.1f).augment("flip,noise:0.05")
            .maxGradNorm(1f).patience(10);

    /**
     * An imported ONNX model with BatchNormalization (OnnxModule keeps its statistics, graph and session apart from the
     * Module's lists), a replaced head, and a source model scored before and after: on the device, the CPU's bits.
     */
    @Test void anImportedModelWithASourceTaskOnTheDeviceGivesTheCpusBits() throws Exception {
        Path onnx = dir.resolve("base.onnx");
        OnnxExport.write(Fixtures.cnn(4, 11), Shape.of(1, 1, 6, 6), onnx);
        SampleSet train = Fixtures.squares(10, 4), val = Fixtures.squares(4, 5), test = Fixtures.squares(5, 6), source = Fixtures.squares(6, 7);
        FineTuneConfig c = CONFIG.unfreeze(FineTuneConfig.Unfreeze.ALL).epochs(3);
        TunableModel onCpu = TunableModel.replaceHead(OnnxModel.read(onnx), 4, new Rng(3)), onDevice = TunableModel.replaceHead(OnnxModel.read(onnx), 4, new Rng(3));
        FineTuneResult cpu = new FineTuner(c).sourceTask(source).run(onCpu, train, val, test, dir.resolve("cpu"));
        FineTuneResult gpu = new FineTuner(c).sourceTask(source).device(Device.cuda(0)).run(onDevice, train, val, test, dir.resolve("device"));
        assertEquals(Device.cuda(0), onDevice.sourceModel().parameters().get(0).data().device());
        assertArrayEquals(Files.readAllBytes(dir.resolve("cpu/best.safetensors")), Files.readAllBytes(dir.resolve("device/best.safetensors")));
        assertEquals(cpu.sourceAccuracyBefore(), gpu.sourceAccuracyBefore(), 0.0);
        assertEquals(cpu.sourceAccuracyAfter(), gpu.sourceAccuracyAfter(), 0.0);
        assertEquals(cpu.test().accuracy(), gpu.test().accuracy(), 0.0);
        Map<String, Tensor> a = onCpu.model().stateDict(), b = onDevice.model().stateDict();
        for (String k : a.keySet()) assertArrayEquals(a.get(k).toFloatArray(), b.get(k).toFloatArray(), k);
    }

    @Test void aRunOnTheDeviceGivesTheCpusBitsAndLeavesTheModelThere() throws Exception {
        assertEquals("fake-cuda", Backends.of(Device.cuda(0)).name(), "this module's tests run cuda:0 on FakeCudaProvider");
        SampleSet train = Fixtures.squares(12, 1), val = Fixtures.squares(4, 2), test = Fixtures.squares(5, 3);
        TunableModel onCpu = TunableModel.of(Fixtures.cnn(4, 7)), onDevice = TunableModel.of(Fixtures.cnn(4, 7));   // conv, BatchNorm, linears

        FineTuneResult cpu = new FineTuner(CONFIG).run(onCpu, train, val, test, dir.resolve("cpu"));
        FineTuneResult gpu = new FineTuner(CONFIG).device(Device.cuda(0)).run(onDevice, train, val, test, dir.resolve("device"));

        assertEquals(Device.cuda(0), onDevice.model().parameters().get(0).data().device());
        assertEquals(Device.cuda(0), onDevice.model().namedBuffers().get("1.running_mean").device(), "BatchNorm's statistics moved too");
        Map<String, Tensor> a = onCpu.model().stateDict(), b = onDevice.model().stateDict();
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) assertArrayEquals(a.get(k).to(DType.FLOAT32).toFloatArray(), b.get(k).to(DType.FLOAT32).toFloatArray(), k);
        assertArrayEquals(Files.readAllBytes(dir.resolve("cpu/best.safetensors")), Files.readAllBytes(dir.resolve("device/best.safetensors")));
        assertEquals(cpu.epochs().size(), gpu.epochs().size());
        for (int e = 0; e < cpu.epochs().size(); e++) {
            EpochRecord x = cpu.epochs().get(e), y = gpu.epochs().get(e);
            assertEquals(x.trainLoss(), y.trainLoss(), 0.0, "epoch " + (e + 1) + " loss");
            assertEquals(x.validation().accuracy(), y.validation().accuracy(), 0.0, "epoch " + (e + 1) + " validation");
        }
        assertEquals(cpu.bestEpoch(), gpu.bestEpoch());
        assertEquals(cpu.test().accuracy(), gpu.test().accuracy(), 0.0);
        assertEquals(cpu.noiseAccuracy(), gpu.noiseAccuracy());
        assertEquals(cpu.fgsmAccuracy(), gpu.fgsmAccuracy());
    }
}
