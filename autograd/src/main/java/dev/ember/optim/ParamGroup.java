package dev.ember.optim;

import dev.ember.autograd.Variable;
import dev.ember.engine.EmberException;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parameters that share hyperparameters: a learning rate, a weight decay and the optimizer's own options
 * ({@code momentum}, {@code beta1}, ...), each overriding the optimizer's default for this group only. Keys are
 * PyTorch's names ({@code lr}, {@code weight_decay}, {@code momentum}, {@code dampening}, {@code nesterov} (1 or 0),
 * {@code beta1}, {@code beta2}, {@code eps}); what a group leaves unset it takes from the optimizer's defaults when
 * it joins one.
 *
 * <p>{@link #baseLr()} is the lr the group had when it joined (PyTorch's {@code initial_lr}); schedules scale from it
 * and write the current lr with {@link #lr(float)}.
 */
public final class ParamGroup {
    static final String LR = "lr";
    static final String WEIGHT_DECAY = "weight_decay";

    private final List<Variable> params;
    private final Map<String, Float> hyper = new LinkedHashMap<>();
    private float baseLr = Float.NaN;
    private boolean joined;

    public ParamGroup(List<Variable> params) { this.params = List.copyOf(params); }

    public List<Variable> params() { return params; }

    /** Sets the current learning rate. */
    public ParamGroup lr(float lr) { return set(LR, lr); }

    public ParamGroup weightDecay(float weightDecay) { return set(WEIGHT_DECAY, weightDecay); }

    /** Sets hyperparameter {@code key}; once the group is in an optimizer, only keys that optimizer knows. */
    public ParamGroup set(String key, float value) {
        if (joined && !hyper.containsKey(key)) throw new EmberException("unknown hyperparameter '" + key + "'; this group has " + hyper.keySet());
        hyper.put(key, value);
        return this;
    }

    public float lr() { return get(LR); }

    public float weightDecay() { return get(WEIGHT_DECAY); }

    /** The lr when the group joined its optimizer (or as restored from a state dict). */
    public float baseLr() { return baseLr; }

    public float get(String key) {
        Float v = hyper.get(key);
        if (v == null) throw new EmberException("hyperparameter '" + key + "' is not set; this group has " + hyper.keySet());
        return v;
    }

    /** All hyperparameters, read-only. */
    public Map<String, Float> hyperparameters() { return Collections.unmodifiableMap(hyper); }

    /** Fills what the group left unset from {@code defaults}, refusing keys the optimizer does not know. */
    void join(Map<String, Float> defaults, String optimizer) {
        if (joined) throw new EmberException("this parameter group is already in an optimizer");
        for (String k : hyper.keySet()) {
            if (!defaults.containsKey(k)) throw new EmberException("unknown hyperparameter '" + k + "' for " + optimizer + "; it knows " + defaults.keySet());
        }
        Map<String, Float> merged = new LinkedHashMap<>();
        for (Map.Entry<String, Float> d : defaults.entrySet()) merged.put(d.getKey(), hyper.getOrDefault(d.getKey(), d.getValue()));
        hyper.clear();
        hyper.putAll(merged);
        baseLr = lr();
        joined = true;
    }

    void setBaseLr(float lr) { baseLr = lr; }
}
