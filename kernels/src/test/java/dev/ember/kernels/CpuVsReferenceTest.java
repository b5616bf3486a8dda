package dev.ember.kernels;

import dev.ember.engine.AdamParams;
import dev.ember.engine.Backend;
import dev.ember.engine.BinaryOp;
import dev.ember.engine.CpuStorage;
import dev.ember.engine.DType;
import dev.ember.engine.Pool2dParams;
import dev.ember.engine.ReduceOp;
import dev.ember.engine.Rng;
import dev.ember.engine.SgdParams;
import dev.ember.engine.Shape;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;
import dev.ember.engine.UnaryOp;
import dev.ember.kernels.cpu.CpuBackend;
import dev.ember.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CPU backend against the scalar reference on seeded random inputs: awkward sizes around the vector width
 * (1, 15, 16, 17, 33, 100, ...), non-contiguous views (permuted, stepped slices, expanded), broadcasting in every
 * position, every op of each enum. Tolerances: elementwise and softmax 1e-5 relative (+1e-6 absolute); binary
 * ops, max/min, argMax, pooling maxima and indices, copies and oneHot exact; sums 1e-5 relative plus 1e-6 per
 * square root of the number of terms.
 */
class CpuVsReferenceTest {
    private static final Backend CPU = new CpuBackend();
    private static final Backend REF = new ReferenceBackend();
    private static final int[] SIZES = {1, 15, 16, 17, 33, 100, 1037};

    // ---- storage ----

    /** The one-pass ReLU backward gives the reference's dy * STEP(x) to the bit: NaN, -0, denormals, tails, views. */
    @Test void reluBackwardIsTheProductWithStepToTheBit() {
        float[] special = {1.5f, -2f, Float.NaN, -0f, 3f, Float.NaN, -1f, 7f, 1e-40f, -1e-40f, Float.POSITIVE_INFINITY, 0f};
        float[] xs = {2f, -1f, 0f, 5f, -0f, -3f, Float.NaN, 1e-40f, 1f, 2f, -1f, Float.NEGATIVE_INFINITY};
        Tensor dy = Tensor.of(special, 12), x = Tensor.of(xs, 12);
        assertArrayEquals(REF.reluBackward(dy, x).toFloatArray(), CPU.reluBackward(dy, x).toFloatArray());
        for (int n : SIZES) {
            Tensor g = Tensor.randn(new Rng(n), 1f, n), in = Tensor.randn(new Rng(n + 1), 1f, n);
            assertArrayEquals(REF.reluBackward(g, in).toFloatArray(), CPU.reluBackward(g, in).toFloatArray(), "n = " + n);
        }
        Tensor g = Tensor.randn(new Rng(3), 1f, 40, 1100).slice(0, 7, 23), in = Tensor.randn(new Rng(4), 1f, 1100, 16).transpose(0, 1);
        assertArrayEquals(REF.reluBackward(g, in).toFloatArray(), CPU.reluBackward(g, in).toFloatArray(), "an offset view and a transposed one");
    }

    /**
     * The one-pass add + ReLU (ONNX's Add then Relu) gives the reference's two ops to the bit: NaN, infinities of both
     * signs meeting, -0, tails; a broadcast and a view take the two-op default and still match.
     */
    @Test void addReluIsTheSumThenTheClampToTheBit() {
        float[] as = {1.5f, -2f, Float.NaN, -0f, 3f, Float.POSITIVE_INFINITY, -1f, 7f, 1e-40f, -0f, Float.NEGATIVE_INFINITY, 0f};
        float[] bs = {2f, -1f, 0f, -0f, -3f, Float.NEGATIVE_INFINITY, Float.NaN, -7f, -1e-40f, 0f, 1f, -0f};
        Tensor a = Tensor.of(as, 12), b = Tensor.of(bs, 12);
        assertArrayEquals(REF.addRelu(a, b, a.shape()).toFloatArray(), CPU.addRelu(a, b, a.shape()).toFloatArray());
        for (int n : SIZES) {
            Tensor x = Tensor.randn(new Rng(n), 1f, n), y = Tensor.randn(new Rng(n + 1), 1f, n);
            assertArrayEquals(REF.addRelu(x, y, x.shape()).toFloatArray(), CPU.addRelu(x, y, x.shape()).toFloatArray(), "n = " + n);
        }
        Tensor maps = Tensor.randn(new Rng(5), 1f, 2, 64, 9, 9), bias = Tensor.randn(new Rng(6), 1f, 64, 1, 1);
        assertArrayEquals(REF.addRelu(maps, bias, maps.shape()).toFloatArray(), CPU.addRelu(maps, bias, maps.shape()).toFloatArray(), "broadcast");
        // a layer's bias as one row down every row (Gemm then Relu): (N) and (1, N), rows of whole vectors and not
        for (int n : new int[] {128, 37, 16, 5}) {
            Tensor acts = Tensor.randn(new Rng(n + 9), 1f, 32, n), row = Tensor.randn(new Rng(n + 10), 1f, n);
            assertArrayEquals(REF.addRelu(acts, row, acts.shape()).toFloatArray(), CPU.addRelu(acts, row, acts.shape()).toFloatArray(), "row of " + n);
            Tensor row2 = row.reshape(1, n);
            assertArrayEquals(REF.addRelu(acts, row2, acts.shape()).toFloatArray(), CPU.addRelu(acts, row2, acts.shape()).toFloatArray(), "(1, " + n + ")");
        }
        Tensor specials = Tensor.of(as, 1, 12), specialRow = Tensor.of(bs, 12);
        assertArrayEquals(REF.addRelu(specials, specialRow, specials.shape()).toFloatArray(), CPU.addRelu(specials, specialRow, specials.shape()).toFloatArray(), "row: NaN, -0, infinities");
        Tensor view = Tensor.randn(new Rng(7), 1f, 1100, 16).transpose(0, 1);
        Tensor other = Tensor.randn(new Rng(8), 1f, 16, 1100);
        assertArrayEquals(REF.addRelu(view, other, other.shape()).toFloatArray(), CPU.addRelu(view, other, other.shape()).toFloatArray(), "transposed view");
        assertArrayEquals(REF.unary(UnaryOp.RELU, REF.binary(BinaryOp.ADD, a, b, a.shape())).toFloatArray(), a.addRelu(b).toFloatArray(), "Tensor.addRelu");
    }

