package dev.ember.nn;

import dev.ember.autograd.F;
import dev.ember.autograd.Variable;
import dev.ember.engine.ShapeException;

/**
 * (N, C, H, W) -> (N, C): the mean over each channel's plane. PyTorch's {@code AdaptiveAvgPool2d(1)} followed by
 * {@code Flatten()}, in one step.
 */
public final class GlobalAvgPool2d extends Module {
    @Override public Variable forward(Variable x) {
        if (x.rank() != 4) throw new ShapeException("GlobalAvgPool2d needs input (N, C, H, W), got " + x.shape());
        return F.globalAvgPool2d(x);
    }
}
