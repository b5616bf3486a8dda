package dev.ember.nn;

import dev.ember.autograd.F;
import dev.ember.autograd.Variable;
import dev.ember.engine.Pool2dParams;

/** Max over each window of x (N, C, H, W); padded cells never win. */
public final class MaxPool2d extends Module {
    private final Pool2dParams geometry;

    /** Square window, stride = kernel, no padding. */
    public MaxPool2d(int kernel) { this(Pool2dParams.of(kernel)); }

    public MaxPool2d(int kernel, int stride, int padding) { this(Pool2dParams.of(kernel, stride, padding)); }

    public MaxPool2d(Pool2dParams geometry) { this.geometry = geometry; }

    public Pool2dParams geometry() { return geometry; }

    @Override public Variable forward(Variable x) { return F.maxPool2d(x, geometry); }

    @Override protected String extraRepr() { return PoolRepr.of(geometry, false); }
}
