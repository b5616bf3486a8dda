package dev.ember.kernels.cpu;

import static dev.ember.kernels.cpu.MatmulConvAssert.abs;
import static dev.ember.kernels.cpu.MatmulConvAssert.assertBitIdentical;
import static dev.ember.kernels.cpu.MatmulConvAssert.assertNear;
import static dev.ember.kernels.cpu.MatmulConvAssert.dot;
import static dev.ember.kernels.cpu.MatmulConvAssert.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.engine.Conv2dParams;
import dev.ember.engine.Pool2dParams;
import dev.ember.engine.Rng;
import dev.ember.engine.Shape;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;
import dev.ember.kernels.reference.ReferenceLinalg;
import org.junit.jupiter.api.Test;

/**
 * CpuConv2d forward, backwardInput and backwardWeight against ReferenceLinalg over strides 1/2 (and unequal),
 * padding 0/1/2, dilation 1/2, groups 1/2/depthwise, 1x1 (pointwise and strided), non-square kernels, batch 1
 * and 3, a non-contiguous input, shapes large enough for Sgemm's packed, parallel path, the batched schedule over
 * several chunks and layers with very few taps. Also the adjoint identity
 * {@code <conv(x, w), dy> = <x, backwardInput(dy, w)> = <w, backwardWeight(dy, x)>}, bit-identical repeat runs, and
 * the schedule's promises: an image's output does not depend on its batch, and backwardWeight is the chunk-order sum
 * of its chunks. Tolerance: 1e-5 of the sum of |terms| plus 1e-6; the adjoint identity to 1e-4 relative.
 */
class CpuConv2dTest {
    /** n, c, h, w, oc, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, groups */
    private static final int[][] CASES = {
        {1, 3, 8, 8, 4, 3, 3, 1, 1, 0, 0, 1, 1, 1},
        {3, 3, 9, 7, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1},
        {3, 4, 10, 10, 6, 3, 3, 2, 2, 1, 1, 1, 1, 2},
        {1, 4, 9, 9, 4, 3, 3, 1, 1, 2, 2, 2, 2, 1},
        {3, 6, 8, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6},      // depthwise
        {3, 6, 8, 8, 12, 3, 3, 2, 2, 1, 1, 1, 1, 6},     // depthwise, channel multiplier 2
        {3, 8, 7, 7, 16, 1, 1, 1, 1, 0, 0, 1, 1, 1},     // pointwise: no im2col
        {1, 8, 7, 7, 4, 1, 1, 1, 1, 0, 0, 1, 1, 2},      // pointwise, grouped
        {1, 8, 7, 7, 4, 1, 1, 2, 2, 0, 0, 1, 1, 1},      // 1x1 strided
        {3, 3, 11, 9, 4, 2, 5, 2, 1, 1, 2, 1, 2, 1},     // non-square kernel, unequal stride/padding/dilation
        {1, 2, 5, 5, 3, 5, 5, 1, 1, 2, 2, 1, 1, 1},      // kernel as large as the padded input allows
        {2, 16, 20, 20, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1},  // Sgemm packed path
        {1, 64, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1},  // large enough to run in parallel inside Sgemm
        {2, 32, 24, 24, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1},  // two large images: one chunk, its GEMM parallel inside Sgemm
        {19, 8, 9, 9, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1},    // batched schedule: 2 full chunks and a short one
        {5, 1, 12, 12, 6, 3, 3, 1, 1, 0, 0, 1, 1, 1},    // one input channel, as the first layer of a CNN on grey images
        {2, 1, 30, 21, 4, 3, 3, 1, 1, 0, 0, 1, 1, 1},    // output rows of a full vector and a tail: SingleChannelConv
        {3, 1, 28, 28, 32, 3, 3, 1, 1, 0, 0, 1, 1, 1},   // small_cnn's first layer (SingleChannelConv: 26-wide rows, even height)
        {2, 1, 17, 20, 6, 5, 5, 1, 1, 2, 2, 1, 1, 1},    // SingleChannelConv padded, 5x5, odd height, a partial block of channels
        {1, 1, 16, 16, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1},    // SingleChannelConv on rows of exactly one vector
        {2, 2, 11, 12, 5, 2, 3, 1, 1, 0, 0, 2, 2, 1},    // few taps, dilation 2
        {3, 4, 8, 8, 8, 3, 3, 1, 1, 0, 0, 1, 1, 4},      // depthwise unpadded
        {1, 256, 4, 4, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1},  // one image on 4x4 outputs: the per-image schedule, N = 16
        {2, 40, 2, 2, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1},    // 2x2 maps (resnet18's last stage at 64x64): the table's gathers run across rows
        {3, 256, 4, 4, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1},  // large per image but narrow: batched, one chunk of all images
        {40, 32, 4, 4, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1},   // batched chunks widened to 512 columns, run one after the other
        {2, 3, 40, 37, 8, 7, 7, 2, 2, 3, 3, 1, 1, 1},    // stride 2 over odd-width rows wider than a vector: split columns
        {1, 2, 20, 41, 4, 3, 3, 2, 2, 1, 1, 2, 2, 1},    // the same with dilation 2 (every tap on one half)
        {2, 5, 34, 34, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1},    // stride 2, even rows split in whole vectors spilling into the next half
        {1, 3, 36, 36, 4, 3, 3, 2, 2, 0, 0, 1, 1, 1},    // the same, unpadded, the last rows of x split one float at a time
        {3, 4, 24, 24, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2},    // images of >= 512 outputs, grouped: each GEMM writes y in place
        {2, 3, 6, 10, 4, 1, 3, 1, 1, 0, 1, 1, 1, 1},     // padding in W only: the bordered copy's last row of a plane
        // one image whose column matrix passes CHUNK_FLOATS: im2col and GEMM in bands of output rows
        {1, 8, 160, 160, 16, 7, 7, 2, 2, 3, 3, 1, 1, 1}, // a 7x7/2 stem, split columns, 20 bands of 4 rows
        {1, 16, 70, 70, 8, 5, 5, 1, 1, 0, 0, 1, 1, 1},   // stride 1 unpadded: rows copied from x, a short last band
        {1, 8, 161, 160, 8, 5, 5, 2, 2, 2, 2, 1, 1, 2},  // grouped, odd height
        // stride 2, few taps, rows of at least two vectors: Stride2Conv, the input read in place in its column phases
        {2, 3, 64, 64, 64, 7, 7, 2, 2, 3, 3, 1, 1, 1},   // resnet18's stem at 64x64: rows of exactly one block
        {1, 3, 70, 75, 13, 7, 7, 2, 2, 3, 3, 1, 1, 1},   // a last block over columns already written, a partial channel strip
        {1, 4, 67, 66, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1},    // 3x3/2, odd height
        {2, 2, 66, 68, 9, 5, 4, 2, 2, 0, 2, 1, 1, 1},    // non-square kernel, padding in W only
        {5, 3, 64, 64, 8, 7, 7, 2, 2, 3, 3, 1, 1, 1},    // five images: split between the threads, each over its rows inline
        // one image, more output pixels than half its channels, a constant weight: DirectConv (other weights: im2col + GEMM)
        {1, 96, 14, 14, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1},  // fewer pixels than channels, 864 taps taken in pieces
        {1, 8, 20, 20, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1},   // 10x10: rows of two runs, the second moved back to end at the row's end
        {1, 8, 14, 14, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1},   // 7x7: one run of 6 per row, the last pixels pooled into mixed tiles
        {1, 16, 30, 30, 16, 1, 1, 2, 2, 0, 0, 1, 1, 1},  // 1x1/2 (not DirectConv's: im2col subsamples x), rows of 15: one masked vector
        {2, 8, 39, 37, 16, 1, 1, 2, 2, 0, 0, 1, 1, 1},   // 1x1/2, rows of 19: a vector and one ending at the row's end; x's last row element-wise
        {1, 4, 19, 19, 8, 1, 1, 2, 2, 0, 0, 1, 1, 1},    // 1x1/2, rows of 10: masked vectors, the last rows (near x's end) element-wise
        {1, 4, 19, 17, 16, 3, 3, 3, 3, 1, 1, 1, 1, 1},   // stride 3: three column phases
        {1, 4, 21, 21, 16, 3, 3, 2, 2, 2, 2, 2, 2, 1},   // dilation 2 at stride 2: every tap on the even phase
        {1, 5, 30, 29, 48, 3, 3, 2, 2, 1, 1, 1, 1, 1},   // 48 channels: a block of three vectors
        {1, 6, 9, 40, 16, 2, 3, 1, 1, 0, 1, 1, 1, 1},    // stride 1, non-square kernel, padding in W only
        {1, 2, 20, 20, 16, 2, 1, 2, 2, 0, 0, 1, 1, 1},   // K = 4: a panel narrower than a vector, copied tap by tap
        {1, 32, 40, 40, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1},  // K = 288, 67 tiles split between the threads
        {1, 32, 13, 13, 64, 3, 3, 1, 1, 0, 0, 1, 1, 1},  // small_cnn's conv2 at batch 1: F(2x2) would take it, DirectConv first
        {1, 8, 11, 11, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1},   // stride 1, padded: tiles at the source's pitch, the last one reading past
        {1, 4, 12, 12, 16, 3, 3, 1, 1, 2, 2, 2, 2, 1},   // stride 1, dilation 2
        {1, 6, 16, 15, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1},   // stride 1 unpadded: x read in place, its last tiles gathered
    };

