package dev.ember.tools;

import dev.ember.engine.Rng;
import dev.ember.nn.Conv2d;
import dev.ember.nn.Flatten;
import dev.ember.nn.Linear;
import dev.ember.nn.MaxPool2d;
import dev.ember.nn.ReLU;
import dev.ember.nn.Sequential;

/** The two reference networks of {@code ../shared/baselines.md}, for 1x28x28 inputs and 10 classes. */
public final class FashionMnistModels {
    private FashionMnistModels() {}

    /** MLP 784-512-256-10 with ReLU. */
    public static Sequential mlp(Rng rng) {
        return new Sequential(new Flatten(), new Linear(784, 512, rng), new ReLU(), new Linear(512, 256, rng), new ReLU(), new Linear(256, 10, rng));
    }

    /** conv3x3 1->32, ReLU, maxpool2, conv3x3 32->64, ReLU, maxpool2, fc 1600->128, ReLU, fc 10 (no padding). */
    public static Sequential cnn(Rng rng) { return cnn(10, rng); }

    /** The same network with a {@code classes}-way last layer (the finetune demo's base model has 5). */
    public static Sequential cnn(int classes, Rng rng) {
        return new Sequential(
                new Conv2d(1, 32, 3, 1, 0, rng), new ReLU(), new MaxPool2d(2),
                new Conv2d(32, 64, 3, 1, 0, rng), new ReLU(), new MaxPool2d(2),
                new Flatten(), new Linear(1600, 128, rng), new ReLU(), new Linear(128, classes, rng));
    }
}
