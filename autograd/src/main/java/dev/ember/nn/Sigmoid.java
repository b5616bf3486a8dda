package dev.ember.nn;

import dev.ember.autograd.Variable;

/** y = 1 / (1 + e^-x), elementwise. */
public final class Sigmoid extends Module {
    @Override public Variable forward(Variable x) { return x.sigmoid(); }
}
