package dev.ember.optim;

import dev.ember.engine.EmberException;

/** lr = base * gamma^floor(step / stepSize), torch.optim.lr_scheduler.StepLR in closed form. */
public final class StepLr implements LrSchedule {
    private final int stepSize;
    private final double gamma;

    public StepLr(int stepSize, double gamma) {
        if (stepSize < 1) throw new EmberException("StepLr stepSize must be >= 1, got " + stepSize);
        if (!(gamma > 0)) throw new EmberException("StepLr gamma must be > 0, got " + gamma);
        this.stepSize = stepSize;
        this.gamma = gamma;
    }

    @Override public float lr(long step, float baseLr) {
        if (step < 0) throw new EmberException("StepLr step must be >= 0, got " + step);
        return (float) (baseLr * Math.pow(gamma, step / stepSize));
    }
}
