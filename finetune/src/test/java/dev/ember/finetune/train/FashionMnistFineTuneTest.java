package dev.ember.finetune.train;

import dev.ember.engine.Rng;
import dev.ember.finetune.data.SampleSet;
import dev.ember.loaders.data.FashionMnist;
import dev.ember.loaders.data.LabeledData;
import dev.ember.loaders.onnx.OnnxModel;
import dev.ember.nn.Flatten;
import dev.ember.nn.Linear;
import dev.ember.nn.ReLU;
import dev.ember.nn.Sequential;
import dev.ember.engine.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * On real data, Fashion-MNIST classes 5-9 (sandal, shirt, sneaker, bag, ankle boot) relabeled 0-4, with sneaker (2)
 * cut to 5% of the other classes' count: class weighting and oversampling raise its recall. Skips without
 * {@code dataset-fashion-mnist}.
 */
class FashionMnistFineTuneTest {
    private static final int MINORITY = 2;
    private static LabeledData trainAll, testAll;

    @TempDir Path dir;

    @BeforeAll static void load() {
        if (!FashionMnist.isInstalled(FashionMnist.DEFAULT_DIR)) return;
        trainAll = FashionMnist.train(FashionMnist.DEFAULT_DIR);
        testAll = FashionMnist.test(FashionMnist.DEFAULT_DIR);
    }

    private static void assumeData() {
        Assumptions.assumeTrue(trainAll != null, "skipped: Fashion-MNIST not found in " + FashionMnist.DEFAULT_DIR + " (apt-get install dataset-fashion-mnist)");
    }

    /** {@code counts[k]} samples of class 5+k from {@code data}, skipping the first {@code skip} of each, relabeled k. */
    private static SampleSet classes5to9(LabeledData data, int[] counts, int skip) {
        long[] y = data.labels().toLongArray();
        List<Integer> picked = new ArrayList<>();
        int[] seen = new int[5], taken = new int[5];
        for (int i = 0; i < y.length; i++) {
            int k = (int) y[i] - 5;
            if (k < 0 || seen[k]++ < skip || taken[k] >= counts[k]) continue;
            taken[k]++;
            picked.add(i);
        }
        LabeledData sub = data.select(picked.stream().mapToInt(Integer::intValue).toArray());
        long[] relabeled = Arrays.stream(sub.labels().toLongArray()).map(v -> v - 5).toArray();
        LabeledData d = new LabeledData(sub.inputs(), Tensor.ofLongs(relabeled, relabeled.length), 5);
        List<String> names = List.of(Arrays.copyOfRange(FashionMnist.CLASS_NAMES, 5, 10));
        List<String> ids = new ArrayList<>();
        for (int i : picked) ids.add("fashion#" + i);
        return new SampleSet(d, names, ids);
    }

    @Test void weightedLossAndOversamplingRaiseMinorityRecall() throws Exception {
        assumeData();
        SampleSet train = classes5to9(trainAll, new int[] {200, 200, 10, 200, 200}, 0);
        SampleSet val = classes5to9(trainAll, new int[] {40, 40, 40, 40, 40}, 1000);
        SampleSet test = classes5to9(testAll, new int[] {200, 200, 200, 200, 200}, 0);
        FineTuneConfig base = FineTuneConfig.defaults().epochs(4).batchSize(32).unfreeze(FineTuneConfig.Unfreeze.ALL).lr(2e-3f)
                .headDropout(0).noiseSigmas(List.of(0.0)).fgsmEpsilons(List.of(0.0));
        double none = minorityRecall(base.balance("none"), train, val, test);
        double weighted = minorityRecall(base.balance("weighted"), train, val, test);
        double oversampled = minorityRecall(base.balance("oversample"), train, val, test);
        System.out.printf("minority (sneaker, 5%%) test recall: none %.3f, weighted %.3f, oversample %.3f%n", none, weighted, oversampled);
        assertTrue(weighted > none + 0.05, "weighted " + weighted + " vs none " + none);
        assertTrue(oversampled > none + 0.05, "oversample " + oversampled + " vs none " + none);
    }

    private double minorityRecall(FineTuneConfig c, SampleSet train, SampleSet val, SampleSet test) throws Exception {
        Rng rng = new Rng(3);
        Sequential scratch = new Sequential(new Flatten(), new Linear(784, 32, rng), new ReLU(), new Linear(32, 5, rng));
        FineTuneResult r = new FineTuner(c).run(TunableModel.of(scratch), train, val, test, dir.resolve(c.balance()));
        return r.recallAfter()[MINORITY];
    }

    @Test void anImportedOnnxModelFineTunesGraduallyAndKeepsItsSourceHead() throws Exception {
        assumeData();
        Path file = Path.of(System.getProperty("ember.shared", "../../shared"), "models", "small_cnn.onnx");
        Assumptions.assumeTrue(Files.isRegularFile(file), "skipped: " + file + " not found");
        OnnxModel onnx = OnnxModel.read(file);
        TunableModel m = TunableModel.replaceHead(onnx, 5, new Rng(1));
        assertTrue(m.groups().size() >= 3, "groups " + m.groups().names());
        BlockGroup first = m.groups().groups().getFirst();
        float[] firstBefore = first.parameters().values().iterator().next().data().toFloatArray();

        SampleSet train = classes5to9(trainAll, new int[] {40, 40, 40, 40, 40}, 0);
        SampleSet val = classes5to9(trainAll, new int[] {10, 10, 10, 10, 10}, 1000);
        SampleSet test = classes5to9(testAll, new int[] {20, 20, 20, 20, 20}, 0);
        SampleSet source = classes0to4(testAll);
        FineTuneConfig c = FineTuneConfig.defaults().epochs(2).batchSize(32).noiseSigmas(List.of(0.0, 0.1)).fgsmEpsilons(List.of(0.0, 0.05));
        FineTuneResult r = new FineTuner(c).sourceTask(source).run(m, train, val, test, dir);

        assertEquals(2, r.epochs().size());
        assertEquals(List.of(m.groups().head().name()), r.epochs().get(0).trainableGroups());
        assertTrue(Arrays.equals(firstBefore, first.parameters().values().iterator().next().data().toFloatArray()), "first group never unfrozen");
        assertFalse(Double.isNaN(r.sourceAccuracyBefore()) || Double.isNaN(r.sourceAccuracyAfter()));
        assertEquals(r.test().accuracy(), r.fgsmAccuracy().get(0.0));
        assertEquals(5, r.recallBefore().length);
        assertTrue(r.test().accuracy() > 0.4, "fine-tuned accuracy " + r.test().accuracy());
    }

    private static SampleSet classes0to4(LabeledData data) {
        long[] y = data.labels().toLongArray();
        List<Integer> picked = new ArrayList<>();
        for (int i = 0; i < y.length && picked.size() < 100; i++) if (y[i] < 5) picked.add(i);
        LabeledData sub = data.select(picked.stream().mapToInt(Integer::intValue).toArray());
        // the source model has 10 outputs: keep labels 0-4 in a 10-class set
        LabeledData d = new LabeledData(sub.inputs(), sub.labels(), 10);
        List<String> ids = new ArrayList<>();
        for (int i : picked) ids.add("fashion#" + i);
        return new SampleSet(d, List.of(FashionMnist.CLASS_NAMES), ids);
    }
}