    /** A case's parameters, and its input and weight drawn in that order. */
    private static Conv2dParams params(int[] c) { return new Conv2dParams(c[7], c[8], c[9], c[10], c[11], c[12], c[13]); }

    private static Tensor input(Rng rng, int[] c) { return randn(rng, c[0], c[1], c[2], c[3]); }

    private static Tensor weight(Rng rng, int[] c) { return randn(rng, c[4], c[1] / c[13], c[5], c[6]); }

    @Test void forwardAndBothBackwardsMatchTheReference() {
        Rng rng = new Rng(31);
        for (int[] c : CASES) {
            Conv2dParams p = params(c);
            Tensor x = input(rng, c), w = weight(rng, c);
            Shape ys = p.outputShape(x.shape(), w.shape());
            Tensor dy = randn(rng, ys.dims());
            String what = java.util.Arrays.toString(c);

            Tensor y = CpuConv2d.forward(x, w, p);
            assertNear(ReferenceLinalg.conv2d(x, w, p), ReferenceLinalg.conv2d(abs(x), abs(w), p), y, what + " forward");
            Tensor dx = CpuConv2d.backwardInput(dy, w, x.shape(), p);
            assertNear(ReferenceLinalg.conv2dBackwardInput(dy, w, x.shape(), p),
                    ReferenceLinalg.conv2dBackwardInput(abs(dy), abs(w), x.shape(), p), dx, what + " backwardInput");
            Tensor dw = CpuConv2d.backwardWeight(dy, x, w.shape(), p);
            assertNear(ReferenceLinalg.conv2dBackwardWeight(dy, x, w.shape(), p),
                    ReferenceLinalg.conv2dBackwardWeight(abs(dy), abs(x), w.shape(), p), dw, what + " backwardWeight");

            double forward = dot(y, dy), throughInput = dot(x, dx), throughWeight = dot(w, dw);
            double scale = 1e-4 * (Math.abs(forward) + dot(abs(y), abs(dy)));
            assertEquals(forward, throughInput, scale, what + " <conv(x, w), dy> = <x, backwardInput(dy, w)>");
            assertEquals(forward, throughWeight, scale, what + " <conv(x, w), dy> = <w, backwardWeight(dy, x)>");
        }
    }

    /**
     * A constant weight is packed once and kept; the first and later runs give the bits of an ordinary weight. (Layers
     * that take Winograd with a constant weight are {@link Winograd3x3Test}'s, those that take TapConv with a changing
     * one {@link TapConvTest}'s, those that take DirectConv {@link #directConvIsOneFmaChainPerOutput}'s.)
     */
    @Test void aConstantWeightPackedAheadGivesTheSameBits() {
        Rng rng = new Rng(36);
        for (int[] c : CASES) {
            Conv2dParams p = params(c);
            Tensor x = input(rng, c), w = weight(rng, c);
            Im2col g = new Im2col(x.shape(), w.shape(), p.outputShape(x.shape(), w.shape()), p);
            if (Winograd3x3.plan(g, p) != null || TapConv.plan(g, p, false) != null || DirectConv.plan(g, p) != null) continue;
            Tensor constant = Tensor.of(w.toFloatArray(), w.dims());
            constant.storage().markConstant();
            Tensor y = CpuConv2d.forward(x, w, p);
            String what = java.util.Arrays.toString(c);
            assertBitIdentical(y, CpuConv2d.forward(x, constant, p), what + " constant weight, first run (packs it)");
            assertBitIdentical(y, CpuConv2d.forward(x, constant, p), what + " constant weight, second run (packed ahead)");
            Tensor one = x.slice(0, 0, 1);   // batch 1 takes the per-image schedule where the layer is large
            assertBitIdentical(CpuConv2d.forward(one, w, p), CpuConv2d.forward(one, constant, p), what + " constant weight, one image");
        }
    }

    /**
     * One image whose output map has at most 16 pixels, with a constant weight (resnet18's last stages at 64x64), runs on
     * the weight in row panels (SgemmRows): the bits of im2col + Sgemm, then bias and ReLU.
     */
    @Test void aFewPixelsWithAConstantWeightGiveTheBitsOfIm2colAndGemm() {
        Rng rng = new Rng(39);
        int[][] cases = {   // n, c, h, w, oc, kernel, stride, pad
            {1, 256, 4, 4, 256, 3, 1, 1}, {1, 256, 4, 4, 512, 3, 2, 1}, {1, 256, 3, 3, 224, 3, 1, 1}, {1, 512, 2, 2, 264, 3, 1, 1},
        };
        for (int[] c : cases) {
            Conv2dParams p = Conv2dParams.of(c[6], c[7]);
            Tensor x = randn(rng, c[0], c[1], c[2], c[3]), w = randn(rng, c[4], c[1], c[5], c[5]), bias = randn(rng, c[4]);
            Tensor constant = Tensor.of(w.toFloatArray(), w.dims());
            constant.storage().markConstant();
            dev.ember.engine.Shape ys = p.outputShape(x.shape(), w.shape());
            Im2col g = new Im2col(x.shape(), w.shape(), ys, p);
            String what = java.util.Arrays.toString(c);
            assertTrue(SgemmRows.fits(g.spatial) && !CpuConv2d.batched(g), what + " should take row panels");
            float[] col = new float[g.rows * g.spatial], expected = new float[ys.numel()];
            g.im2col(x.toFloatArray(), 0, col, 0, g.spatial);
            Sgemm.gemm(g.oc, g.spatial, g.rows, w.toFloatArray(), 0, g.rows, 1, col, 0, g.spatial, 1, expected, 0, g.spatial, false);
            float[] b = bias.toFloatArray();
            for (int o = 0; o < g.oc; o++) CpuConv2d.biasRelu(expected, o * g.spatial, expected, o * g.spatial, g.spatial, b[o], true);
            for (int run = 0; run < 2; run++) {   // the panels made on the first, kept for the second
                assertBitIdentical(Tensor.of(expected, ys.dims()), CpuConv2d.forward(x, constant, bias, true, p), what + " run " + run);
            }
        }
    }

