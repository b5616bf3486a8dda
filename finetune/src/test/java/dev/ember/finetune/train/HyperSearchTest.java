package dev.ember.finetune.train;

import dev.ember.engine.Rng;
import dev.ember.finetune.data.SampleSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HyperSearchTest {
    @TempDir Path dir;

    private final HyperSearch.Space space = new HyperSearch.Space(List.of(0.001f, 0.05f), List.of(0f, 0.01f),
            List.of(HyperSearch.Schedule.parse("all"), HyperSearch.Schedule.parse("gradual:1")));

    @Test void gridTriesEveryCombinationAndRetrainsTheBestOnce() throws Exception {
        SampleSet train = Fixtures.blobs(8, 3, 20, 1), val = Fixtures.blobs(8, 3, 10, 2), test = Fixtures.blobs(8, 3, 10, 3);
        FineTuneConfig base = FineTuneConfig.defaults().epochs(2).batchSize(16);
        List<FineTuneConfig> grid = space.grid(base);
        assertEquals(8, grid.size());
        HyperSearch.Result r = HyperSearch.search(grid.subList(0, 4), () -> Heads.replace(Fixtures.mlp(8, 5, 1), 3, 0f, new Rng(2)),
                train, val, test, dir, t -> t);
        assertEquals(4, r.trials().size());
        for (HyperSearch.Trial t : r.trials()) assertTrue(t.score() <= r.best().score(), t.settings());
        assertEquals(r.best().config().asMap(), r.result().config());
        assertEquals(r.best().bestEpoch(), r.result().bestEpoch(), "the retrain repeats the chosen trial");
        assertTrue(Files.exists(dir.resolve("trials").resolve("trial-04").resolve(FineTuner.METRICS_FILE)));
        assertTrue(Files.exists(dir.resolve(FineTuner.BEST_FILE)));
    }

    @Test void randomSearchIsSeededAndStaysInTheSpace() {
        FineTuneConfig base = FineTuneConfig.defaults();
        List<FineTuneConfig> a = space.random(base, 5, 11), b = space.random(base, 5, 11);
        assertEquals(a, b);
        for (FineTuneConfig c : a) {
            assertTrue(c.lr() >= 0.001f && c.lr() <= 0.05f, "lr " + c.lr());
            assertTrue(c.weightDecay() == 0f || c.weightDecay() == 0.01f);
        }
    }
}
