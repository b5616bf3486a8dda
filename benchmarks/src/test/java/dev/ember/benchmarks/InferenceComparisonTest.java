package dev.ember.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
        Path models = InferenceComparison.models();
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

    /** Forks' rows become one: medians per figure, the lowest and highest fork's ratio, the worst fork's check. */
    @Test void forksAreAggregatedByTheirMedians() {
        InferenceComparison.Case c = new InferenceComparison.Case("resnet18", 1, 3, 64, 64);
        List<InferenceComparison.Row> forks = List.of(
                new InferenceComparison.Row(c, "FLOAT [batch, 3, height, width]", 30, 3, 4.0, 2.0, 1e-6, null),
                new InferenceComparison.Row(c, "FLOAT [batch, 3, height, width]", 20, 4, 8.0, 2.5, 3e-6, null),
                new InferenceComparison.Row(c, "FLOAT [batch, 3, height, width]", 10, 5, 5.0, 2.4, 2e-6, null));
        InferenceComparison.Row r = InferenceComparison.aggregate(c, forks);
        assertEquals(20, r.emberFirstMs());
        assertEquals(4, r.ortFirstMs());
        assertEquals(5.0, r.emberMs());
        assertEquals(2.4, r.ortMs());
        assertEquals(3e-6, r.maxDiff());
        assertEquals(2.0, r.lowestRatio(), 1e-12);
        assertEquals(3.2, r.highestRatio(), 1e-12);
        assertEquals(3, r.forks());
        String block = InferenceComparison.block(List.of(r), "test");
        assertTrue(block.contains("median over 3 fresh JVMs") && block.contains("| 2.08× | 2.00× – 3.20× |"), block);

        InferenceComparison.Row broken = InferenceComparison.aggregate(c, List.of(forks.get(0),
                new InferenceComparison.Row(c, "", Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, "a measuring JVM exited with 1")));
        assertEquals("a measuring JVM exited with 1", broken.problem());
        assertTrue(Double.isNaN(broken.maxDiff()) && !broken.passes(), "a fork without a check fails the check");
        assertEquals(4.0, broken.emberMs());
    }

    /** What a fork prints is what the parent reads back; other lines of its output are not rows. */
    @Test void forkLinesRoundTrip() {
        InferenceComparison.Case c = InferenceComparison.CASES.get(3);
        InferenceComparison.Row r = new InferenceComparison.Row(c, "FLOAT [batch, 3, height, width]", 30.5, 3.25, 4.125, 2.0625, 1.5e-6, null);
        assertEquals(r, InferenceComparison.parseForkLine(InferenceComparison.forkLine(3, r)));
        InferenceComparison.Row failed = new InferenceComparison.Row(c, "", Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, "ember:\tbad\nmodel");
        assertEquals("ember: bad model", InferenceComparison.parseForkLine(InferenceComparison.forkLine(3, failed)).problem());
        assertNull(InferenceComparison.parseForkLine("WARNING: Using incubator modules: jdk.incubator.vector"));
    }

    /** The read floor: bytes over the measured bandwidth, its two columns and its sentence; unknown figures as n/a. */
    @Test void theWeightsReadFloorIsBytesOverBandwidth() {
        InferenceComparison.Floor floor = new InferenceComparison.Floor(40.0, 2, 256, java.util.Map.of("resnet18", 46_800_000L));
        assertEquals(1.17, floor.ms("resnet18"), 1e-12);
        assertEquals(46.8, floor.megabytes("resnet18"), 1e-12);
        assertTrue(Double.isNaN(floor.ms("small_cnn")) && Double.isNaN(floor.megabytes("small_cnn")));
        assertTrue(Double.isNaN(new InferenceComparison.Floor(Double.NaN, 2, 256, java.util.Map.of("resnet18", 1L)).ms("resnet18")));
        InferenceComparison.Case c = new InferenceComparison.Case("resnet18", 1, 3, 64, 64);
        InferenceComparison.Row r = new InferenceComparison.Row(c, "FLOAT [batch, 3, height, width]", 30, 3, 2.4, 1.5, 1e-6, null);
        String block = InferenceComparison.block(List.of(r), "test", floor);
        assertTrue(block.contains("| weights MB | weights ÷ DRAM bandwidth ms |") && block.contains("| 1.60× | 46.8 | 1.170 |")
                && block.contains("40.0 GB/s by 2 threads"), block);
        assertTrue(!InferenceComparison.block(List.of(r), "test").contains("weights MB"), "no floor, no columns");
    }

    /** small_cnn's initializers: conv1 32x1x3x3 + 32, conv2 64x32x3x3 + 64, fc1 128x1600 + 128, fc2 10x128 + 10 floats. */
    @Test void weightBytesAreTheInitializers() {
        Path file = InferenceComparison.models().resolve("small_cnn.onnx");
        assumeTrue(Files.isRegularFile(file), "shared models not found at " + file.toAbsolutePath() + " (set -Dember.shared); skipping");
        long floats = 32 * 9 + 32 + 64 * 32 * 9 + 64 + 128 * 1600 + 128 + 10 * 128 + 10;
        assertEquals(4 * floats, InferenceComparison.Floor.weightBytes(dev.ember.loaders.onnx.OnnxModel.read(file)));
    }

    /** The bandwidth probe reads what it wrote (it checks its sums) and gives a positive figure; bad arguments are refused. */
    @Test void memoryBandwidthReadsItsArray() throws InterruptedException {
        assertTrue(MemoryBandwidth.readGBs(2, 8, 1) > 0);
        float[] ones = new float[256];
        java.util.Arrays.fill(ones, 1f);
        assertEquals(128f, MemoryBandwidth.sum(ones, 64, 192));
        assertThrows(IllegalArgumentException.class, () -> MemoryBandwidth.readGBs(0, 8, 1));
        assertThrows(IllegalArgumentException.class, () -> MemoryBandwidth.readGBs(1, 0, 1));
    }

    @Test void forksOptionIsChecked() {
        assertEquals(1, InferenceComparison.forksOption(List.of()));
        assertEquals(3, InferenceComparison.forksOption(List.of("--forks", "3")));
        assertThrows(IllegalArgumentException.class, () -> InferenceComparison.forksOption(List.of("--forks", "0")));
        assertThrows(IllegalArgumentException.class, () -> InferenceComparison.forksOption(List.of("--forks", "x")));
        assertThrows(IllegalArgumentException.class, () -> InferenceComparison.forksOption(List.of("--forks")));
        assertThrows(IllegalArgumentException.class, () -> InferenceComparison.forksOption(List.of("--fast")));
    }

    @Test void aMissingModelIsReportedNotThrown() {
        InferenceComparison.Row r = InferenceComparison.compare(Path.of("no-such-dir"), new InferenceComparison.Case("small_cnn", 1, 1, 28, 28),
                new Timing(1, 0, 3, 0, 3));
        assertTrue(r.problem() != null && r.problem().contains("not found"), String.valueOf(r.problem()));
        assertTrue(Double.isNaN(r.maxDiff()) && !r.passes());
    }
}