    /** The fused epilogue adds the bias and clamps in the same float arithmetic as separate passes would: same bits. */
    @Test void biasAndReluEpilogueEqualsSeparatePasses() {
        Rng rng = new Rng(33);
        for (int[] c : CASES) {
            Conv2dParams p = params(c);
            Tensor x = input(rng, c), w = weight(rng, c);
            Tensor bias = randn(rng, c[4]);
            float[] plain = CpuConv2d.forward(x, w, p).toFloatArray();   // (N, OC, OH, OW)
            float[] b = bias.toFloatArray();
            int spatial = plain.length / (c[0] * c[4]);
            for (boolean relu : new boolean[] {false, true}) {
                float[] expected = new float[plain.length];
                for (int i = 0; i < plain.length; i++) {
                    float v = plain[i] + b[i / spatial % c[4]];
                    expected[i] = relu ? Math.max(v, 0f) : v;
                }
                String what = java.util.Arrays.toString(c) + (relu ? " bias+relu" : " bias");
                assertBitIdentical(Tensor.of(expected, CpuConv2d.forward(x, w, p).dims()), CpuConv2d.forward(x, w, bias, relu, p), what);
            }
            float[] reluOnly = CpuConv2d.forward(x, w, null, true, p).toFloatArray();
            for (int i = 0; i < plain.length; i++) assertEquals(Math.max(plain[i], 0f), reluOnly[i], java.util.Arrays.toString(c) + " relu only at " + i);
        }
    }

    @Test void nonContiguousInputsAreRead() {
        Rng rng = new Rng(32);
        Conv2dParams p = Conv2dParams.of(1, 1);
        Tensor x = randn(rng, 2, 3, 9, 8).permute(0, 1, 3, 2);         // (2, 3, 8, 9), transposed planes
        Tensor w = randn(rng, 3, 4, 3, 3).permute(1, 0, 2, 3);         // (4, 3, 3, 3)
        Tensor y = CpuConv2d.forward(x, w, p);
        assertNear(ReferenceLinalg.conv2d(x, w, p), ReferenceLinalg.conv2d(abs(x), abs(w), p), y, "permuted x and w");
        Tensor dy = randn(rng, 2, 9, 4, 8).permute(0, 2, 3, 1);        // (2, 4, 8, 9)
        assertNear(ReferenceLinalg.conv2dBackwardInput(dy, w, x.shape(), p),
                ReferenceLinalg.conv2dBackwardInput(abs(dy), abs(w), x.shape(), p),
                CpuConv2d.backwardInput(dy, w, x.shape(), p), "permuted dy, backwardInput");
        assertNear(ReferenceLinalg.conv2dBackwardWeight(dy, x, w.shape(), p),
                ReferenceLinalg.conv2dBackwardWeight(abs(dy), abs(x), w.shape(), p),
                CpuConv2d.backwardWeight(dy, x, w.shape(), p), "permuted dy and x, backwardWeight");
    }

    @Test void throughTensorConv2d() {
        Rng rng = new Rng(33);
        Tensor x = randn(rng, 2, 3, 10, 10), w = randn(rng, 5, 3, 3, 3);
        Conv2dParams p = Conv2dParams.of(2, 1);
        assertNear(ReferenceLinalg.conv2d(x, w, p), ReferenceLinalg.conv2d(abs(x), abs(w), p), x.conv2d(w, p), "Tensor.conv2d");
    }

    @Test void repeatRunsAreBitIdentical() {
        Rng rng = new Rng(34);
        for (int[] c : new int[][] {{3, 8, 12, 12, 8, 3, 3}, {2, 32, 16, 16, 48, 3, 3}}) {
            Conv2dParams p = Conv2dParams.of(1, 1);
            Tensor x = randn(rng, c[0], c[1], c[2], c[3]), w = randn(rng, c[4], c[1], c[5], c[6]);
            Tensor dy = randn(rng, p.outputShape(x.shape(), w.shape()).dims());
            Tensor y = CpuConv2d.forward(x, w, p);
            Tensor dx = CpuConv2d.backwardInput(dy, w, x.shape(), p);
            Tensor dw = CpuConv2d.backwardWeight(dy, x, w.shape(), p);
            for (int rep = 0; rep < 2; rep++) {
                assertBitIdentical(y, CpuConv2d.forward(x, w, p), "forward, repeat " + rep);
                assertBitIdentical(dx, CpuConv2d.backwardInput(dy, w, x.shape(), p), "backwardInput, repeat " + rep);
                assertBitIdentical(dw, CpuConv2d.backwardWeight(dy, x, w.shape(), p), "backwardWeight, repeat " + rep);
            }
        }
    }

    @Test void anImagesOutputAndInputGradientDoNotDependOnItsBatch() {
        Rng rng = new Rng(35);
        Conv2dParams p = Conv2dParams.of(1, 0);
        // 32*3*3 = 288 taps: more than one Sgemm K block, as conv2 of the Fashion-MNIST CNN
        Tensor x = randn(rng, 10, 32, 13, 13), w = randn(rng, 16, 32, 3, 3);
        Tensor dy = randn(rng, p.outputShape(x.shape(), w.shape()).dims());
        Tensor y = CpuConv2d.forward(x, w, p);
        Tensor dx = CpuConv2d.backwardInput(dy, w, x.shape(), p);
        for (int n = 0; n < 10; n++) {
            Tensor xn = x.slice(0, n, n + 1), dyn = dy.slice(0, n, n + 1);
            assertBitIdentical(y.slice(0, n, n + 1), CpuConv2d.forward(xn, w, p), "forward of image " + n + " alone");
            assertBitIdentical(dx.slice(0, n, n + 1), CpuConv2d.backwardInput(dyn, w, xn.shape(), p), "backwardInput of image " + n + " alone");
        }
    }

    @Test void anImageComputedInBandsEqualsItInABatch() {
        Rng rng = new Rng(36);
        Conv2dParams p = Conv2dParams.of(2, 3);
        // alone: 294 x 3600 column entries, past CHUNK_FLOATS, so bands; in the batch: a chunk of its own, one GEMM
        // (six channels: three would take Stride2Conv, 294 taps are more than its one K block)
        Tensor x = randn(rng, 2, 6, 120, 120), w = randn(rng, 8, 6, 7, 7), bias = randn(rng, 8);
        Tensor y = CpuConv2d.forward(x, w, bias, true, p);
        for (int n = 0; n < 2; n++) {
            assertBitIdentical(y.slice(0, n, n + 1), CpuConv2d.forward(x.slice(0, n, n + 1), w, bias, true, p), "image " + n + " alone");
        }
    }

