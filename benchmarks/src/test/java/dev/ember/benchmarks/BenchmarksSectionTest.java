package dev.ember.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.engine.EmberException;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The rewrite of BENCHMARKS.md's generated section: only between the markers, only the groups measured. */
class BenchmarksSectionTest {
    private static final String INTRO = "# Benchmarks\n\nHand-written intro.\n\n";
    private static final String REST = "## Training step (issue 6)\n\nHand-written analysis | with a table |\n";

    @Test void insertsTheSectionBeforeTheFirstSecondLevelHeading() {
        String out = BenchmarksSection.rewrite(INTRO + REST, Map.of("sgemm", "### SGEMM\n\nfresh sgemm\n"));
        assertTrue(out.startsWith(INTRO + BenchmarksSection.BEGIN + "\n"), out);
        assertTrue(out.endsWith(BenchmarksSection.END + "\n\n" + REST), out);
        assertTrue(out.contains("<!-- bench:group sgemm -->\n### SGEMM\n\nfresh sgemm\n"), out);
        assertTrue(out.contains("Not measured yet: run `bin/bench inference`"), out);
    }

    @Test void appendsWhenThereIsNoSecondLevelHeading() {
        String out = BenchmarksSection.rewrite("# Benchmarks\n", Map.of());
        assertTrue(out.startsWith("# Benchmarks\n\n" + BenchmarksSection.BEGIN), out);
        assertTrue(out.endsWith(BenchmarksSection.END + "\n"), out);
    }

    @Test void replacesOnlyTheGroupsMeasuredAndLeavesTheRestOfTheFileAlone() {
        String first = BenchmarksSection.rewrite(INTRO + REST, Map.of("sgemm", "old sgemm", "train", "old train"));
        String second = BenchmarksSection.rewrite(first, Map.of("train", "new train"));
        assertTrue(second.contains("old sgemm"), second);
        assertTrue(second.contains("new train") && !second.contains("old train"), second);
        assertTrue(second.startsWith(INTRO) && second.endsWith(REST), second);
        int begin = second.indexOf(BenchmarksSection.BEGIN), end = second.indexOf(BenchmarksSection.END);
        assertEquals(first.substring(0, first.indexOf(BenchmarksSection.BEGIN)), second.substring(0, begin));
        assertEquals(first.substring(first.indexOf(BenchmarksSection.END)), second.substring(end));
        assertEquals(second, BenchmarksSection.rewrite(second, Map.of("train", "new train")), "rewriting the same blocks changes nothing");
    }

    @Test void refusesBrokenMarkersAndUnknownGroups() {
        assertThrows(EmberException.class, () -> BenchmarksSection.rewrite(INTRO + BenchmarksSection.BEGIN + "\n" + REST, Map.of()));
        assertThrows(EmberException.class, () -> BenchmarksSection.rewrite(BenchmarksSection.END + "\n" + BenchmarksSection.BEGIN, Map.of()));
        assertThrows(EmberException.class, () -> BenchmarksSection.rewrite(INTRO, Map.of("gpu", "x")));
    }

    @Test void targetsJudgeRatiosInTheirDirection() {
        assertEquals("met", Target.atMost(0.9).judge(0.85));
        assertEquals("**missed**", Target.atMost(0.9).judge(1.2));
        assertEquals("met", Target.atLeast(1.0).judge(1.0));
        assertEquals("**missed**", Target.atLeast(1.0).judge(0.96));
        assertEquals("n/a", Target.atMost(0.8).judge(Double.NaN));
        assertEquals("—", Target.NONE.judge(0.5));
    }
}
