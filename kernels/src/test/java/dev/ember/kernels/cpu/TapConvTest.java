package dev.ember.kernels.cpu;

import static dev.ember.kernels.cpu.MatmulConvAssert.abs;
import static dev.ember.kernels.cpu.MatmulConvAssert.assertBitIdentical;
import static dev.ember.kernels.cpu.MatmulConvAssert.assertNear;
import static dev.ember.kernels.cpu.MatmulConvAssert.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.engine.Conv2dParams;
import dev.ember.engine.Rng;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import dev.ember.kernels.reference.ReferenceLinalg;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * {@link TapConv} (small maps, one product per kernel tap over the pairs inside the input) against the direct
 * reference in all three directions: resnet18's 2x2 and 4x4 layers, odd and non-square maps, unequal padding,
 * kernels larger than the map (taps that meet no input at all), dilation, several chunks, and through CpuConv2d
 * with a changing weight. Tolerance 1e-5 of the sum of |terms|, as for im2col + GEMM.
 */
class TapConvTest {
    /** n, c, h, w, k, kh, kw, padH, padW, dilation */
    private static final int[][] CASES = {
        {16, 64, 2, 2, 96, 3, 3, 1, 1, 1},    // resnet18's last stage at 64x64 (16 of 36 products used)
        {5, 48, 4, 4, 40, 3, 3, 1, 1, 1},     // its 4x4 stage (25 of 36), channels not a multiple of the blocks
        {3, 33, 3, 5, 70, 3, 3, 1, 1, 1},     // odd, non-square map
        {4, 32, 2, 3, 32, 3, 3, 1, 0, 1},     // unequal padding
        {2, 24, 2, 2, 36, 5, 5, 2, 2, 1},     // 5x5 on 2x2: the outer taps never meet the input
        {3, 16, 3, 3, 20, 3, 3, 2, 2, 2},     // dilation 2
        {2, 40, 1, 2, 24, 1, 3, 0, 1, 1},     // a 1x3 kernel on a single row of 2
    };

    private static Conv2dParams params(int[] c) { return new Conv2dParams(1, 1, c[7], c[8], c[9], c[9], 1); }

    private static Im2col geometry(Shape xs, Shape ws, Conv2dParams p) { return new Im2col(xs, ws, p.outputShape(xs, ws), p); }

    /** The three directions run by {@code plan} on x, w and dy, each checked against the reference. */
    private static void check(TapConv plan, Tensor x, Tensor w, Tensor dy, Conv2dParams p, String what) {
        float[] y = new float[dy.shape().numel()], dx = new float[x.shape().numel()], dw = new float[w.shape().numel()];
        Arrays.fill(y, Float.NaN);    // every element must be written
        Arrays.fill(dx, Float.NaN);
        Arrays.fill(dw, Float.NaN);
        plan.forward(x.toFloatArray(), 0, w.toFloatArray(), 0, null, false, y);
        plan.backwardInput(dy.toFloatArray(), 0, w.toFloatArray(), 0, dx);
        plan.backwardWeight(x.toFloatArray(), 0, dy.toFloatArray(), 0, dw);
        assertNear(ReferenceLinalg.conv2d(x, w, p), ReferenceLinalg.conv2d(abs(x), abs(w), p), Tensor.of(y, dy.dims()), what + " forward");
        assertNear(ReferenceLinalg.conv2dBackwardInput(dy, w, x.shape(), p), ReferenceLinalg.conv2dBackwardInput(abs(dy), abs(w), x.shape(), p),
                Tensor.of(dx, x.dims()), what + " backwardInput");
        assertNear(ReferenceLinalg.conv2dBackwardWeight(dy, x, w.shape(), p), ReferenceLinalg.conv2dBackwardWeight(abs(dy), abs(x), w.shape(), p),
                Tensor.of(dw, w.dims()), what + " backwardWeight");
    }

    @Test void matchesTheDirectReference() {
        Rng rng = new Rng(71);
        for (int[] c : CASES) {
            Conv2dParams p = params(c);
            Tensor x = randn(rng, c[0], c[1], c[2], c[3]), w = randn(rng, c[4], c[1], c[5], c[6]);
            Tensor dy = randn(rng, p.outputShape(x.shape(), w.shape()).dims());
            TapConv plan = TapConv.plan(geometry(x.shape(), w.shape(), p), p, true);
            assertNotNull(plan, Arrays.toString(c) + " should take TapConv");
            check(plan, x, w, dy, p, Arrays.toString(c));
        }
    }

    /** Chunks of a few images: forward and backwardInput per chunk, backwardWeight adding the chunks in order. */
    @Test void severalChunksGiveTheSameResults() {
        Rng rng = new Rng(72);
        int[] c = {7, 32, 2, 2, 48, 3, 3, 1, 1, 1};
        Conv2dParams p = params(c);
        Tensor x = randn(rng, c[0], c[1], c[2], c[3]), w = randn(rng, c[4], c[1], 3, 3);
        Tensor dy = randn(rng, p.outputShape(x.shape(), w.shape()).dims());
        TapConv chunked = new TapConv(geometry(x.shape(), w.shape(), p), p, 2L * 48 * 16);   // two images a chunk
        assertEquals(2, chunked.perChunk);
        check(chunked, x, w, dy, p, "chunks of 2 images");
    }

    /** Stride 2 (taken forward and backwardInput; its weight gradient stays on im2col, measured) against the reference. */
    @Test void aStride2PlanMatchesTheReference() {
        Rng rng = new Rng(75);
        Conv2dParams p = new Conv2dParams(2, 2, 1, 1, 1, 1, 1);
        Tensor x = randn(rng, 3, 24, 4, 5), w = randn(rng, 40, 24, 3, 3);
        Tensor dy = randn(rng, p.outputShape(x.shape(), w.shape()).dims());
        check(new TapConv(geometry(x.shape(), w.shape(), p), p, 1L << 21), x, w, dy, p, "stride 2");
    }