    /**
     * Stride2Conv reads the input in place where im2col + Sgemm would build the column matrix: the same fma chain per
     * output, so the same bits as that path (computed here directly), + bias and ReLU as the epilogue does.
     */
    @Test void stride2ConvGivesTheBitsOfIm2colAndGemm() {
        Rng rng = new Rng(37);
        for (int[] c : CASES) {
            Conv2dParams p = params(c);
            Tensor x = input(rng, c), w = weight(rng, c), bias = randn(rng, c[4]);
            Shape ys = p.outputShape(x.shape(), w.shape());
            Im2col g = new Im2col(x.shape(), w.shape(), ys, p);
            if (Stride2Conv.plan(g, p) == null) continue;
            float[] xd = x.toFloatArray(), wd = w.toFloatArray(), b = bias.toFloatArray(), expected = new float[ys.numel()];
            float[] col = new float[g.rows * g.spatial];
            for (int n = 0; n < g.n; n++) {
                g.im2col(xd, n * g.c * g.h * g.w, col, 0, g.spatial);
                Sgemm.gemm(g.oc, g.spatial, g.rows, wd, 0, g.rows, 1, col, 0, g.spatial, 1, expected, n * g.oc * g.spatial, g.spatial, false);
            }
            String what = java.util.Arrays.toString(c);
            assertBitIdentical(Tensor.of(expected.clone(), ys.dims()), CpuConv2d.forward(x, w, p), what + " Stride2Conv");
            for (int i = 0; i < expected.length; i++) expected[i] = Math.max(expected[i] + b[i / g.spatial % g.oc], 0f);
            assertBitIdentical(Tensor.of(expected, ys.dims()), CpuConv2d.forward(x, w, bias, true, p), what + " Stride2Conv + bias + ReLU");
        }
    }

    /**
     * A batch of small maps (output rows narrower than a vector, 16 images or more) runs in chunks of up to 32 images,
     * each pixel's images side by side, B packed strip by strip from the chunk transposed: the bits of im2col + Sgemm
     * per image (computed here), + bias and ReLU. Chunks of 17 and 16 images (a transpose's tails), 4x4 and 2x2 maps (a
     * vector of y holds several channels), 3x3 (neither), grouped, a 1x1/2 shortcut; a constant weight (packed ahead)
     * and, where TapConv does not take the layer, a changing one.
     */
    @Test void aBatchOfSmallMapsGivesTheBitsOfIm2colAndGemmPerImage() {
        Rng rng = new Rng(40);
        int[][] cases = {   // n, c, h, w, oc, kernel, stride, pad, groups
            {33, 24, 8, 8, 40, 3, 2, 1, 1}, {20, 16, 4, 4, 24, 3, 2, 1, 1}, {16, 32, 4, 4, 32, 3, 2, 1, 1},
            {17, 8, 6, 6, 20, 3, 2, 1, 2}, {18, 12, 5, 5, 8, 2, 1, 0, 1}, {24, 16, 8, 8, 32, 1, 2, 0, 1},
        };
        for (int[] c : cases) {
            Conv2dParams p = new Conv2dParams(c[6], c[6], c[7], c[7], 1, 1, c[8]);
            Tensor x = randn(rng, c[0], c[1], c[2], c[3]), w = randn(rng, c[4], c[1] / c[8], c[5], c[5]), bias = randn(rng, c[4]);
            Shape ys = p.outputShape(x.shape(), w.shape());
            Im2col g = new Im2col(x.shape(), w.shape(), ys, p);
            String what = java.util.Arrays.toString(c);
            assertTrue(g.imagesInner(Math.min(g.n, 32)) && Winograd3x3.plan(g, p) == null && DirectConv.plan(g, p) == null, what + " should take images inner");
            float[] xd = x.toFloatArray(), wd = w.toFloatArray(), b = bias.toFloatArray(), expected = new float[ys.numel()];
            float[] col = new float[g.rows * g.spatial];
            for (int n = 0; n < g.n; n++) {
                for (int grp = 0; grp < g.groups; grp++) {
                    g.im2col(xd, (n * g.c + grp * g.cPerGroup) * g.h * g.w, col, 0, g.spatial);
                    Sgemm.gemm(g.ocPerGroup, g.spatial, g.rows, wd, grp * g.ocPerGroup * g.rows, g.rows, 1, col, 0, g.spatial, 1,
                            expected, (n * g.oc + grp * g.ocPerGroup) * g.spatial, g.spatial, false);
                }
            }
            Tensor constant = Tensor.of(wd, w.dims());
            constant.storage().markConstant();
            // a changing weight on 2x2 maps takes TapConv (training), a constant one this path
            Tensor[] weights = TapConv.plan(g, p, false) == null ? new Tensor[] {w, constant, constant} : new Tensor[] {constant, constant};
            assertBitIdentical(Tensor.of(expected.clone(), ys.dims()), CpuConv2d.forward(x, weights[0], p), what);
            for (int i = 0; i < expected.length; i++) expected[i] = Math.max(expected[i] + b[i / g.spatial % g.oc], 0f);
            for (Tensor weight : weights) {   // the constant one packed on its first run, kept
                assertBitIdentical(Tensor.of(expected, ys.dims()), CpuConv2d.forward(x, weight, bias, true, p), what + " + bias + ReLU");
            }
        }
    }

    /** Who takes the images-inner path: 16 images or more, rows of at most 4 pixels, not pointwise, a transposed chunk of at most 8 MB. */
    @Test void theImagesInnerPathIsTakenWithinItsBounds() {
        Conv2dParams p = new Conv2dParams(2, 2, 1, 1, 1, 1, 1);
        Im2col layer4 = new Im2col(Shape.of(32, 256, 4, 4), Shape.of(512, 256, 3, 3), Shape.of(32, 512, 2, 2), p);
        assertTrue(layer4.imagesInner(32) && layer4.imagesInner(16), "resnet18's layer4 3x3/2 at 32x3x64x64");
        assertTrue(!layer4.imagesInner(15), "15 images take the column matrix");
        Im2col shortcut = new Im2col(Shape.of(32, 256, 4, 4), Shape.of(512, 256, 1, 1), Shape.of(32, 512, 2, 2), Conv2dParams.of(2, 0));
        assertTrue(shortcut.imagesInner(32), "its 1x1/2 shortcut");
        Im2col pointwise = new Im2col(Shape.of(32, 256, 4, 4), Shape.of(512, 256, 1, 1), Shape.of(32, 512, 4, 4), Conv2dParams.of(1, 0));
        assertTrue(!pointwise.imagesInner(32), "a 1x1/1 conv is a plain product on x");
        Im2col layer2 = new Im2col(Shape.of(32, 64, 16, 16), Shape.of(128, 64, 3, 3), Shape.of(32, 128, 8, 8), p);
        assertTrue(!layer2.imagesInner(32), "rows of 8 pixels take the column matrix");
        Conv2dParams wide = new Conv2dParams(16, 16, 1, 1, 1, 1, 1);
        Im2col large = new Im2col(Shape.of(32, 512, 64, 64), Shape.of(64, 512, 3, 3), Shape.of(32, 64, 4, 4), wide);
        assertTrue(!large.imagesInner(32), "a 64 MB transposed chunk (512 channels of 64x64 at stride 16) takes the column matrix");
    }

