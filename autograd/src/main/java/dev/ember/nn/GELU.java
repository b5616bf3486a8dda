package dev.ember.nn;

import dev.ember.autograd.Variable;

/** y = the exact GELU, x * Phi(x), elementwise. */
public final class GELU extends Module {
    @Override public Variable forward(Variable x) { return x.gelu(); }
}
