package dev.ember.benchmarks;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The inference harness end to end on its cheapest case: small_cnn at batch 1 through ember and ONNX Runtime, a few
 * calls, and the in-run correctness check passes. No timing is asserted. Skips when {@code ../shared} is absent.
 */
class InferenceComparisonTest {
    @Test void smallCnnAgreesWithOnnxRuntime() {
        Path models = Path.of(System.getProperty("ember.shared", "../shared"), "models");
        assumeTrue(Files.isRegularFile(models.resolve("small_cnn.onnx")),
                "shared models not found at " + models.toAbsolutePath() + " (set -Dember.shared); skipping");
        InferenceComparison.Row r = InferenceComparison.compare(models, new InferenceComparison.Case("small_cnn", 1, 1, 28, 28),
                new Timing(1, 0, 3, 0, 3));
        assertNull(r.problem());
        assertTrue(r.passes(), "max |ember - ORT| / max(1, |ORT|) = " + r.maxDiff());
        assertTrue(r.emberMs() > 0 && r.ortMs() > 0 && r.emberFirstMs() > 0 && r.ortFirstMs() > 0, r.toString());
        String block = InferenceComparison.block(List.of(r), "test");
        assertTrue(block.contains("| small_cnn | 1×1×28×28 |") && block.contains("PASS"), block);
    }

    @Test void aMissingModelIsReportedNotThrown() {
        InferenceComparison.Row r = InferenceComparison.compare(Path.of("no-such-dir"), new InferenceComparison.Case("small_cnn", 1, 1, 28, 28),
                new Timing(1, 0, 3, 0, 3));
        assertTrue(r.problem() != null && r.problem().contains("not found"), String.valueOf(r.problem()));
        assertTrue(Double.isNaN(r.maxDiff()) && !r.passes());
    }
}