    /**
     * DirectConv (a constant weight, one image, more pixels than channels; a stride-1 layer in tiles at the source's
     * pitch, the padding columns computed and dropped) computes each output as one fma chain over
     * the taps in (c, i, j) order from zero, padding taps included, then + bias and ReLU: the bits of that chain written
     * out here, with and without the epilogue, on the first call (which packs the weight) and the second.
     */
    @Test void directConvIsOneFmaChainPerOutput() {
        Rng rng = new Rng(38);
        int planned = 0;
        for (int[] c : CASES) {
            Conv2dParams p = params(c);
            Tensor x = input(rng, c), w = weight(rng, c), bias = randn(rng, c[4]);
            Shape ys = p.outputShape(x.shape(), w.shape());
            Im2col g = new Im2col(x.shape(), w.shape(), ys, p);
            Tensor constant = Tensor.of(w.toFloatArray(), w.dims());
            constant.storage().markConstant();
            boolean winograd = Winograd3x3.plan(g, p) != null;   // F(2x2); no case here is F(4x4)'s
            boolean direct = DirectConv.plan(g, p) != null && (winograd ? DirectConv.beforeWinograd(g, p)
                    : SingleChannelConv.plan(g, p) == null && Stride2Conv.plan(g, p) == null);
            if (Winograd3x3F4.plan(g, p) != null || !direct) continue;
            planned++;
            float[] xd = x.toFloatArray(), wd = w.toFloatArray(), b = bias.toFloatArray(), chain = new float[ys.numel()];
            for (int o = 0; o < g.oc; o++) {
                for (int r = 0; r < g.oh; r++) {
                    for (int s = 0; s < g.ow; s++) {
                        float acc = 0f;
                        for (int ch = 0; ch < g.c; ch++) {
                            for (int i = 0; i < g.kh; i++) {
                                for (int j = 0; j < g.kw; j++) {
                                    int ih = r * p.strideH() - p.padH() + i * p.dilationH(), iw = s * p.strideW() - p.padW() + j * p.dilationW();
                                    float v = ih >= 0 && ih < g.h && iw >= 0 && iw < g.w ? xd[(ch * g.h + ih) * g.w + iw] : 0f;
                                    acc = Math.fma(wd[((o * g.c + ch) * g.kh + i) * g.kw + j], v, acc);
                                }
                            }
                        }
                        chain[(o * g.oh + r) * g.ow + s] = acc;
                    }
                }
            }
            String what = java.util.Arrays.toString(c);
            assertBitIdentical(Tensor.of(chain.clone(), ys.dims()), CpuConv2d.forward(x, constant, p), what + " DirectConv, first call");
            assertBitIdentical(Tensor.of(chain.clone(), ys.dims()), CpuConv2d.forward(x, constant, p), what + " DirectConv, weight packed ahead");
            for (int i = 0; i < chain.length; i++) chain[i] = Math.max(chain[i] + b[i / g.spatial], 0f);
            assertBitIdentical(Tensor.of(chain, ys.dims()), CpuConv2d.forward(x, constant, bias, true, p), what + " DirectConv + bias + ReLU");
        }
        assertEquals(14, planned, "cases DirectConv takes (the thirteen marked, and the 7x7/2 one of 8 channels at 160x160)");
        // rows end in overlapping runs where that is cheaper than mixed tiles: resnet18's layer2 3x3/2 at 224x224 (28x28,
        // 140 runs against 112 and 19 mixed), not its layer3 (14x14, 42 against 28 and 5 mixed)
        assertTrue(DirectConv.overlapRows(28, 28) && DirectConv.overlapRows(10, 10), "28x28 and 10x10 maps: overlapping runs");
        assertFalse(DirectConv.overlapRows(14, 14) || DirectConv.overlapRows(7, 7) || DirectConv.overlapRows(20, 20), "14x14, 7x7, 20x20: mixed tiles");
    }

    /**
     * conv2dMaxPool gives the bits of the conv then the pool: fused where SingleChannelConv runs the layer and the pool
     * is 2x2/2 (even and odd output sizes, a partial block of channels, with and without bias and ReLU, values with
     * signs that ReLU and max both see), composed otherwise (a 3x3/2 pool, a multi-channel input).
     */
    @Test void convThenMaxPoolIsTheComposedOpsToTheBit() {
        Rng rng = new Rng(44);
        CpuBackend cpu = new CpuBackend();
        int[][] cases = {   // n, c, h, w, oc, k, pad, pool kernel, pool stride
            {3, 1, 28, 28, 32, 3, 0, 2, 2},   // small_cnn's conv1 and pool1 (26x26 -> 13x13)
            {1, 1, 28, 28, 32, 3, 0, 2, 2},
            {2, 1, 17, 20, 6, 5, 2, 2, 2},    // odd rows (the last one dropped), 6 channels: a partial block
            {2, 1, 30, 21, 5, 3, 0, 2, 2},    // odd columns: 28 x 19 -> 14 x 9
            {1, 1, 40, 40, 4, 3, 1, 2, 2},    // 40 -> 20 columns: more than a vector of outputs per row
            {2, 1, 15, 23, 3, 3, 1, 2, 2},    // padded, odd both ways (15 x 23 -> 7 x 11), a lone last channel
            {1, 1, 34, 34, 2, 3, 0, 2, 2},    // 32 -> 16 pooled columns: exactly a vector
            {2, 1, 28, 28, 8, 3, 0, 3, 2},    // not the plain 2x2 pool: composed
            {2, 3, 12, 12, 8, 3, 1, 2, 2}};   // three input channels: composed
        for (int[] c : cases) {
            Tensor x = randn(rng, c[0], c[1], c[2], c[3]), w = randn(rng, c[4], c[1], c[5], c[5]), bias = randn(rng, c[4]);
            Conv2dParams p = new Conv2dParams(1, 1, c[6], c[6], 1, 1, 1);
            dev.ember.engine.Pool2dParams pool = new dev.ember.engine.Pool2dParams(c[7], c[7], c[8], c[8], 0, 0, false, true);
            for (boolean relu : new boolean[] {true, false}) {
                for (Tensor b : new Tensor[] {bias, null}) {
                    Tensor composed = CpuPool2d.maxValues(CpuConv2d.forward(x, w, b, relu, p), pool);
                    String what = java.util.Arrays.toString(c) + (relu ? " relu" : "") + (b == null ? " no bias" : "");
                    assertBitIdentical(composed, cpu.conv2dMaxPool(x, w, b, relu, p, pool), what);
                }
            }
        }
        // a NaN in the input reaches the windows it touches, in both forms (max keeps NaN)
        float[] nanInput = randn(rng, 1, 1, 28, 28).toFloatArray();
        nanInput[5 * 28 + 7] = Float.NaN;
        Tensor xn = Tensor.of(nanInput, 1, 1, 28, 28), wn = randn(rng, 4, 1, 3, 3);
        Conv2dParams p = new Conv2dParams(1, 1, 0, 0, 1, 1, 1);
        Tensor fusedNan = cpu.conv2dMaxPool(xn, wn, null, true, p, dev.ember.engine.Pool2dParams.of(2));
        assertBitIdentical(CpuPool2d.maxValues(CpuConv2d.forward(xn, wn, null, true, p), dev.ember.engine.Pool2dParams.of(2)), fusedNan, "NaN input");
        assertTrue(Float.isNaN(fusedNan.toFloatArray()[2 * 13 + 3]), "the window over the NaN's conv outputs is NaN");
        assertEquals(null, CpuConv2d.forwardPooled(randn(rng, 1, 1, 28, 28), randn(rng, 4, 1, 3, 3), null, true, p,
                new dev.ember.engine.Pool2dParams(3, 3, 2, 2, 0, 0, false, true)), "a 3x3/2 pool is not fused");
        assertEquals(true, CpuConv2d.forwardPooled(randn(rng, 1, 1, 28, 28), randn(rng, 4, 1, 3, 3), null, true, p,
                dev.ember.engine.Pool2dParams.of(2)) != null, "the 2x2/2 pool after a one-channel conv is fused");
    }