    @Test void copyIntoEveryDTypePairAndLayout() {
        Rng rng = new Rng(1);
        for (DType from : DType.values()) {
            for (DType to : DType.values()) {
                for (int[] dims : new int[][] {{17}, {3, 5, 7}, {2, 33}}) {
                    for (Tensor src : sources(rng, from, dims)) {
                        Tensor a = CPU.zeros(to, src.shape()), b = REF.zeros(to, src.shape());
                        CPU.copyInto(src, a);
                        REF.copyInto(src, b);
                        assertExact(b, a, from + " -> " + to + " " + Arrays.toString(dims));
                    }
                }
            }
        }
    }

    @Test void copyIntoAStridedDestination() {
        Rng rng = new Rng(2);
        Tensor src = Views.permuted(rng, 1f, 4, 33);
        Tensor a = CPU.zeros(DType.FLOAT32, Shape.of(4, 67)), b = REF.zeros(DType.FLOAT32, Shape.of(4, 67));
        CPU.copyInto(src, a.slice(1, 1, 67, 2));
        REF.copyInto(src, b.slice(1, 1, 67, 2));
        assertExact(b, a, "strided destination");
    }

    @Test void toHostIsAContiguousCopyOfAView() {
        Tensor view = Views.permuted(new Rng(3), 1f, 5, 6);
        Tensor h = CPU.toHost(view);
        assertTrue(h.isContiguous());
        assertExact(REF.toHost(view), h, "toHost");
        Tensor z = CPU.zeros(DType.INT64, Shape.of(2, 3));
        assertEquals(DType.INT64, z.dtype());
        assertArrayEquals(new long[6], z.toLongArray());
    }

    // ---- elementwise ----

    @Test void everyUnaryOpOnEverySizeAndLayout() {
        Rng rng = new Rng(4);
        for (UnaryOp op : UnaryOp.values()) {
            for (int n : SIZES) {
                for (Views.Named x : Views.of(rng, 3f, n)) check(REF.unary(op, x.tensor()), CPU.unary(op, x.tensor()), 1e-5f, 1e-6f, op + " n=" + n + " " + x);
            }
            for (Views.Named x : Views.of(rng, 3f, 3, 17, 5)) check(REF.unary(op, x.tensor()), CPU.unary(op, x.tensor()), 1e-5f, 1e-6f, op + " 3x17x5 " + x);
        }
    }

