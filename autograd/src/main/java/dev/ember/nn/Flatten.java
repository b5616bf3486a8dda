package dev.ember.nn;

import dev.ember.autograd.Variable;

/** Merges the axes from {@code startAxis} to the last into one: (N, C, H, W) -> (N, C*H*W) by default. */
public final class Flatten extends Module {
    private final int startAxis;

    public Flatten() { this(1); }

    /** First axis merged into one (PyTorch's start_dim). */
    public int startAxis() { return startAxis; }

    public Flatten(int startAxis) { this.startAxis = startAxis; }

    @Override public Variable forward(Variable x) { return x.flatten(startAxis); }

    @Override protected String extraRepr() { return "start_dim=" + startAxis + ", end_dim=-1"; }
}
