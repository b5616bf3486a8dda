package dev.ember.loaders.onnx.ops;

import dev.ember.autograd.GradCheck;
import dev.ember.autograd.Variable;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxAttribute;
import dev.ember.loaders.onnx.OnnxException;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.ember.loaders.onnx.ops.Ops.apply;
import static dev.ember.loaders.onnx.ops.Ops.longs;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Gradients through ops that autograd has no primitive for (joins, gathers, reversed slices, host math with an
 * attached derivative), checked against finite differences; and the refusal of ops ember cannot differentiate.
 */
class OnnxOpsGradTest {
    private static Tensor randn(long seed, int... dims) { return Tensor.randn(new Rng(seed), 1f, dims); }

    @Test void concatAndSplit() {
        GradCheck.check(v -> apply("Concat", 13, List.of(OnnxAttribute.ofInt("axis", 1)), v[0], Variable.of(Tensor.full(-5f, 2, 1)), v[1]),
                randn(1, 2, 3), randn(2, 2, 2));
    }

    @Test void gatherWithRepeatedAndNegativeIndices() {
        GradCheck.check(v -> apply("Gather", 13, List.of(), v[0], Variable.of(longs(new long[] {2, -1, 0, 2}, 2, 2))), randn(3, 3, 4));
    }

    @Test void negativeStepSliceAndReflectPad() {
        GradCheck.check(v -> apply("Slice", 13, List.of(), v[0], Variable.of(longs(new long[] {-1}, 1)), Variable.of(longs(new long[] {-100}, 1)),
                Variable.of(longs(new long[] {1}, 1)), Variable.of(longs(new long[] {-2}, 1))), randn(4, 2, 5));
        GradCheck.check(v -> apply("Pad", 13, List.of(OnnxAttribute.ofString("mode", "reflect")), v[0], Variable.of(longs(new long[] {0, 2, 0, 1}, 4))),
                randn(5, 2, 4));
    }

    @Test void hostMathWithAttachedDerivatives() {
        GradCheck.check(v -> apply("Erf", 13, List.of(), v[0]), randn(6, 7));
        GradCheck.check(v -> apply("Sin", 7, List.of(), v[0]), randn(7, 5));
        GradCheck.check(v -> apply("Pow", 13, List.of(), v[0], v[1]), Tensor.rand(new Rng(8), 0.5f, 2f, 4), randn(9, 4));
        Tensor cond = Tensor.of(new float[] {1, 0, 1, 0}, 4).to(dev.ember.engine.DType.BOOL);
        GradCheck.check(v -> apply("Where", 16, List.of(), Variable.of(cond), v[0], v[1]), randn(10, 4), randn(11, 1));
    }

    @Test void composedActivationsAndLosses() {
        Tensor awayFromKinks = Tensor.of(new float[] {-2.1f, -0.7f, 0.4f, 1.3f, 2.6f}, 5);
        GradCheck.check(v -> apply("Elu", 6, List.of(), v[0]), awayFromKinks);
        GradCheck.check(v -> apply("LeakyRelu", 6, List.of(), v[0]), awayFromKinks);
        GradCheck.check(v -> apply("Softplus", 1, List.of(), v[0]), awayFromKinks);
        GradCheck.check(v -> apply("HardSigmoid", 6, List.of(), v[0]), awayFromKinks);
        Variable target = Variable.of(longs(new long[] {2, 0, 1}, 3));
        GradCheck.check(v -> apply("SoftmaxCrossEntropyLoss", 13, List.of(), v[0], target), randn(12, 3, 4));
        GradCheck.check(v -> apply("CumSum", 14, List.of(OnnxAttribute.ofInt("reverse", 1)), v[0], Variable.of(longs(new long[] {1}, 1))), randn(13, 2, 3));
    }

    @Test void normalizationsAndResize() {
        GradCheck.check(v -> apply("InstanceNormalization", 6, List.of(), v[0], v[1], v[2]), randn(14, 2, 2, 3, 3), randn(15, 2), randn(16, 2));
        GradCheck.check(v -> apply("ReduceLogSumExp", 13, List.of(OnnxAttribute.ofInts("axes", new long[] {1})), v[0]), randn(17, 3, 4));
        GradCheck.check(v -> apply("Resize", 13, List.of(OnnxAttribute.ofString("mode", "linear")), v[0], null,
                Variable.of(Tensor.of(new float[] {1, 1, 2, 1.5f}, 4))), randn(18, 1, 1, 2, 4));
    }

    @Test void nonDifferentiableOpsRefuseWhenRecording() {
        Variable x = Variable.param(randn(19, 2, 3));
        OnnxException e = assertThrows(OnnxException.class,
                () -> apply("TopK", 11, List.of(), x, Variable.of(longs(new long[] {1}, 1))));
        assertTrue(e.getMessage().contains("TopK") && e.getMessage().contains("not differentiable"), e.getMessage());
        // 3-D ConvTranspose runs on a host loop with no backward
        assertThrows(OnnxException.class, () -> apply("ConvTranspose", 11, List.of(), Variable.param(randn(20, 1, 1, 3, 3, 3)), Variable.of(randn(21, 1, 1, 2, 2, 2))));
    }

    @Test void convTranspose2dTrains() {
        GradCheck.check(v -> apply("ConvTranspose", 11, List.of(), v[0], v[1], v[2]), randn(30, 1, 2, 3, 3), randn(31, 2, 3, 2, 2), randn(32, 3));
        GradCheck.check(v -> apply("ConvTranspose", 11, List.of(OnnxAttribute.ofInts("strides", new long[] {2, 2}),
                OnnxAttribute.ofInts("pads", new long[] {1, 0, 0, 1}), OnnxAttribute.ofInts("output_padding", new long[] {1, 1})), v[0], v[1]),
                randn(33, 2, 2, 3, 2), randn(34, 2, 1, 3, 3));
    }
}
