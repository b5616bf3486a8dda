package dev.ember.kernels;

import dev.ember.engine.AdamParams;
import dev.ember.engine.Backend;
import dev.ember.engine.BinaryOp;
import dev.ember.engine.DType;
import dev.ember.engine.Pool2dParams;
import dev.ember.engine.ReduceOp;
import dev.ember.engine.SgdParams;
import dev.ember.engine.Shape;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;
import dev.ember.engine.UnaryOp;
import dev.ember.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import java.util.EnumMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The oracle itself, checked against values worked out by hand (or with Python's math module, to 1e-6). */
class ReferenceBackendTest {
    private static final Backend REF = new ReferenceBackend();
    private static final float TOL = 1e-6f;

    // ---- storage ----

    @Test void copyIntoReadsStridesAndConvertsDTypes() {
        Tensor x = Tensor.ofInts(new int[] {1, 2, 3, 4, 5, 6}, 2, 3).permute(1, 0);   // (3, 2) view
        Tensor out = REF.zeros(DType.FLOAT32, Shape.of(3, 2));
        REF.copyInto(x, out);
        assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, out.toFloatArray());

        Tensor truncated = REF.zeros(DType.INT32, Shape.of(4));
        REF.copyInto(Tensor.of(new float[] {-1.7f, 2.9f, -0.2f, 7f}, 4), truncated);
        assertArrayEquals(new int[] {-1, 2, 0, 7}, truncated.toIntArray());

        Tensor unsigned = REF.zeros(DType.FLOAT32, Shape.of(2));
        REF.copyInto(Tensor.ofBytes(new byte[] {(byte) 200, 7}, 2), unsigned);
        assertArrayEquals(new float[] {200, 7}, unsigned.toFloatArray());

        long big = (1L << 60) + 1;   // not representable in a double: int64 to int64 must not pass through one
        Tensor longs = REF.zeros(DType.INT64, Shape.of(1));
        REF.copyInto(Tensor.ofLongs(new long[] {big}, 1), longs);
        assertEquals(big, longs.toLongArray()[0]);
    }

    @Test void toHostGivesAContiguousCopyOfAView() {
        Tensor view = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3).slice(1, 0, 3, 2);   // (2, 2): 1 3 / 4 6
        Tensor host = REF.toHost(view);
        assertTrue(host.isContiguous());
        assertArrayEquals(new float[] {1, 3, 4, 6}, host.toFloatArray());
        assertArrayEquals(new float[] {0, 0, 0}, REF.zeros(DType.FLOAT32, Shape.of(3)).toFloatArray());
    }

    // ---- elementwise ----

    @Test void everyUnaryOpMatchesHandValues() {
        float[] x = {-2f, -0.5f, 0f, 1f, 3.5f, 0.001f};
        Map<UnaryOp, double[]> want = new EnumMap<>(UnaryOp.class);
        want.put(UnaryOp.NEG, new double[] {2, 0.5, 0, -1, -3.5, -0.001});
        want.put(UnaryOp.ABS, new double[] {2, 0.5, 0, 1, 3.5, 0.001});
        want.put(UnaryOp.SQUARE, new double[] {4, 0.25, 0, 1, 12.25, 1e-6});
        want.put(UnaryOp.SQRT, new double[] {Double.NaN, Double.NaN, 0, 1, 1.8708286933869707, 0.0316227766});
        want.put(UnaryOp.RECIPROCAL, new double[] {-0.5, -2, Double.POSITIVE_INFINITY, 1, 0.2857142857142857, 1000});
        want.put(UnaryOp.EXP, new double[] {0.1353352832366127, 0.6065306597126334, 1, Math.E, 33.11545195869231, 1.0010005001667084});
        want.put(UnaryOp.LOG, new double[] {Double.NaN, Double.NaN, Double.NEGATIVE_INFINITY, 0, 1.252762968495368, -6.907755278982137});
        want.put(UnaryOp.RELU, new double[] {0, 0, 0, 1, 3.5, 0.001});
        want.put(UnaryOp.STEP, new double[] {0, 0, 0, 1, 1, 1});
        want.put(UnaryOp.SIGN, new double[] {-1, -1, 0, 1, 1, 1});
        want.put(UnaryOp.SIGMOID, new double[] {0.11920292202211755, 0.3775406687981454, 0.5, 0.7310585786300049, 0.9706877692486436, 0.5002499999791666});
        want.put(UnaryOp.TANH, new double[] {-0.9640275800758169, -0.46211715726000974, 0, 0.7615941559557649, 0.9981778976111987, 0.0009999996666668});
        want.put(UnaryOp.ERF, new double[] {-0.9953222650189527, -0.5204998778130465, 0, 0.8427007929497149, 0.9999992569016276, 0.0011283787909692365});
        want.put(UnaryOp.GELU, new double[] {-0.04550026389635842, -0.15426876936299344, 0, 0.8413447460685429, 3.4991857982233756, 0.000500398942213911});
        want.put(UnaryOp.GELU_GRAD, new double[] {-0.08523180107819692, 0.13250487534383712, 0.5, 1.0833154705876864, 1.0028217603536247, 0.5007978842948414});
        assertEquals(UnaryOp.values().length, want.size(), "every UnaryOp has hand values");
        for (UnaryOp op : UnaryOp.values()) {
            float[] got = REF.unary(op, Tensor.of(x.clone(), x.length)).toFloatArray();
            Close.assertClose(toFloats(want.get(op)), got, TOL, TOL, op.name());
        }
    }

    @Test void erfIsAccurateOverTheWholeLine() {
        // erf(x) from Python's math.erf at points on both sides of the series / continued-fraction switch (2.5)
        float[] x = {0.1f, 0.75f, 1.5f, 2.25f, 2.4999f, 2.5f, 2.75f, 4f, 5.5f, 7f};
        double[] want = {0.1124629160182849, 0.7111556336535151, 0.9661051464753108, 0.9985372834133188, 0.9995928300996666,
                         0.999593047982555, 0.9998993780778803, 0.9999999845827421, 0.9999999999999927, 1.0};
        Close.assertClose(toFloats(want), REF.unary(UnaryOp.ERF, Tensor.of(x, x.length)).toFloatArray(), 1e-7f, 1e-7f, "erf");
    }

    @Test void binaryBroadcastsBothOperands() {
        Tensor col = Tensor.of(new float[] {1, 2}, 2, 1);
        Tensor row = Tensor.of(new float[] {10, 20, 30}, 3);
        Shape out = Shape.of(2, 3);
        assertArrayEquals(new float[] {11, 21, 31, 12, 22, 32}, REF.binary(BinaryOp.ADD, col, row, out).toFloatArray());
        assertArrayEquals(new float[] {-9, -19, -29, -8, -18, -28}, REF.binary(BinaryOp.SUB, col, row, out).toFloatArray());
        assertArrayEquals(new float[] {10, 20, 30, 20, 40, 60}, REF.binary(BinaryOp.MUL, col, row, out).toFloatArray());
        assertArrayEquals(new float[] {10, 20, 30, 5, 10, 15}, REF.binary(BinaryOp.DIV, row, col, out).toFloatArray());
        assertArrayEquals(new float[] {10, 20, 30, 10, 20, 30}, REF.binary(BinaryOp.MAX, col, row, out).toFloatArray());
        assertArrayEquals(new float[] {1, 1, 1, 2, 2, 2}, REF.binary(BinaryOp.MIN, col, row, out).toFloatArray());

        Tensor a = Tensor.of(new float[] {2, -8, 4, 3}, 4);
        Tensor b = Tensor.of(new float[] {0.5f, 1f / 3, -1, 3}, 4);
        Close.assertClose(new float[] {(float) Math.sqrt(2), Float.NaN, 0.25f, 27}, REF.binary(BinaryOp.POW, a, b, Shape.of(4)).toFloatArray(), TOL, TOL, "pow");
        Tensor c = Tensor.of(new float[] {2, 5, 4, 1}, 4);
        Tensor three = Tensor.scalar(3f).expand(4);   // an expanded scalar: stride 0
        assertArrayEquals(new float[] {0, 0, 0, 0}, REF.binary(BinaryOp.EQ, c, three, Shape.of(4)).toFloatArray());
        assertArrayEquals(new float[] {1, 0, 0, 1}, REF.binary(BinaryOp.LT, c, Tensor.scalar(3f), Shape.of(4)).toFloatArray());
        assertArrayEquals(new float[] {0, 1, 1, 0}, REF.binary(BinaryOp.GT, c, Tensor.scalar(3f), Shape.of(4)).toFloatArray());
        assertArrayEquals(new float[] {0, 0, 1, 0}, REF.binary(BinaryOp.EQ, c, Tensor.scalar(4f), Shape.of(4)).toFloatArray());
    }

    // ---- reductions ----

    @Test void reduceOverAxesWithAndWithoutKeepDims() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        Tensor s0 = REF.reduce(ReduceOp.SUM, x, new int[] {0}, false);
        assertEquals(Shape.of(3), s0.shape());
        assertArrayEquals(new float[] {5, 7, 9}, s0.toFloatArray());
        Tensor s1 = REF.reduce(ReduceOp.SUM, x, new int[] {1}, true);
        assertEquals(Shape.of(2, 1), s1.shape());
        assertArrayEquals(new float[] {6, 15}, s1.toFloatArray());
        Tensor all = REF.reduce(ReduceOp.SUM, x, new int[] {0, 1}, false);
        assertEquals(Shape.SCALAR, all.shape());
        assertEquals(21f, all.item());
        assertArrayEquals(new float[] {3, 6}, REF.reduce(ReduceOp.MAX, x, new int[] {1}, false).toFloatArray());
        assertArrayEquals(new float[] {1, 2, 3}, REF.reduce(ReduceOp.MIN, x, new int[] {0}, false).toFloatArray());

        // (2, 3, 2) reduced over axes 0 and 2, read through a transposed view
        Tensor y = Tensor.of(new float[] {1, 7, 2, 8, 3, 9, 4, 10, 5, 11, 6, 12}, 2, 3, 2).permute(0, 1, 2);
        assertArrayEquals(new float[] {22, 26, 30}, REF.reduce(ReduceOp.SUM, y, new int[] {0, 2}, false).toFloatArray());
        Tensor t = x.permute(1, 0);   // (3, 2): 1 4 / 2 5 / 3 6
        assertArrayEquals(new float[] {5, 7, 9}, REF.reduce(ReduceOp.SUM, t, new int[] {1}, false).toFloatArray());
        assertArrayEquals(new float[] {4, 5, 6}, REF.reduce(ReduceOp.MAX, t, new int[] {1}, false).toFloatArray());
    }

    @Test void argMaxTakesTheFirstOfTiesAndGivesInt64() {
        Tensor x = Tensor.of(new float[] {1, 3, 3, 2}, 4);
        Tensor i = REF.argMax(x, 0, false);
        assertEquals(DType.INT64, i.dtype());
        assertArrayEquals(new long[] {1}, i.toLongArray());
        Tensor m = Tensor.of(new float[] {1, 9, 5, 7, 9, 2}, 2, 3);
        assertArrayEquals(new long[] {1, 0, 0}, REF.argMax(m, 0, false).toLongArray());
        Tensor kept = REF.argMax(m, 1, true);
        assertEquals(Shape.of(2, 1), kept.shape());
        assertArrayEquals(new long[] {1, 1}, kept.toLongArray());
    }

    @Test void softmaxAndLogSoftmaxAlongAnyAxis() {
        float[] want = {0.09003057317038046f, 0.24472847105479767f, 0.6652409557748219f};
        Close.assertClose(want, REF.softmax(Tensor.of(new float[] {1, 2, 3}, 3), 0).toFloatArray(), TOL, TOL, "softmax");
        Close.assertClose(new float[] {-2.4076059644443806f, -1.4076059644443804f, -0.4076059644443804f},
                REF.logSoftmax(Tensor.of(new float[] {1, 2, 3}, 3), 0).toFloatArray(), TOL, TOL, "logSoftmax");
        // large logits: stable only because the max is subtracted first
        Close.assertClose(new float[] {0.2689414213699951f, 0.7310585786300049f},
                REF.softmax(Tensor.of(new float[] {1000, 1001}, 2), 0).toFloatArray(), TOL, TOL, "softmax large");
        // along axis 0 of (3, 2): columns are {1, 2, 3} and {3, 3, 3}
        Tensor x = Tensor.of(new float[] {1, 3, 2, 3, 3, 3}, 3, 2);
        float third = 1f / 3;
        Close.assertClose(new float[] {want[0], third, want[1], third, want[2], third}, REF.softmax(x, 0).toFloatArray(), TOL, TOL, "softmax axis 0");
    }

    // ---- pooling ----

    @Test void maxPoolPicksTheWindowMaxAndItsPlaneIndex() {
        Tensor x = Tensor.of(seq(16), 1, 1, 4, 4);
        Backend.MaxPoolResult r = REF.maxPool2d(x, Pool2dParams.of(2));
        assertArrayEquals(new float[] {5, 7, 13, 15}, r.output().toFloatArray());
        assertArrayEquals(new int[] {5, 7, 13, 15}, r.indices().toIntArray());

        // 3x3 kernel, stride 2, padding 1 over 3x3 of negatives: padding (zeros in a conv) must never win
        Tensor neg = Tensor.of(new float[] {-9, -8, -7, -6, -5, -4, -3, -2, -1}, 1, 1, 3, 3);
        Backend.MaxPoolResult p = REF.maxPool2d(neg, Pool2dParams.of(3, 2, 1));
        assertArrayEquals(new float[] {-5, -4, -2, -1}, p.output().toFloatArray());
        assertArrayEquals(new int[] {4, 5, 7, 8}, p.indices().toIntArray());

        // ceil mode on 5x5, kernel 2 stride 2: a third, partial window per axis
        Pool2dParams ceil = new Pool2dParams(2, 2, 2, 2, 0, 0, true, true);
        Backend.MaxPoolResult c = REF.maxPool2d(Tensor.of(seq(25), 1, 1, 5, 5), ceil);
        assertEquals(Shape.of(1, 1, 3, 3), c.output().shape());
        assertArrayEquals(new float[] {6, 8, 9, 16, 18, 19, 21, 23, 24}, c.output().toFloatArray());

        // ties: the first cell in row-major order wins
        Backend.MaxPoolResult tie = REF.maxPool2d(Tensor.full(1f, 1, 1, 2, 2), Pool2dParams.of(2));
        assertArrayEquals(new int[] {0}, tie.indices().toIntArray());
    }

    @Test void maxPoolBackwardSumsWhereWindowsOverlap() {
        // 1x3 input, kernel (1, 2) stride 1: windows {0, 1} and {1, 2}; cell 1 (the max 5) wins both
        Tensor x = Tensor.of(new float[] {1, 5, 2}, 1, 1, 1, 3);
        Pool2dParams p = new Pool2dParams(1, 2, 1, 1, 0, 0, false, true);
        Backend.MaxPoolResult r = REF.maxPool2d(x, p);
        assertArrayEquals(new int[] {1, 1}, r.indices().toIntArray());
        Tensor dx = REF.maxPool2dBackward(Tensor.of(new float[] {0.5f, 2f}, 1, 1, 1, 2), r.indices(), x.shape());
        assertArrayEquals(new float[] {0, 2.5f, 0}, dx.toFloatArray());
    }

    @Test void avgPoolCountsPaddingOnlyWhenAsked() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 1, 1, 2, 2);
        Pool2dParams incl = new Pool2dParams(2, 2, 1, 1, 1, 1, false, true);
        Pool2dParams excl = new Pool2dParams(2, 2, 1, 1, 1, 1, false, false);
        assertArrayEquals(new float[] {0.25f, 0.75f, 0.5f, 1, 2.5f, 1.5f, 0.75f, 1.75f, 1},
                REF.avgPool2d(x, incl).toFloatArray());
        assertArrayEquals(new float[] {1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4}, REF.avgPool2d(x, excl).toFloatArray());

        // backward of the excluding average with dy = 1: each cell collects 1/|window| from the 4 windows it is in
        Tensor dx = REF.avgPool2dBackward(Tensor.ones(1, 1, 3, 3), x.shape(), excl);
        float v = 1 + 0.5f + 0.5f + 0.25f;
        assertArrayEquals(new float[] {v, v, v, v}, dx.toFloatArray());
        Tensor dxIncl = REF.avgPool2dBackward(Tensor.ones(1, 1, 3, 3), x.shape(), incl);
        assertArrayEquals(new float[] {1, 1, 1, 1}, dxIncl.toFloatArray());
    }

    @Test void avgPoolCeilModeClipsTheLastWindowToThePaddedInput() {
        // 1x3, kernel (1, 2) stride 2 ceil: windows [0, 2) and [2, 4) -> the second covers only cell 2
        Pool2dParams p = new Pool2dParams(1, 2, 1, 2, 0, 0, true, true);
        Tensor y = REF.avgPool2d(Tensor.of(new float[] {1, 3, 5}, 1, 1, 1, 3), p);
        assertArrayEquals(new float[] {2, 5}, y.toFloatArray());
    }

    // ---- indexing ----

    @Test void oneHotRowsAndOutOfRangeLabel() {
        Tensor y = REF.oneHot(Tensor.ofLongs(new long[] {2, 0}, 2), 3);
        assertEquals(Shape.of(2, 3), y.shape());
        assertArrayEquals(new float[] {0, 0, 1, 1, 0, 0}, y.toFloatArray());
        ShapeException e = assertThrows(ShapeException.class, () -> REF.oneHot(Tensor.ofInts(new int[] {0, 1, 2, 5}, 2, 2), 3));
        assertTrue(e.getMessage().contains("label 5") && e.getMessage().contains("[1, 1]"), e.getMessage());
    }

    // ---- in place ----

    @Test void axpyScaleFill() {
        Tensor y = Tensor.of(new float[] {1, 2, 3}, 3);
        REF.axpy(2f, Tensor.of(new float[] {1, 1, -1}, 3), y);
        assertArrayEquals(new float[] {3, 4, 1}, y.toFloatArray());
        REF.scale(y, 0.5f);
        assertArrayEquals(new float[] {1.5f, 2, 0.5f}, y.toFloatArray());
        REF.fill(y, 7f);
        assertArrayEquals(new float[] {7, 7, 7}, y.toFloatArray());
    }

    @Test void sgdStepFollowsPyTorch() {
        for (boolean nesterov : new boolean[] {false, true}) {
            Tensor p = Tensor.of(new float[] {1f}, 1);
            Tensor buf = Tensor.zeros(1);
            REF.sgdStep(p, Tensor.of(new float[] {0.5f}, 1), buf, new SgdParams(0.1f, 0.9f, 0.1f, 0.01f, nesterov, true));
            assertEquals(nesterov ? 0.9031f : 0.949f, p.item(), TOL);
            assertEquals(0.51f, buf.item(), TOL);
            REF.sgdStep(p, Tensor.of(new float[] {-0.25f}, 1), buf, new SgdParams(0.1f, 0.9f, 0.1f, 0.01f, nesterov, false));
            assertEquals(nesterov ? 0.905405389f : 0.9247459f, p.item(), TOL);
            assertEquals(nesterov ? 0.2421279f : 0.242541f, buf.item(), TOL);
        }
        Tensor plain = Tensor.of(new float[] {1f, 2f}, 2);
        REF.sgdStep(plain, Tensor.of(new float[] {1f, -1f}, 2), null, new SgdParams(0.5f, 0, 0, 0, false, true));
        assertArrayEquals(new float[] {0.5f, 2.5f}, plain.toFloatArray());
    }

    @Test void adamStepFollowsPyTorchWithBiasCorrection() {
        double[][] want = {   // per step: p, m, v; from torch.optim.Adam / AdamW's update rule
            {0.9900000001666667, 0.06, 0.00036}, {0.9853191993058599, 0.03890000000166666, 0.000382440999994967},   // Adam, wd 0.1
            {0.9890000002, 0.05, 0.00025}, {0.9853476298705847, 0.02, 0.00031225}                                  // AdamW, wd 0.1
        };
        for (boolean decoupled : new boolean[] {false, true}) {
            Tensor p = Tensor.of(new float[] {1f}, 1), m = Tensor.zeros(1), v = Tensor.zeros(1);
            float[] grads = {0.5f, -0.25f};
            for (int step = 1; step <= 2; step++) {
                REF.adamStep(p, Tensor.of(new float[] {grads[step - 1]}, 1), m, v, new AdamParams(0.01f, 0.9f, 0.999f, 1e-8f, 0.1f, decoupled, step));
                double[] w = want[(decoupled ? 2 : 0) + step - 1];
                assertEquals(w[0], p.item(), 1e-6, "p");
                assertEquals(w[1], m.item(), 1e-6, "m");   // float32 betas: 1 - 0.999f is 0.00099999
                assertEquals(w[2], v.item(), 1e-8, "v");
            }
        }
    }

    private static float[] seq(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = i;
        return a;
    }

    private static float[] toFloats(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) f[i] = (float) a[i];
        return f;
    }
}
