package dev.ember.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The SGEMM comparison's rounds: medians of each side, the spread of the per-round ratios, the table. */
class SgemmComparisonTest {
    @Test void roundsAggregateToMediansAndKeepTheRatioSpread() {
        SgemmComparison.Row row = SgemmComparison.aggregate("512x768x3072", new double[] {180, 200, 190}, new double[] {200, 190, Double.NaN});
        assertEquals(2.0 * 512 * 768 * 3072, row.flops());
        assertEquals(190, row.emberGflops());
        assertEquals(195, row.peerGflops(), "a round the peer did not measure is left out of its median");
        assertEquals(0.9, row.lowestRatio(), 1e-12);
        assertEquals(200.0 / 190, row.highestRatio(), 1e-12);
        SgemmComparison.Row big = SgemmComparison.aggregate("2048x2048x2048", new double[] {200}, new double[] {205});
        String table = SgemmComparison.block(List.of(row, big), new Peer(List.of(), "NumPy 1.24", null), "PASS", 3, 230);
        assertTrue(table.contains("0.90× – 1.05×"), table);
        assertTrue(table.contains("median over 3 rounds"), table);
        assertTrue(table.contains("| 83% |"), "190 of a 230 GFLOP/s peak: " + table);
        assertTrue(table.contains("at 2048³: 87%, **missed**"), table);
    }

    @Test void fmaPeakIsAPositiveRate() throws InterruptedException {
        double gflops = FmaPeak.gflops(1, 100_000);
        assertTrue(gflops > 0 && Double.isFinite(gflops), "GFLOP/s " + gflops);
    }
}
