package dev.ember.kernels.cpu;

import static dev.ember.kernels.cpu.MatmulConvAssert.abs;
import static dev.ember.kernels.cpu.MatmulConvAssert.assertBitIdentical;
import static dev.ember.kernels.cpu.MatmulConvAssert.randn;
import static dev.ember.kernels.cpu.Winograd3x3Test.constant;
import static dev.ember.kernels.cpu.Winograd3x3Test.geometry;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.ember.engine.Conv2dParams;
import dev.ember.engine.Rng;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import dev.ember.kernels.reference.ReferenceLinalg;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The Winograd F(4x4, 3x3) path of CpuConv2d (3x3 stride-1 convolutions with a constant weight and tiles enough)
 * against the direct reference: output sizes that are and are not multiples of 4 (edge tiles one to three quarters
 * outside), padding 0/1/2 and unequal, tile rows split into column phases and narrow ones gathered, one chunk and
 * several run in parallel, tile counts that are and are not
 * multiples of a vector (the transforms' scalar tails), bias and ReLU. Tolerance 2e-5 of the sum of |terms| plus
 * 1e-6: twice im2col + GEMM's, since the transforms' points +-2 scale terms by up to 8 before they cancel.
 */
class Winograd3x3F4Test {
    /** n, c, h, w, oc, padH, padW */
    private static final int[][] CASES = {
        {1, 64, 56, 56, 64, 1, 1},     // resnet18's first stage at 224x224: 196 tiles, one chunk per thread (2 or 4) or one; 14-tile rows split
        {1, 128, 28, 28, 128, 1, 1},   // its second stage: one chunk of 49 tiles (3 vectors and a tail of 1)
        {32, 32, 13, 13, 64, 0, 0},    // small_cnn's conv2 at batch 32: 11 x 11 outputs, the last tile 3/4 outside (gathered: 3-tile rows; a chunk per thread)
        {8, 64, 10, 10, 64, 1, 1},     // 10 x 10: gathered, the last tile half outside
        {8, 64, 24, 24, 64, 1, 1},     // 288 tiles in one chunk
        {12, 48, 30, 30, 48, 1, 1},    // V and M past 8 MB: six chunks run in parallel
        {2, 64, 22, 21, 96, 1, 1},     // 22 x 21: the last tile row half outside, the last column 3/4
        {2, 64, 26, 26, 64, 2, 2},     // padding 2: 28 x 28 outputs
        {3, 80, 18, 17, 64, 0, 1},     // unequal padding, 16 x 17
        {4, 48, 16, 16, 40, 1, 1},     // channel counts that are not multiples of a packed strip
        {1, 32, 70, 77, 32, 1, 1},     // tile rows of 20 tiles (past NARROW_TILES): split into column phases, not gathered
        {2, 64, 38, 37, 64, 1, 1},     // split rows of 10 tiles, one vector each: the last tile row half outside, the last column 3/4
    };

    private static Conv2dParams params(int[] c) { return new Conv2dParams(1, 1, c[5], c[6], 1, 1, 1); }

    /** F(4x4, 3x3) run directly on a freshly transformed weight. */
    private static Tensor direct(Tensor x, Tensor w, Tensor bias, boolean relu, Conv2dParams p) {
        Im2col g = geometry(x, w, p);
        Shape ys = p.outputShape(x.shape(), w.shape());
        float[] y = new float[ys.numel()];
        Winograd3x3F4.plan(g, p).forward(x.toFloatArray(), 0, Winograd3x3F4.transform(w.toFloatArray(), 0, g.oc, g.c),
                bias == null ? null : bias.toFloatArray(), relu, y);
        return Tensor.of(y, ys.dims());
    }

    /** |actual - expected| <= 2e-5 * bound + 1e-6 everywhere; returns the largest error relative to the bound. */
    private static double assertNear(Tensor expected, Tensor bound, Tensor actual, String what) {
        float[] e = expected.toFloatArray(), b = bound.toFloatArray(), a = actual.toFloatArray();
        if (e.length != a.length) fail(what + ": " + a.length + " elements, expected " + e.length);
        double worst = 0;
        for (int i = 0; i < e.length; i++) {
            double err = Math.abs(a[i] - e[i]);
            if (!(err <= 2e-5 * b[i] + 1e-6)) fail(what + ": element " + i + " = " + a[i] + ", expected " + e[i] + " (bound " + b[i] + ")");
            worst = Math.max(worst, err / b[i]);
        }
        return worst;
    }

    @Test void matchesTheDirectReference() {
        Rng rng = new Rng(61);
        for (int[] c : CASES) {
            Conv2dParams p = params(c);
            Tensor x = randn(rng, c[0], c[1], c[2], c[3]), w = randn(rng, c[4], c[1], 3, 3);
            String what = Arrays.toString(c);
            assertNotNull(Winograd3x3F4.plan(geometry(x, w, p), p), what + " should take F(4x4, 3x3)");
            Tensor cw = constant(w);
            Tensor y = CpuConv2d.forward(x, cw, p);
            assertNear(ReferenceLinalg.conv2d(x, w, p), ReferenceLinalg.conv2d(abs(x), abs(w), p), y, what + " first run");
            assertBitIdentical(y, CpuConv2d.forward(x, cw, p), what + " second run (weight transformed ahead)");
            assertBitIdentical(direct(x, w, null, false, p), y, what + " CpuConv2d runs it");
        }
    }

    /**
     * A batch whose V and M fit 8 MB runs as one chunk, or one chunk per thread where each then fits 2.5 MB with 32
     * tiles or more; a larger one in chunks of at most 2 MB, as many for every thread.
     */
    @Test void chunksBySize() {
        Conv2dParams same = Conv2dParams.of(1, 1);
        // resnet18's 64-channel layer at 1x56x56: 14 tile rows of 14 tiles, 36 * 128 * 14 floats each
        int rows = 14, perRow = 36 * 128 * 14;
        assertEquals(new Winograd3x3F4.Chunking(1, false), Winograd3x3F4.Chunking.of(rows, perRow, 14, 1));
        assertEquals(new Winograd3x3F4.Chunking(2, true), Winograd3x3F4.Chunking.of(rows, perRow, 14, 2));
        assertEquals(new Winograd3x3F4.Chunking(4, true), Winograd3x3F4.Chunking.of(rows, perRow, 14, 4));
        assertEquals(new Winograd3x3F4.Chunking(1, false), Winograd3x3F4.Chunking.of(rows, perRow, 14, 8), "7 tile rows of 8 chunks hold 14 tiles");
        // small_cnn's conv2 at batch 32 (11x11 outputs: 96 tile rows of 3)
        assertEquals(new Winograd3x3F4.Chunking(2, true), Winograd3x3F4.Chunking.of(96, 36 * 96 * 3, 3, 2));
        // 8x64x24x24: one chunk of 1.3 M floats, halves too large for a core
        assertEquals(new Winograd3x3F4.Chunking(1, false), Winograd3x3F4.Chunking.of(48, 36 * 128 * 6, 6, 2));
        assertEquals(new Winograd3x3F4.Chunking(4, true), Winograd3x3F4.Chunking.of(48, 36 * 128 * 6, 6, 4));
        // past 8 MB: chunks of at most 2 MB, as many for every thread
        assertEquals(new Winograd3x3F4.Chunking(6, false), Winograd3x3F4.Chunking.of(12 * 8, 36 * 96 * 8, 8, 2));
        assertEquals(new Winograd3x3F4.Chunking(5, false), Winograd3x3F4.Chunking.of(128, 36 * 128 * 4, 4, 1));
        assertEquals(new Winograd3x3F4.Chunking(6, false), Winograd3x3F4.Chunking.of(128, 36 * 128 * 4, 4, 2));
        assertEquals(new Winograd3x3F4.Chunking(8, false), Winograd3x3F4.Chunking.of(128, 36 * 128 * 4, 4, 4));
        // 32x128x8x8: one chunk of 1.2 M floats, a chunk per thread of 2.4 MB
        assertEquals(new Winograd3x3F4.Chunking(2, true), Winograd3x3F4.Chunking.of(64, 36 * 256 * 2, 2, 2));
        // the plan cuts by the machine's thread count
        Winograd3x3F4 layer = Winograd3x3F4.plan(geometry(Tensor.zeros(1, 64, 56, 56), Tensor.zeros(64, 64, 3, 3), same), same);
        assertEquals(Winograd3x3F4.Chunking.of(rows, perRow, 14, Parallel.THREADS).chunks(), layer.chunks());
        assertEquals(Winograd3x3F4.Chunking.of(12 * 8, 36 * 96 * 8, 8, Parallel.THREADS).chunks(),
                Winograd3x3F4.plan(geometry(Tensor.zeros(12, 48, 30, 30), Tensor.zeros(48, 48, 3, 3), same), same).chunks());
    }

    /** Every output is made from its own tile's GEMM elements: the same bits whatever the batch around the image. */
    @Test void anImagesOutputDoesNotDependOnItsBatch() {
        Rng rng = new Rng(62);
        int checked = 0;
        for (int[] c : CASES) {
            if (c[0] == 1) continue;
            Conv2dParams p = params(c);
            Tensor x = randn(rng, c[0], c[1], c[2], c[3]), w = randn(rng, c[4], c[1], 3, 3);
            Tensor all = direct(x, w, null, false, p);
            int last = c[0] - 1;
            Tensor one = x.slice(0, last, c[0]).contiguous();
            if (Winograd3x3F4.plan(geometry(one, w, p), p) == null) continue;   // one image alone may be too small for it
            assertBitIdentical(all.slice(0, last, c[0]), direct(one, w, null, false, p), Arrays.toString(c) + " last image alone");
            checked++;
        }
        assertTrue(checked >= 3, "cases checked: " + checked);
    }

    /** The epilogue adds the bias and clamps after the output transform, in the arithmetic of separate passes. */
    @Test void biasAndReluEqualSeparatePasses() {
        Rng rng = new Rng(63);
        for (int[] c : CASES) {
            Conv2dParams p = params(c);
            Tensor x = randn(rng, c[0], c[1], c[2], c[3]), w = constant(randn(rng, c[4], c[1], 3, 3));
            float[] b = randn(rng, c[4]).toFloatArray();
            float[] plain = CpuConv2d.forward(x, w, p).toFloatArray();
            int spatial = plain.length / (c[0] * c[4]);
            float[] expected = new float[plain.length];
            for (int i = 0; i < plain.length; i++) expected[i] = Math.max(plain[i] + b[i / spatial % c[4]], 0f);
            Tensor fused = CpuConv2d.forward(x, w, Tensor.of(b, c[4]), true, p);
            assertBitIdentical(Tensor.of(expected, fused.dims()), fused, Arrays.toString(c) + " bias+relu");
        }
    }

    /** What it leaves to F(2x2, 3x3) or im2col + GEMM: other kernels and strides, few channels, few tiles per product. */
    @Test void takesOnlyLayersWithTilesEnough() {
        Conv2dParams same = Conv2dParams.of(1, 1);
        Tensor w64 = Tensor.zeros(64, 64, 3, 3);
        assertNotNull(Winograd3x3F4.plan(geometry(Tensor.zeros(1, 64, 56, 56), w64, same), same));
        assertNotNull(Winograd3x3F4.plan(geometry(Tensor.zeros(1, 64, 24, 24), w64, same), same));   // 36 tiles
        assertNull(Winograd3x3F4.plan(geometry(Tensor.zeros(1, 64, 14, 14), w64, same), same));      // 16 tiles (resnet18's 14x14 at batch 1)
        assertNull(Winograd3x3F4.plan(geometry(Tensor.zeros(1, 64, 3, 3), w64, same), same));        // outputs narrower than a tile
        assertNull(Winograd3x3F4.plan(geometry(Tensor.zeros(1, 64, 56, 56), w64, Conv2dParams.of(2, 1)), Conv2dParams.of(2, 1)));
        assertNull(Winograd3x3F4.plan(geometry(Tensor.zeros(1, 64, 56, 56), Tensor.zeros(64, 64, 5, 5), Conv2dParams.of(1, 2)), Conv2dParams.of(1, 2)));
        assertNull(Winograd3x3F4.plan(geometry(Tensor.zeros(1, 16, 56, 56), Tensor.zeros(64, 16, 3, 3), same), same));   // 16 channels in
        Conv2dParams dilated = new Conv2dParams(1, 1, 2, 2, 2, 2, 1), grouped = new Conv2dParams(1, 1, 1, 1, 1, 1, 2);
        assertNull(Winograd3x3F4.plan(geometry(Tensor.zeros(1, 64, 56, 56), w64, dilated), dilated));
        assertNull(Winograd3x3F4.plan(geometry(Tensor.zeros(1, 64, 56, 56), Tensor.zeros(64, 32, 3, 3), grouped), grouped));
    }

    /**
     * A NaN or an infinity in x reaches the outputs the direct convolution gives it to, no more: the transforms' zeros
     * come from cancellation, so such a call is recomputed as im2col + GEMM (the same layer with finite inputs keeps
     * F(4x4): its bits are the direct run's).
     */
    @Test void aNanOrAnInfinityReachesTheReferencesOutputsOnly() {
        Rng rng = new Rng(65);
        Conv2dParams same = Conv2dParams.of(1, 1);
        Tensor w = randn(rng, 64, 64, 3, 3), cw = constant(w);
        for (float special : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            float[] xv = randn(rng, 1, 64, 24, 24).toFloatArray();
            xv[5 * 576 + 7 * 24 + 9] = special;   // channel 5, row 7, column 9: inside a tile, not on its edge
            Tensor x = Tensor.of(xv, 1, 64, 24, 24);
            float[] got = CpuConv2d.forward(x, cw, same).toFloatArray(), want = ReferenceLinalg.conv2d(x, w, same).toFloatArray();
            int special0 = 0;
            for (int i = 0; i < got.length; i++) {
                if (!Float.isFinite(want[i])) special0++;
                if (Float.isNaN(want[i]) != Float.isNaN(got[i]) || (Float.isInfinite(want[i]) && want[i] != got[i])) {
                    fail(special + " in x: output " + i + " = " + got[i] + ", the reference's " + want[i]);
                }
            }
            assertTrue(special0 > 0 && special0 < got.length / 10, special + " should reach some outputs only: " + special0);
        }
        Tensor finite = randn(rng, 1, 64, 24, 24);
        assertBitIdentical(direct(finite, w, null, false, same), CpuConv2d.forward(finite, cw, same), "finite inputs keep F(4x4)");
    }

    /** A changing weight (training) never takes it: the planes would be made on every call, and the bits would change. */
    @Test void aChangingWeightKeepsItsPath() {
        Rng rng = new Rng(64);
        Conv2dParams same = Conv2dParams.of(1, 1);
        Tensor x = randn(rng, 1, 64, 24, 24), w = randn(rng, 64, 64, 3, 3);
        float[] changing = CpuConv2d.forward(x, w, same).toFloatArray(), f4 = direct(x, w, null, false, same).toFloatArray();
        int differ = 0;
        for (int i = 0; i < f4.length; i++) if (changing[i] != f4[i]) differ++;
        assertTrue(differ > 0, "a changing weight should not take F(4x4, 3x3)");
    }
}
