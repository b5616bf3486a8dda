package dev.ember.loaders.onnx.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.autograd.Loss;
import dev.ember.autograd.Variable;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.loaders.data.FashionMnist;
import dev.ember.loaders.data.LabeledData;
import dev.ember.nn.Module;
import dev.ember.optim.Optimizer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The fine-tuning tests' shared parts: a small fixed batch, a few steps, and the checks on losses and parameters. */
final class FineTuning {
    private FineTuning() {}

    /**
     * {@code n} images of the first {@code classes} Fashion-MNIST classes (test set, in file order) when installed, else a
     * seeded synthetic task (a random prototype per class plus noise); each 28x28 image zero-padded to {@code size} and
     * repeated over {@code channels}, scaled to mean 0, spread about 1.
     */
    static LabeledData batch(int n, int classes, int channels, int size, long seed) {
        int pad = (size - 28) / 2;
        float[] x = new float[n * channels * size * size];
        long[] y = new long[n];
        float[][] images = new float[n][];
        if (FashionMnist.isInstalled(FashionMnist.DEFAULT_DIR)) {
            LabeledData test = FashionMnist.test(FashionMnist.DEFAULT_DIR);
            long[] labels = test.labels().toLongArray();
            float[] px = test.inputs().toFloatArray();
            for (int i = 0, k = 0; k < n; i++) {
                if (labels[i] >= classes) continue;
                images[k] = Arrays.copyOfRange(px, i * 784, (i + 1) * 784);
                y[k++] = labels[i];
            }
        } else {
            Rng rng = new Rng(seed);
            float[][] prototypes = new float[classes][];
            for (int c = 0; c < classes; c++) prototypes[c] = Tensor.rand(rng, 0f, 1f, 784).toFloatArray();
            for (int k = 0; k < n; k++) {
                y[k] = k % classes;
                images[k] = Tensor.rand(rng, -0.3f, 0.3f, 784).add(Tensor.of(prototypes[(int) y[k]], 784)).toFloatArray();
            }
        }
        for (int k = 0; k < n; k++) {
            for (int c = 0; c < channels; c++) {
                for (int r = 0; r < 28; r++) {
                    for (int col = 0; col < 28; col++) {
                        x[((k * channels + c) * size + r + pad) * size + col + pad] = (images[k][r * 28 + col] - 0.3f) / 0.35f;
                    }
                }
            }
        }
        return new LabeledData(Tensor.of(x, n, channels, size, size), Tensor.ofLongs(y, n), classes);
    }

    /** {@code steps} optimizer steps on the same batch in training mode; the loss before each step. */
    static float[] train(Module model, Optimizer opt, LabeledData data, int steps) {
        model.train();
        float[] losses = new float[steps];
        for (int s = 0; s < steps; s++) {
            opt.zeroGrad();
            Variable loss = Loss.crossEntropy(model.forward(Variable.of(data.inputs())), data.labels());
            loss.backward();
            opt.step();
            losses[s] = loss.item();
        }
        return losses;
    }

    /** The mean of the last three losses is below the mean of the first three by at least {@code margin} (relative). */
    static void assertLossFalls(float[] losses, float margin) {
        int n = losses.length;
        double first = (losses[0] + losses[1] + losses[2]) / 3.0, last = (losses[n - 3] + losses[n - 2] + losses[n - 1]) / 3.0;
        assertTrue(last < first * (1 - margin), "loss should fall by " + margin * 100 + "%: " + Arrays.toString(losses));
        for (float l : losses) assertFalse(Float.isNaN(l), Arrays.toString(losses));
    }

    /** Copies of every parameter's values by name. */
    static Map<String, float[]> snapshot(Module model) {
        Map<String, float[]> s = new LinkedHashMap<>();
        model.namedParameters().forEach((k, v) -> s.put(k, v.data().toFloatArray()));
        return s;
    }

    /** The parameters in {@code trained} changed; every other one is bit-identical to {@code before}. */
    static void assertOnlyTrainedChanged(Module model, Map<String, float[]> before, List<String> trained) {
        for (Map.Entry<String, Variable> p : model.namedParameters().entrySet()) {
            float[] now = p.getValue().data().toFloatArray(), was = before.get(p.getKey());
            if (trained.contains(p.getKey())) {
                assertFalse(Arrays.equals(was, now), p.getKey() + " is trained and should have changed");
            } else {
                assertArrayEquals(was, now, 0f, p.getKey() + " is frozen and must be bit-identical");
                assertTrue(Arrays.equals(was, now), p.getKey() + " bits");
            }
        }
    }
}
