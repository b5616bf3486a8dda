package dev.ember.autograd;

import dev.ember.engine.DTypeException;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;
import dev.ember.autograd.Loss.CrossEntropyOptions;
import dev.ember.autograd.Loss.Reduction;
import org.junit.jupiter.api.Test;

import static dev.ember.autograd.GradCheck.check;
import static dev.ember.autograd.Inputs.uniform;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loss values against hand-worked numbers and an independent double-precision PyTorch formula, and their gradients. */
class LossTest {
    private static final Tensor LOGITS_123 = Tensor.of(new float[] {1, 2, 3}, 1, 3);

    // ---- cross-entropy values ----

    @Test void crossEntropyOfOneRow() {
        // log-sum-exp(1, 2, 3) = 3 + ln(1 + e^-1 + e^-2) = 3.407606; loss = 3.407606 - 3 (PyTorch: 0.407606)
        assertEquals(0.407606f, Loss.crossEntropy(Variable.of(LOGITS_123), Tensor.ofInts(new int[] {2}, 1)).item(), 1e-6f);
        assertEquals(0.407606f, Loss.crossEntropy(Variable.of(LOGITS_123), Tensor.ofLongs(new long[] {2}, 1)).item(), 1e-6f);
    }

    @Test void crossEntropyWithLabelSmoothing() {
        // eps 0.1, C 3: 0.9 * 0.407606 + 0.1/3 * (2.407606 + 1.407606 + 0.407606) = 0.366845 + 0.140761 = 0.507606
        CrossEntropyOptions o = new CrossEntropyOptions(null, 0.1f, -100, Reduction.MEAN);
        assertEquals(0.507606f, Loss.crossEntropy(Variable.of(LOGITS_123), Tensor.ofInts(new int[] {2}, 1), o).item(), 1e-6f);
    }

    @Test void crossEntropyWithClassWeights() {
        // rows [1,2,3] label 2 (nll 0.407606, w 3) and [0.5,-1,2] label 0 (nll 1.723369, w 1):
        // MEAN = (3 * 0.407606 + 1 * 1.723369) / (3 + 1) = 0.741032
        Tensor logits = Tensor.of(new float[] {1, 2, 3, 0.5f, -1, 2}, 2, 3);
        Tensor labels = Tensor.ofInts(new int[] {2, 0}, 2);
        CrossEntropyOptions o = new CrossEntropyOptions(Tensor.of(new float[] {1, 2, 3}, 3), 0f, -100, Reduction.MEAN);
        assertEquals(0.741032f, Loss.crossEntropy(Variable.of(logits), labels, o).item(), 1e-5f);
        // weights and smoothing 0.2 combine as in PyTorch: both parts divided by the target-weight sum (4)
        CrossEntropyOptions s = new CrossEntropyOptions(Tensor.of(new float[] {1, 2, 3}, 3), 0.2f, -100, Reduction.MEAN);
        assertEquals(0.849384f, Loss.crossEntropy(Variable.of(logits), labels, s).item(), 1e-5f);
    }

