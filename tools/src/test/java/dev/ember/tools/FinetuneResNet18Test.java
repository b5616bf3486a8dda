package dev.ember.tools;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ember.engine.CpuStorage;
import dev.ember.engine.Tensor;
import dev.ember.loaders.data.FashionMnist;
import dev.ember.loaders.data.LabeledData;
import dev.ember.loaders.onnx.OnnxModel;
import dev.ember.loaders.onnx.OnnxSession;
import dev.ember.loaders.onnx.ops.OnnxOps;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Issue 4's acceptance: the torchvision resnet18 of ../shared/models, given a new head by the launcher, trains on an
 * image folder of PNGs made from Fashion-MNIST (gray 28x28, converted to the model's 3 channels) and exports ONNX that
 * our own runtime loads with the new class count. Skips when ../shared or Fashion-MNIST is absent.
 */
class FinetuneResNet18Test {
    @Test
    void resnet18TrainsOnAPngFolderAndExports(@TempDir Path dir) throws Exception {
        Path resnet = Path.of(System.getProperty("ember.shared", "../shared"), "models", "resnet18.onnx");
        assumeTrue(Files.isRegularFile(resnet), "no " + resnet + " (../shared absent): skipping the resnet18 fine-tune");
        assumeTrue(FashionMnist.isInstalled(FashionMnist.DEFAULT_DIR), "Fashion-MNIST not installed: skipping");
        LabeledData test = FashionMnist.test(FashionMnist.DEFAULT_DIR);
        String[] classes = {"trouser", "bag", "sneaker"};
        long[] labels = {1, 8, 7};
        long[] y = test.labels().toLongArray();
        float[] x = ((CpuStorage) test.inputs().storage()).floats();
        for (int c = 0; c < classes.length; c++) {
            Path folder = Files.createDirectories(dir.resolve("data").resolve(classes[c]));
            for (int i = 0, written = 0; i < y.length && written < 12; i++) {
                if (y[i] != labels[c]) continue;
                BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
                for (int p = 0; p < 784; p++) img.getRaster().setSample(p % 28, p / 28, 0, Math.round(x[i * 784 + p] * 255));
                ImageIO.write(img, "png", folder.resolve("img" + written++ + ".png").toFile());
            }
        }
        Path out = dir.resolve("run");
        StringWriter err = new StringWriter();
        CommandLine cli = Finetune.commandLine();
        cli.setOut(new PrintWriter(new StringWriter(), true));
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute("--model", resnet.toString(), "--data", dir.resolve("data").toString(), "--classes", "3",
                "--epochs", "2", "--batch", "8", "--unfreeze", "gradual:1", "--no-scratch", "--out", out.toString());
        assertEquals(0, code, err.toString());

        OnnxModel exported = OnnxModel.read(out.resolve("model.onnx"));
        Tensor image = Tensor.zeros(1, 3, 28, 28);
        Map<String, Tensor> result = new OnnxSession(exported, OnnxOps.resolver()).run(Map.of(exported.graph().inputs().get(0).name(), image));
        assertArrayEquals(new int[] {1, 3}, result.values().iterator().next().dims(), "the exported model has the 3-class head");
        assertEquals(2, Files.readAllLines(out.resolve("metrics.jsonl")).size(), "one metrics line per epoch");
    }
}
