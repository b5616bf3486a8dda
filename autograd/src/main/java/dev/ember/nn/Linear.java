package dev.ember.nn;

import dev.ember.autograd.F;
import dev.ember.autograd.Variable;
import dev.ember.engine.EmberException;
import dev.ember.engine.Rng;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;

/** y (N, out) = x (N, in) · weight^T + bias, with weight (out, in) as in PyTorch. Initialized by {@link Init#layerDefault}. */
public final class Linear extends Module {
    private final int inFeatures;
    private final int outFeatures;
    private final Variable weight;
    private final Variable bias;

    public Linear(int inFeatures, int outFeatures, Rng rng) { this(inFeatures, outFeatures, true, rng); }

    public Linear(int inFeatures, int outFeatures, boolean bias, Rng rng) {
        if (inFeatures < 1 || outFeatures < 1) throw new EmberException("Linear needs inFeatures and outFeatures >= 1, got " + inFeatures + " and " + outFeatures);
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        Tensor w = Tensor.zeros(outFeatures, inFeatures);   // weight (out, in)
        Tensor b = bias ? Tensor.zeros(outFeatures) : null; // bias (out)
        Init.layerDefault(w, b, rng);
        this.weight = registerParameter("weight", w);
        this.bias = bias ? registerParameter("bias", b) : null;
    }

    public Variable weight() { return weight; }

    /** The bias, or null when built without one. */
    public Variable bias() { return bias; }

    public int inFeatures() { return inFeatures; }

    public int outFeatures() { return outFeatures; }

    @Override public Variable forward(Variable x) {
        if (x.rank() < 1 || x.dim(-1) != inFeatures) throw new ShapeException("Linear(" + inFeatures + " -> " + outFeatures + ") got input " + x.shape() + ": last axis must be " + inFeatures);
        return F.linear(x, weight, bias);
    }

    @Override protected String extraRepr() {
        return "in_features=" + inFeatures + ", out_features=" + outFeatures + ", bias=" + pyBool(bias != null);
    }
}
