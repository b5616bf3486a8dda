package dev.ember.finetune.train;

import dev.ember.autograd.F;
import dev.ember.autograd.Variable;
import dev.ember.engine.EmberException;
import dev.ember.engine.Rng;
import dev.ember.nn.Module;

/**
 * Inverted dropout as {@link dev.ember.nn.Dropout}, whose mask stream can be read and set, so a checkpoint can save it
 * and a resumed run draw the same masks as an uninterrupted one. The fine-tuning head uses it.
 */
public final class ResumableDropout extends Module {
    private final float p;
    private Rng rng;

    public ResumableDropout(float p, Rng rng) {
        if (!(p >= 0 && p < 1)) throw new EmberException("dropout probability must be in [0, 1), got " + p);
        this.p = p;
        this.rng = rng;
    }

    public float p() { return p; }

    /** The mask stream's {@link Rng#state()}. */
    public long rngState() { return rng.state(); }

    /** Continues the mask stream from a saved {@link #rngState()}. */
    public void setRngState(long state) { rng = Rng.fromState(state); }

    @Override public Variable forward(Variable x) { return F.dropout(x, p, isTraining(), rng); }

    @Override protected String extraRepr() { return "p=" + p; }
}
