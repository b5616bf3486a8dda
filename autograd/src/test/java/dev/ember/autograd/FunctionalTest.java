package dev.ember.autograd;

import dev.ember.engine.Conv2dParams;
import dev.ember.engine.Pool2dParams;
import dev.ember.engine.Rng;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;
import org.junit.jupiter.api.Test;

import static dev.ember.autograd.GradCheck.check;
import static dev.ember.autograd.Inputs.distinct;
import static dev.ember.autograd.Inputs.uniform;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Gradient checks for every function of {@link F} with its options, plus the values where they are easy to state. */
class FunctionalTest {

    // ---- linear ----

    @Test void linearGradients() {
        Tensor x = uniform(1, -1, 1, 3, 4), w = uniform(2, -1, 1, 5, 4), b = uniform(3, -1, 1, 5);
        check(v -> F.linear(v[0], v[1], v[2]), x, w, b);
        check(v -> F.linear(v[0], v[1], null), x, w);
        check(v -> F.linear(v[0], v[1], v[2]), uniform(4, -1, 1, 2, 3, 4), w, b);   // leading batch axes
    }

    @Test void linearValue() {
        // x (1, 2) = [1, 2]; w (3, 2) rows [1,0], [0,1], [1,1]; b = [10, 20, 30]  ->  [11, 22, 33]
        Variable y = F.linear(Variable.of(Tensor.of(new float[] {1, 2}, 1, 2)),
                Variable.of(Tensor.of(new float[] {1, 0, 0, 1, 1, 1}, 3, 2)), Variable.of(Tensor.of(new float[] {10, 20, 30}, 3)));
        assertArrayEquals(new int[] {1, 3}, y.shape().dims());
        assertArrayEquals(new float[] {11, 22, 33}, y.data().toFloatArray(), 1e-6f);
        assertThrows(ShapeException.class, () -> F.linear(Variable.of(Tensor.zeros(1, 3)), Variable.of(Tensor.zeros(3, 2)), null));
    }

    // ---- conv2d ----

    @Test void conv2dGradients() {
        Tensor x = uniform(5, -1, 1, 2, 4, 5, 5), b = uniform(6, -1, 1, 4);
        Tensor w = uniform(7, -1, 1, 4, 4, 3, 3);
        check(v -> F.conv2d(v[0], v[1], v[2], Conv2dParams.of(1, 0)), x, w, b);
        check(v -> F.conv2d(v[0], v[1], null, Conv2dParams.of(2, 1)), x, w);                          // stride and padding
        check(v -> F.conv2d(v[0], v[1], v[2], Conv2dParams.of(1, 1)), uniform(10, -1, 1, 2, 4, 4, 4), w, b);   // padding 1 on 4x4: the CPU's TapConv
        check(v -> F.conv2d(v[0], v[1], v[2], Conv2dParams.of(1, 1)), uniform(11, -1, 1, 2, 1, 3, 16),   // one input channel, rows of
                uniform(12, -1, 1, 3, 1, 3, 3), uniform(13, -1, 1, 3));                                        // a vector: SingleChannelConv
        check(v -> F.conv2d(v[0], v[1], v[2], Conv2dParams.of(2, 1)), uniform(14, -1, 1, 1, 2, 6, 64),   // stride 2 onto rows of two
                uniform(15, -1, 1, 3, 2, 3, 3), uniform(16, -1, 1, 3));                                        // vectors: Stride2Conv
        check(v -> F.conv2d(v[0], v[1], v[2], new Conv2dParams(1, 2, 2, 1, 2, 1, 1)), x, w, b);       // asymmetric, dilation 2
        check(v -> F.conv2d(v[0], v[1], v[2], new Conv2dParams(1, 1, 1, 1, 1, 1, 2)), x, uniform(8, -1, 1, 4, 2, 3, 3), b);   // groups 2
        check(v -> F.conv2d(v[0], v[1], null, new Conv2dParams(1, 1, 0, 0, 1, 1, 4)), x, uniform(9, -1, 1, 4, 1, 1, 1));    // depthwise 1x1
    }

