package dev.ember.optim;

import dev.ember.autograd.Loss;
import dev.ember.autograd.Variable;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.nn.Linear;
import dev.ember.nn.Module;
import dev.ember.nn.ReLU;
import dev.ember.nn.Sequential;
import dev.ember.nn.StateDictException;
import dev.ember.nn.StateFileException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Train, save, restore into fresh objects, continue: the losses must match an uninterrupted run bit for bit. */
class CheckpointTest {
    private static final int STEPS = 6;
    private static final int SAVE_AT = 3;

    @TempDir Path dir;

    private final Tensor inputs = Tensor.randn(new Rng(7), 1f, 16, 4);  // x (16, 4)
    private final Tensor labels = Tensor.ofInts(new int[] {0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0}, 16);

    private static Module mlp(long seed) {
        Rng rng = new Rng(seed);
        return new Sequential(new Linear(4, 8, rng), new ReLU(), new Linear(8, 3, rng));
    }

    /** One training step at {@code step}: loss before the update. */
    private float trainStep(Module model, Optimizer opt, LrSchedule schedule, long step) {
        opt.zeroGrad();
        Variable loss = Loss.crossEntropy(model.forward(Variable.of(inputs)), labels);
        loss.backward();
        schedule.apply(opt, step);
        opt.step();
        return loss.item();
    }

    private void resumeMatchesUninterrupted(Function<Module, Optimizer> makeOptimizer) throws IOException {
        LrSchedule schedule = new CosineWarmup(2, STEPS, 0.001);

        Module straight = mlp(1);
        Optimizer straightOpt = makeOptimizer.apply(straight);
        float[] expected = new float[STEPS];
        for (int s = 0; s < STEPS; s++) expected[s] = trainStep(straight, straightOpt, schedule, s);

        Module before = mlp(1);
        Optimizer beforeOpt = makeOptimizer.apply(before);
        float[] got = new float[STEPS];
        for (int s = 0; s < SAVE_AT; s++) got[s] = trainStep(before, beforeOpt, schedule, s);
        Path file = dir.resolve("run.ckpt");
        Checkpoint.save(file, before, beforeOpt, SAVE_AT);

        Module after = mlp(99);                       // other weights: all of them must come from the file
        Optimizer afterOpt = makeOptimizer.apply(after);
        long step = Checkpoint.load(file, after, afterOpt);
        assertEquals(SAVE_AT, step);
        for (long s = step; s < STEPS; s++) got[(int) s] = trainStep(after, afterOpt, schedule, s);

        for (int s = 0; s < STEPS; s++) {
            assertEquals(Float.floatToRawIntBits(expected[s]), Float.floatToRawIntBits(got[s]),
                    "loss at step " + s + ": " + Arrays.toString(expected) + " vs " + Arrays.toString(got));
        }
        for (String k : straight.stateDict().keySet()) {
            assertArrayEquals(straight.stateDict().get(k).toFloatArray(), after.stateDict().get(k).toFloatArray(), 0f, k);
        }
    }

    @Test void sgdMomentumResumesBitIdentical() throws IOException {
        resumeMatchesUninterrupted(m -> new Sgd(m.parameters(), Sgd.options(0.1f).momentum(0.9f).weightDecay(1e-4f)));
    }

    @Test void adamWResumesBitIdentical() throws IOException {
        resumeMatchesUninterrupted(m -> new AdamW(m.parameters(), AdamW.options(0.01f)));
    }

    @Test void damagedCheckpointsRaiseTypedErrors() throws IOException {
        Module model = mlp(1);
        Sgd sgd = new Sgd(model.parameters(), Sgd.options(0.1f).momentum(0.9f));
        trainStep(model, sgd, new StepLr(10, 0.1), 0);
        Path file = dir.resolve("ok.ckpt");
        Checkpoint.save(file, model, sgd, 1);
        byte[] bytes = Files.readAllBytes(file);

        Path truncated = dir.resolve("truncated.ckpt");
        Files.write(truncated, Arrays.copyOf(bytes, bytes.length / 2));
        StateFileException t = assertThrows(StateFileException.class, () -> Checkpoint.load(truncated, mlp(2), null));
        assertEquals(truncated, t.file());

        Path corrupted = dir.resolve("corrupted.ckpt");
        byte[] flipped = bytes.clone();
        flipped[bytes.length - 20] ^= 0x10;  // inside the last tensor's data
        Files.write(corrupted, flipped);
        assertThrows(StateFileException.class, () -> Checkpoint.load(corrupted, mlp(2), null));

        // a model of another shape: typed state dict error naming the keys
        Module wider = new Sequential(new Linear(4, 9, new Rng(0)), new ReLU(), new Linear(9, 3, new Rng(0)));
        assertThrows(StateDictException.class, () -> Checkpoint.load(file, wider, null));
    }
}
