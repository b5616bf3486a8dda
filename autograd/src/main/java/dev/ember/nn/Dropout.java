package dev.ember.nn;

import dev.ember.autograd.F;
import dev.ember.autograd.Variable;
import dev.ember.engine.EmberException;
import dev.ember.engine.Rng;

/**
 * Inverted dropout: in training each element is zeroed with probability {@code p} and the rest scaled by
 * 1 / (1 - p); in eval the identity. Masks come from the given {@link Rng}, so a seed fixes them.
 */
public final class Dropout extends Module {
    private final float p;
    private final Rng rng;

    public Dropout(float p, Rng rng) {
        if (!(p >= 0 && p < 1)) throw new EmberException("Dropout probability must be in [0, 1), got " + p);
        this.p = p;
        this.rng = rng;
    }

    @Override public Variable forward(Variable x) { return F.dropout(x, p, isTraining(), rng); }

    @Override protected String extraRepr() { return "p=" + pyFloat(p); }
}
