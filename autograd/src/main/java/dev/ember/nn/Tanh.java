package dev.ember.nn;

import dev.ember.autograd.Variable;

/** y = tanh(x), elementwise. */
public final class Tanh extends Module {
    @Override public Variable forward(Variable x) { return x.tanh(); }
}
