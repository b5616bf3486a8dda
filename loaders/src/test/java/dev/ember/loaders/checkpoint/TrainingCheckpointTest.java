package dev.ember.loaders.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.autograd.Loss;
import dev.ember.autograd.Variable;
import dev.ember.engine.DType;
import dev.ember.engine.Device;
import dev.ember.engine.Rng;
import dev.ember.engine.Shape;
import dev.ember.engine.Storage;
import dev.ember.engine.Tensor;
import dev.ember.loaders.DataFormatException;
import dev.ember.loaders.data.DataLoader;
import dev.ember.loaders.data.LabeledData;
import dev.ember.nn.Dropout;
import dev.ember.nn.Linear;
import dev.ember.nn.Module;
import dev.ember.nn.ReLU;
import dev.ember.nn.Sequential;
import dev.ember.nn.StateDictException;
import dev.ember.optim.AdamW;
import dev.ember.optim.Optimizer;
import dev.ember.optim.Sgd;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Resume reproduces the uninterrupted run bit for bit: an MLP with dropout, a shuffling DataLoader, saved mid-epoch,
 * loaded into freshly built objects.
 */
class TrainingCheckpointTest {
    private static final int BATCH = 8;
    private static final int SAMPLES = 48;   // 6 batches per epoch
    private static final int TOTAL_STEPS = 15;
    private static final int SAVE_AT = 8;    // epoch 1, batch 2

    @TempDir Path dir;

    @Test
    void resumeIsBitIdenticalWithAdamW() throws IOException {
        checkResume(params -> new AdamW(params, AdamW.options(0.01f)));
    }

    @Test
    void resumeIsBitIdenticalWithSgdMomentum() throws IOException {
        checkResume(params -> new Sgd(params, Sgd.options(0.05f).momentum(0.9f).nesterov(true).weightDecay(1e-3f)));
    }