    /**
     * With a constant weight where Winograd F(4x4) runs the layer, conv2dMaxPool pools each 4x4 output tile in the
     * output transform: the bits of the conv then the pool, for an odd output size (its last row and column dropped,
     * a last tile row holding one window), an even one, padding, several chunks; a NaN in the input sends both forms
     * to their fallback (im2col + GEMM then the pool), with the same bits.
     */
    @Test void convThenMaxPoolOnWinogradF4IsTheComposedOpsToTheBit() {
        Rng rng = new Rng(45);
        CpuBackend cpu = new CpuBackend();
        dev.ember.engine.Pool2dParams pool = dev.ember.engine.Pool2dParams.of(2);
        int[][] cases = {   // n, c, h, w, oc, pad
            {32, 32, 13, 13, 64, 0},   // small_cnn's conv2 and pool2 at batch 32: 11x11 -> 5x5
            {8, 32, 14, 18, 32, 1},    // 14x18 -> 7x9, padded
            {4, 48, 16, 16, 32, 0},    // 14x14 -> 7x7: tiles 4 wide over 14, the last one half out
            {4, 32, 64, 64, 48, 1}};   // 64x64 -> 32x32 in six chunks run side by side (wide tile rows)
        int fused = 0;
        for (int[] c : cases) {
            Tensor x = randn(rng, c[0], c[1], c[2], c[3]), bias = randn(rng, c[4]);
            Tensor w = constantWeight(rng, c[4], c[1]);
            Conv2dParams p = new Conv2dParams(1, 1, c[5], c[5], 1, 1, 1);
            Shape ys = p.outputShape(x.shape(), w.shape());
            Winograd3x3F4 plan = Winograd3x3F4.plan(new Im2col(x.shape(), w.shape(), ys, p), p);
            if (plan == null) continue;
            fused++;
            if (c[2] == 64) assertEquals(6, plan.chunks(), "the last case's chunks");
            assertFusedIsComposed(cpu, x, w, bias, p, pool, java.util.Arrays.toString(c));
        }
        assertEquals(4, fused, "every case takes F(4x4)");
        float[] nanInput = randn(rng, 32, 32, 13, 13).toFloatArray();
        nanInput[7 * 169 + 5 * 13 + 6] = Float.NaN;
        Tensor xn = Tensor.of(nanInput, 32, 32, 13, 13);
        Tensor wn = constantWeight(rng, 64, 32);
        Conv2dParams p = Conv2dParams.of(1, 0);
        assertEquals(null, CpuConv2d.forwardPooled(xn, wn, null, true, p, pool), "a NaN met F(4x4): the caller composes");
        Tensor fusedNan = cpu.conv2dMaxPool(xn, wn, null, true, p, pool);
        assertBitIdentical(CpuPool2d.maxValues(CpuConv2d.forward(xn, wn, null, true, p), pool), fusedNan, "NaN input");
        assertTrue(Float.isNaN(fusedNan.toFloatArray()[2 * 25 + 2 * 5 + 2]), "the window over the NaN's conv outputs is NaN");
    }

    /**
     * conv2dAddRelu (a residual block's conv, Add and Relu) is the conv, then addRelu, to the bit: with the residual
     * added in F(4x4)'s output transform (one chunk per thread, and chunks past 8 MB), in F(2x2)'s (U as strips and in
     * row panels), and composed elsewhere (a layer Winograd does not take, a changing weight); a NaN in the residual
     * reaches its own outputs only, and a NaN in x makes F(4x4)'s fused path give way to the composition.
     */
    @Test void convAddReluIsTheConvThenAddReluToTheBit() {
        Rng rng = new Rng(46);
        CpuBackend cpu = new CpuBackend();
        int[][] cases = {   // n, c, h, w, oc, pad, taken fused
            {1, 64, 56, 56, 64, 1, 1},   // resnet18's layer1 at 224x224: F(4x4)
            {4, 32, 64, 64, 48, 1, 1},   // F(4x4), chunks past 8 MB
            {1, 64, 16, 16, 64, 1, 1},   // resnet18's layer1 at 64x64: F(2x2), one chunk per thread
            {1, 128, 8, 8, 128, 1, 1},   // F(2x2) with U in row panels (16 tiles)
            {2, 64, 14, 12, 96, 1, 1},   // F(2x2), odd map sizes
            {1, 256, 4, 4, 256, 1, 0},   // 16 outputs: im2col, composed
            {2, 3, 9, 9, 8, 1, 0}};      // too few channels for Winograd: composed
        for (int[] c : cases) {
            Tensor x = randn(rng, c[0], c[1], c[2], c[3]), bias = randn(rng, c[4]);
            Tensor w = constantWeight(rng, c[4], c[1]);
            Conv2dParams p = new Conv2dParams(1, 1, c[5], c[5], 1, 1, 1);
            Tensor residual = randn(rng, p.outputShape(x.shape(), w.shape()).dims());
            String what = java.util.Arrays.toString(c);
            Tensor expected = cpu.addRelu(CpuConv2d.forward(x, w, bias, false, p), residual, residual.shape());
            assertEquals(c[6] == 1, CpuConv2d.forwardAddRelu(x, w, bias, residual, p) != null, what + " fused where Winograd runs it");
            assertBitIdentical(expected, cpu.conv2dAddRelu(x, w, bias, residual, p), what);
            assertBitIdentical(expected, x.conv2dAddRelu(w, bias, residual, p), what + " through Tensor");
            Tensor changing = randn(rng, c[4], c[1], 3, 3);   // not constant: composed
            assertBitIdentical(cpu.addRelu(CpuConv2d.forward(x, changing, null, false, p), residual, residual.shape()),
                    cpu.conv2dAddRelu(x, changing, null, residual, p), what + " changing weight");
        }
        Tensor x = randn(rng, 1, 64, 56, 56), w = constantWeight(rng, 64, 64);
        Conv2dParams p = Conv2dParams.of(1, 1);
        float[] r = randn(rng, 1, 64, 56, 56).toFloatArray();
        r[5 * 3136 + 17 * 56 + 9] = Float.NaN;
        Tensor residual = Tensor.of(r, 1, 64, 56, 56);
        float[] y = cpu.conv2dAddRelu(x, w, null, residual, p).toFloatArray();
        assertBitIdentical(cpu.addRelu(CpuConv2d.forward(x, w, null, false, p), residual, residual.shape()), Tensor.of(y, 1, 64, 56, 56), "NaN residual");
        int nans = 0;
        for (float v : y) if (Float.isNaN(v)) nans++;
        assertEquals(1, nans, "a NaN in the residual reaches its own output only");
        float[] xs = x.toFloatArray();
        xs[3 * 3136 + 10 * 56 + 20] = Float.NaN;
        Tensor xn = Tensor.of(xs, 1, 64, 56, 56), clean = randn(rng, 1, 64, 56, 56);
        assertEquals(null, CpuConv2d.forwardAddRelu(xn, w, null, clean, p), "a NaN met F(4x4): the caller composes");
        assertBitIdentical(cpu.addRelu(CpuConv2d.forward(xn, w, null, false, p), clean, clean.shape()), cpu.conv2dAddRelu(xn, w, null, clean, p), "NaN input");
        assertThrows(ShapeException.class, () -> x.conv2dAddRelu(w, null, randn(rng, 1, 64, 28, 28), p), "a residual of another shape");
    }

