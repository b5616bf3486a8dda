package dev.ember.optim;

import dev.ember.autograd.Variable;

import java.util.List;

/**
 * Adam with decoupled weight decay (Loshchilov and Hutter), torch.optim.AdamW's rule: first p = p * (1 - lr *
 * weight_decay), then the {@link Adam} update with the raw gradient (no decay term in m and v).
 */
public final class AdamW extends Adam {
    /** PyTorch's AdamW defaults at {@code lr}: betas (0.9, 0.999), eps 1e-8, weight decay 0.01. */
    public static Options options(float lr) { return new Options(lr, 0.9f, 0.999f, 1e-8f, 0.01f); }

    public AdamW(List<Variable> params, Options options) { super(options, true, List.of(new ParamGroup(params))); }

    public AdamW(Options defaults, ParamGroup... groups) { super(defaults, true, List.of(groups)); }
}
