package dev.ember.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ember.engine.Rng;
import dev.ember.loaders.data.FashionMnist;
import dev.ember.loaders.data.LabeledData;
import dev.ember.nn.Module;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 6's acceptance on real data: the reference MLP and CNN reach their accuracy bars on Fashion-MNIST's
 * test set, and the same seed gives a bit-identical loss curve. Skips when the data set is not installed.
 */
class FashionMnistAcceptanceTest {
    private static LabeledData train;
    private static LabeledData test;

    @BeforeAll
    static void load() {
        assumeTrue(FashionMnist.isInstalled(FashionMnist.DEFAULT_DIR),
                "Fashion-MNIST not installed at " + FashionMnist.DEFAULT_DIR + " (apt-get install dataset-fashion-mnist): skipping");
        train = FashionMnist.train(FashionMnist.DEFAULT_DIR);
        test = FashionMnist.test(FashionMnist.DEFAULT_DIR);
    }

    @Test
    void mlpReaches85PercentTestAccuracy() {
        Rng rng = new Rng(42);
        Module mlp = FashionMnistModels.mlp(rng.split());
        TrainDemo.Result r = TrainDemo.train(mlp, train, test, 128, 3, 0.05f, 0.9f, true, rng.split(), true);
        double acc = r.testAccuracy()[2];
        assertTrue(acc >= 0.85, "MLP test accuracy " + acc + " < 0.85");
    }

    @Test
    void cnnReaches88PercentTestAccuracy() {
        Rng rng = new Rng(42);
        Module cnn = FashionMnistModels.cnn(rng.split());
        TrainDemo.Result r = TrainDemo.train(cnn, train, test, 64, 2, 0.05f, 0.9f, true, rng.split(), true);
        double acc = r.testAccuracy()[1];
        assertTrue(acc >= 0.88, "CNN test accuracy " + acc + " < 0.88");
    }

    @Test
    void sameSeedGivesBitIdenticalLossCurves() {
        LabeledData small = train.head(3200);
        List<Float> mlpA = run(small, 7, false), mlpB = run(small, 7, false);
        assertBitIdentical(mlpA, mlpB);
        List<Float> cnnA = run(small.head(640), 7, true), cnnB = run(small.head(640), 7, true);
        assertBitIdentical(cnnA, cnnB);
        assertNotEquals(mlpA, run(small, 8, false), "a different seed should give a different curve");
    }

    private static List<Float> run(LabeledData data, long seed, boolean cnn) {
        Rng rng = new Rng(seed);
        Module m = cnn ? FashionMnistModels.cnn(rng.split()) : FashionMnistModels.mlp(rng.split());
        return TrainDemo.train(m, data, null, cnn ? 64 : 128, 1, 0.05f, 0.9f, true, rng.split(), false).losses();
    }

    private static void assertBitIdentical(List<Float> a, List<Float> b) {
        assertEquals(a.size(), b.size());
        assertTrue(a.size() >= 10, "curve too short to mean anything: " + a.size());
        for (int i = 0; i < a.size(); i++) {
            assertEquals(Float.floatToRawIntBits(a.get(i)), Float.floatToRawIntBits(b.get(i)),
                    "loss at step " + i + " differs: " + a.get(i) + " vs " + b.get(i));
        }
    }
}
