package dev.ember.loaders.onnx.ops;

import dev.ember.engine.DType;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxAttribute;
import dev.ember.loaders.onnx.OnnxException;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.ember.loaders.onnx.ops.Ops.longs;
import static dev.ember.loaders.onnx.ops.Ops.range;
import static dev.ember.loaders.onnx.ops.Ops.run1;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tricky ops against hand-computed results, independent of the shared node tests. */
class OnnxOpsTest {
    private static final float EPS = 1e-5f;

    @Test void reshapeCopiesZeroAndInfersMinusOne() {
        Tensor x = range(24, 2, 3, 4);
        assertArrayEquals(new int[] {2, 12}, run1("Reshape", 14, List.of(), x, longs(new long[] {0, -1}, 2)).dims());
        assertArrayEquals(new int[] {4, 3, 2}, run1("Reshape", 14, List.of(), x, longs(new long[] {4, 0, -1}, 3)).dims(), "0 copies the input's size at that axis");
        Tensor empty = Tensor.zeros(DType.FLOAT32, dev.ember.engine.Shape.of(0, 3));
        assertArrayEquals(new int[] {3, 0}, run1("Reshape", 14, List.of(OnnxAttribute.ofInt("allowzero", 1)), empty, longs(new long[] {3, 0}, 2)).dims(),
                "with allowzero a 0 is a size");
        assertThrows(OnnxException.class, () -> run1("Reshape", 14, List.of(), x, longs(new long[] {-1, -1}, 2)));
        assertThrows(OnnxException.class, () -> run1("Reshape", 14, List.of(), x, longs(new long[] {5, -1}, 2)));
    }

    @Test void sliceWithNegativeStepsAndClampedBounds() {
        Tensor x = range(10, 10);
        // starts -1, ends -1000 (clamps to "before 0"), step -3: 9, 6, 3, 0
        Tensor y = run1("Slice", 13, List.of(), x, longs(new long[] {-1}, 1), longs(new long[] {-1000}, 1), longs(new long[] {0}, 1), longs(new long[] {-3}, 1));
        assertArrayEquals(new float[] {9, 6, 3, 0}, y.toFloatArray());
        // ends beyond the size clamp; axes negative
        Tensor m = range(12, 3, 4);
        Tensor z = run1("Slice", 13, List.of(), m, longs(new long[] {1}, 1), longs(new long[] {Long.MAX_VALUE}, 1), longs(new long[] {-1}, 1), longs(new long[] {2}, 1));
        assertArrayEquals(new float[] {1, 3, 5, 7, 9, 11}, z.toFloatArray());
        // opset 1: attributes
        Tensor a = run1("Slice", 1, List.of(OnnxAttribute.ofInts("starts", new long[] {1}), OnnxAttribute.ofInts("ends", new long[] {3}),
                OnnxAttribute.ofInts("axes", new long[] {0})), m);
        assertArrayEquals(new int[] {2, 4}, a.dims());
        assertEquals(4f, a.toFloatArray()[0]);
    }

    @Test void gatherWithNegativeIndicesOnAnyAxis() {
        Tensor x = range(6, 2, 3);
        Tensor y = run1("Gather", 13, List.of(OnnxAttribute.ofInt("axis", 1)), x, longs(new long[] {-1, 0}, 2));
        assertArrayEquals(new int[] {2, 2}, y.dims());
        assertArrayEquals(new float[] {2, 0, 5, 3}, y.toFloatArray());
        Tensor shape = Tensor.ofLongs(new long[] {7, 8, 9}, 3);   // int64 data, as in Shape -> Gather chains
        Tensor last = run1("Gather", 13, List.of(), shape, Tensor.ofLongs(new long[] {-1}).reshape());
        assertEquals(DType.INT64, last.dtype());
        assertEquals(0, last.rank());
        assertEquals(9L, last.toLongArray()[0]);
        assertThrows(OnnxException.class, () -> run1("Gather", 13, List.of(), x, longs(new long[] {2}, 1)));
    }