    /** CpuConv2d takes it for a changing weight, with bias and ReLU after the taps, and leaves it alone for a constant one. */
    @Test void cpuConv2dTakesItForAChangingWeight() {
        Rng rng = new Rng(73);
        int[] c = CASES[0];
        Conv2dParams p = params(c);
        Tensor x = randn(rng, c[0], c[1], c[2], c[3]), w = randn(rng, c[4], c[1], 3, 3), b = randn(rng, c[4]);
        Tensor dy = randn(rng, p.outputShape(x.shape(), w.shape()).dims());
        Tensor y = CpuConv2d.forward(x, w, b, true, p);
        float[] plain = ReferenceLinalg.conv2d(x, w, p).toFloatArray(), bound = ReferenceLinalg.conv2d(abs(x), abs(w), p).toFloatArray();
        float[] bias = b.toFloatArray(), expected = new float[plain.length];
        int spatial = plain.length / (c[0] * c[4]);
        for (int i = 0; i < plain.length; i++) expected[i] = Math.max(plain[i] + bias[i / spatial % c[4]], 0f);
        assertNear(Tensor.of(expected, y.dims()), Tensor.of(bound, y.dims()), y, "forward + bias + relu");
        assertBitIdentical(y, CpuConv2d.forward(x, w, b, true, p), "forward, second run");
        Tensor dx = CpuConv2d.backwardInput(dy, w, x.shape(), p), dw = CpuConv2d.backwardWeight(dy, x, w.shape(), p);
        assertNear(ReferenceLinalg.conv2dBackwardInput(dy, w, x.shape(), p), ReferenceLinalg.conv2dBackwardInput(abs(dy), abs(w), x.shape(), p), dx, "backwardInput");
        assertNear(ReferenceLinalg.conv2dBackwardWeight(dy, x, w.shape(), p), ReferenceLinalg.conv2dBackwardWeight(abs(dy), abs(x), w.shape(), p), dw, "backwardWeight");
        assertBitIdentical(dw, CpuConv2d.backwardWeight(dy, x, w.shape(), p), "backwardWeight, second run");
    }

    /** A padding zero is never multiplied: an infinity at the map's edge does not turn the padding's products into NaN. */
    @Test void anInfinityNextToThePaddingStaysAnInfinity() {
        Rng rng = new Rng(74);
        int[] c = CASES[0];
        Conv2dParams p = params(c);
        Tensor x = abs(randn(rng, c[0], c[1], c[2], c[3])), w = abs(randn(rng, c[4], c[1], 3, 3));
        float[] xs = x.toFloatArray();
        xs[0] = Float.POSITIVE_INFINITY;   // image 0, channel 0, position (0, 0)
        Tensor xi = Tensor.of(xs, x.dims());
        Tensor y = CpuConv2d.forward(xi, w, null, false, p), expected = ReferenceLinalg.conv2d(xi, w, p);
        float[] got = y.toFloatArray(), want = expected.toFloatArray();
        for (int i = 0; i < got.length; i++) {
            assertEquals(Float.isNaN(want[i]), Float.isNaN(got[i]), "NaN at " + i);
            assertEquals(Float.isInfinite(want[i]), Float.isInfinite(got[i]), "infinity at " + i);
        }
        assertTrue(Float.isInfinite(got[0]), "output (0, 0) of image 0 sees the infinity");
    }

    /** What it leaves to im2col + GEMM (or Winograd): large maps, strided weight gradients, groups, 1x1 unpadded layers. */
    @Test void takesOnlySmallPaddedMaps() {
        Conv2dParams same = new Conv2dParams(1, 1, 1, 1, 1, 1, 1);
        assertNull(plan(16, 64, 8, 8, 64, 3, same), "8x8: 22 of 24 rows and columns used");
        assertNull(plan(16, 64, 4, 4, 64, 3, new Conv2dParams(2, 2, 1, 1, 1, 1, 1)), "stride 2, weight gradient");
        Conv2dParams s2 = new Conv2dParams(2, 2, 1, 1, 1, 1, 1);
        assertNotNull(TapConv.plan(geometry(Shape.of(16, 64, 4, 4), Shape.of(64, 64, 3, 3), s2), s2, false), "stride 2, forward and backwardInput");
        assertNull(plan(16, 64, 2, 2, 64, 3, new Conv2dParams(1, 1, 1, 1, 1, 1, 2)), "two groups");
        assertNull(plan(16, 64, 2, 2, 64, 1, new Conv2dParams(1, 1, 0, 0, 1, 1, 1)), "1x1, no padding");
        assertNotNull(plan(16, 64, 4, 4, 64, 3, same), "4x4");
        assertNotNull(plan(16, 64, 3, 3, 64, 3, same), "3x3");
        assertNotNull(plan(2, 4, 4, 4, 4, 3, same), "4x4 at 4 channels (autograd's FunctionalTest checks conv2d's gradients here)");
        assertNull(plan(2, 4, 5, 5, 4, 3, same), "5x5: 169 of 225 used, just over 3/4");
    }

    private static TapConv plan(int n, int c, int h, int w, int k, int ks, Conv2dParams p) {
        Shape xs = Shape.of(n, c, h, w), ws = Shape.of(k, c / p.groups(), ks, ks);
        return TapConv.plan(geometry(xs, ws, p), p, true);
    }
}
