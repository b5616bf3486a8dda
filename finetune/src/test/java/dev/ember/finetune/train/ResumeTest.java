package dev.ember.finetune.train;

import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.finetune.data.SampleSet;
import dev.ember.loaders.checkpoint.TrainingCheckpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A run stopped after epoch 1 and resumed for 2 more ends exactly as a run of 3 epochs that was never stopped. */
class ResumeTest {
    @TempDir Path dir;

    private static final class Killed extends RuntimeException {}

    private final SampleSet train = Fixtures.blobs(8, new long[] {40, 40, 8}, 1.0, 1);
    private final SampleSet val = Fixtures.blobs(8, 3, 10, 2);
    private final SampleSet test = Fixtures.blobs(8, 3, 10, 3);
    private final SampleSet source = Fixtures.blobs(8, 5, 6, 4);
    // every stream a resume must restore: data order (oversampling), augmentation, head dropout, Adam state
    private final FineTuneConfig config = FineTuneConfig.defaults().epochs(3).batchSize(16).balance("oversample")
            .augment("noise:0.05").headDropout(0.3f).unfreeze(FineTuneConfig.Unfreeze.GRADUAL, 1).patience(5);

    private TunableModel fresh() { return Heads.replace(Fixtures.mlp(8, 5, 7), 3, config.headDropout(), new Rng(8)); }

    @Test void resumedRunEqualsUninterruptedRunBitForBit() throws Exception {
        TunableModel a = fresh();
        FineTuneResult whole = new FineTuner(config).sourceTask(source).run(a, train, val, test, dir.resolve("whole"));

        Path out = dir.resolve("resumed");
        long[] epochLength = {0};
        FineTuner killedRun = new FineTuner(config).sourceTask(source).progress((done, total, loss) -> {
            epochLength[0] = total / 3;
            if (done > epochLength[0]) throw new Killed();   // first batch of epoch 2: "kill -9"
        });
        assertThrows(Killed.class, () -> killedRun.run(fresh(), train, val, test, out));
        assertEquals(1, TrainingCheckpoint.readState(out.resolve(FineTuner.CHECKPOINT_FILE)).epoch());

        TunableModel b = fresh();
        FineTuneResult resumed = new FineTuner(config).sourceTask(source).resume(true).run(b, train, val, test, out);

        assertEquals(3, resumed.epochs().size());
        for (int e = 0; e < 3; e++) assertSameEpoch(whole.epochs().get(e), resumed.epochs().get(e));
        assertEquals(whole.bestEpoch(), resumed.bestEpoch());
        Map<String, Tensor> wa = a.model().stateDict(), wb = b.model().stateDict();
        assertEquals(wa.keySet(), wb.keySet());
        for (String k : wa.keySet()) assertArrayEquals(wa.get(k).toFloatArray(), wb.get(k).toFloatArray(), k);
        assertEquals(whole.test().accuracy(), resumed.test().accuracy());
        assertEquals(whole.fgsmAccuracy(), resumed.fgsmAccuracy());
        assertEquals(whole.noiseAccuracy(), resumed.noiseAccuracy());
        assertArrayEquals(whole.recallBefore(), resumed.recallBefore());
        assertEquals(whole.sourceAccuracyBefore(), resumed.sourceAccuracyBefore());
        assertEquals(whole.sourceAccuracyAfter(), resumed.sourceAccuracyAfter());
        List<String> linesA = Files.readAllLines(dir.resolve("whole").resolve(FineTuner.METRICS_FILE));
        List<String> linesB = Files.readAllLines(out.resolve(FineTuner.METRICS_FILE));
        assertEquals(3, linesB.size());
        for (int e = 0; e < 3; e++) assertEquals(withoutSeconds(linesA.get(e)), withoutSeconds(linesB.get(e)));
    }

    @Test void resumingWithOtherSettingsIsRefused() throws Exception {
        Path out = dir.resolve("run");
        new FineTuner(config.epochs(1)).train(fresh(), train, val, null, out);
        var e = assertThrows(dev.ember.engine.EmberException.class,
                () -> new FineTuner(config.epochs(1).lr(0.5f)).resume(true).train(fresh(), train, val, null, out));
        assertEquals(true, e.getMessage().contains("other settings"), e.getMessage());
    }

    private static void assertSameEpoch(EpochRecord x, EpochRecord y) {
        assertEquals(x.epoch(), y.epoch());
        assertEquals(x.trainLoss(), y.trainLoss());
        assertEquals(x.trainAccuracy(), y.trainAccuracy());
        assertEquals(x.validation().loss(), y.validation().loss());
        assertEquals(x.validation().macroF1(), y.validation().macroF1());
        assertArrayEquals(x.validation().recall(), y.validation().recall());
        assertArrayEquals(x.validation().confusion(), y.validation().confusion());
        assertArrayEquals(x.groupLrs(), y.groupLrs());
        assertEquals(x.trainableGroups(), y.trainableGroups());
    }

    private static String withoutSeconds(String line) { return line.replaceAll(",\"seconds\":[^}]*", ""); }
}