    @Test void softmaxBefore13CoercesTo2dAndFrom13IsPerAxis() {
        Tensor x = Tensor.of(new float[] {0, 1, 2, 3}, 1, 2, 2);
        // opset 11, axis 1: one softmax over all 4 trailing values
        float[] v11 = run1("Softmax", 11, List.of(OnnxAttribute.ofInt("axis", 1)), x).toFloatArray();
        double total = Math.exp(0) + Math.exp(1) + Math.exp(2) + Math.exp(3);
        assertEquals(Math.exp(3) / total, v11[3], EPS);
        // opset 13, axis 1: per column of the (2, 2) plane
        float[] v13 = run1("Softmax", 13, List.of(OnnxAttribute.ofInt("axis", 1)), x).toFloatArray();
        assertEquals(Math.exp(3) / (Math.exp(1) + Math.exp(3)), v13[3], EPS);
        // defaults: axis 1 before 13, -1 from 13
        float[] d13 = run1("Softmax", 13, List.of(), x).toFloatArray();
        assertEquals(Math.exp(1) / (Math.exp(0) + Math.exp(1)), d13[1], EPS);
        float[] log11 = run1("LogSoftmax", 11, List.of(), x).toFloatArray();
        assertEquals(Math.log(Math.exp(3) / total), log11[3], EPS);
    }

    @Test void convSameUpperPadsTheEndWithAnEvenKernel() {
        // 1x1x3x3 input of ones, 2x2 kernel of ones, SAME_UPPER stride 1: output 3x3, extra padding at the end
        Tensor x = Tensor.ones(1, 1, 3, 3), w = Tensor.ones(1, 1, 2, 2);
        Tensor y = run1("Conv", 11, List.of(OnnxAttribute.ofString("auto_pad", "SAME_UPPER")), x, w);
        assertArrayEquals(new int[] {1, 1, 3, 3}, y.dims());
        assertArrayEquals(new float[] {4, 4, 2, 4, 4, 2, 2, 2, 1}, y.toFloatArray());
        Tensor lower = run1("Conv", 11, List.of(OnnxAttribute.ofString("auto_pad", "SAME_LOWER")), x, w);
        assertArrayEquals(new float[] {1, 2, 2, 2, 4, 4, 2, 4, 4}, lower.toFloatArray());
        // with a bias and explicit asymmetric pads (top 1, bottom 0)
        Tensor b = Tensor.of(new float[] {10}, 1);
        Tensor p = run1("Conv", 11, List.of(OnnxAttribute.ofInts("pads", new long[] {1, 0, 0, 0})), x, w, b);
        assertArrayEquals(new int[] {1, 1, 3, 2}, p.dims());
        assertArrayEquals(new float[] {12, 12, 14, 14, 14, 14}, p.toFloatArray());
    }

    @Test void convTransposeIsTheInputGradientOfConv() {
        // 1-D: x [1, 2], kernel [1, 1, 1], stride 2 -> [1, 1, 1, 2, 2, 2] minus nothing
        Tensor x = Tensor.of(new float[] {1, 2}, 1, 1, 2), w = Tensor.ones(1, 1, 3);
        Tensor y = run1("ConvTranspose", 11, List.of(OnnxAttribute.ofInts("strides", new long[] {2})), x, w);
        assertArrayEquals(new float[] {1, 1, 3, 2, 2}, y.toFloatArray());
        Tensor padded = run1("ConvTranspose", 11, List.of(OnnxAttribute.ofInts("strides", new long[] {2}),
                OnnxAttribute.ofInts("pads", new long[] {1, 0}), OnnxAttribute.ofInts("output_padding", new long[] {1})), x, w);
        assertArrayEquals(new float[] {1, 3, 2, 2, 0}, padded.toFloatArray());
    }