    /**
     * conv2dPair (a downsampling block's 3x3/2 conv beside its 1x1/2 shortcut): where DirectConv runs the first, the
     * shortcut's blocks ride along, and both outputs are the bits of the two convs run apart (resnet18's layer2 at
     * 224x224 and layer3's geometry, taps in several pieces; a small map whose rows end in mixed tiles; partial blocks
     * of shortcut channels; no shortcut bias); elsewhere (more shortcut channels than it takes, stride 1, a changing
     * weight, a padded shortcut, the shortcut at another stride) the two ops.
     */
    @Test void convPairIsTheTwoConvsToTheBit() {
        Rng rng = new Rng(47);
        CpuBackend cpu = new CpuBackend();
        int[][] cases = {   // c, h, oc, oc2, stride, shortcut bias, shortcut padding, shortcut stride, taken fused
            {64, 56, 128, 128, 2, 1, 0, 2, 1},
            {128, 28, 256, 128, 2, 1, 0, 2, 1},   // layer3's geometry, 128 shortcut channels
            {128, 28, 256, 256, 2, 1, 0, 2, 0},   // layer3 itself: past SHORTCUT_MAX_CHANNELS, the two ops
            {16, 15, 32, 48, 2, 1, 0, 2, 1},
            {8, 13, 16, 16, 2, 0, 0, 2, 1},
            {16, 12, 32, 32, 1, 1, 0, 1, 0},
            {16, 15, 32, 32, 2, 1, 1, 2, 0},
            {16, 16, 32, 32, 2, 1, 0, 1, 0}};
        for (int[] c : cases) {
            String what = java.util.Arrays.toString(c);
            Tensor x = randn(rng, 1, c[0], c[1], c[1]), w = constantWeight(rng, c[2], c[0]), bias = randn(rng, c[2]);
            Tensor w2 = Tensor.of(randn(rng, c[3], c[0], 1, 1).toFloatArray(), c[3], c[0], 1, 1), bias2 = c[5] == 1 ? randn(rng, c[3]) : null;
            w2.storage().markConstant();
            Conv2dParams p = new Conv2dParams(c[4], c[4], 1, 1, 1, 1, 1), p2 = new Conv2dParams(c[7], c[7], c[6], c[6], 1, 1, 1);
            Tensor first = CpuConv2d.forward(x, w, bias, true, p);
            Tensor[] pair = cpu.conv2dPair(x, w, bias, true, p, w2, bias2, p2);
            assertEquals(c[8] == 1, CpuConv2d.forwardPair(x, w, bias, true, p, w2, bias2, p2) != null, what + " fused where DirectConv runs the first");
            assertBitIdentical(first, pair[0], what + " the first conv");
            assertBitIdentical(CpuConv2d.forward(x, w2, bias2, false, p2), pair[1], what + " the shortcut");
            Tensor[] through = x.conv2dPair(w, bias, true, p, w2, bias2, p2);
            assertBitIdentical(first, through[0], what + " through Tensor");
            Tensor changing = randn(rng, c[3], c[0], 1, 1);
            assertEquals(null, CpuConv2d.forwardPair(x, w, bias, true, p, changing, null, p2), what + " a changing shortcut weight: the two ops");
        }
        Tensor x = randn(rng, 1, 16, 15, 15), w = constantWeight(rng, 32, 16);
        assertThrows(ShapeException.class, () -> x.conv2dPair(w, null, false, Conv2dParams.of(2, 1), randn(rng, 32, 8, 1, 1), null, Conv2dParams.of(2, 0)),
                "a shortcut weight for another channel count");
    }

    /**
     * With a constant weight where DirectConv runs a stride-1 layer of one image (ahead of F(2x2)), conv2dMaxPool pools
     * each pair of output rows from a row-pair buffer: the bits of the conv then the pool, unpadded (x read in place) or
     * padded (the split source), odd and even output sizes, a block of three vectors of channels; a NaN in the input
     * reaches the windows over it in both forms.
     */
    @Test void convThenMaxPoolOnDirectConvIsTheComposedOpsToTheBit() {
        Rng rng = new Rng(46);
        CpuBackend cpu = new CpuBackend();
        dev.ember.engine.Pool2dParams pool = dev.ember.engine.Pool2dParams.of(2);
        int[][] cases = {   // c, h, w, oc, pad
            {32, 13, 13, 64, 0},   // small_cnn's conv2 and pool2 at batch 1: 11x11 -> 5x5, x read in place
            {32, 14, 12, 32, 1},   // padded: 14x12 -> 7x6
            {40, 11, 12, 48, 0},   // 9x10 -> 4x5, 48 channels
            {32, 12, 11, 32, 1}};  // 12x11 -> 6x5, padded, an odd width
        for (int[] c : cases) {
            Tensor x = randn(rng, 1, c[0], c[1], c[2]), bias = randn(rng, c[3]);
            Tensor w = constantWeight(rng, c[3], c[0]);
            Conv2dParams p = new Conv2dParams(1, 1, c[4], c[4], 1, 1, 1);
            Im2col g = new Im2col(x.shape(), w.shape(), p.outputShape(x.shape(), w.shape()), p);
            assertTrue(Winograd3x3F4.plan(g, p) == null && Winograd3x3.plan(g, p) != null && DirectConv.beforeWinograd(g, p)
                    && DirectConv.plan(g, p).poolable(), java.util.Arrays.toString(c) + " takes DirectConv");
            assertFusedIsComposed(cpu, x, w, bias, p, pool, java.util.Arrays.toString(c));
        }
        // an input that is a view at an offset (the second image of two): DirectConv reads x in place from there
        Tensor two = randn(rng, 2, 32, 13, 13), second = two.slice(0, 1, 2), copy = Tensor.of(second.toFloatArray(), 1, 32, 13, 13);
        Tensor wv = constantWeight(rng, 64, 32), bv = randn(rng, 64);
        Conv2dParams unpadded = Conv2dParams.of(1, 0);
        assertBitIdentical(cpu.conv2dMaxPool(copy, wv, bv, true, unpadded, pool), cpu.conv2dMaxPool(second, wv, bv, true, unpadded, pool), "a view at an offset, pooled");
        assertBitIdentical(CpuConv2d.forward(copy, wv, bv, true, unpadded), CpuConv2d.forward(second, wv, bv, true, unpadded), "a view at an offset");
        float[] nanInput = randn(rng, 1, 32, 13, 13).toFloatArray();
        nanInput[3 * 169 + 6 * 13 + 2] = Float.NaN;
        Tensor xn = Tensor.of(nanInput, 1, 32, 13, 13);
        Tensor wn = constantWeight(rng, 64, 32);
        Conv2dParams p = Conv2dParams.of(1, 0);
        Tensor fusedNan = cpu.conv2dMaxPool(xn, wn, null, true, p, pool);
        assertBitIdentical(CpuPool2d.maxValues(CpuConv2d.forward(xn, wn, null, true, p), pool), fusedNan, "NaN input");
        assertTrue(Float.isNaN(fusedNan.toFloatArray()[5 * 25 + 2 * 5]), "the window over the NaN's conv outputs is NaN");
    }

