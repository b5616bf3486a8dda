package dev.ember.kernels;

import dev.ember.engine.Backend;
import dev.ember.engine.Pool2dParams;
import dev.ember.engine.ReduceOp;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.engine.UnaryOp;
import dev.ember.kernels.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The CPU backend gives bit-identical results run to run: parallel work is cut at boundaries that depend only on
 * the sizes, and partial sums are combined in a fixed order. Compared as raw bits, not with a tolerance.
 */
class CpuDeterminismTest {
    private static final Backend CPU = new CpuBackend();

    @Test void largeReductionsRepeatBitForBit() {
        Tensor x = Tensor.randn(new Rng(21), 1f, 24, 131_071);   // 3.1M elements
        for (int[] axes : new int[][] {{0, 1}, {1}, {0}}) {
            for (ReduceOp op : ReduceOp.values()) {
                float[] first = CPU.reduce(op, x, axes, false).toFloatArray();
                float[] second = CPU.reduce(op, x, axes, false).toFloatArray();
                assertBits(first, second, op + " over " + Arrays.toString(axes));
            }
        }
    }

    @Test void aRowSumDoesNotDependOnHowTheRowIsSplit() {
        // 64 rows are summed one row per task; a single row is split across threads by blocks: same bits either way
        Tensor x = Tensor.randn(new Rng(22), 1f, 64, 100_003);
        float[] perRow = CPU.reduce(ReduceOp.SUM, x, new int[] {1}, false).toFloatArray();
        for (int r : new int[] {0, 17, 63}) {
            Tensor row = x.slice(0, r, r + 1);
            float alone = CPU.reduce(ReduceOp.SUM, row, new int[] {0, 1}, false).item();
            assertEquals(Float.floatToRawIntBits(perRow[r]), Float.floatToRawIntBits(alone), "row " + r + ": " + perRow[r] + " vs " + alone);
        }
    }

    @Test void softmaxRepeatsBitForBit() {
        Tensor x = Tensor.randn(new Rng(23), 4f, 96, 10_007);
        for (int axis = 0; axis < 2; axis++) {
            assertBits(CPU.softmax(x, axis).toFloatArray(), CPU.softmax(x, axis).toFloatArray(), "softmax axis " + axis);
            assertBits(CPU.logSoftmax(x, axis).toFloatArray(), CPU.logSoftmax(x, axis).toFloatArray(), "logSoftmax axis " + axis);
        }
    }

    @Test void overlappingPoolBackwardRepeatsBitForBit() {
        Rng rng = new Rng(24);
        Tensor x = Tensor.randn(rng, 1f, 8, 16, 33, 33);
        Pool2dParams p = Pool2dParams.of(3, 1, 1);   // every cell in up to nine windows
        Backend.MaxPoolResult r = CPU.maxPool2d(x, p);
        Tensor dy = Tensor.randn(rng, 1f, r.output().dims());
        assertBits(CPU.maxPool2dBackward(dy, r.indices(), x.shape()).toFloatArray(), CPU.maxPool2dBackward(dy, r.indices(), x.shape()).toFloatArray(), "maxPool backward");
        assertBits(CPU.avgPool2dBackward(dy, x.shape(), p).toFloatArray(), CPU.avgPool2dBackward(dy, x.shape(), p).toFloatArray(), "avgPool backward");
    }

    @Test void vectorBodyAndScalarTailAgreeBitForBit() {
        // 39 copies of one value: the first lanes go through the vector loop, the last few through the scalar twin
        float[] values = {-20f, -7.3f, -1.5f, -0.7071f, -1e-3f, 0f, 2e-4f, 0.3f, 0.9999f, 1.0001f, 2.5f, 9f, 87f, 89f};
        for (UnaryOp op : UnaryOp.values()) {
            for (float v : values) {
                float[] x = new float[39];
                Arrays.fill(x, v);
                float[] y = CPU.unary(op, Tensor.of(x, x.length)).toFloatArray();
                for (int i = 0; i < y.length; i++) {
                    assertEquals(Float.floatToRawIntBits(y[y.length - 1]), Float.floatToRawIntBits(y[i]), op + "(" + v + ") at " + i + ": " + y[i] + " vs tail " + y[y.length - 1]);
                }
            }
        }
    }

    private static void assertBits(float[] a, float[] b, String what) {
        int[] ab = new int[a.length], bb = new int[b.length];
        for (int i = 0; i < a.length; i++) ab[i] = Float.floatToRawIntBits(a[i]);
        for (int i = 0; i < b.length; i++) bb[i] = Float.floatToRawIntBits(b[i]);
        assertArrayEquals(ab, bb, what);
    }
}