    @Test void convTransposeOnTheHostMatchesTheBackend() {
        // the same 2-D problem (groups, strides, dilations, pads) once as 2-D (backend) and once as 3-D with depth 1 (host loop)
        Tensor x = Tensor.randn(new dev.ember.engine.Rng(5), 1f, 2, 4, 3, 5), w = Tensor.randn(new dev.ember.engine.Rng(6), 1f, 4, 3, 2, 3);
        Tensor b = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 6);
        List<OnnxAttribute> attrs2d = List.of(OnnxAttribute.ofInt("group", 2), OnnxAttribute.ofInts("strides", new long[] {2, 1}),
                OnnxAttribute.ofInts("dilations", new long[] {1, 2}), OnnxAttribute.ofInts("pads", new long[] {1, 0, 0, 2}));
        List<OnnxAttribute> attrs3d = List.of(OnnxAttribute.ofInt("group", 2), OnnxAttribute.ofInts("strides", new long[] {2, 1, 1}),
                OnnxAttribute.ofInts("dilations", new long[] {1, 2, 1}), OnnxAttribute.ofInts("pads", new long[] {1, 0, 0, 0, 2, 0}));
        Tensor y2 = run1("ConvTranspose", 11, attrs2d, x, w, b);
        Tensor y3 = run1("ConvTranspose", 11, attrs3d, x.reshape(2, 4, 3, 5, 1), w.reshape(4, 3, 2, 3, 1), b);
        assertArrayEquals(new int[] {2, 6, 5, 7}, y2.dims());
        assertArrayEquals(y2.toFloatArray(), y3.reshape(y2.dims()).toFloatArray(), 1e-4f);
    }

    @Test void gemmWithTransposesAlphaBetaAndBroadcastC() {
        Tensor a = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 3, 2);    // A^T is (2, 3)
        Tensor b = Tensor.of(new float[] {1, 0, 1, 0, 1, 1}, 2, 3);    // B^T is (3, 2)
        Tensor c = Tensor.of(new float[] {100, 200}, 2);
        Tensor y = run1("Gemm", 13, List.of(OnnxAttribute.ofInt("transA", 1), OnnxAttribute.ofInt("transB", 1),
                OnnxAttribute.ofFloat("alpha", 2f), OnnxAttribute.ofFloat("beta", 0.5f)), a, b, c);
        // A^T B^T = [[1,3,5],[2,4,6]] . [[1,0],[0,1],[1,1]] = [[6, 8], [8, 10]]
        assertArrayEquals(new float[] {62, 116, 66, 120}, y.toFloatArray());
        Tensor noC = run1("Gemm", 13, List.of(OnnxAttribute.ofInt("transA", 1), OnnxAttribute.ofInt("transB", 1)), a, b);
        assertArrayEquals(new float[] {6, 8, 8, 10}, noC.toFloatArray());
    }

    @Test void resizeNearestModes() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 1, 1, 2, 2);
        Tensor up = run1("Resize", 13, List.of(OnnxAttribute.ofString("mode", "nearest")), x, null,
                Tensor.of(new float[] {1, 1, 2, 3}, 4));
        assertArrayEquals(new int[] {1, 1, 4, 6}, up.dims());
        assertArrayEquals(new float[] {1, 1, 1, 2, 2, 2}, java.util.Arrays.copyOf(up.toFloatArray(), 6));
        // sizes instead of scales, asymmetric + floor: output 3 of input 2 picks 0, 0, 1
        Tensor sized = run1("Resize", 13, List.of(OnnxAttribute.ofString("coordinate_transformation_mode", "asymmetric"),
                OnnxAttribute.ofString("nearest_mode", "floor")), x, null, null, longs(new long[] {1, 1, 1, 3}, 4));
        assertArrayEquals(new float[] {1, 1, 2}, sized.toFloatArray());
        Tensor linear = run1("Resize", 13, List.of(OnnxAttribute.ofString("mode", "linear"), OnnxAttribute.ofString("coordinate_transformation_mode",
                "align_corners")), x, null, null, longs(new long[] {1, 1, 1, 3}, 4));
        assertArrayEquals(new float[] {1, 1.5f, 2}, linear.toFloatArray(), EPS);
    }

    @Test void clipTakesAttributesBefore11AndInputsAfter() {
        Tensor x = Tensor.of(new float[] {-2, 0, 5}, 3);
        assertArrayEquals(new float[] {-1, 0, 1}, run1("Clip", 6, List.of(OnnxAttribute.ofFloat("min", -1), OnnxAttribute.ofFloat("max", 1)), x).toFloatArray());
        assertArrayEquals(new float[] {-1, 0, 5}, run1("Clip", 13, List.of(), x, Tensor.scalar(-1f).reshape()).toFloatArray());
        assertArrayEquals(new float[] {-2, 0, 3}, run1("Clip", 13, List.of(), x, null, Tensor.scalar(3f).reshape()).toFloatArray());
    }

    @Test void squeezeAndUnsqueezeTakeAxesFromAttributeOrInput() {
        Tensor x = Tensor.zeros(1, 3, 1);
        assertArrayEquals(new int[] {3, 1}, run1("Squeeze", 11, List.of(OnnxAttribute.ofInts("axes", new long[] {0})), x).dims());
        assertArrayEquals(new int[] {3}, run1("Squeeze", 13, List.of(), x).dims());
        assertArrayEquals(new int[] {1, 3}, run1("Squeeze", 13, List.of(), x, longs(new long[] {-1}, 1)).dims());
        assertArrayEquals(new int[] {1, 1, 3, 1, 1}, run1("Unsqueeze", 13, List.of(), x, longs(new long[] {-1, 1}, 2)).dims());
        assertThrows(OnnxException.class, () -> run1("Squeeze", 13, List.of(), x, longs(new long[] {1}, 1)));
    }

    @Test void integerShapeArithmetic() {
        Tensor shape = Tensor.ofLongs(new long[] {2, 3, 4}, 3);
        Tensor prod = run1("Mul", 13, List.of(), shape, Tensor.ofLongs(new long[] {2}).reshape());
        assertEquals(DType.INT64, prod.dtype());
        assertArrayEquals(new long[] {4, 6, 8}, prod.toLongArray());
        Tensor cat = run1("Concat", 13, List.of(OnnxAttribute.ofInt("axis", 0)), shape, Tensor.ofLongs(new long[] {-1}, 1));
        assertArrayEquals(new long[] {2, 3, 4, -1}, cat.toLongArray());
        Tensor eq = run1("Equal", 13, List.of(), shape, Tensor.ofLongs(new long[] {3}, 1));
        assertEquals(DType.BOOL, eq.dtype());
        assertArrayEquals(new long[] {0, 1, 0}, eq.toLongArray());
        assertArrayEquals(new long[] {1, 2, 0}, run1("Mod", 13, List.of(), Tensor.ofLongs(new long[] {-5, 5, 6}, 3), Tensor.ofLongs(new long[] {3}, 1))
                .toLongArray(), "integer Mod follows the divisor's sign (Python)");
    }

    @Test void groupNormWithOneChannelPerGroupIsInstanceNorm() {
        Tensor x = Tensor.randn(new dev.ember.engine.Rng(3), 1f, 2, 4, 3, 3);
        Tensor scale = Tensor.of(new float[] {1, 2, 3, 4}, 4), bias = Tensor.of(new float[] {0, 1, 0, -1}, 4);
        Tensor group = run1("GroupNormalization", 18, List.of(OnnxAttribute.ofInt("num_groups", 4)), x, scale, bias);
        Tensor instance = run1("InstanceNormalization", 6, List.of(), x, scale, bias);
        assertArrayEquals(instance.toFloatArray(), group.toFloatArray(), 1e-4f);
        Tensor two = run1("GroupNormalization", 18, List.of(OnnxAttribute.ofInt("num_groups", 2)), x, Tensor.ones(2), Tensor.zeros(2));
        float[] g0 = java.util.Arrays.copyOf(two.toFloatArray(), 18);   // sample 0, group 0: channels 0 and 1
        double mean = 0, sq = 0;
        for (float f : g0) mean += f / 18;
        for (float f : g0) sq += (f - mean) * (f - mean) / 18;
        assertEquals(0, mean, 1e-5);
        assertEquals(1, sq, 1e-3, "unit variance within the group (up to epsilon)");
    }

    @Test void batchNormInferenceAndLpNormalization() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 1, 2, 2);   // (N, C, L)
        Tensor y = run1("BatchNormalization", 15, List.of(OnnxAttribute.ofFloat("epsilon", 0f)), x,
                Tensor.of(new float[] {2, 1}, 2), Tensor.of(new float[] {0, 10}, 2), Tensor.of(new float[] {1, 3}, 2), Tensor.of(new float[] {4, 1}, 2));
        assertArrayEquals(new float[] {0, 1, 10, 11}, y.toFloatArray(), EPS);   // (x - mean) / sqrt(var) * scale + B
        Tensor l2 = run1("LpNormalization", 1, List.of(), Tensor.of(new float[] {3, 4, 0, 2}, 2, 2));
        assertArrayEquals(new float[] {0.6f, 0.8f, 0, 1}, l2.toFloatArray(), EPS);
    }

    @Test void castNarrowsToTheOnnxTypeAndBitwiseOpsWrap() {
        Tensor x = Tensor.of(new float[] {200.7f, -1.5f, 1.0009765625f}, 3);
        Tensor int8 = run1("Cast", 13, List.of(OnnxAttribute.ofInt("to", 3)), x);   // INT8, held as int32
        assertEquals(DType.INT32, int8.dtype());
        assertArrayEquals(new long[] {-56, -1, 1}, int8.toLongArray());
        Tensor half = run1("Cast", 13, List.of(OnnxAttribute.ofInt("to", 10)), x);   // FLOAT16, held as float32
        assertArrayEquals(new float[] {200.75f, -1.5f, 1.0009765625f}, half.toFloatArray());
        assertThrows(OnnxUnsupportedException.class, () -> run1("Cast", 13, List.of(OnnxAttribute.ofInt("to", 8)), x), "STRING");
        Tensor bytes = Tensor.ofBytes(new byte[] {0, 15, (byte) 255}, 3);
        assertArrayEquals(new long[] {255, 240, 0}, run1("BitwiseNot", 18, List.of(), bytes).toLongArray());
        assertArrayEquals(new long[] {0, 5, 5}, run1("BitwiseAnd", 18, List.of(), bytes, Tensor.ofBytes(new byte[] {5}, 1)).toLongArray());
    }

    @Test void dropoutIsTheIdentityInInference() {
        Tensor x = Tensor.of(new float[] {1, 2, 3}, 3);
        Tensor[] out = Ops.run("Dropout", 13, 2, List.of(), x, Tensor.scalar(0.5f).reshape());
        assertArrayEquals(x.toFloatArray(), out[0].toFloatArray());
        assertEquals(DType.BOOL, out[1].dtype());
        assertArrayEquals(new long[] {1, 1, 1}, out[1].toLongArray());
        Tensor training = Host.bools(new int[0], new boolean[] {true});
        assertThrows(OnnxUnsupportedException.class, () -> Ops.run("Dropout", 13, 1, List.of(), x, Tensor.scalar(0.5f).reshape(), training));
    }

    @Test void sizesTakenFromValuesAreCheckedBeforeAllocating() {
        Tensor huge = longs(new long[] {1 << 30, 1 << 30}, 2);
        OnnxException e = assertThrows(OnnxException.class, () -> run1("ConstantOfShape", 13, List.of(), huge));
        assertTrue(e.getMessage().contains("ConstantOfShape") && e.getMessage().contains("half the heap"), e.getMessage());
        assertThrows(OnnxException.class, () -> run1("Tile", 13, List.of(), Tensor.ones(4, 4), longs(new long[] {1 << 20, 1 << 20}, 2)));
        assertThrows(OnnxException.class, () -> run1("Expand", 13, List.of(), Tensor.ones(1), longs(new long[] {Integer.MAX_VALUE, 8}, 2)));
        assertThrows(OnnxException.class, () -> run1("Reshape", 14, List.of(), Tensor.ones(4), longs(new long[] {Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE, -1}, 4)));
        assertThrows(OnnxException.class, () -> run1("Range", 11, List.of(), Tensor.scalar(0f).reshape(), Tensor.scalar(1e12f).reshape(), Tensor.scalar(1f).reshape()));
    }

    @Test void unknownOpsAreNamedWithDomainAndOpset() {
        OnnxUnsupportedException e = assertThrows(OnnxUnsupportedException.class, () -> OnnxOps.find("", "NoSuchOp", 13));
        assertTrue(e.getMessage().contains("'NoSuchOp'") && e.getMessage().contains("opset 13") && e.getMessage().contains("ai.onnx"), e.getMessage());
        assertNull(OnnxOps.resolver().resolve(Ops.node("NoSuchOp", 1, 1), 13));
        assertTrue(OnnxOps.supports("ai.onnx", "Conv", 11));
        assertTrue(OnnxOps.opTypes().contains("Conv"));
    }
}
