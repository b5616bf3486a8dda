package dev.ember.kernels.cpu;

import static dev.ember.kernels.cpu.MatmulConvAssert.abs;
import static dev.ember.kernels.cpu.MatmulConvAssert.assertBitIdentical;
import static dev.ember.kernels.cpu.MatmulConvAssert.assertNear;
import static dev.ember.kernels.cpu.MatmulConvAssert.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.engine.Conv2dParams;
import dev.ember.engine.Shape;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.kernels.reference.ReferenceLinalg;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The Winograd F(2x2, 3x3) path of CpuConv2d (3x3 stride-1 convolutions with a constant weight) against the direct
 * reference: odd and even output sizes (half-empty edge tiles), padding 0/1/2 and unequal, tile rows narrower and
 * wider than a vector (and of at most {@link Winograd3x3#NARROW_TILES} tiles, which gather their inputs), batch 1 and several, one chunk and many chunks run in parallel, bias and ReLU. Tolerance 1e-5 of the sum of |terms| plus 1e-6, as for
 * im2col + GEMM: the transforms add at most 4 terms before the product and 4 after.
 */
class Winograd3x3Test {
    /** n, c, h, w, oc, padH, padW */
    private static final int[][] CASES = {
        {2, 64, 12, 12, 64, 1, 1},     // even outputs, padded
        {2, 64, 11, 9, 96, 1, 1},      // odd outputs (11 x 9): the last tile row and column are half outside
        {2, 64, 13, 12, 64, 0, 0},     // unpadded, 11 x 10
        {32, 32, 13, 13, 64, 0, 0},    // small_cnn's conv2 at batch 32: rows of 6 tiles
        {2, 64, 8, 8, 64, 2, 2},       // padding 2: the border tiles see zeros only on some rows
        {2, 80, 10, 12, 64, 0, 1},     // unequal padding
        {1, 64, 14, 14, 64, 1, 1},     // one image, one chunk (forward: one per thread, 21-28 tiles each)
        {5, 256, 4, 4, 256, 1, 1},     // two tile rows per image, deep
        {1, 64, 40, 40, 64, 1, 1},     // rows of 20 tiles: a whole vector and a part
        {1, 64, 17, 17, 64, 1, 1},     // 17-wide output rows: one float past the first vector
        {8, 64, 24, 24, 64, 1, 1},     // five chunks, run in parallel
        {2, 64, 56, 56, 64, 1, 1},     // resnet18's layer1 at 224x224: one image alone in 8 chunks of 84 tiles, claimed by the threads
        // tile rows of at most NARROW_TILES tiles: the gathering input transform
        {32, 64, 2, 2, 64, 1, 1},      // one tile per image (resnet18's last stage at 64x64)
        {4, 64, 7, 7, 96, 1, 1},       // 7 x 7: the last tile row and column half outside
        {3, 64, 9, 6, 64, 2, 0},       // unequal padding, 11 x 4
        {6, 72, 5, 3, 64, 0, 1},       // 3 x 3 outputs: 2 tiles a row, the second half outside
    };

    private static Conv2dParams params(int[] c) { return new Conv2dParams(1, 1, c[5], c[6], 1, 1, 1); }

    /** A copy of w marked constant, as an inference session's initializer. */
    static Tensor constant(Tensor w) {
        Tensor copy = Tensor.of(w.toFloatArray(), w.dims());
        copy.storage().markConstant();
        return copy;
    }

    static Im2col geometry(Tensor x, Tensor w, Conv2dParams p) {
        return new Im2col(x.shape(), w.shape(), p.outputShape(x.shape(), w.shape()), p);
    }

    /**
     * F(2x2, 3x3) with a constant weight: CpuConv2d's own call (its planes made once and kept) where it runs the layer,
     * or, where {@link Winograd3x3F4} takes the layer there, this class run directly on a freshly transformed weight.
     */
    static Tensor f2(Tensor x, Tensor w, Tensor bias, boolean relu, Conv2dParams p) {
        Im2col g = geometry(x, w, p);
        if (Winograd3x3F4.plan(g, p) == null) return CpuConv2d.forward(x, w, bias, relu, p);
        dev.ember.engine.Shape ys = p.outputShape(x.shape(), w.shape());
        float[] y = new float[ys.numel()];
        Winograd3x3.plan(g, p).forward(x.toFloatArray(), 0, Winograd3x3.transform(w.toFloatArray(), 0, g.oc, g.c),
                bias == null ? null : bias.toFloatArray(), relu, y);
        return Tensor.of(y, ys.dims());
    }

    @Test void matchesTheDirectReference() {
        Rng rng = new Rng(51);
        for (int[] c : CASES) {
            Conv2dParams p = params(c);
            Tensor x = randn(rng, c[0], c[1], c[2], c[3]), w = randn(rng, c[4], c[1], 3, 3);
            String what = Arrays.toString(c);
            assertNotNull(Winograd3x3.plan(geometry(x, w, p), p), what + " should take Winograd");
            Tensor cw = constant(w);
            Tensor y = f2(x, cw, null, false, p);
            assertNear(ReferenceLinalg.conv2d(x, w, p), ReferenceLinalg.conv2d(abs(x), abs(w), p), y, what + " first run");
            assertBitIdentical(y, f2(x, cw, null, false, p), what + " second run (weight transformed ahead)");
        }
    }

    /**
     * One image of an 8x8 map (16 tiles a product) with U small enough takes U in row panels (SgemmRows), split by
     * output channels where there are threads to split for (40 channels: a last panel of 8 rows; 96: three panels for
     * two threads): the bits of U packed in strips, with and without a residual. A batch, or U past the L2-sized limit (resnet18's layer4), keeps the strips.
     */
    @Test void narrowProductsInRowPanelsGiveTheBitsOfStrips() {
        Rng rng = new Rng(57);
        Conv2dParams p = new Conv2dParams(1, 1, 1, 1, 1, 1, 1);
        for (int[] s : new int[][] {{128, 8, 128}, {64, 7, 96}, {64, 8, 40}}) {   // channels in, map, channels out
            Tensor x = randn(rng, 1, s[0], s[1], s[1]), w = randn(rng, s[2], s[0], 3, 3), bias = randn(rng, s[2]);
            Im2col g = geometry(x, w, p);
            Winograd3x3 plan = Winograd3x3.plan(g, p);
            String what = Arrays.toString(s);
            assertNotNull(plan, what);
            assertTrue(plan.narrowProducts(), what + " should take row panels");
            Winograd3x3.Weight inRows = Winograd3x3.transformRows(w.toFloatArray(), 0, g.oc, g.c);
            // with more than one thread, row panels take the split by output channels (each thread its own V)
            assertEquals(Parallel.THREADS > 1, plan.byOutputChannels(inRows), what + " by output channels");
            float[] res = randn(rng, 1, g.oc, g.oh, g.ow).toFloatArray();
            for (float[] residual : new float[][] {null, res}) {
                float[] strips = new float[g.oc * g.spatial], rows = new float[g.oc * g.spatial];
                plan.forward(x.toFloatArray(), 0, Winograd3x3.transform(w.toFloatArray(), 0, g.oc, g.c), bias.toFloatArray(), true, strips, residual, 0);
                plan.forward(x.toFloatArray(), 0, inRows, bias.toFloatArray(), true, rows, residual, 0);
                for (int i = 0; i < strips.length; i++) {
                    assertEquals(Float.floatToRawIntBits(strips[i]), Float.floatToRawIntBits(rows[i]),
                            what + (residual == null ? "" : " + residual") + ": element " + i);
                }
            }
        }
        Tensor w = randn(rng, 64, 64, 3, 3);
        assertFalse(Winograd3x3.plan(geometry(randn(rng, 4, 64, 8, 8), w, p), p).narrowProducts(), "a batch of 4: 64 tiles a product");
        Im2col layer4 = new Im2col(Shape.of(1, 512, 7, 7), Shape.of(512, 512, 3, 3), Shape.of(1, 512, 7, 7), p);
        assertFalse(Winograd3x3.plan(layer4, p).narrowProducts(), "U of 16.8 MB streams from L3: strips");
    }

    /** Every output is made from its own tile's GEMM elements: the same bits whatever the batch around the image. */
    @Test void anImagesOutputDoesNotDependOnItsBatch() {
        Rng rng = new Rng(52);
        for (int[] c : CASES) {
            if (c[0] == 1) continue;
            Conv2dParams p = params(c);
            Tensor x = randn(rng, c[0], c[1], c[2], c[3]), w = constant(randn(rng, c[4], c[1], 3, 3));
            Tensor all = f2(x, w, null, false, p);
            int last = c[0] - 1;
            Tensor one = x.slice(0, last, c[0]);
            Im2col alone = geometry(one, w, p);
            // one image alone may be too small for it, or of few enough channels for DirectConv (CpuConv2dTest's)
            if (Winograd3x3.plan(alone, p) == null || DirectConv.beforeWinograd(alone, p)) continue;
            assertBitIdentical(all.slice(0, last, c[0]), f2(one, w, null, false, p), Arrays.toString(c) + " last image alone");
        }
    }

    /** The epilogue adds the bias and clamps after the output transform, in the arithmetic of separate passes. */
    @Test void biasAndReluEqualSeparatePasses() {
        Rng rng = new Rng(53);
        for (int[] c : CASES) {
            Conv2dParams p = params(c);
            Tensor x = randn(rng, c[0], c[1], c[2], c[3]), w = constant(randn(rng, c[4], c[1], 3, 3));
            float[] b = randn(rng, c[4]).toFloatArray();
            float[] plain = f2(x, w, null, false, p).toFloatArray();
            int spatial = plain.length / (c[0] * c[4]);
            float[] expected = new float[plain.length];
            for (int i = 0; i < plain.length; i++) expected[i] = Math.max(plain[i] + b[i / spatial % c[4]], 0f);
            Tensor fused = f2(x, w, Tensor.of(b, c[4]), true, p);
            assertBitIdentical(Tensor.of(expected, fused.dims()), fused, Arrays.toString(c) + " bias+relu");
        }
    }

    /** What it leaves to im2col + GEMM: other kernels, strides, dilations, groups, and products too small to pack. */
    @Test void takesOnly3x3Stride1SingleGroupLayersOfSomeSize() {
        Tensor x = Tensor.zeros(2, 64, 16, 16);
        Conv2dParams same = Conv2dParams.of(1, 1);
        assertNotNull(Winograd3x3.plan(geometry(x, Tensor.zeros(64, 64, 3, 3), same), same));
        Conv2dParams stride2 = Conv2dParams.of(2, 1), dilated = new Conv2dParams(1, 1, 2, 2, 2, 2, 1), grouped = new Conv2dParams(1, 1, 1, 1, 1, 1, 2);
        assertNull(Winograd3x3.plan(geometry(x, Tensor.zeros(64, 64, 3, 3), stride2), stride2));
        assertNull(Winograd3x3.plan(geometry(x, Tensor.zeros(64, 64, 3, 3), dilated), dilated));
        assertNull(Winograd3x3.plan(geometry(x, Tensor.zeros(64, 32, 3, 3), grouped), grouped));
        assertNull(Winograd3x3.plan(geometry(x, Tensor.zeros(64, 64, 5, 5), Conv2dParams.of(1, 2)), Conv2dParams.of(1, 2)));
        // small_cnn's 32 -> 64 layer takes it; 16 input channels do not: the transforms would cost more than they save
        Tensor small = Tensor.zeros(32, 32, 13, 13), narrow = Tensor.zeros(32, 16, 13, 13);
        assertNotNull(Winograd3x3.plan(geometry(small, Tensor.zeros(64, 32, 3, 3), Conv2dParams.of(1, 0)), Conv2dParams.of(1, 0)));
        assertNull(Winograd3x3.plan(geometry(narrow, Tensor.zeros(64, 16, 3, 3), Conv2dParams.of(1, 0)), Conv2dParams.of(1, 0)));
        Tensor one = Tensor.zeros(1, 64, 2, 2);   // a 2x2 output: one tile, too small a product for the packed path
        assertNull(Winograd3x3.plan(geometry(one, Tensor.zeros(64, 64, 3, 3), same), same));
    }

    /**
     * A changing weight (training) takes it only in layers wide and large enough to repay transforming the weight on
     * every call; everywhere else it keeps im2col + GEMM, whose rounding differs.
     */
    @Test void aChangingWeightTakesItOnlyInWideLargeLayers() {
        Conv2dParams same = Conv2dParams.of(1, 1);
        assertTrue(Winograd3x3.takesChangingWeight(geometry(Tensor.zeros(4, 64, 16, 16), Tensor.zeros(64, 64, 3, 3), same)));   // 256 tiles
        assertFalse(Winograd3x3.takesChangingWeight(geometry(Tensor.zeros(4, 32, 16, 16), Tensor.zeros(64, 32, 3, 3), same)));  // 32 channels in
        assertFalse(Winograd3x3.takesChangingWeight(geometry(Tensor.zeros(4, 64, 16, 16), Tensor.zeros(32, 64, 3, 3), same)));  // 32 out
        assertFalse(Winograd3x3.takesChangingWeight(geometry(Tensor.zeros(16, 256, 4, 4), Tensor.zeros(256, 256, 3, 3), same))); // 64 tiles
        assertFalse(Winograd3x3.takesChangingWeight(geometry(Tensor.zeros(2, 64, 16, 16), Tensor.zeros(64, 64, 3, 3), same)));   // 128 tiles
        assertFalse(Winograd3x3.takesChangingWeight(geometry(Tensor.zeros(64, 512, 7, 7), Tensor.zeros(512, 512, 3, 3), same))); // 512 channels

        Rng rng = new Rng(54);
        Tensor x = randn(rng, 4, 64, 16, 16), w = randn(rng, 64, 64, 3, 3);
        Tensor viaWinograd = CpuConv2d.forward(x, w, same);
        assertNear(ReferenceLinalg.conv2d(x, w, same), ReferenceLinalg.conv2d(abs(x), abs(w), same), viaWinograd, "changing weight");
        assertBitIdentical(f2(x, constant(w), null, false, same), viaWinograd, "the same planes as a constant weight's");
        Tensor small = randn(rng, 2, 64, 16, 16);   // 128 tiles: im2col + GEMM, other rounding than Winograd's
        float[] a = CpuConv2d.forward(small, w, same).toFloatArray(), b = CpuConv2d.forward(small, constant(w), same).toFloatArray();
        int differ = 0;
        for (int i = 0; i < a.length; i++) if (a[i] != b[i]) differ++;
        assertTrue(differ > 0, "the small layer's changing weight should keep im2col + GEMM");
    }

    /**
     * backwardWeight of a wide layer, dw = G^T (sum over tiles of (A dy A^T) ⊙ (B^T d B)) G, against the direct
     * reference for padding 0, 1, 2 and unequal, odd and even sizes (half-empty edge tiles, whose dy is zero past the
     * output), several chunks, and rows of at most 4 tiles (gathered). Tolerance from the sum of |terms| as above.
     */
    @Test void backwardWeightMatchesTheDirectReference() {
        Rng rng = new Rng(56);
        int[][] cases = {   // n, c, h, w, oc, padH, padW
            {4, 64, 16, 16, 64, 1, 1},
            {3, 64, 21, 19, 96, 1, 1},   // odd sizes: half-empty edge tiles
            {4, 96, 17, 18, 64, 0, 0},
            {4, 64, 16, 16, 64, 2, 2},
            {4, 64, 18, 16, 64, 0, 1},
            {64, 64, 8, 8, 64, 1, 1},    // rows of 4 tiles: the gathering input transform, several chunks
            {40, 64, 7, 5, 64, 0, 1},    // and odd sizes there
        };
        for (int[] c : cases) {
            Conv2dParams p = params(c);
            Tensor x = randn(rng, c[0], c[1], c[2], c[3]);
            dev.ember.engine.Shape ws = dev.ember.engine.Shape.of(c[4], c[1], 3, 3);
            dev.ember.engine.Shape ys = p.outputShape(x.shape(), ws);
            assertTrue(Winograd3x3.takesChangingWeight(geometry(x, Tensor.zeros(ws.dims()), p)), Arrays.toString(c) + " should take Winograd");
            Tensor dy = randn(rng, ys.dims());
            Tensor dw = CpuConv2d.backwardWeight(dy, x, ws, p);
            assertNear(ReferenceLinalg.conv2dBackwardWeight(dy, x, ws, p), ReferenceLinalg.conv2dBackwardWeight(abs(dy), abs(x), ws, p),
                    dw, Arrays.toString(c) + " backwardWeight");
            assertBitIdentical(dw, CpuConv2d.backwardWeight(dy, x, ws, p), Arrays.toString(c) + " backwardWeight, second run");
        }
    }

    /**
     * backwardInput of a wide layer is the convolution of dy with w turned half a turn and transposed, padding
     * 2 - pad, through the forward planes permuted: against the direct reference for padding 0, 1, 2 and unequal,
     * odd and even sizes. Tolerance from the sum of |terms| as above.
     */
    @Test void backwardInputMatchesTheDirectReference() {
        Rng rng = new Rng(55);
        int[][] cases = {   // n, c, h, w, oc, padH, padW
            {4, 64, 16, 16, 64, 1, 1},
            {3, 64, 21, 19, 96, 1, 1},   // odd sizes: half-empty edge tiles
            {4, 96, 17, 18, 64, 0, 0},   // unpadded: dx needs padding 2
            {4, 64, 16, 16, 64, 2, 2},   // padding 2: dx needs none
            {4, 64, 18, 16, 64, 0, 1},
            {64, 64, 8, 8, 64, 1, 1},    // rows of 4 tiles: the gathering input transform
            {40, 64, 7, 5, 64, 0, 1},    // and odd sizes there
        };
        for (int[] c : cases) {
            Conv2dParams p = params(c);
            Tensor x = randn(rng, c[0], c[1], c[2], c[3]), w = randn(rng, c[4], c[1], 3, 3);
            dev.ember.engine.Shape ys = p.outputShape(x.shape(), w.shape());
            assertTrue(Winograd3x3.takesChangingWeight(geometry(x, w, p)), Arrays.toString(c) + " should take Winograd");
            Tensor dy = randn(rng, ys.dims());
            Tensor dx = CpuConv2d.backwardInput(dy, w, x.shape(), p);
            assertNear(ReferenceLinalg.conv2dBackwardInput(dy, w, x.shape(), p), ReferenceLinalg.conv2dBackwardInput(abs(dy), abs(w), x.shape(), p),
                    dx, Arrays.toString(c) + " backwardInput");
        }
    }
}
