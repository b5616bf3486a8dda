package dev.ember.finetune.train;

import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.finetune.data.SampleSet;
import dev.ember.loaders.data.LabeledData;
import dev.ember.nn.BatchNorm2d;
import dev.ember.nn.Conv2d;
import dev.ember.nn.Flatten;
import dev.ember.nn.Linear;
import dev.ember.nn.ReLU;
import dev.ember.nn.Sequential;

import java.util.ArrayList;
import java.util.List;

/** Small synthetic data and models shared by the tests. */
final class Fixtures {
    private Fixtures() {}

    /** Gaussian blobs in {@code features} dimensions, one center per class, {@code perClass[c]} samples of class c. */
    static SampleSet blobs(int features, long[] perClass, double spread, long seed) {
        Rng rng = new Rng(seed);
        Rng centers = new Rng(1234);
        int c = perClass.length;
        float[][] mu = new float[c][features];
        for (int k = 0; k < c; k++) for (int f = 0; f < features; f++) mu[k][f] = (float) centers.nextGaussian();
        int n = 0;
        for (long p : perClass) n += (int) p;
        float[] x = new float[n * features];
        long[] y = new long[n];
        int i = 0;
        for (int k = 0; k < c; k++) {
            for (int j = 0; j < perClass[k]; j++, i++) {
                y[i] = k;
                for (int f = 0; f < features; f++) x[i * features + f] = (float) (mu[k][f] + spread * rng.nextGaussian());
            }
        }
        return sampleSet(new LabeledData(Tensor.of(x, n, features), Tensor.ofLongs(y, n), c));
    }

    static SampleSet blobs(int features, int classes, int perClass, long seed) {
        long[] counts = new long[classes];
        java.util.Arrays.fill(counts, perClass);
        return blobs(features, counts, 0.8, seed);
    }

    /** Tiny 1x6x6 images: class k has a bright 2x2 square in corner k (of 4), plus noise. */
    static SampleSet squares(int perClass, long seed) {
        Rng rng = new Rng(seed);
        int n = 4 * perClass;
        float[] x = new float[n * 36];
        long[] y = new long[n];
        for (int i = 0; i < n; i++) {
            int k = i % 4;
            y[i] = k;
            int r0 = k / 2 * 4, c0 = k % 2 * 4;
            for (int p = 0; p < 36; p++) x[i * 36 + p] = (float) Math.min(1, Math.max(0, 0.2 + 0.1 * rng.nextGaussian()));
            for (int r = r0; r < r0 + 2; r++) for (int c = c0; c < c0 + 2; c++) x[i * 36 + r * 6 + c] = 0.9f;
        }
        return sampleSet(new LabeledData(Tensor.of(x, n, 1, 6, 6), Tensor.ofLongs(y, n), 4));
    }

    static SampleSet sampleSet(LabeledData d) {
        List<String> names = new ArrayList<>();
        for (int k = 0; k < d.classes(); k++) names.add("class" + k);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < d.size(); i++) ids.add("sample#" + i);
        return new SampleSet(d, names, ids);
    }

    /** MLP features -> 16 -> 16 -> classes: groups "0", "2", "4". */
    static Sequential mlp(int features, int classes, long seed) {
        Rng rng = new Rng(seed);
        return new Sequential(new Linear(features, 16, rng), new ReLU(), new Linear(16, 16, rng), new ReLU(), new Linear(16, classes, rng));
    }

    /** conv 1->4 3x3 + BatchNorm + ReLU, then Linear 64 -> 8 -> classes: groups "0" (conv + bn), "4", "6". */
    static Sequential cnn(int classes, long seed) {
        Rng rng = new Rng(seed);
        return new Sequential(new Conv2d(1, 4, 3, 1, 0, rng), new BatchNorm2d(4), new ReLU(), new Flatten(),
                new Linear(64, 8, rng), new ReLU(), new Linear(8, classes, rng));
    }
}