    @Test void crossEntropyMatchesPyTorchFormulaForEveryOptionMix() {
        Tensor logits = uniform(1, -2, 2, 5, 4);
        Tensor labels = Tensor.ofLongs(new long[] {3, -100, 0, 2, 3}, 5);
        Tensor weights = Tensor.of(new float[] {0.5f, 1f, 2f, 1.5f}, 4);
        for (Tensor w : new Tensor[] {null, weights}) {
            for (float eps : new float[] {0f, 0.1f}) {
                for (Reduction r : Reduction.values()) {
                    CrossEntropyOptions o = new CrossEntropyOptions(w, eps, -100, r);
                    float[] got = Loss.crossEntropy(Variable.of(logits), labels, o).data().toFloatArray();
                    double[] want = pytorchCrossEntropy(logits, labels, w, eps, -100, r);
                    for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1e-5, "weights " + (w != null) + " eps " + eps + " " + r + " element " + i);
                }
            }
        }
    }

    @Test void ignoredSamplesAddNothing() {
        Tensor logits = Tensor.of(new float[] {1, 2, 3, 5, 1, 0}, 2, 3);
        Variable x = Variable.param(logits);
        Variable loss = Loss.crossEntropy(x, Tensor.ofInts(new int[] {2, -100}, 2));
        assertEquals(0.407606f, loss.item(), 1e-6f);   // MEAN over the one sample that counts
        loss.backward();
        assertArrayEquals(new float[] {0, 0, 0}, x.grad().slice(0, 1, 2).toFloatArray(), 0f);
        float[] none = Loss.crossEntropy(Variable.of(logits), Tensor.ofInts(new int[] {2, -100}, 2),
                new CrossEntropyOptions(null, 0.1f, -100, Reduction.NONE)).data().toFloatArray();
        assertEquals(2, none.length);
        assertEquals(0f, none[1], 0f);
        // every sample ignored: MEAN is 0/0 = NaN, as in PyTorch
        assertTrue(Float.isNaN(Loss.crossEntropy(Variable.of(logits), Tensor.ofInts(new int[] {-100, -100}, 2)).item()));
        // a custom ignore index, and Integer.MIN_VALUE for none
        assertEquals(0.407606f, Loss.crossEntropy(Variable.of(logits), Tensor.ofInts(new int[] {2, 7}, 2),
                new CrossEntropyOptions(null, 0f, 7, Reduction.MEAN)).item(), 1e-6f);
    }

    @Test void badLabelsAreNamed() {
        Variable x = Variable.of(Tensor.zeros(3, 4));
        ShapeException e = assertThrows(ShapeException.class, () -> Loss.crossEntropy(x, Tensor.ofInts(new int[] {0, 4, 1}, 3)));
        assertTrue(e.getMessage().contains("label 4") && e.getMessage().contains("index 1"), e.getMessage());
        e = assertThrows(ShapeException.class, () -> Loss.crossEntropy(x, Tensor.ofLongs(new long[] {0, 1, -1}, 3)));
        assertTrue(e.getMessage().contains("label -1") && e.getMessage().contains("index 2"), e.getMessage());
        assertThrows(ShapeException.class, () -> Loss.crossEntropy(x, Tensor.ofInts(new int[] {0, 1}, 2)));        // wrong N
        assertThrows(DTypeException.class, () -> Loss.crossEntropy(x, Tensor.of(new float[] {0, 1, 2}, 3)));      // float labels
        assertThrows(ShapeException.class, () -> Loss.crossEntropy(x, Tensor.ofInts(new int[] {0, 1, 2}, 3),
                new CrossEntropyOptions(Tensor.ones(3), 0f, -100, Reduction.MEAN)));                               // weights not (C)
    }

    // ---- cross-entropy gradients ----

    @Test void crossEntropyGradients() {
        Tensor logits = uniform(2, -2, 2, 5, 4);
        Tensor labels = Tensor.ofInts(new int[] {3, -100, 0, 2, 1}, 5);
        Tensor weights = Tensor.of(new float[] {0.5f, 1f, 2f, 1.5f}, 4);
        check(v -> Loss.crossEntropy(v[0], labels), logits);
        for (Reduction r : Reduction.values()) {
            check(v -> Loss.crossEntropy(v[0], labels, new CrossEntropyOptions(weights, 0.1f, -100, r)), logits);
            check(v -> Loss.crossEntropy(v[0], labels, new CrossEntropyOptions(null, 0f, -100, r)), logits);
        }
        check(v -> Loss.crossEntropy(v[0], labels, new CrossEntropyOptions(weights, 0f, -100, Reduction.MEAN)), logits);
        check(v -> Loss.crossEntropy(v[0], labels, new CrossEntropyOptions(null, 0.3f, -100, Reduction.MEAN)), logits);
    }

    @Test void crossEntropyGradientIsSoftmaxMinusOneHot() {
        // d/dlogits of mean CE = (softmax - onehot) / N
        Variable x = Variable.param(LOGITS_123);
        Loss.crossEntropy(x, Tensor.ofInts(new int[] {2}, 1)).backward();
        float[] p = LOGITS_123.softmax(1).toFloatArray();
        assertArrayEquals(new float[] {p[0], p[1], p[2] - 1}, x.grad().toFloatArray(), 1e-6f);
    }

    // ---- focal ----

    @Test void focalValues() {
        // logits [1,2,3], label 0: p = e^1 / (e^1 + e^2 + e^3) = 0.0900306; gamma 2, alpha_0 0.25:
        // -0.25 * (1 - 0.0900306)^2 * ln 0.0900306 = 0.498401
        Tensor alpha = Tensor.of(new float[] {0.25f, 0.5f, 0.75f}, 3);
        assertEquals(0.498401f, Loss.focal(Variable.of(LOGITS_123), Tensor.ofInts(new int[] {0}, 1), 2f, alpha).item(), 1e-5f);
        // gamma 0 without alpha is plain cross-entropy
        Tensor logits = uniform(3, -2, 2, 4, 3);
        Tensor labels = Tensor.ofInts(new int[] {0, 2, 1, 2}, 4);
        assertEquals(Loss.crossEntropy(Variable.of(logits), labels).item(), Loss.focal(Variable.of(logits), labels, 0f, null).item(), 1e-6f);
        assertThrows(ShapeException.class, () -> Loss.focal(Variable.of(logits), Tensor.ofInts(new int[] {0, 3, 1, 2}, 4), 2f, null));
    }

    @Test void focalGradients() {
        Tensor logits = uniform(4, -2, 2, 4, 3);
        Tensor labels = Tensor.ofLongs(new long[] {0, 2, 1, 2}, 4);
        check(v -> Loss.focal(v[0], labels, 2f, Tensor.of(new float[] {0.25f, 0.5f, 0.75f}, 3)), logits);
        check(v -> Loss.focal(v[0], labels, 1.5f, null), logits);
        check(v -> Loss.focal(v[0], labels, 0f, null), logits);
    }

    // ---- mse ----

    @Test void mse() {
        // ((1-0)^2 + (2-4)^2 + (3-3)^2) / 3 = 5/3
        Tensor target = Tensor.of(new float[] {0, 4, 3}, 3);
        assertEquals(5f / 3, Loss.mse(Variable.of(Tensor.of(new float[] {1, 2, 3}, 3)), target).item(), 1e-6f);
        check(v -> Loss.mse(v[0], uniform(5, -1, 1, 2, 3)), uniform(6, -1, 1, 2, 3));
        assertThrows(ShapeException.class, () -> Loss.mse(Variable.of(Tensor.zeros(3)), Tensor.zeros(1, 3)));
    }

    // ---- bceWithLogits ----

    @Test void bceWithLogitsValues() {
        // x = [0, 2, -1], y = [1, 0, 0.25]: mean of -(y ln s(x) + (1-y) ln(1 - s(x)))
        float[] x = {0, 2, -1}, y = {1, 0, 0.25f};
        double want = 0;
        for (int i = 0; i < 3; i++) {
            double s = 1 / (1 + Math.exp(-x[i]));
            want -= y[i] * Math.log(s) + (1 - y[i]) * Math.log(1 - s);
        }
        assertEquals(want / 3, Loss.bceWithLogits(Variable.of(Tensor.of(x, 3)), Tensor.of(y, 3)).item(), 1e-6);
        // the stable form stays finite where the naive one overflows: x = 100, y = 0 costs 100; x = -100, y = 0 costs ~0
        assertEquals(50f, Loss.bceWithLogits(Variable.of(Tensor.of(new float[] {100, -100}, 2)), Tensor.zeros(2)).item(), 1e-4f);
    }

    @Test void bceWithLogitsGradients() {
        check(v -> Loss.bceWithLogits(v[0], uniform(7, 0, 1, 3, 4)), uniform(8, -3, 3, 3, 4));
        // at x = 0 exactly (a zero-initialized head) the gradient is (sigmoid(0) - y) / n = (0.5 - y) / 2
        Variable x = Variable.param(Tensor.zeros(2));
        Loss.bceWithLogits(x, Tensor.of(new float[] {1, 0}, 2)).backward();
        assertArrayEquals(new float[] {-0.25f, 0.25f}, x.grad().toFloatArray(), 1e-7f);
    }

    /**
     * PyTorch's cross_entropy the way LossNLL.cpp computes it: nll_loss(log_softmax) reduced on its own, the
     * smoothing term -sum_c w_c logp_c reduced on its own (MEAN dividing both by sum of w[y_i] over kept samples),
     * then (1 - eps) * nll + eps / C * smooth. In double, element by element.
     */
    private static double[] pytorchCrossEntropy(Tensor logits, Tensor labels, Tensor weights, float eps, int ignore, Reduction r) {
        int n = logits.dim(0), c = logits.dim(1);
        float[] x = logits.toFloatArray();
        long[] y = labels.toLongArray();
        float[] w = weights == null ? null : weights.toFloatArray();
        double[] nll = new double[n], smooth = new double[n];
        double weightSum = 0;
        for (int i = 0; i < n; i++) {
            if (y[i] == ignore) continue;
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int k = 0; k < c; k++) max = Math.max(max, x[i * c + k]);
            for (int k = 0; k < c; k++) sum += Math.exp(x[i * c + k] - max);
            double lse = max + Math.log(sum);
            int label = (int) y[i];
            double wy = w == null ? 1 : w[label];
            nll[i] = -wy * (x[i * c + label] - lse);
            for (int k = 0; k < c; k++) smooth[i] -= (w == null ? 1 : w[k]) * (x[i * c + k] - lse);
            weightSum += wy;
        }
        if (r == Reduction.NONE) {
            double[] out = new double[n];
            for (int i = 0; i < n; i++) out[i] = (1 - eps) * nll[i] + eps / c * smooth[i];
            return out;
        }
        double nllSum = 0, smoothSum = 0;
        for (int i = 0; i < n; i++) {
            nllSum += nll[i];
            smoothSum += smooth[i];
        }
        double divisor = r == Reduction.MEAN ? weightSum : 1;
        return new double[] {(1 - eps) * nllSum / divisor + eps / c * smoothSum / divisor};
    }
}
