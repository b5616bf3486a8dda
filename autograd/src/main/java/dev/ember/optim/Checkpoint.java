package dev.ember.optim;

import dev.ember.engine.DType;
import dev.ember.engine.Tensor;
import dev.ember.nn.Module;
import dev.ember.nn.StateDictException;
import dev.ember.nn.StateFile;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A training checkpoint in one {@link StateFile}: the model's state dict under {@code model.}, the optimizer's
 * under {@code optimizer.}, and the step count as {@code trainer.step}. Schedules are functions of the step
 * ({@link LrSchedule}), so the step is all the schedule state there is.
 *
 * <p>Order of use: {@code save} after {@code optimizer.step()} with the number of steps taken; to resume, build
 * the same model and optimizer (any seed), {@code load}, and continue from the step it returns. Randomness drawn
 * from an {@link dev.ember.engine.Rng} (dropout, shuffling) is not saved: derive it from the step or epoch to make
 * a resumed run repeat an uninterrupted one.
 */
public final class Checkpoint {
    private static final String MODEL = "model.";
    private static final String OPTIMIZER = "optimizer.";
    private static final String STEP = "trainer.step";

    private Checkpoint() {}

    /** Writes model, optimizer (may be null) and step to {@code file}, atomically. */
    public static void save(Path file, Module model, Optimizer optimizer, long step) throws IOException {
        Map<String, Tensor> all = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : model.stateDict().entrySet()) all.put(MODEL + e.getKey(), e.getValue());
        if (optimizer != null) for (Map.Entry<String, Tensor> e : optimizer.stateView().entrySet()) all.put(OPTIMIZER + e.getKey(), e.getValue());
        all.put(STEP, Tensor.ofLongs(new long[] {step}));
        StateFile.write(file, all);
    }

    /**
     * Loads {@code file} into {@code model} (strictly) and {@code optimizer} (when not null; a saved optimizer state
     * is ignored when it is null) and returns the saved step.
     *
     * @throws StateDictException when the file does not fit the model or optimizer (the model may be loaded already
     *     when only the optimizer part fails)
     * @throws dev.ember.nn.StateFileException when the file is damaged
     */
    public static long load(Path file, Module model, Optimizer optimizer) throws IOException {
        Map<String, Tensor> all = StateFile.read(file);
        Map<String, Tensor> modelState = new LinkedHashMap<>();
        Map<String, Tensor> optimizerState = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : all.entrySet()) {
            String k = e.getKey();
            if (k.startsWith(MODEL)) modelState.put(k.substring(MODEL.length()), e.getValue());
            else if (k.startsWith(OPTIMIZER)) optimizerState.put(k.substring(OPTIMIZER.length()), e.getValue());
            else if (!k.equals(STEP)) throw new StateDictException("checkpoint " + file, List.of(), List.of(k), List.of());
        }
        Tensor step = all.get(STEP);
        if (step == null || step.dtype() != DType.INT64 || step.numel() != 1) {
            throw new StateDictException("checkpoint " + file + " has no int64 " + STEP, List.of(STEP), List.of(), List.of());
        }
        model.loadStateDict(modelState, true);
        if (optimizer != null) optimizer.loadStateDict(optimizerState);
        return step.toLongArray()[0];
    }
}