    private void checkResume(Function<List<Variable>, Optimizer> makeOptimizer) throws IOException {
        LabeledData data = data();

        // uninterrupted
        Run whole = new Run(data, new Rng(11), new Rng(12), makeOptimizer);
        List<Float> wholeLosses = whole.train(TOTAL_STEPS);

        // interrupted: the same seeds, saved at SAVE_AT
        Path ckpt = dir.resolve("run.safetensors");
        Run first = new Run(data, new Rng(11), new Rng(12), makeOptimizer);
        List<Float> losses = new ArrayList<>(first.train(SAVE_AT));
        TrainingCheckpoint.save(ckpt, first.model, first.optimizer, first.state());

        // resumed: other init seed, Rngs from the checkpoint
        TrainingCheckpoint.TrainingState saved = TrainingCheckpoint.readState(ckpt);
        assertEquals(SAVE_AT, saved.step());
        assertEquals(1, saved.epoch());
        Run resumed = new Run(data, new Rng(999), saved.rng("dropout"), makeOptimizer);
        TrainingCheckpoint.TrainingState loaded = TrainingCheckpoint.load(ckpt, resumed.model, resumed.optimizer);
        assertEquals(saved, loaded);
        resumed.step = loaded.step();
        resumed.epoch = loaded.epoch();
        resumed.epochShuffleState = loaded.rngStates().get("shuffle");
        losses.addAll(resumed.train(TOTAL_STEPS));

        assertEquals(TOTAL_STEPS, losses.size());
        for (int i = 0; i < TOTAL_STEPS; i++) {
            assertEquals(Float.floatToRawIntBits(wholeLosses.get(i)), Float.floatToRawIntBits(losses.get(i)), "loss of step " + i + ": " + wholeLosses.get(i) + " vs " + losses.get(i));
        }
        assertTrue(wholeLosses.get(TOTAL_STEPS - 1) < wholeLosses.get(0), "the model learns: " + wholeLosses);
        Map<String, Tensor> a = whole.model.stateDict(), b = resumed.model.stateDict();
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) assertArrayEquals(bits(a.get(k)), bits(b.get(k)), "weights " + k);
        Map<String, Tensor> oa = whole.optimizer.stateDict(), ob = resumed.optimizer.stateDict();
        assertEquals(oa.keySet(), ob.keySet());
        for (String k : oa.keySet()) {
            if (oa.get(k).dtype() == DType.FLOAT32) assertArrayEquals(bits(oa.get(k)), bits(ob.get(k)), "optimizer " + k);
            else assertArrayEquals(oa.get(k).toLongArray(), ob.get(k).toLongArray(), "optimizer " + k);
        }
    }

    @Test
    void theFileIsPlainSafetensorsWithModelNamesAndPrefixedOptimizerState() throws IOException {
        Run run = new Run(data(), new Rng(1), new Rng(2), params -> new AdamW(params, AdamW.options(0.01f)));
        run.train(2);
        Path ckpt = dir.resolve("c.safetensors");
        TrainingCheckpoint.save(ckpt, run.model, run.optimizer, run.state().withScalar("best_loss", "0.25"));
        SafeTensors.Contents c = SafeTensors.read(ckpt);
        for (String k : run.model.stateDict().keySet()) assertTrue(c.tensors().containsKey(k), k);
        assertTrue(c.tensors().containsKey("0.weight"));
        assertTrue(c.tensors().containsKey("optim.state.0.exp_avg"));
        assertTrue(c.tensors().containsKey("optim.param_groups.0.lr"));
        assertEquals("training-checkpoint/1", c.metadata().get("ember.format"));
        assertEquals("2", c.metadata().get("ember.step"));
        assertEquals("AdamW", c.metadata().get("ember.optimizer"));
        assertEquals(Long.toString(run.dropoutRng.state()), c.metadata().get("ember.rng.dropout"));
        assertEquals("0.25", TrainingCheckpoint.readState(ckpt).scalars().get("best_loss"));
    }

    @Test
    void refusesCheckpointsThatDoNotFit() throws IOException {
        Run run = new Run(data(), new Rng(1), new Rng(2), params -> new AdamW(params, AdamW.options(0.01f)));
        run.train(1);
        Path ckpt = dir.resolve("c.safetensors");
        TrainingCheckpoint.save(ckpt, run.model, run.optimizer, run.state());

        Run sgd = new Run(data(), new Rng(1), new Rng(2), params -> new Sgd(params, Sgd.options(0.1f)));
        assertThrows(StateDictException.class, () -> TrainingCheckpoint.load(ckpt, sgd.model, sgd.optimizer));
        Sequential wider = new Sequential(new Linear(6, 32, new Rng(1)), new ReLU(), new Linear(32, 3, new Rng(1)));
        StateDictException e = assertThrows(StateDictException.class, () -> TrainingCheckpoint.load(ckpt, wider, null));
        assertTrue(e.getMessage().contains("0.weight"), e.getMessage());

        Path plain = dir.resolve("plain.safetensors");
        SafeTensors.write(plain, run.model.stateDict(), Map.of("format", "pt"));
        assertThrows(DataFormatException.class, () -> TrainingCheckpoint.readState(plain));
        SafeTensors.write(plain, Map.of(), Map.of("ember.format", "training-checkpoint/1", "ember.step", "x", "ember.epoch", "0"));
        DataFormatException bad = assertThrows(DataFormatException.class, () -> TrainingCheckpoint.readState(plain));
        assertTrue(bad.getMessage().contains("ember.step"), bad.getMessage());
    }

    @Test
    void aFailedSaveLeavesThePreviousCheckpointLoadable() throws IOException {
        Run run = new Run(data(), new Rng(1), new Rng(2), params -> new AdamW(params, AdamW.options(0.01f)));
        run.train(2);
        Path ckpt = dir.resolve("c.safetensors");
        TrainingCheckpoint.save(ckpt, run.model, run.optimizer, run.state());
        byte[] before = Files.readAllBytes(ckpt);

        // a model whose buffer cannot be read back to the host: the save fails while writing tensor data
        Module broken = new Sequential(run.model, new BrokenBuffer());
        assertThrows(RuntimeException.class, () -> TrainingCheckpoint.save(ckpt, broken, run.optimizer, TrainingCheckpoint.TrainingState.of(3, 0)));
        assertArrayEquals(before, Files.readAllBytes(ckpt));
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file left behind");
        }
        Run fresh = new Run(data(), new Rng(5), new Rng(6), params -> new AdamW(params, AdamW.options(0.01f)));
        assertEquals(2, TrainingCheckpoint.load(ckpt, fresh.model, fresh.optimizer).step());
    }

    private static final class BrokenBuffer extends Module {
        BrokenBuffer() {
            registerBuffer("unreachable", Tensor.of(new Storage(DType.FLOAT32) {
                @Override public Device device() { return Device.cuda(97); }
                @Override public int size() { return 2; }
            }, Shape.of(2)));
        }

        @Override public Variable forward(Variable x) { return x; }
    }

    // ---- the training loop under test ----

    /** One run: model, optimizer, the dropout Rng it owns, and the shuffle Rng state at the start of the epoch. */
    private static final class Run {
        final LabeledData data;
        final Rng dropoutRng;
        final Sequential model;
        final Optimizer optimizer;
        long step;
        long epoch;
        long epochShuffleState = new Rng(13).state();

        Run(LabeledData data, Rng init, Rng dropoutRng, Function<List<Variable>, Optimizer> makeOptimizer) {
            this.data = data;
            this.dropoutRng = dropoutRng;
            this.model = new Sequential(new Linear(6, 16, init), new ReLU(), new Dropout(0.2f, dropoutRng), new Linear(16, 3, init));
            this.optimizer = makeOptimizer.apply(model.parameters());
        }

        /**
         * Trains until {@code stopAt} steps, returning the losses. Each epoch's loader gets an Rng continuing from the
         * previous epoch's; a resumed run rebuilds the epoch's loader from its start state and skips the batches done.
         */
        List<Float> train(int stopAt) {
            List<Float> losses = new ArrayList<>();
            int perEpoch = SAMPLES / BATCH;
            model.train();
            while (step < stopAt) {
                Rng shuffle = Rng.fromState(epochShuffleState);
                Iterator<DataLoader.Batch> it = new DataLoader(data, BATCH, true, shuffle).iterator();
                for (long skip = step - epoch * perEpoch; skip > 0; skip--) it.next();
                while (it.hasNext() && step < stopAt) {
                    DataLoader.Batch b = it.next();
                    optimizer.zeroGrad();
                    Variable loss = Loss.crossEntropy(model.forward(Variable.of(b.inputs())), b.labels());
                    loss.backward();
                    optimizer.step();
                    losses.add(loss.item());
                    step++;
                }
                if (!it.hasNext()) {
                    epoch++;
                    epochShuffleState = shuffle.state();
                }
            }
            return losses;
        }

        TrainingCheckpoint.TrainingState state() {
            return TrainingCheckpoint.TrainingState.of(step, epoch).withRngState("shuffle", epochShuffleState).withRng("dropout", dropoutRng);
        }
    }

    private static LabeledData data() {
        Rng rng = new Rng(7);
        float[] x = new float[SAMPLES * 6];
        long[] y = new long[SAMPLES];
        for (int i = 0; i < SAMPLES; i++) {
            y[i] = i % 3;
            for (int j = 0; j < 6; j++) x[i * 6 + j] = (float) rng.nextGaussian() + (j % 3 == y[i] ? 1.5f : 0f);
        }
        return new LabeledData(Tensor.of(x, SAMPLES, 6), Tensor.ofLongs(y, SAMPLES), 3);
    }

    private static int[] bits(Tensor t) {
        float[] a = t.toFloatArray();
        int[] b = new int[a.length];
        for (int i = 0; i < a.length; i++) b[i] = Float.floatToRawIntBits(a[i]);
        return b;
    }
}
