package dev.ember.finetune.train;

import dev.ember.engine.EmberException;

/**
 * Training diverged: the loss (or the gradient norm) became NaN or infinite. Names the epoch and step (both from 1);
 * the model is back at the weights it had when that epoch began, and the output folder still holds the last good
 * checkpoint.
 */
public final class NonFiniteLossException extends EmberException {
    private final int epoch;
    private final int step;

    public NonFiniteLossException(String what, double value, int epoch, int step) {
        super(what + " became " + value + " at epoch " + epoch + ", step " + step
                + "; the last good checkpoint is kept. Lower the learning rate or set a gradient-norm limit");
        this.epoch = epoch;
        this.step = step;
    }

    public int epoch() { return epoch; }

    public int step() { return step; }
}