    @Test void conv2dWithBiasAndReluIsOneNodeWithTheComposedOpsGradients() {
        // kink-free for the check: |conv(x, w)| <= 4 * 9 * 0.03 = 1.08 < |b| = 1.5, so conv + b stays 0.4 or more from
        // relu's kink under every eps step, with channels on both sides of it
        Tensor xs = uniform(12, -1, 1, 2, 4, 6, 6), ws = uniform(14, -0.03f, 0.03f, 5, 4, 3, 3);
        Tensor bs = Tensor.of(new float[] {1.5f, -1.5f, 1.5f, -1.5f, 1.5f}, 5);
        check(v -> F.conv2d(v[0], v[1], v[2], true, Conv2dParams.of(1, 1)), xs, ws, bs);

        Tensor x = uniform(12, -1, 1, 2, 4, 6, 6), b = uniform(13, -1, 1, 5), w = uniform(14, -1, 1, 5, 4, 3, 3);

        // the same bits as conv2d, then + b, then relu, each its own node
        Variable fx = Variable.param(x), fw = Variable.param(w), fb = Variable.param(b);
        Variable fused = F.conv2d(fx, fw, fb, true, Conv2dParams.of(1, 1));
        assertEquals("conv2dBiasRelu", fused.node().op());
        fused.mul(fused).sum().backward();
        Variable cx = Variable.param(x), cw = Variable.param(w), cb = Variable.param(b);
        Variable composed = LinalgOps.conv2d(cx, cw, Conv2dParams.of(1, 1)).add(cb.reshape(1, 5, 1, 1)).relu();
        composed.mul(composed).sum().backward();
        assertArrayEquals(composed.data().toFloatArray(), fused.data().toFloatArray());
        assertArrayEquals(cx.grad().toFloatArray(), fx.grad().toFloatArray());
        assertArrayEquals(cw.grad().toFloatArray(), fw.grad().toFloatArray());
        assertArrayEquals(cb.grad().toFloatArray(), fb.grad().toFloatArray());

        Variable nx = Variable.param(x), nw = Variable.param(w);
        Variable noBias = F.conv2d(nx, nw, null, true, Conv2dParams.of(2, 0));
        noBias.mul(noBias).sum().backward();
        Variable mx = Variable.param(x), mw = Variable.param(w);
        Variable plain = LinalgOps.conv2d(mx, mw, Conv2dParams.of(2, 0)).relu();
        plain.mul(plain).sum().backward();
        assertArrayEquals(mx.grad().toFloatArray(), nx.grad().toFloatArray());
        assertArrayEquals(mw.grad().toFloatArray(), nw.grad().toFloatArray());

        Variable frozenBias = Variable.of(b), wx = Variable.param(x);
        F.conv2d(wx, Variable.of(w), frozenBias, false, Conv2dParams.of(1, 1)).sum().backward();
        assertEquals(x.shape(), wx.grad().shape());
        assertEquals(null, frozenBias.grad());
    }

    @Test void addReluGradientsAndValues() {
        // kink-free for the check: |a| <= 1 < |b| = 1.5, so a + b stays 0.5 or more from relu's kink, on both sides
        Tensor a = uniform(20, -1, 1, 3, 4), b = Tensor.of(new float[] {1.5f, -1.5f, -1.5f, 1.5f}, 4);
        check(v -> F.addRelu(v[0], v[1]), a, b);                                    // b broadcast over a's rows
        check(v -> F.addRelu(v[0], v[1]), a, b.reshape(1, 4).expand(3, 4).contiguous());   // the same shapes

        // no gradient recorded: the backend's one pass, the values of the two ops
        Variable x = Variable.of(uniform(21, -1, 1, 2, 3, 5)), y = Variable.of(uniform(22, -1, 1, 2, 3, 5));
        assertArrayEquals(x.add(y).relu().data().toFloatArray(), F.addRelu(x, y).data().toFloatArray());
        assertThrows(ShapeException.class, () -> F.addRelu(x, Variable.of(uniform(23, -1, 1, 4))));
    }

    @Test void conv2dMaxPoolGradientsAndValues() {
        // without the ReLU (its kink) the check sees conv then max pool: x, w and b all get gradients through the winners
        Conv2dParams p = Conv2dParams.of(1, 1);
        Pool2dParams pool = Pool2dParams.of(2);
        check(v -> F.conv2dMaxPool(v[0], v[1], v[2], false, p, pool), uniform(24, -1, 1, 1, 1, 6, 6), uniform(25, -1, 1, 2, 1, 3, 3), uniform(26, -1, 1, 2));

        // no gradient recorded: the backend's one op (fused for a one-channel input), the values of the two ops
        Variable x = Variable.of(uniform(27, -1, 1, 2, 1, 20, 20)), w = Variable.of(uniform(28, -1, 1, 4, 1, 3, 3)), b = Variable.of(uniform(29, -1, 1, 4));
        assertArrayEquals(F.maxPool2d(F.conv2d(x, w, b, true, p), pool).data().toFloatArray(), F.conv2dMaxPool(x, w, b, true, p, pool).data().toFloatArray());
        assertThrows(ShapeException.class, () -> F.conv2dMaxPool(x, w, Variable.of(uniform(30, -1, 1, 3)), true, p, pool));
    }

