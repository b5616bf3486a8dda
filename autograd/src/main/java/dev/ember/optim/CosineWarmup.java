package dev.ember.optim;

import dev.ember.engine.EmberException;

/**
 * Linear warmup, then cosine decay to {@code minLr}, over {@code totalSteps}:
 * <pre>
 *   step &lt; warmup:   lr = base * step / warmup
 *   otherwise:        t = min(1, (step - warmup) / (total - warmup))
 *                     lr = minLr + (base - minLr) * (1 + cos(pi * t)) / 2
 * </pre>
 * Step 0 of a warmup has lr 0, as in Hugging Face's {@code get_cosine_schedule_with_warmup} (which is this with
 * minLr 0). Past {@code totalSteps} the lr stays at {@code minLr}. {@code minLr} is the same for every group.
 */
public final class CosineWarmup implements LrSchedule {
    private final long warmupSteps;
    private final long totalSteps;
    private final double minLr;

    public CosineWarmup(long warmupSteps, long totalSteps, double minLr) {
        if (warmupSteps < 0 || totalSteps <= warmupSteps) {
            throw new EmberException("CosineWarmup needs 0 <= warmupSteps < totalSteps, got warmup " + warmupSteps + ", total " + totalSteps);
        }
        if (!(minLr >= 0)) throw new EmberException("CosineWarmup minLr must be >= 0, got " + minLr);
        this.warmupSteps = warmupSteps;
        this.totalSteps = totalSteps;
        this.minLr = minLr;
    }

    @Override public float lr(long step, float baseLr) {
        if (step < 0) throw new EmberException("CosineWarmup step must be >= 0, got " + step);
        if (step < warmupSteps) return (float) ((double) baseLr * step / warmupSteps);
        double t = Math.min(1.0, (double) (step - warmupSteps) / (totalSteps - warmupSteps));
        return (float) (minLr + (baseLr - minLr) * (1 + Math.cos(Math.PI * t)) / 2);
    }
}
