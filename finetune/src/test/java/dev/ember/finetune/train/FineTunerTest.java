package dev.ember.finetune.train;

import dev.ember.autograd.Loss;
import dev.ember.autograd.Variable;
import dev.ember.engine.Tensor;
import dev.ember.engine.Rng;
import dev.ember.finetune.data.SampleSet;
import dev.ember.finetune.data.Sampler;
import dev.ember.loaders.checkpoint.SafeTensors;
import dev.ember.loaders.checkpoint.TrainingCheckpoint;
import dev.ember.loaders.data.LabeledData;
import dev.ember.nn.BatchNorm2d;
import dev.ember.nn.Sequential;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FineTunerTest {
    @TempDir Path dir;

    private static final FineTuneConfig SMALL = FineTuneConfig.defaults().batchSize(16).optimizer(FineTuneConfig.OptimizerKind.SGD)
            .lr(0.05f).weightDecay(0).maxGradNorm(0).patience(10);

    @Test void gradualUnfreezingTrainsOneMoreGroupEachEpochAndLeavesFrozenOnesBitIdentical() throws Exception {
        SampleSet train = Fixtures.blobs(8, 3, 32, 1), val = Fixtures.blobs(8, 3, 10, 2);
        TunableModel m = TunableModel.of(Fixtures.mlp(8, 3, 5));
        List<Map<String, float[]>> snapshots = new ArrayList<>();
        snapshots.add(values(m));
        FineTuneConfig c = SMALL.epochs(3).unfreeze(FineTuneConfig.Unfreeze.GRADUAL, 1);
        new FineTuner(c).progress((done, total, loss) -> {
            if (done % train.size() == 0) snapshots.add(values(m));   // after each epoch's last step
        }).train(m, train, val, null, dir);

        List<List<String>> changedPerEpoch = new ArrayList<>();
        for (int e = 1; e <= 3; e++) {
            List<String> changed = new ArrayList<>();
            for (BlockGroup g : m.groups().groups()) {
                boolean any = false;
                for (String name : g.parameters().keySet()) any |= !java.util.Arrays.equals(snapshots.get(e - 1).get(name), snapshots.get(e).get(name));
                if (any) changed.add(g.name());
            }
            changedPerEpoch.add(changed);
        }
        assertEquals(List.of(List.of("4"), List.of("2", "4"), List.of("0", "2", "4")), changedPerEpoch);
    }

    @Test void anUnfreezeGlobTrainsMatchingParametersWhateverTheirGroup() throws Exception {
        SampleSet train = Fixtures.blobs(8, 3, 20, 1), val = Fixtures.blobs(8, 3, 10, 2);
        TunableModel m = TunableModel.of(Fixtures.mlp(8, 3, 5));
        Map<String, float[]> before = values(m);
        new FineTuner(SMALL.epochs(1).unfreeze(FineTuneConfig.Unfreeze.HEAD).unfreezeGlob("0.*")).train(m, train, val, null, dir);
        Map<String, float[]> after = values(m);
        assertFalse(java.util.Arrays.equals(before.get("0.weight"), after.get("0.weight")));
        assertArrayEquals(before.get("2.weight"), after.get("2.weight"));
        assertFalse(java.util.Arrays.equals(before.get("4.weight"), after.get("4.weight")));
    }

    @Test void discriminativeLearningRatesScaleEachEarlierGroup() throws Exception {
        SampleSet train = Fixtures.blobs(8, 3, 20, 1), val = Fixtures.blobs(8, 3, 10, 2);
        Sequential reference = Fixtures.mlp(8, 3, 5);
        TunableModel m = TunableModel.of(Fixtures.mlp(8, 3, 5));
        Map<String, float[]> before = values(m);
        // the gradient of the whole training set, as the single full batch of the run will see it
        Loss.crossEntropy(reference.forward(Variable.of(train.data().inputs())), train.data().labels()).backward();
        FineTuneConfig c = SMALL.epochs(1).batchSize(train.size()).unfreeze(FineTuneConfig.Unfreeze.ALL).lrFactor(0.5f).lr(0.1f);
        FineTuner.Training t = new FineTuner(c).train(m, train, val, null, dir);

        assertArrayEquals(new double[] {0.1f * 0.25f, 0.1f * 0.5f, 0.1f}, t.epochs().get(0).groupLrs(), 1e-9);
        Map<String, Variable> refParams = reference.namedParameters();
        float[] expectedLr = {0.025f, 0.05f, 0.1f};
        for (int g = 0; g < 3; g++) {
            for (Map.Entry<String, Variable> p : m.groups().groups().get(g).parameters().entrySet()) {
                float[] w0 = before.get(p.getKey()), w1 = p.getValue().data().toFloatArray(), grad = refParams.get(p.getKey()).grad().toFloatArray();
                for (int i = 0; i < w0.length; i++) assertEquals(-expectedLr[g] * grad[i], w1[i] - w0[i], 1e-6, p.getKey() + "[" + i + "]");
            }
        }
    }

    @Test void batchNormStatisticsStayFrozenWhileTheirGroupIsFrozen() throws Exception {
        SampleSet train = Fixtures.squares(16, 1), val = Fixtures.squares(4, 2);
        for (FineTuneConfig.Unfreeze mode : FineTuneConfig.Unfreeze.values()) {
            TunableModel m = TunableModel.of(Fixtures.cnn(4, 3));
            BatchNorm2d bn = (BatchNorm2d) ((Sequential) m.model()).get(1);
            float[] mean0 = bn.runningMean().toFloatArray();
            new FineTuner(SMALL.epochs(2).unfreeze(mode, 1)).train(m, train, val, null, dir.resolve(mode.name()));
            boolean moved = !java.util.Arrays.equals(mean0, bn.runningMean().toFloatArray());
            // gradual over 3 groups reaches the conv block only in epoch 3
            assertEquals(mode == FineTuneConfig.Unfreeze.ALL, moved, mode + ": running mean moved = " + moved);
            assertEquals(mode == FineTuneConfig.Unfreeze.ALL, bn.numBatchesTracked() > 0, mode.name());
        }
    }

    @Test void earlyStoppingStopsAfterPatienceAndKeepsTheBestEpoch() throws Exception {
        SampleSet train = Fixtures.blobs(8, 3, 30, 1);
        SampleSet val = Fixtures.sampleSet(shuffledLabels(Fixtures.blobs(8, 3, 10, 2).data()));   // a metric that wanders
        TunableModel m = TunableModel.of(Fixtures.mlp(8, 3, 5));
        FineTuneConfig c = SMALL.epochs(40).patience(3).stopMetric(FineTuneConfig.StopMetric.ACCURACY).unfreeze(FineTuneConfig.Unfreeze.ALL);
        FineTuner.Training t = new FineTuner(c).train(m, train, val, null, dir);

        int n = t.epochs().size();
        assertTrue(n < 40, "stopped early, after " + n + " epochs");
        assertEquals(t.bestEpoch() + 3, n);
        double best = t.epochs().get(t.bestEpoch() - 1).validation().accuracy();
        for (int e = 0; e < n; e++) {
            double a = t.epochs().get(e).validation().accuracy();
            assertTrue(e + 1 < t.bestEpoch() ? a < best : a <= best, "epoch " + (e + 1));
        }
        assertEquals(best, Evaluation.metrics(m.model(), val.data(), 16).accuracy(), "the model holds the best epoch's weights");
        Map<String, Tensor> saved = SafeTensors.read(dir.resolve(FineTuner.BEST_FILE)).tensors();
        for (Map.Entry<String, Tensor> e : m.model().stateDict().entrySet()) {
            assertArrayEquals(saved.get(e.getKey()).toFloatArray(), e.getValue().toFloatArray(), e.getKey());
        }
        assertEquals(n, Files.readAllLines(dir.resolve(FineTuner.METRICS_FILE)).size());
    }

    @Test void metricsFileHasOneJsonLinePerEpochWithNullForNaN() throws Exception {
        SampleSet train = Fixtures.blobs(8, 3, 10, 1);
        long[] oneClassMissing = {5, 5, 0};
        SampleSet val = Fixtures.blobs(8, oneClassMissing, 0.8, 2);
        TunableModel m = TunableModel.of(Fixtures.mlp(8, 3, 5));
        new FineTuner(SMALL.epochs(2)).train(m, train, val, null, dir);
        List<String> lines = Files.readAllLines(dir.resolve(FineTuner.METRICS_FILE));
        assertEquals(2, lines.size());
        assertTrue(lines.get(0).startsWith("{\"epoch\":1,\"train_loss\":"), lines.get(0));
        assertTrue(lines.get(1).contains("\"val_recall\":[") && lines.get(1).contains(",null]"), lines.get(1));
        assertTrue(lines.get(1).contains("\"trainable_groups\":[\"2\",\"4\"]"), lines.get(1));
    }

    @Test void aNonFiniteLossNamesEpochAndStepAndRestoresTheEpochStart() throws Exception {
        SampleSet val = Fixtures.blobs(8, 3, 10, 2);
        // a NaN input in the 3rd batch of 16: step 3 of epoch 1
        SampleSet clean = Fixtures.blobs(8, 3, 20, 1);
        float[] x = clean.data().inputs().toFloatArray();
        TunableModel m = TunableModel.of(Fixtures.mlp(8, 3, 5));
        Map<String, float[]> initial = values(m);
        FineTuneConfig c = SMALL.epochs(3).unfreeze(FineTuneConfig.Unfreeze.ALL);
        // the run's first epoch order: the first stream split from the seed (see FineTuner.train)
        int target = Sampler.shuffle().epochOrder(clean.data().labels().toLongArray(), new Rng(c.seed()).split())[2 * 16 + 5];
        x[target * 8 + 3] = Float.NaN;
        SampleSet poisoned = Fixtures.sampleSet(new LabeledData(Tensor.of(x, clean.size(), 8), clean.data().labels(), 3));
        NonFiniteLossException e = assertThrows(NonFiniteLossException.class,
                () -> new FineTuner(c).train(m, poisoned, val, null, dir.resolve("first")));
        assertEquals(1, e.epoch());
        assertEquals(3, e.step());
        assertTrue(e.getMessage().contains("epoch 1, step 3"), e.getMessage());
        assertEquals(initial.keySet(), values(m).keySet());
        for (String k : initial.keySet()) assertArrayEquals(initial.get(k), values(m).get(k), k);
        assertFalse(Files.exists(dir.resolve("first").resolve(FineTuner.CHECKPOINT_FILE)));

        // a weight turned NaN during epoch 2: the epoch-1 checkpoint stays, the model goes back to it
        TunableModel m2 = TunableModel.of(Fixtures.mlp(8, 3, 5));
        Variable head = m2.groups().head().parameters().values().iterator().next();
        NonFiniteLossException e2 = assertThrows(NonFiniteLossException.class, () -> new FineTuner(c).progress((done, total, loss) -> {
            if (done == clean.size() + 16) head.data().set(Float.NaN, 0, 0);   // after step 1 of epoch 2
        }).train(m2, clean, val, null, dir.resolve("second")));
        assertEquals(2, e2.epoch());
        assertEquals(2, e2.step());
        Path checkpoint = dir.resolve("second").resolve(FineTuner.CHECKPOINT_FILE);
        assertEquals(1, TrainingCheckpoint.readState(checkpoint).epoch());
        Map<String, Tensor> saved = SafeTensors.read(checkpoint).tensors();
        for (Map.Entry<String, Tensor> p : m2.model().stateDict().entrySet()) {
            assertArrayEquals(saved.get(p.getKey()).toFloatArray(), p.getValue().toFloatArray(), p.getKey());
        }
    }

    static Map<String, float[]> values(TunableModel m) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : m.model().stateDict().entrySet()) out.put(e.getKey(), e.getValue().toFloatArray());
        return out;
    }

    private static LabeledData shuffledLabels(LabeledData d) {
        long[] y = d.labels().toLongArray();
        int[] p = new Rng(99).permutation(y.length);
        long[] shuffled = new long[y.length];
        for (int i = 0; i < y.length; i++) shuffled[i] = y[p[i]];
        return new LabeledData(d.inputs(), Tensor.ofLongs(shuffled, y.length), d.classes());
    }
}