    @Test void conv2dAddReluGradientsAndValues() {
        // kink-free for the check: the residual is +-12 (plus a little), and |conv + b| <= 9 + 1 here
        Conv2dParams p = Conv2dParams.of(1, 1);
        float[] r = uniform(31, -0.5f, 0.5f, 1, 2, 5, 5).toFloatArray();
        for (int i = 0; i < r.length; i++) r[i] += i % 3 == 0 ? -12f : 12f;
        check(v -> F.conv2dAddRelu(v[0], v[1], v[2], v[3], p), uniform(32, -1, 1, 1, 1, 5, 5), uniform(33, -1, 1, 2, 1, 3, 3),
                uniform(34, -1, 1, 2), Tensor.of(r, 1, 2, 5, 5));

        // no gradient recorded: the backend's one op, the values of the three ops
        Variable x = Variable.of(uniform(35, -1, 1, 2, 3, 8, 8)), w = Variable.of(uniform(36, -1, 1, 4, 3, 3, 3)), b = Variable.of(uniform(37, -1, 1, 4));
        Variable res = Variable.of(uniform(38, -1, 1, 2, 4, 8, 8));
        assertArrayEquals(F.conv2d(x, w, b, false, p).add(res).relu().data().toFloatArray(), F.conv2dAddRelu(x, w, b, res, p).data().toFloatArray());
        assertThrows(ShapeException.class, () -> F.conv2dAddRelu(x, w, b, Variable.of(uniform(39, -1, 1, 1, 4, 1, 1)), p));
        Variable recorded = Variable.param(uniform(40, -1, 1, 2, 3, 8, 8));
        assertThrows(ShapeException.class, () -> F.conv2dAddRelu(recorded, w, b, Variable.of(uniform(41, -1, 1, 1, 4, 1, 1)), p), "recorded: no broadcast either");
    }

    @Test void conv2dFrozenWeightsStillGiveInputGradient() {
        Variable x = Variable.param(uniform(10, -1, 1, 1, 2, 4, 4));
        Variable w = Variable.of(uniform(11, -1, 1, 3, 2, 3, 3));
        F.conv2d(x, w, null, Conv2dParams.of(1, 1)).sum().backward();
        assertEquals(x.shape(), x.grad().shape());
        assertEquals(null, w.grad());
    }

    // ---- pooling ----

    /** Without a gradient to record, max pooling skips the winners' indices; the values are the same. */
    @Test void maxPool2dUnderNoGradGivesTheSameValues() {
        Tensor x = distinct(9, 2, 3, 9, 11);
        Pool2dParams p = Pool2dParams.of(3, 2, 1);
        Variable recorded = F.maxPool2d(Variable.param(x), p);
        try (NoGrad _ = NoGrad.enter()) {
            Variable inference = F.maxPool2d(Variable.param(x), p);
            assertTrue(!inference.requiresGrad(), "nothing recorded under NoGrad");
            assertArrayEquals(recorded.data().toFloatArray(), inference.data().toFloatArray());
        }
    }

    @Test void maxPool2dGradients() {
        Tensor x = distinct(12, 2, 3, 6, 6);
        check(v -> F.maxPool2d(v[0], Pool2dParams.of(2)), x);
        check(v -> F.maxPool2d(v[0], Pool2dParams.of(3, 2, 1)), x);   // overlapping windows with padding
        check(v -> F.maxPool2d(v[0], new Pool2dParams(3, 2, 2, 1, 1, 0, true, true)), x);   // ceil mode, asymmetric
    }

    @Test void avgPool2dGradients() {
        Tensor x = uniform(13, -1, 1, 2, 3, 5, 5);
        check(v -> F.avgPool2d(v[0], Pool2dParams.of(2)), x);
        check(v -> F.avgPool2d(v[0], Pool2dParams.of(3, 2, 1)), x);   // padding counted
        check(v -> F.avgPool2d(v[0], new Pool2dParams(3, 3, 2, 2, 1, 1, false, false)), x);   // padding not counted
        check(v -> F.avgPool2d(v[0], new Pool2dParams(2, 2, 2, 2, 0, 0, true, true)), x);     // ceil mode
    }

