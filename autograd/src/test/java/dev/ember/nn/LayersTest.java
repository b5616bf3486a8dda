package dev.ember.nn;

import dev.ember.autograd.Variable;
import dev.ember.engine.EmberException;
import dev.ember.engine.Rng;
import dev.ember.engine.Shape;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Each module wires its state into the functional layer correctly (the functions themselves are tested in autograd). */
class LayersTest {
    private static final float TOL = 1e-5f;

    private static Variable in(float[] v, int... dims) { return Variable.of(Tensor.of(v, dims)); }

    private static float[] out(Variable y) { return y.data().toFloatArray(); }

    @Test void linearUsesOutByInWeights() {
        Linear lin = new Linear(3, 2, new Rng(0));
        lin.loadStateDict(Map.of(
                "weight", Tensor.of(new float[] {1, 0, -1, 2, 1, 0}, 2, 3),   // (out 2, in 3)
                "bias", Tensor.of(new float[] {0.5f, -1}, 2)));
        Variable y = lin.forward(in(new float[] {1, 2, 3, -1, 0, 1}, 2, 3));
        // row 0: [1 - 3 + 0.5, 2 + 2 - 1] = [-1.5, 3]; row 1: [-1 - 1 + 0.5, -2 + 0 - 1] = [-1.5, -3]
        assertArrayEquals(new float[] {-1.5f, 3, -1.5f, -3}, out(y), TOL);
        assertThrows(ShapeException.class, () -> lin.forward(in(new float[4], 1, 4)));
        Linear noBias = new Linear(3, 2, false, new Rng(0));
        assertEquals(1, noBias.parameters().size());
    }

    @Test void conv2dGeometryAndBias() {
        Conv2d conv = new Conv2d(4, 6, 3, 2, 1, 2, 2, true, new Rng(0));
        assertEquals(Shape.of(6, 2, 3, 3), conv.weight().shape());
        // H: (9 + 2 - 2*2 - 1)/2 + 1 = 4
        assertEquals(Shape.of(1, 6, 4, 4), conv.forward(Variable.of(Tensor.zeros(1, 4, 9, 9))).shape());
        // on zeros only the bias is left
        float[] y = out(conv.forward(Variable.of(Tensor.zeros(1, 4, 9, 9))));
        float[] bias = conv.bias().data().toFloatArray();
        for (int c = 0; c < 6; c++) assertEquals(bias[c], y[c * 16 + 5], TOL);
        assertThrows(ShapeException.class, () -> conv.forward(Variable.of(Tensor.zeros(1, 3, 9, 9))));
        assertThrows(EmberException.class, () -> new Conv2d(3, 6, 3, 1, 1, 1, 2, true, new Rng(0)));
    }

    @Test void batchNormUpdatesRunningStatsInTrainingAndUsesThemInEval() {
        BatchNorm2d bn = new BatchNorm2d(1);
        // one channel, values 1, 2, 3, 4: batch mean 2.5, biased var 1.25, unbiased var 5/3
        Variable x = in(new float[] {1, 2, 3, 4}, 1, 1, 2, 2);
        float[] y = out(bn.forward(x));
        float sd = (float) Math.sqrt(1.25 + 1e-5);
        assertArrayEquals(new float[] {-1.5f / sd, -0.5f / sd, 0.5f / sd, 1.5f / sd}, y, 1e-4f);
        // running = 0.9 * running + 0.1 * batch
        assertArrayEquals(new float[] {0.25f}, bn.runningMean().toFloatArray(), TOL);
        assertArrayEquals(new float[] {0.9f + 0.1f * 5f / 3f}, bn.runningVar().toFloatArray(), TOL);
        assertEquals(1L, bn.numBatchesTracked());
        bn.forward(x);
        assertEquals(2L, bn.numBatchesTracked());

        bn.eval();
        float[] before = bn.runningMean().toFloatArray();
        float[] e = out(bn.forward(x));
        float rm = before[0], rv = bn.runningVar().toFloatArray()[0];
        assertEquals((1 - rm) / (float) Math.sqrt(rv + 1e-5), e[0], 1e-4f);
        assertArrayEquals(before, bn.runningMean().toFloatArray(), 0f);
        assertEquals(2L, bn.numBatchesTracked());
    }

    @Test void layerNormNormalizesTrailingAxes() {
        LayerNorm ln = new LayerNorm(4);
        float[] y = out(ln.forward(in(new float[] {1, 2, 3, 4, 10, 10, 10, 10}, 2, 4)));
        float sd = (float) Math.sqrt(1.25 + 1e-5);
        assertArrayEquals(new float[] {-1.5f / sd, -0.5f / sd, 0.5f / sd, 1.5f / sd, 0, 0, 0, 0}, y, 1e-4f);
        assertThrows(ShapeException.class, () -> ln.forward(in(new float[3], 1, 3)));
    }

    @Test void activations() {
        Variable x = in(new float[] {-1, 0, 2}, 3);
        assertArrayEquals(new float[] {0, 0, 2}, out(new ReLU().forward(x)), TOL);
        assertArrayEquals(new float[] {-0.15865526f, 0, 1.9544997f}, out(new GELU().forward(x)), TOL);
        assertArrayEquals(new float[] {0.26894142f, 0.5f, 0.8807971f}, out(new Sigmoid().forward(x)), TOL);
        assertArrayEquals(new float[] {-0.7615942f, 0, 0.9640276f}, out(new Tanh().forward(x)), TOL);
    }

    @Test void poolingAndFlatten() {
        float[] plane = new float[16];
        for (int i = 0; i < 16; i++) plane[i] = i;   // x (1, 1, 4, 4) = 0..15 row-major
        Variable x = in(plane, 1, 1, 4, 4);
        assertArrayEquals(new float[] {5, 7, 13, 15}, out(new MaxPool2d(2).forward(x)), TOL);
        assertArrayEquals(new float[] {2.5f, 4.5f, 10.5f, 12.5f}, out(new AvgPool2d(2).forward(x)), TOL);
        Variable g = new GlobalAvgPool2d().forward(x);
        assertEquals(Shape.of(1, 1), g.shape());
        assertEquals(7.5f, g.data().item(), TOL);
        assertEquals(Shape.of(1, 16), new Flatten().forward(x).shape());
    }

    @Test void dropoutIsSeededAndOffInEval() {
        Variable x = Variable.of(Tensor.ones(1000));
        float[] a = out(new Dropout(0.25f, new Rng(3)).forward(x));
        float[] b = out(new Dropout(0.25f, new Rng(3)).forward(x));
        assertArrayEquals(a, b, 0f);
        int zeros = 0;
        for (float v : a) {
            if (v == 0) zeros++;
            else assertEquals(1 / 0.75f, v, TOL);
        }
        assertEquals(250, zeros, 60);
        Dropout d = new Dropout(0.25f, new Rng(3));
        d.eval();
        assertArrayEquals(x.data().toFloatArray(), out(d.forward(x)), 0f);
        assertThrows(EmberException.class, () -> new Dropout(1f, new Rng(0)));
    }

    @Test void sequentialChainsChildren() {
        Sequential s = new Sequential(new Flatten(), new ReLU());
        assertArrayEquals(new float[] {0, 2, 0, 4}, out(s.forward(in(new float[] {-1, 2, -3, 4}, 1, 2, 2))), 0f);
        assertEquals(2, s.size());
    }
}
