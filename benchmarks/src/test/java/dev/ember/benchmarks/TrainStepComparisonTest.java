package dev.ember.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.benchmarks.TrainStepComparison.Measured;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The training comparison's rounds: medians of each figure, the spread of the per-round ratios, the option. */
class TrainStepComparisonTest {
    @Test void roundsAggregateToMediansAndKeepTheRatioSpread() {
        TrainStepComparison.Case c = TrainStepComparison.find("mlp");
        List<Measured> ember = List.of(new Measured(2, 900, 600), new Measured(4, 800, 700), new Measured(3, 1000, Double.NaN));
        List<Measured> peer = List.of(new Measured(5, 20, 250), new Measured(4, 30, 260), new Measured(6, 25, 240));
        TrainStepComparison.Row row = TrainStepComparison.aggregate("mlp", c, ember, peer, null);
        assertEquals(3, row.ember().medianMs());
        assertEquals(900, row.ember().firstMs());
        assertEquals(650, row.ember().peakRssMiB(), "a round without a figure is left out of its median");
        assertEquals(5, row.peer().medianMs());
        assertEquals(0.4, row.lowestRatio(), 1e-12, "round 1: 2 / 5");
        assertEquals(1.0, row.highestRatio(), 1e-12, "round 2: 4 / 4");
        assertEquals(3, row.rounds());
        String table = TrainStepComparison.block(List.of(row), "PyTorch 1.13");
        assertTrue(table.contains("0.40× – 1.00×"), table);
        assertTrue(table.contains("median over 3 rounds"), table);
    }

    @Test void roundsOption() {
        assertEquals(1, Markdown.roundsOption(List.of("mlp")));
        assertEquals(3, Markdown.roundsOption(List.of("--rounds", "3", "cnn")));
        assertEquals(List.of("cnn"), Markdown.withoutRoundsOption(List.of("--rounds", "3", "cnn")));
        assertThrows(IllegalArgumentException.class, () -> Markdown.roundsOption(List.of("--rounds")));
        assertThrows(IllegalArgumentException.class, () -> Markdown.roundsOption(List.of("--rounds", "0")));
        assertThrows(IllegalArgumentException.class, () -> Markdown.roundsOption(List.of("--rounds", "x")));
    }
}