    @Test void globalAvgPool2d() {
        Tensor x = uniform(14, -1, 1, 2, 3, 4, 5);
        check(v -> F.globalAvgPool2d(v[0]), x);
        Variable y = F.globalAvgPool2d(Variable.of(x));
        assertArrayEquals(new int[] {2, 3}, y.shape().dims());
        assertEquals(x.slice(0, 1, 2).slice(1, 2, 3).sum().item() / 20, y.data().get(1, 2), 1e-6f);
    }

    // ---- batchNorm2d ----

    @Test void batchNormTrainingGradients() {
        Tensor x = uniform(15, -1, 1, 3, 2, 3, 3), gamma = uniform(16, 0.5f, 1.5f, 2), beta = uniform(17, -1, 1, 2);
        check(v -> F.batchNorm2d(v[0], Tensor.zeros(2), Tensor.ones(2), v[1], v[2], true, 0.1f, 1e-5f), x, gamma, beta);
        check(v -> F.batchNorm2d(v[0], null, null, null, null, true, 0.1f, 1e-5f), x);
    }

    @Test void batchNormTrainingGradientsWithOneParameterOrAView() {
        Tensor x = uniform(27, -1, 1, 3, 2, 3, 4), gamma = uniform(28, 0.5f, 1.5f, 2), beta = uniform(29, -1, 1, 2);
        check(v -> F.batchNorm2d(v[0], null, null, v[1], null, true, 0.1f, 1e-5f), x, gamma);   // gamma only
        check(v -> F.batchNorm2d(v[0], null, null, null, v[1], true, 0.1f, 1e-5f), x, beta);    // beta only
        // non-contiguous inputs: (3, 2, 4, 3) with H and W swapped, and every second row of H
        check(v -> F.batchNorm2d(v[0].transpose(2, 3), Tensor.zeros(2), Tensor.ones(2), v[1], v[2], true, 0.1f, 1e-5f), x, gamma, beta);
        check(v -> F.batchNorm2d(v[0].slice(2, 0, 3, 2), null, null, v[1], v[2], true, 0.1f, 1e-5f), x, gamma, beta);
        // eval without running statistics uses the batch's
        check(v -> F.batchNorm2d(v[0], null, null, v[1], v[2], false, 0.1f, 1e-5f), x, gamma, beta);
    }

    @Test void batchNormTrainingIsOneNodeAndSkipsFrozenInputs() {
        Variable x = Variable.of(uniform(30, -1, 1, 2, 3, 2, 2)), gamma = Variable.param(uniform(31, 0.5f, 1.5f, 3));
        Variable y = F.batchNorm2d(x, null, null, gamma, null, true, 0.1f, 1e-5f);
        assertEquals("batchNorm", y.node().op());
        assertSame(x, y.node().inputs()[0]);
        y.sum().backward();
        assertEquals(null, x.grad());                                      // data: no gradient kept
        assertArrayEquals(new int[] {3}, gamma.grad().dims());
        assertArrayEquals(new float[3], gamma.grad().toFloatArray(), 1e-5f);   // sum of xHat over a channel is 0
    }

    @Test void batchNormEvalGradients() {
        Tensor x = uniform(18, -1, 1, 2, 2, 3, 3), gamma = uniform(19, 0.5f, 1.5f, 2), beta = uniform(20, -1, 1, 2);
        Tensor mean = Tensor.of(new float[] {0.2f, -0.1f}, 2), var = Tensor.of(new float[] {0.5f, 2f}, 2);
        check(v -> F.batchNorm2d(v[0], mean, var, v[1], v[2], false, 0.1f, 1e-5f), x, gamma, beta);
    }

    @Test void batchNormValuesAndRunningStatistics() {
        // one channel, values 1..4: batch mean 2.5, biased variance 1.25, unbiased 5/3
        Variable x = Variable.of(Tensor.of(new float[] {1, 2, 3, 4}, 2, 1, 1, 2));
        Tensor runningMean = Tensor.zeros(1), runningVar = Tensor.ones(1);
        Variable y = F.batchNorm2d(x, runningMean, runningVar, null, null, true, 0.1f, 0f);
        float s = (float) Math.sqrt(1.25);
        assertArrayEquals(new float[] {-1.5f / s, -0.5f / s, 0.5f / s, 1.5f / s}, y.data().toFloatArray(), 1e-5f);
        assertEquals(0.25f, runningMean.item(), 1e-6f);                       // 0.9 * 0 + 0.1 * 2.5
        assertEquals(0.9f + 0.1f * 5f / 3f, runningVar.item(), 1e-6f);       // 0.9 * 1 + 0.1 * 5/3
        // eval uses the running statistics: (x - 0.25) / sqrt(running var)
        Variable e = F.batchNorm2d(x, runningMean, runningVar, null, null, false, 0.1f, 0f);
        assertEquals((1 - 0.25f) / (float) Math.sqrt(0.9f + 0.1f * 5f / 3f), e.data().toFloatArray()[0], 1e-5f);
        assertEquals(0.25f, runningMean.item(), 1e-6f);   // eval leaves them alone
    }

