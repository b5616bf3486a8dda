package dev.ember.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The side-by-side timing: alternating blocks, each median to its own side. */
class TimingTest {
    @Test void alternatingBlocksTakeTurnsAndKeepEachSidesMedian() {
        List<Character> order = new ArrayList<>();
        Runnable fast = () -> { order.add('a'); sleepMs(1); }, slow = () -> { order.add('b'); sleepMs(3); };
        double[] medians = new Timing(1, 0, 5, 0.25, 1000).alternatingMediansMs(fast, slow);
        assertTrue(medians[0] >= 1 && medians[1] >= 3, "each side's median is its own calls': " + medians[0] + ", " + medians[1]);
        assertTrue(medians[1] > medians[0], "the slower side has the larger median");
        assertEquals('a', order.get(0));
        assertEquals('b', order.get(1), "warm-up: one call each, a then b");
        int switches = 0;
        for (int i = 3; i < order.size(); i++) if (order.get(i) != order.get(i - 1)) switches++;
        assertTrue(switches >= 3, "measured in alternating blocks, not one side then the other: " + switches + " switches");
    }

    @Test void warmUpGoesOnWhileWindowsImproveAndStopsOnceSteady() {
        long start = System.nanoTime();
        // a side that speeds up after 2.5 s, as a JIT's compiled code arrives: 3 ms a call, then 0.5 ms
        Runnable call = () -> sleepMs((System.nanoTime() - start) / 1e9 < 2.5 ? 3 : 0);
        new Timing(1, 0, 1, 0, 1, 12).medianMs(call);
        double warm = (System.nanoTime() - start) / 1e9;
        assertTrue(warm >= 2.5 + Timing.FLAT_WINDOWS * Timing.WINDOW_SECONDS - 0.1,
                "warm-up went on past the speed-up, then " + Timing.FLAT_WINDOWS + " flat windows: " + warm + " s");
        assertTrue(warm < 12, "and stopped once steady, before its 12 s cap: " + warm + " s");
    }

    private static void sleepMs(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
