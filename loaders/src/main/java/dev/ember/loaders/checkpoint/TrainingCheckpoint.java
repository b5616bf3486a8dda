package dev.ember.loaders.checkpoint;

import dev.ember.engine.EmberException;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.loaders.DataFormatException;
import dev.ember.nn.Module;
import dev.ember.nn.StateDictException;
import dev.ember.optim.Optimizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything a training run needs to continue bit for bit, in ONE safetensors file (so one atomic rename saves it
 * all, and any safetensors reader opens it):
 * <pre>
 *   tensors
 *     &lt;name&gt;                the model's {@link Module#stateDict()} under its own names (parameters and buffers,
 *                           e.g. {@code 0.weight}, {@code 1.running_mean}; ONNX initializer names for an imported
 *                           model), so the file doubles as a plain weights file
 *     optim.&lt;key&gt;          the optimizer's {@link Optimizer#stateDict()} ({@code optim.state.0.exp_avg}, ...)
 *   __metadata__ (strings)
 *     ember.format          "training-checkpoint/1"
 *     ember.step            optimizer steps taken, decimal
 *     ember.epoch           epoch, decimal
 *     ember.optimizer       the optimizer's class name (absent when saved without one)
 *     ember.rng.&lt;name&gt;     an {@link Rng#state()}, signed decimal (data order, dropout, augmentation, ...)
 *     ember.scalar.&lt;key&gt;   any other value the run wants back, as the caller wrote it
 * </pre>
 * A model name may not start with {@code optim.}.
 *
 * <p>Order of use. Saving: after {@code optimizer.step()}, {@code save(file, model, optimizer, state)} with the
 * Rng states as they are now (or as they were where the resumed run will restart, e.g. an epoch's start). Resuming:
 * {@link #readState} first (only the header is read), build the model and optimizer as before, giving the objects
 * that hold an Rng (Dropout, a DataLoader) {@code state.rng(name)}; then {@link #load} the weights and optimizer
 * state into them, and continue from {@code state.step()}.
 */
public final class TrainingCheckpoint {
    static final String OPTIM = "optim.";
    private static final String FORMAT_KEY = "ember.format";
    private static final String FORMAT = "training-checkpoint/1";
    private static final String STEP = "ember.step";
    private static final String EPOCH = "ember.epoch";
    private static final String OPTIMIZER = "ember.optimizer";
    private static final String RNG = "ember.rng.";
    private static final String SCALAR = "ember.scalar.";

    private TrainingCheckpoint() {}

    /** Where a run stands: steps taken, epoch, named Rng states and free-form scalars. */
    public record TrainingState(long step, long epoch, Map<String, Long> rngStates, Map<String, String> scalars) {
        public TrainingState {
            rngStates = Collections.unmodifiableMap(new LinkedHashMap<>(rngStates));
            scalars = Collections.unmodifiableMap(new LinkedHashMap<>(scalars));
        }

        public static TrainingState of(long step, long epoch) { return new TrainingState(step, epoch, Map.of(), Map.of()); }

        /** This state plus {@code rng}'s current state under {@code name}. */
        public TrainingState withRng(String name, Rng rng) { return withRngState(name, rng.state()); }

        public TrainingState withRngState(String name, long state) {
            Map<String, Long> r = new LinkedHashMap<>(rngStates);
            r.put(name, state);
            return new TrainingState(step, epoch, r, scalars);
        }

        public TrainingState withScalar(String key, String value) {
            Map<String, String> s = new LinkedHashMap<>(scalars);
            s.put(key, value);
            return new TrainingState(step, epoch, rngStates, s);
        }

        /** A new Rng continuing the saved stream {@code name}. */
        public Rng rng(String name) {
            Long s = rngStates.get(name);
            if (s == null) throw new EmberException("the checkpoint saved no Rng named '" + name + "'; it has " + rngStates.keySet());
            return Rng.fromState(s);
        }
    }

    /** Writes model, optimizer (may be null) and {@code state} to {@code file}, atomically. */
    public static void save(Path file, Module model, Optimizer optimizer, TrainingState state) throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : model.stateDict().entrySet()) {
            if (e.getKey().startsWith(OPTIM)) throw new EmberException("model state '" + e.getKey() + "' starts with '" + OPTIM + "', which the checkpoint keeps for the optimizer");
            tensors.put(e.getKey(), e.getValue());
        }
        if (optimizer != null) for (Map.Entry<String, Tensor> e : optimizer.stateView().entrySet()) tensors.put(OPTIM + e.getKey(), e.getValue());
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(FORMAT_KEY, FORMAT);
        meta.put(STEP, Long.toString(state.step()));
        meta.put(EPOCH, Long.toString(state.epoch()));
        if (optimizer != null) meta.put(OPTIMIZER, optimizer.getClass().getSimpleName());
        for (Map.Entry<String, Long> r : state.rngStates().entrySet()) meta.put(RNG + r.getKey(), Long.toString(r.getValue()));
        for (Map.Entry<String, String> s : state.scalars().entrySet()) meta.put(SCALAR + s.getKey(), s.getValue());
        SafeTensors.write(file, tensors, meta);
    }

    /** The training state of {@code file}, reading only its header. */
    public static TrainingState readState(Path file) throws IOException {
        return state(file, SafeTensors.readMetadata(file));
    }

    /**
     * Loads {@code file} into {@code model} (strictly: every name, every shape) and {@code optimizer} (when not
     * null; it must be of the saved kind over the same parameter layout) and returns the training state. The model
     * is checked before anything is copied; when the optimizer part then fails, the model holds the checkpoint's
     * weights and the optimizer is unchanged.
     *
     * @throws DataFormatException when the file is damaged or not a training checkpoint
     * @throws StateDictException when it does not fit the model or optimizer
     */
    public static TrainingState load(Path file, Module model, Optimizer optimizer) throws IOException {
        SafeTensors.Contents c = SafeTensors.read(file);
        TrainingState state = state(file, c.metadata());
        Map<String, Tensor> modelState = new LinkedHashMap<>();
        Map<String, Tensor> optimizerState = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : c.tensors().entrySet()) {
            if (e.getKey().startsWith(OPTIM)) optimizerState.put(e.getKey().substring(OPTIM.length()), e.getValue());
            else modelState.put(e.getKey(), e.getValue());
        }
        if (optimizer != null) {
            String saved = c.metadata().get(OPTIMIZER);
            String have = optimizer.getClass().getSimpleName();
            if (saved == null) throw new StateDictException("checkpoint " + file + " holds no optimizer state, cannot load one into " + have, List.of(OPTIM + "*"), List.of(), List.of());
            if (!saved.equals(have)) throw new StateDictException("checkpoint " + file + " holds " + saved + " state, cannot load it into " + have);
        }
        model.loadStateDict(modelState, true);
        if (optimizer != null) optimizer.loadStateDict(optimizerState);
        return state;
    }

    private static TrainingState state(Path file, Map<String, String> meta) {
        String format = meta.get(FORMAT_KEY);
        if (!FORMAT.equals(format)) {
            throw new DataFormatException(file, "not an ember training checkpoint: __metadata__ " + FORMAT_KEY + " is " + (format == null ? "absent" : "'" + format + "'") + ", expected '" + FORMAT + "'");
        }
        long step = number(file, meta, STEP);
        long epoch = number(file, meta, EPOCH);
        Map<String, Long> rngs = new LinkedHashMap<>();
        Map<String, String> scalars = new LinkedHashMap<>();
        for (Map.Entry<String, String> m : meta.entrySet()) {
            if (m.getKey().startsWith(RNG)) rngs.put(m.getKey().substring(RNG.length()), number(file, meta, m.getKey()));
            else if (m.getKey().startsWith(SCALAR)) scalars.put(m.getKey().substring(SCALAR.length()), m.getValue());
        }
        return new TrainingState(step, epoch, rngs, scalars);
    }

    private static long number(Path file, Map<String, String> meta, String key) {
        String v = meta.get(key);
        if (v == null) throw new DataFormatException(file, "training checkpoint lacks __metadata__ " + key);
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new DataFormatException(file, "__metadata__ " + key + " should be a 64-bit integer, got '" + (v.length() > 40 ? v.substring(0, 40) + "..." : v) + "'");
        }
    }
}