    @Test void unaryOpsOnSpecialValuesAndWideRanges() {
        // special values in the vector body and again in the scalar tail
        float[] special = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f, 1e-30f, -1e-30f, 88f, -88f, 100f, -100f,
                           0.99999f, 1.00001f, -0.99999f, -1.41421f, 1.41422f, 6f, -6f, 20f, -20f};
        float[] values = new float[special.length + 2 * 16 + 5];
        for (int i = 0; i < values.length; i++) values[i] = special[i % special.length];
        // a sweep over [-12, 12] exercises both halves of erf and the tails of GELU
        float[] sweep = new float[2401];
        for (int i = 0; i < sweep.length; i++) sweep[i] = -12f + i * 0.01f;
        for (UnaryOp op : UnaryOp.values()) {
            check(REF.unary(op, Tensor.of(values, values.length)), CPU.unary(op, Tensor.of(values, values.length)), 1e-5f, 1e-6f, op + " special");
            check(REF.unary(op, Tensor.of(sweep, sweep.length)), CPU.unary(op, Tensor.of(sweep, sweep.length)), 1e-5f, 1e-6f, op + " sweep");
        }
    }

    @Test void erfAndGeluAreAccurateToTheirStatedBound() {
        float[] x = new float[4001];
        for (int i = 0; i < x.length; i++) x[i] = -8f + i * 0.004f;
        Tensor t = Tensor.of(x, x.length);
        float[] want = REF.unary(UnaryOp.ERF, t).toFloatArray(), got = CPU.unary(UnaryOp.ERF, t).toFloatArray();
        float worst = 0;
        for (int i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(want[i] - got[i]));
        assertTrue(worst < 2e-7f, "erf max |error| " + worst);
        // the left tail of GELU keeps its relative accuracy (Phi from erfc, not 1 - erf); what is lost is the float
        // rounding of x^2 inside e^(-x^2/2), about x^2 * 3e-8 relative
        check(REF.unary(UnaryOp.GELU, t), CPU.unary(UnaryOp.GELU, t), 1e-5f, 1e-30f, "gelu relative");
    }

    @Test void everyBinaryOpWithBroadcastingInEveryPosition() {
        Rng rng = new Rng(5);
        int[][][] pairs = {
            {{17}, {17}}, {{100}, {100}}, {{1037}, {1037}},
            {{33}, {}}, {{}, {33}}, {{1}, {16}}, {{15}, {1}},              // one operand a single element
            {{4, 33}, {33}}, {{33}, {4, 33}},                              // rows against a broadcast row
            {{5, 17}, {5, 1}}, {{5, 1}, {5, 17}},                          // a column broadcast along rows
            {{2, 3, 4, 5}, {3, 1, 1}}, {{3, 1, 1}, {2, 3, 4, 5}},          // per-channel scalar
            {{1, 3, 1, 16}, {2, 1, 5, 1}},                                 // both broadcast
            {{2, 1, 15}, {3, 1}}, {{7, 1, 1}, {1, 6, 17}},
            {{}, {}}, {{1, 1}, {}},                                        // 0-d and all-ones results
        };
        for (BinaryOp op : BinaryOp.values()) {
            for (int[][] pair : pairs) {
                Shape out = Shape.broadcast(Shape.of(pair[0]), Shape.of(pair[1]));
                List<Views.Named> as = operands(rng, op, pair[0]), bs = operands(rng, op, pair[1]);
                for (Views.Named a : as) {
                    for (Views.Named b : bs) {
                        String what = op + " " + Arrays.toString(pair[0]) + " " + a + " with " + Arrays.toString(pair[1]) + " " + b;
                        check(REF.binary(op, a.tensor(), b.tensor(), out), CPU.binary(op, a.tensor(), b.tensor(), out), 0f, 0f, what);
                    }
                }
            }
        }
    }

    @Test void binaryOnEqualValuesAndSpecials() {
        float[] a = {1, 2, Float.NaN, 0f, -0f, Float.POSITIVE_INFINITY, 3, -1, 2, 2, 5, 5, 1, 0, 7, 8, 9, Float.NaN};
        float[] b = {1, 3, 1, -0f, 0f, Float.POSITIVE_INFINITY, 3, 0.5f, 2, 1, 5, 6, Float.NaN, 0, 7, 9, 8, 2};
        for (BinaryOp op : BinaryOp.values()) {
            Shape s = Shape.of(a.length);
            check(REF.binary(op, Tensor.of(a, a.length), Tensor.of(b, b.length), s), CPU.binary(op, Tensor.of(a, a.length), Tensor.of(b, b.length), s), 0f, 0f, op + " specials");
        }
    }

    // ---- reductions ----

    @Test void reduceEveryAxisSubsetOpAndLayout() {
        Rng rng = new Rng(6);
        for (int[] dims : new int[][] {{1}, {17}, {1037}, {5, 33}, {33, 5}, {3, 4, 17}, {2, 3, 5, 16}, {2, 1, 7, 3}}) {
            for (Views.Named x : Views.of(rng, 1f, dims)) {
                for (int mask = 1; mask < (1 << dims.length); mask++) {
                    int[] axes = axes(mask, dims.length);
                    for (ReduceOp op : ReduceOp.values()) {
                        for (boolean keep : new boolean[] {false, true}) {
                            String what = op + " " + Arrays.toString(dims) + " axes " + Arrays.toString(axes) + " keep=" + keep + " " + x;
                            checkReduce(op, x.tensor(), axes, keep, what);
                        }
                    }
                }
            }
        }
    }

    @Test void reduceLongRowsAndTallColumns() {
        Rng rng = new Rng(7);
        Tensor longRow = Tensor.randn(rng, 1f, 2, 300_007);             // few long rows: split across threads by blocks
        Tensor tall = Tensor.randn(rng, 1f, 1000, 40);                   // columns: more rows than one float block
        Tensor middle = Tensor.randn(rng, 1f, 3, 200, 2100);             // columns wider than one strip
        for (ReduceOp op : ReduceOp.values()) {
            checkReduce(op, longRow, new int[] {1}, false, op + " long rows");
            checkReduce(op, longRow, new int[] {0, 1}, false, op + " everything");
            checkReduce(op, tall, new int[] {0}, true, op + " tall columns");
            checkReduce(op, middle, new int[] {1}, false, op + " middle axis");
            checkReduce(op, middle, new int[] {0, 2}, false, op + " outer axes");
        }
    }

    @Test void zeroDimensionalTensors() {
        Tensor s = Tensor.scalar(-2.5f), t = Tensor.scalar(4f);
        for (UnaryOp op : UnaryOp.values()) check(REF.unary(op, s), CPU.unary(op, s), 1e-5f, 1e-6f, op + " 0-d");
        for (BinaryOp op : BinaryOp.values()) check(REF.binary(op, s, t, Shape.SCALAR), CPU.binary(op, s, t, Shape.SCALAR), 0f, 0f, op + " 0-d");
        for (ReduceOp op : ReduceOp.values()) check(REF.reduce(op, s, new int[0], false), CPU.reduce(op, s, new int[0], false), 0f, 0f, op + " 0-d");
        Tensor a = CPU.zeros(DType.INT32, Shape.SCALAR);
        CPU.copyInto(s, a);
        assertArrayEquals(new int[] {-2}, a.toIntArray());
        Tensor p = Tensor.scalar(1f);
        CPU.axpy(2f, t, p);
        assertEquals(9f, p.item());
    }

    @Test void reduceOverAnEmptyAxis() {
        Tensor empty = Tensor.zeros(3, 0);
        check(REF.reduce(ReduceOp.SUM, empty, new int[] {1}, false), CPU.reduce(ReduceOp.SUM, empty, new int[] {1}, false), 0f, 0f, "empty sum");
        assertThrows(ShapeException.class, () -> CPU.reduce(ReduceOp.MAX, empty, new int[] {1}, false));
        assertThrows(ShapeException.class, () -> REF.reduce(ReduceOp.MAX, empty, new int[] {1}, false));
        assertEquals(Shape.of(0), CPU.reduce(ReduceOp.MAX, empty, new int[] {0}, false).shape());
    }

    @Test void argMaxWithTiesOnEveryAxisAndLayout() {
        Rng rng = new Rng(8);
        for (int[] dims : new int[][] {{1}, {17}, {100}, {5, 33}, {3, 4, 17}, {2, 3, 1, 16}}) {
            for (Views.Named v : Views.of(rng, 1f, dims)) {
                Tensor x = CPU.unary(UnaryOp.SIGN, v.tensor());   // values in {-1, 0, 1}: ties everywhere
                Tensor rounded = v.tensor();
                for (int axis = 0; axis < dims.length; axis++) {
                    for (boolean keep : new boolean[] {false, true}) {
                        for (Tensor t : new Tensor[] {x, rounded}) {
                            Tensor want = REF.argMax(t, axis, keep), got = CPU.argMax(t, axis, keep);
                            assertEquals(DType.INT64, got.dtype());
                            assertEquals(want.shape(), got.shape());
                            assertArrayEquals(want.toLongArray(), got.toLongArray(), "argMax " + Arrays.toString(dims) + " axis " + axis + " " + v);
                        }
                    }
                }
            }
        }
    }

    @Test void softmaxAndLogSoftmaxOnEveryAxisAndLayout() {
        Rng rng = new Rng(9);
        for (int[] dims : new int[][] {{1}, {17}, {2, 1030}, {5, 100}, {3, 17, 33}, {2, 3, 1, 16}, {2, 1100, 3}}) {
            for (float scale : new float[] {1f, 30f}) {
                for (Views.Named x : Views.of(rng, scale, dims)) {
                    for (int axis = 0; axis < dims.length; axis++) {
                        String what = Arrays.toString(dims) + " axis " + axis + " scale " + scale + " " + x;
                        check(REF.softmax(x.tensor(), axis), CPU.softmax(x.tensor(), axis), 1e-5f, 1e-6f, "softmax " + what);
                        check(REF.logSoftmax(x.tensor(), axis), CPU.logSoftmax(x.tensor(), axis), 1e-5f, 1e-5f, "logSoftmax " + what);
                    }
                }
            }
        }
    }

    // ---- pooling ----

    @Test void poolsWithStridePaddingAndCeilMode() {
        Rng rng = new Rng(10);
        int checked = 0;
        for (int[] dims : new int[][] {{2, 3, 7, 9}, {1, 2, 16, 17}, {1, 1, 5, 1}}) {
            for (Views.Named x : Views.of(rng, 1f, dims)) {
                for (int k = 1; k <= 3; k++) {
                    for (int stride = 1; stride <= 3; stride++) {
                        for (int pad = 0; pad <= k / 2; pad++) {
                            for (boolean ceil : new boolean[] {false, true}) {
                                for (boolean includePad : new boolean[] {true, false}) {
                                    Pool2dParams p = new Pool2dParams(k, Math.max(1, k - 1), stride, Math.max(1, stride - 1), pad, Math.min(pad, (k - 1) / 2), ceil, includePad);
                                    Shape out;
                                    try {
                                        out = p.outputShape(x.tensor().shape());
                                    } catch (ShapeException tooSmall) {
                                        continue;
                                    }
                                    checkPools(x.tensor(), p, out, rng, Arrays.toString(dims) + " " + p + " " + x);
                                    checked++;
                                }
                            }
                        }
                    }
                }
            }
        }
        assertTrue(checked > 200, "pool configurations checked: " + checked);
    }

    // ---- indexing ----

    @Test void oneHotMatchesAndNamesABadLabel() {
        Rng rng = new Rng(11);
        int[] ints = new int[3 * 17];
        for (int i = 0; i < ints.length; i++) ints[i] = rng.nextInt(10);
        long[] longs = new long[ints.length];
        for (int i = 0; i < ints.length; i++) longs[i] = ints[i];
        for (Tensor labels : new Tensor[] {Tensor.ofInts(ints, 3, 17), Tensor.ofLongs(longs, 17, 3).permute(1, 0), Tensor.ofInts(ints, 51).slice(0, 1, 51, 3)}) {
            assertExact(REF.oneHot(labels, 10), CPU.oneHot(labels, 10), "oneHot " + labels.shape());
        }
        for (Backend backend : new Backend[] {CPU, REF}) {
            ShapeException e = assertThrows(ShapeException.class, () -> backend.oneHot(Tensor.ofLongs(new long[] {1, 2, -3, 0}, 2, 2), 4));
            assertTrue(e.getMessage().contains("label -3") && e.getMessage().contains("[1, 0]"), backend.name() + ": " + e.getMessage());
            ShapeException high = assertThrows(ShapeException.class, () -> backend.oneHot(Tensor.ofInts(new int[] {0, 4}, 2), 4));
            assertTrue(high.getMessage().contains("label 4") && high.getMessage().contains("[1]"), backend.name() + ": " + high.getMessage());
        }
    }

    // ---- in place ----

    @Test void axpyScaleFillOnViews() {
        Rng rng = new Rng(12);
        for (int n : SIZES) {
            for (Views.Named x : Views.of(rng, 1f, 3, n)) {
                Tensor y0 = Tensor.randn(rng, 1f, 3, n);
                Tensor a = copy(y0), b = copy(y0);
                CPU.axpy(-0.37f, x.tensor(), a);
                REF.axpy(-0.37f, x.tensor(), b);
                check(b, a, 1e-6f, 1e-7f, "axpy n=" + n + " " + x);
                CPU.scale(a, 1.7f);
                REF.scale(b, 1.7f);
                check(b, a, 1e-6f, 1e-7f, "scale n=" + n);
            }
        }
        // a destination that is contiguous but starts at an offset (a row of a matrix)
        Tensor m = Tensor.randn(rng, 1f, 4, 33), row = m.slice(0, 2, 3).squeeze(0);
        CPU.fill(row, 2.5f);
        for (int j = 0; j < 33; j++) assertEquals(2.5f, m.get(2, j));
        assertTrue(m.get(1, 32) != 2.5f && m.get(3, 0) != 2.5f, "fill stays inside the view");
    }

    @Test void sgdStepsWithEveryFlag() {
        Rng rng = new Rng(13);
        for (float momentum : new float[] {0f, 0.9f}) {
            for (float dampening : new float[] {0f, 0.1f}) {
                for (boolean nesterov : new boolean[] {false, true}) {
                    for (float wd : new float[] {0f, 0.01f}) {
                        Tensor p0 = Tensor.randn(rng, 1f, 5, 33);
                        Tensor pa = copy(p0), pb = copy(p0), ba = Tensor.zeros(5, 33), bb = Tensor.zeros(5, 33);
                        for (int step = 1; step <= 5; step++) {
                            Tensor g = Views.permuted(rng, 1f, 5, 33);
                            SgdParams p = new SgdParams(0.05f, momentum, dampening, wd, nesterov, step == 1);
                            CPU.sgdStep(pa, g, momentum == 0 ? null : ba, p);
                            REF.sgdStep(pb, g, momentum == 0 ? null : bb, p);
                            String what = "sgd " + p + " step " + step;
                            check(pb, pa, 1e-5f, 1e-6f, what + " param");
                            check(bb, ba, 1e-5f, 1e-6f, what + " buffer");
                        }
                    }
                }
            }
        }
    }

    @Test void adamStepsWithEveryFlag() {
        Rng rng = new Rng(14);
        for (boolean decoupled : new boolean[] {false, true}) {
            for (float wd : new float[] {0f, 0.1f}) {
                for (int n : new int[] {1, 17, 1037}) {
                    Tensor p0 = Tensor.randn(rng, 1f, n);
                    Tensor pa = copy(p0), pb = copy(p0), ma = Tensor.zeros(n), mb = Tensor.zeros(n), va = Tensor.zeros(n), vb = Tensor.zeros(n);
                    for (int step = 1; step <= 5; step++) {
                        Tensor g = Views.strided(rng, 1f, n);
                        AdamParams p = new AdamParams(1e-3f, 0.9f, 0.999f, 1e-8f, wd, decoupled, step);
                        CPU.adamStep(pa, g, ma, va, p);
                        REF.adamStep(pb, g, mb, vb, p);
                        String what = "adam " + p + " n=" + n;
                        check(pb, pa, 1e-5f, 1e-6f, what + " param");
                        check(mb, ma, 1e-5f, 1e-7f, what + " m");
                        check(vb, va, 1e-5f, 1e-9f, what + " v");
                    }
                }
            }
        }
    }

    // ---- helpers ----

    private static void checkReduce(ReduceOp op, Tensor x, int[] axes, boolean keep, String what) {
        int count = 1;
        for (int a : axes) count *= x.dim(a);
        float abs = op == ReduceOp.SUM ? 1e-6f * (float) Math.sqrt(count) : 0f;
        check(REF.reduce(op, x, axes, keep), CPU.reduce(op, x, axes, keep), op == ReduceOp.SUM ? 1e-5f : 0f, abs, what);
    }

    /** Wide rows (full vectors and a masked tail), ties and NaNs: the winner and its index match the reference's. */
    @Test void maxPoolTiesNansAndWideRows() {
        Rng rng = new Rng(11);
        float[] v = new float[2 * 3 * 9 * 70];
        for (int i = 0; i < v.length; i++) v[i] = rng.nextFloat() < 0.02f ? Float.NaN : (float) Math.floor(rng.nextFloat() * 3);
        Tensor x = Tensor.of(v, 2, 3, 9, 70);
        for (int k = 2; k <= 3; k++) {
            for (int stride = 1; stride <= 3; stride++) {
                Pool2dParams p = new Pool2dParams(k, k, stride, stride, 0, 0, false, true);
                Backend.MaxPoolResult want = REF.maxPool2d(x, p), got = CPU.maxPool2d(x, p);
                assertArrayEquals(want.indices().toIntArray(), got.indices().toIntArray(), "indices, kernel " + k + " stride " + stride);
                check(want.output(), got.output(), 0f, 0f, "values, kernel " + k + " stride " + stride);
                check(want.output(), CPU.maxPool2dValues(x, p), 0f, 0f, "values only, kernel " + k + " stride " + stride);
                Pool2dParams padded = new Pool2dParams(k, k, stride, stride, k / 2, k / 2, false, true);   // resnet's stem pool: 3, 2, 1
                check(REF.maxPool2d(x, padded).output(), CPU.maxPool2dValues(x, padded), 0f, 0f, "values only, padded " + padded);
                Backend.MaxPoolResult wantPadded = REF.maxPool2d(x, padded), gotPadded = CPU.maxPool2d(x, padded);   // edges scalar, the rest gathered
                assertArrayEquals(wantPadded.indices().toIntArray(), gotPadded.indices().toIntArray(), "indices, padded " + padded);
                check(wantPadded.output(), gotPadded.output(), 0f, 0f, "values, padded " + padded);
            }
        }
    }

    /** Windows of -inf alone keep the reference's index (the window's first cell), on the gathered and the scalar path. */
    @Test void maxPoolOverMinusInfinityKeepsTheFirstCell() {
        Rng rng = new Rng(13);
        float[] v = new float[2 * 3 * 12 * 40];
        for (int i = 0; i < v.length; i++) v[i] = rng.nextFloat() < 0.8f ? Float.NEGATIVE_INFINITY : (float) rng.nextGaussian();
        Tensor x = Tensor.of(v, 2, 3, 12, 40);
        for (Pool2dParams p : new Pool2dParams[] {Pool2dParams.of(2), Pool2dParams.of(3, 2, 1), Pool2dParams.of(3, 1, 1), new Pool2dParams(3, 3, 2, 2, 1, 1, true, true)}) {
            Backend.MaxPoolResult want = REF.maxPool2d(x, p), got = CPU.maxPool2d(x, p);
            assertArrayEquals(want.indices().toIntArray(), got.indices().toIntArray(), "indices " + p);
            check(want.output(), got.output(), 0f, 0f, "values " + p);
            check(want.output(), CPU.maxPool2dValues(x, p), 0f, 0f, "values only " + p);
        }
    }

    /**
     * The 3x3 stride-2 pool with padding 1 (resnet's after its stem) with indices runs in two passes, rows then columns,
     * and value-only on even and odd lanes: even and odd widths and heights, rows of exactly a vector of outputs, more
     * and fewer, one cell, NaNs and ties; value-only also without padding and with a 2x3 window at strides (1, 2).
     */
    @Test void stemMaxPoolWithIndicesMatchesTheReference() {
        Rng rng = new Rng(14);
        Pool2dParams p = Pool2dParams.of(3, 2, 1);
        int[][] shapes = {{2, 3, 32, 32}, {1, 4, 31, 33}, {1, 2, 112, 112}, {3, 2, 7, 9}, {1, 1, 1, 1}, {2, 2, 2, 2}, {1, 3, 5, 64}};
        for (int[] dims : shapes) {
            float[] v = new float[dims[0] * dims[1] * dims[2] * dims[3]];
            for (int i = 0; i < v.length; i++) v[i] = rng.nextFloat() < 0.01f ? Float.NaN : (float) rng.nextGaussian();
            float[] ties = v.clone();   // few distinct values: ties across rows and columns
            for (int i = 0; i < ties.length; i++) if (!Float.isNaN(ties[i])) ties[i] = (float) Math.floor(ties[i]);
            for (float[] values : new float[][] {v, ties}) {
                Tensor x = Tensor.of(values, dims);
                Backend.MaxPoolResult want = REF.maxPool2d(x, p), got = CPU.maxPool2d(x, p);
                String what = "stem pool " + Arrays.toString(dims) + (values == ties ? " ties" : "");
                assertArrayEquals(want.indices().toIntArray(), got.indices().toIntArray(), what + " indices");
                check(want.output(), got.output(), 0f, 0f, what);
                // the value-only path for windows three columns wide at column stride 2 (even, odd and next-even lanes)
                check(want.output(), CPU.maxPool2dValues(x, p), 0f, 0f, what + " values only");
                for (Pool2dParams q : new Pool2dParams[] {Pool2dParams.of(3, 2, 0), new Pool2dParams(2, 3, 1, 2, 0, 1, false, true)}) {
                    if (dims[2] + 2 * q.padH() < q.kernelH() || dims[3] + 2 * q.padW() < q.kernelW()) continue;   // no window fits
                    check(REF.maxPool2d(x, q).output(), CPU.maxPool2dValues(x, q), 0f, 0f, what + " values only " + q);
                }
            }
        }
    }

    /**
     * The 2x2 stride-2 pool (value-only and with indices) runs over whole row pairs (a buffer at pitch 2*OW, then even/odd lanes over
     * it flat): odd and even sizes, rows narrower than a vector, many planes (several blocks and parallel chunks),
     * NaNs, a view, and the last pair at the very end of the array.
     */
    @Test void halvingMaxPoolMatchesTheReference() {
        Rng rng = new Rng(12);
        Pool2dParams p = Pool2dParams.of(2);
        int[][] shapes = {{1, 1, 2, 2}, {1, 1, 3, 3}, {2, 3, 9, 70}, {32, 32, 26, 26}, {32, 64, 11, 11}, {3, 5, 2, 33}, {1, 2, 65, 2}, {7, 9, 14, 15}};
        for (int[] dims : shapes) {
            float[] v = new float[dims[0] * dims[1] * dims[2] * dims[3]];
            for (int i = 0; i < v.length; i++) v[i] = rng.nextFloat() < 0.01f ? Float.NaN : (float) rng.nextGaussian();
            Tensor x = Tensor.of(v, dims);
            String what = "halving pool " + Arrays.toString(dims);
            check(REF.maxPool2d(x, p).output(), CPU.maxPool2dValues(x, p), 0f, 0f, what);
            float[] ties = v.clone();   // few distinct values: ties between the rows and between the columns
            for (int i = 0; i < ties.length; i++) if (!Float.isNaN(ties[i])) ties[i] = (float) Math.floor(ties[i]);
            for (Tensor t : new Tensor[] {x, Tensor.of(ties, dims)}) {
                Backend.MaxPoolResult want = REF.maxPool2d(t, p), got = CPU.maxPool2d(t, p);
                assertArrayEquals(want.indices().toIntArray(), got.indices().toIntArray(), what + " indices");
                check(want.output(), got.output(), 0f, 0f, what + " with indices");
            }
            Tensor view = x.permute(1, 0, 2, 3);   // not contiguous: copied first
            check(REF.maxPool2d(view, p).output(), CPU.maxPool2dValues(view, p), 0f, 0f, what + " permuted");
        }
    }

    private static void checkPools(Tensor x, Pool2dParams p, Shape out, Rng rng, String what) {
        Backend.MaxPoolResult want = REF.maxPool2d(x, p), got = CPU.maxPool2d(x, p);
        check(want.output(), got.output(), 0f, 0f, "maxPool " + what);
        assertArrayEquals(want.indices().toIntArray(), got.indices().toIntArray(), "maxPool indices " + what);
        check(want.output(), CPU.maxPool2dValues(x, p), 0f, 0f, "maxPool values only " + what);
        Tensor dy = Views.permuted(rng, 1f, out.dims());
        check(REF.maxPool2dBackward(dy, want.indices(), x.shape()), CPU.maxPool2dBackward(dy, got.indices(), x.shape()), 1e-6f, 1e-6f, "maxPool backward " + what);
        check(REF.avgPool2d(x, p), CPU.avgPool2d(x, p), 1e-5f, 1e-6f, "avgPool " + what);
        check(REF.avgPool2dBackward(dy, x.shape(), p), CPU.avgPool2dBackward(dy, x.shape(), p), 1e-5f, 1e-6f, "avgPool backward " + what);
    }

    /** Operands for a binary op: POW gets positive bases (so most results are numbers), the rest normal values. */
    private static List<Views.Named> operands(Rng rng, BinaryOp op, int[] dims) {
        List<Views.Named> out = new ArrayList<>();
        for (Views.Named v : Views.of(rng, 2f, dims)) {
            Tensor t = v.tensor();
            if (op == BinaryOp.POW) t = REF.unary(UnaryOp.ABS, t);
            if (op == BinaryOp.EQ || op == BinaryOp.LT || op == BinaryOp.GT) t = REF.unary(UnaryOp.SIGN, t);   // many equal pairs
            out.add(new Views.Named(v.name(), t));
        }
        return out;
    }

    /** Source views of one dtype: contiguous, permuted and stepped, holding values the conversions care about. */
    private static List<Tensor> sources(Rng rng, DType dtype, int[] dims) {
        Tensor base = Tensor.randn(rng, 150f, dims);   // floats in about [-500, 500]: truncation, uint8 wrap, sign
        List<Tensor> views = new ArrayList<>();
        for (Views.Named v : Views.of(rng, 150f, dims)) views.add(v.tensor());
        views.add(base);
        List<Tensor> out = new ArrayList<>();
        for (Tensor v : views) {
            Tensor c = REF.zeros(dtype, v.shape());
            REF.copyInto(v, c);
            if (dtype == DType.INT64) {   // values beyond 2^53 must survive int64 copies
                long[] ls = ((CpuStorage) c.storage()).longs();
                for (int i = 0; i < ls.length; i += 3) ls[i] = (1L << 60) + 7 * i + 1;
            }
            out.add(c);
            if (v.rank() >= 2) out.add(c.permute(permutation(v.rank())));
            out.add(c.slice(v.rank() - 1, 1, v.dim(-1), 2));
        }
        return out;
    }

    private static int[] permutation(int rank) {
        int[] p = new int[rank];
        for (int i = 0; i < rank; i++) p[i] = rank - 1 - i;
        return p;
    }

    private static int[] axes(int mask, int rank) {
        int[] a = new int[Integer.bitCount(mask)];
        for (int i = 0, k = 0; i < rank; i++) if ((mask & (1 << i)) != 0) a[k++] = i;
        return a;
    }

    private static Tensor copy(Tensor t) { return Tensor.of(t.toFloatArray().clone(), t.dims()); }

    /** Same shape, same dtype, contiguous output, elements close (see {@link Close}). */
    static void check(Tensor want, Tensor got, float rel, float abs, String what) {
        assertEquals(want.shape(), got.shape(), what + ": shape");
        assertEquals(want.dtype(), got.dtype(), what + ": dtype");
        assertTrue(got.isContiguous(), what + ": output must be contiguous");
        Close.assertClose(want.toFloatArray(), got.toFloatArray(), rel, abs, what);
    }

    /** Element for element equality whatever the dtype (int64 compared as longs). */
    static void assertExact(Tensor want, Tensor got, String what) {
        assertEquals(want.shape(), got.shape(), what + ": shape");
        assertEquals(want.dtype(), got.dtype(), what + ": dtype");
        Tensor w = REF.toHost(want), g = REF.toHost(got);
        CpuStorage ws = (CpuStorage) w.storage(), gs = (CpuStorage) g.storage();
        for (int i = 0; i < want.numel(); i++) {
            if (want.dtype() == DType.INT64) assertEquals(ws.longs()[w.offset() + i], gs.longs()[g.offset() + i], what + " at " + i);
            else assertEquals(ws.getDouble(w.offset() + i), gs.getDouble(g.offset() + i), what + " at " + i);
        }
    }
}
