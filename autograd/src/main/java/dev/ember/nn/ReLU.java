package dev.ember.nn;

import dev.ember.autograd.Variable;

/** y = max(x, 0), elementwise. */
public final class ReLU extends Module {
    @Override public Variable forward(Variable x) { return x.relu(); }
}