    // ---- layerNorm ----

    @Test void layerNormGradients() {
        Tensor x = uniform(21, -1, 1, 2, 3, 4);
        check(v -> F.layerNorm(v[0], 1, v[1], v[2], 1e-5f), x, uniform(22, 0.5f, 1.5f, 4), uniform(23, -1, 1, 4));
        check(v -> F.layerNorm(v[0], 2, v[1], v[2], 1e-5f), x, uniform(24, 0.5f, 1.5f, 3, 4), uniform(25, -1, 1, 3, 4));
        check(v -> F.layerNorm(v[0], 1, null, null, 1e-5f), x);
    }

    @Test void layerNormGradientsWithOneParameterOrAView() {
        Tensor x = uniform(32, -1, 1, 2, 3, 5);
        check(v -> F.layerNorm(v[0], 1, v[1], null, 1e-5f), x, uniform(33, 0.5f, 1.5f, 5));   // gamma only
        check(v -> F.layerNorm(v[0], 1, null, v[1], 1e-5f), x, uniform(34, -1, 1, 5));       // beta only
        // non-contiguous: (3, 2, 5) from swapping the leading axes, and (2, 5, 3) normalized over a transposed pair
        check(v -> F.layerNorm(v[0].transpose(0, 1), 1, v[1], v[2], 1e-5f), x, uniform(35, 0.5f, 1.5f, 5), uniform(36, -1, 1, 5));
        check(v -> F.layerNorm(v[0].transpose(1, 2), 2, v[1], v[2], 1e-5f), x, uniform(37, 0.5f, 1.5f, 5, 3), uniform(38, -1, 1, 5, 3));
        check(v -> F.layerNorm(v[0], 3, null, null, 1e-5f), x);   // every axis: one group
    }

    @Test void layerNormIsOneNode() {
        Variable x = Variable.param(uniform(39, -1, 1, 2, 4));
        Variable y = F.layerNorm(x, 1, Variable.param(Tensor.ones(4)), null, 1e-5f);
        assertEquals("layerNorm", y.node().op());
        assertSame(x, y.node().inputs()[0]);
    }

    @Test void layerNormValues() {
        // row [1, 2, 3]: mean 2, biased variance 2/3
        Variable y = F.layerNorm(Variable.of(Tensor.of(new float[] {1, 2, 3}, 1, 3)), 1, null, null, 0f);
        float s = (float) Math.sqrt(2.0 / 3);
        assertArrayEquals(new float[] {-1 / s, 0, 1 / s}, y.data().toFloatArray(), 1e-5f);
        assertThrows(ShapeException.class, () -> F.layerNorm(Variable.of(Tensor.zeros(2, 3)), 1, Variable.of(Tensor.zeros(2)), null, 1e-5f));
    }

    // ---- dropout ----

    @Test void dropoutGradientWithFixedMask() {
        // a fresh Rng with the same seed on every call: every evaluation of the check sees the same mask
        check(v -> F.dropout(v[0], 0.3f, true, new Rng(42)), uniform(26, -1, 1, 4, 5));
    }

    @Test void dropoutMaskAndScaling() {
        Tensor ones = Tensor.ones(1000);
        float[] y = F.dropout(Variable.of(ones), 0.25f, true, new Rng(7)).data().toFloatArray();
        int zeros = 0;
        for (float v : y) {
            if (v == 0) zeros++;
            else assertEquals(1f / 0.75f, v, 1e-6f);
        }
        assertTrue(zeros > 200 && zeros < 300, "about a quarter dropped, got " + zeros);
        assertArrayEquals(y, F.dropout(Variable.of(ones), 0.25f, true, new Rng(7)).data().toFloatArray());   // same seed, same mask
        Variable x = Variable.param(ones);
        assertSame(x, F.dropout(x, 0.5f, false, new Rng(7)));   // eval: identity
        assertSame(x, F.dropout(x, 0f, true, new Rng(7)));
        assertArrayEquals(new float[1000], F.dropout(x, 1f, true, new Rng(7)).data().toFloatArray());
    }
}
