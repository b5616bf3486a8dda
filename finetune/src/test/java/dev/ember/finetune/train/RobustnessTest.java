package dev.ember.finetune.train;

import dev.ember.finetune.data.SampleSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RobustnessTest {
    @TempDir Path dir;

    @Test void fgsmAtZeroIsCleanAccuracyAndLargerEpsilonsDoNotHelp() throws Exception {
        SampleSet train = Fixtures.blobs(8, 3, 40, 1), val = Fixtures.blobs(8, 3, 10, 2), test = Fixtures.blobs(8, 3, 30, 3);
        TunableModel m = TunableModel.of(Fixtures.mlp(8, 3, 5));
        new FineTuner(FineTuneConfig.defaults().epochs(6).batchSize(16).unfreeze(FineTuneConfig.Unfreeze.ALL).lr(0.01f))
                .train(m, train, val, null, dir);
        double clean = Evaluation.accuracy(m.model(), test.data(), 32);
        assertTrue(clean > 0.8, "trained: clean accuracy " + clean);

        List<Double> eps = List.of(0.0, 0.1, 0.3, 0.6, 1.0);
        Map<Double, Double> fgsm = Robustness.fgsm(m.model(), test.data(), UnaryOperator.identity(), eps, 32);
        assertEquals(clean, fgsm.get(0.0));
        List<Double> curve = new ArrayList<>(fgsm.values());
        for (int i = 1; i < curve.size(); i++) assertTrue(curve.get(i) <= curve.get(i - 1), "FGSM accuracy by epsilon " + fgsm);
        assertTrue(curve.getLast() < clean, "a large epsilon hurts: " + fgsm);
        assertTrue(m.model().parameters().stream().allMatch(p -> p.requiresGrad() && p.grad() == null), "parameters untouched");

        Map<Double, Double> noise = Robustness.noise(m.model(), test.data(), UnaryOperator.identity(), List.of(0.0, 0.5, 3.0), 7, 32);
        assertEquals(clean, noise.get(0.0));
        assertTrue(noise.get(3.0) < clean, "strong noise hurts: " + noise);
        assertEquals(noise, Robustness.noise(m.model(), test.data(), UnaryOperator.identity(), List.of(0.0, 0.5, 3.0), 7, 32), "seeded");
    }
}