    @Test void convThenStemMaxPoolOnStride2ConvIsTheComposedOpsToTheBit() {
        Rng rng = new Rng(47);
        CpuBackend cpu = new CpuBackend();
        int[][] cases = {   // n, c, h, w, oc, kernel, pad, pool pad
            {1, 3, 64, 64, 64, 7, 3, 1},    // resnet18's stem at 64x64: 32x32 -> 16x16
            {2, 3, 70, 66, 20, 7, 3, 1},    // two images, a partial channel strip, 35x33 -> 18x17 (odd: the last window clipped)
            {5, 3, 66, 64, 12, 7, 3, 1},    // five images split between the threads: one band of pooled rows each
            {1, 2, 72, 80, 16, 5, 2, 0},    // unpadded pool: 36x40 -> 17x19
            {1, 3, 90, 96, 8, 3, 1, 1}};    // rows wider than two blocks, not whole vectors: 45x48 -> 23x24
        for (int[] c : cases) {
            Tensor x = randn(rng, c[0], c[1], c[2], c[3]), bias = randn(rng, c[4]);
            Tensor w = Tensor.of(randn(rng, c[4], c[1], c[5], c[5]).toFloatArray(), c[4], c[1], c[5], c[5]);
            Conv2dParams p = new Conv2dParams(2, 2, c[6], c[6], 1, 1, 1);
            Pool2dParams pool = new Pool2dParams(3, 3, 2, 2, c[7], c[7], false, false);
            Im2col g = new Im2col(x.shape(), w.shape(), p.outputShape(x.shape(), w.shape()), p);
            assertTrue(Stride2Conv.plan(g, p) != null, java.util.Arrays.toString(c) + " takes Stride2Conv");
            assertFusedIsComposed(cpu, x, w, bias, p, pool, java.util.Arrays.toString(c) + " changing weight");
            w.storage().markConstant();   // the packed weight kept with it, as in a session
            assertFusedIsComposed(cpu, x, w, bias, p, pool, java.util.Arrays.toString(c));
        }
        float[] nanInput = randn(rng, 1, 3, 64, 64).toFloatArray();
        nanInput[2 * 4096 + 20 * 64 + 30] = Float.NaN;
        Tensor xn = Tensor.of(nanInput, 1, 3, 64, 64), wn = randn(rng, 64, 3, 7, 7);
        Conv2dParams p = new Conv2dParams(2, 2, 3, 3, 1, 1, 1);
        Pool2dParams pool = new Pool2dParams(3, 3, 2, 2, 1, 1, false, false);
        Tensor fusedNan = cpu.conv2dMaxPool(xn, wn, null, true, p, pool);
        assertBitIdentical(CpuPool2d.maxValues(CpuConv2d.forward(xn, wn, null, true, p), pool), fusedNan, "NaN input");
        assertTrue(Float.isNaN(fusedNan.toFloatArray()[5 * 256 + 5 * 16 + 8]), "a window over the NaN's conv outputs is NaN");
    }

    /** A 3x3 weight (OC, C, 3, 3) marked constant, as an inference session's initializer. */
    private static Tensor constantWeight(Rng rng, int oc, int c) {
        Tensor w = Tensor.of(randn(rng, oc, c, 3, 3).toFloatArray(), oc, c, 3, 3);
        w.storage().markConstant();
        return w;
    }

    /** conv2dMaxPool takes the fused path and gives the conv then the pool's bits, with and without ReLU and bias. */
    private static void assertFusedIsComposed(CpuBackend cpu, Tensor x, Tensor w, Tensor bias, Conv2dParams p,
                                              dev.ember.engine.Pool2dParams pool, String label) {
        for (boolean relu : new boolean[] {true, false}) {
            for (Tensor b : new Tensor[] {bias, null}) {
                Tensor composed = CpuPool2d.maxValues(CpuConv2d.forward(x, w, b, relu, p), pool);
                String what = label + (relu ? " relu" : "") + (b == null ? " no bias" : "");
                assertTrue(CpuConv2d.forwardPooled(x, w, b, relu, p, pool) != null, what + ": fused");
                assertBitIdentical(composed, cpu.conv2dMaxPool(x, w, b, relu, p, pool), what);
            }
        }
    }

    @Test void backwardWeightIsTheChunkOrderSumOfItsChunks() {
        Rng rng = new Rng(36);
        Conv2dParams p = Conv2dParams.of(1, 0);
        int[][] layers = {{8, 7, 7, 16, 3}, {1, 12, 12, 8, 3}}; // C, H, W, OC, K: several channels, then one
        for (int[] l : layers) {
            Shape xs1 = Shape.of(1, l[0], l[1], l[2]), ws = Shape.of(l[3], l[0], l[4], l[4]);
            int per = CpuConv2d.imagesPerChunk(new Im2col(xs1, ws, p.outputShape(xs1, ws), p));
            int n = 2 * per + 3;
            Tensor x = randn(rng, n, l[0], l[1], l[2]);
            Tensor dy = randn(rng, p.outputShape(x.shape(), ws).dims());
            float[] sum = null;
            for (int n0 = 0; n0 < n; n0 += per) {
                int n1 = Math.min(n, n0 + per);
                float[] chunk = CpuConv2d.backwardWeight(dy.slice(0, n0, n1), x.slice(0, n0, n1), ws, p).toFloatArray();
                if (sum == null) sum = chunk;
                else for (int e = 0; e < sum.length; e++) sum[e] += chunk[e];
            }
            assertBitIdentical(Tensor.of(sum, ws.dims()), CpuConv2d.backwardWeight(dy, x, ws, p),
                    java.util.Arrays.toString(l) + " backwardWeight of " + n + " images vs its chunks of " + per);
        }
    }

    @Test void aMismatchedGradientShapeIsRefused() {
        Tensor w = Tensor.zeros(4, 3, 3, 3);
        Tensor dy = Tensor.zeros(1, 4, 5, 5); // the input below gives (1, 4, 6, 6)
        assertThrows(ShapeException.class, () -> CpuConv2d.backwardInput(dy, w, Shape.of(1, 3, 8, 8), Conv2dParams.of(1, 0)));
        assertThrows(ShapeException.class, () -> CpuConv2d.backwardWeight(dy, Tensor.zeros(1, 3, 8, 8), w.shape(), Conv2dParams.of(1, 0)));
    }
}
