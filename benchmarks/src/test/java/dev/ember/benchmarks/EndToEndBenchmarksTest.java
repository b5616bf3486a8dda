package dev.ember.benchmarks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ember.engine.Tensor;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The JMH end-to-end benchmarks' states and methods, called directly (no JMH run, no timing): their cases are the
 * comparisons' cases, a training step trains, an inference call gives the model's output on both sides.
 */
class EndToEndBenchmarksTest {
    @Test void parametersAreTheComparisonsCases() throws NoSuchFieldException {
        assertEquals(InferenceComparison.CASES.stream().map(InferenceComparison.Case::label).toList(),
                List.of(InferenceBenchmark.class.getField("input").getAnnotation(Param.class).value()));
        assertEquals(TrainStepComparison.CASES.stream().map(TrainStepComparison.Case::model).toList(),
                List.of(TrainStepBenchmark.class.getField("model").getAnnotation(Param.class).value()));
        assertEquals("resnet18:1x3x224x224", InferenceComparison.find("resnet18:1x3x224x224").label());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> InferenceComparison.find("resnet18:1x3x32x32"));
        assertTrue(e.getMessage().contains("'resnet18:1x3x32x32'") && e.getMessage().contains("small_cnn:1x1x28x28"), e.getMessage());
    }

    @Test void trainStepTrainsTheFixedBatch() {
        TrainStepBenchmark b = new TrainStepBenchmark();
        b.model = "mlp";
        b.setUp();
        float first = b.step(), last = first;
        for (int i = 0; i < 5; i++) last = b.step();
        assertTrue(Float.isFinite(first) && first > 0, "first loss " + first);
        assertTrue(last < first, "six SGD steps on one batch lower its loss: " + first + " -> " + last);
    }

    @Test void inferenceRunsTheModelOnBothSides() throws Exception {
        assumeTrue(Files.isRegularFile(InferenceComparison.models().resolve("small_cnn.onnx")),
                "shared models not found at " + InferenceComparison.models().toAbsolutePath() + " (set -Dember.shared); skipping");
        InferenceBenchmark ours = new InferenceBenchmark();
        ours.input = "small_cnn:1x1x28x28";
        ours.setUp(false);
        Map<String, Tensor> out = ours.ember();
        assertEquals(1, out.size());
        Tensor logits = out.values().iterator().next();
        assertArrayEquals(new int[] {1, 10}, logits.dims());
        assertArrayEquals(logits.toFloatArray(), ours.ember().values().iterator().next().toFloatArray(), "the same input, the same bits");

        InferenceBenchmark theirs = new InferenceBenchmark();
        theirs.input = ours.input;
        theirs.setUp(true);
        try {
            Blackhole bh = new Blackhole("Today's password is swordfish. I understand instantiating Blackholes directly is dangerous.");
            theirs.onnxRuntime(bh);
            bh.evaporate("Yes, I am Stephen Hawking, and know a thing or two about black holes.");
        } finally {
            theirs.tearDown();
        }
    }
}
