package dev.ember.optim;

import dev.ember.autograd.Variable;
import dev.ember.engine.AdamParams;
import dev.ember.engine.Tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Adam (Kingma and Ba) with L2 weight decay folded into the gradient, torch.optim.Adam's rule; t counts this
 * parameter's steps from 1:
 * <pre>
 *   g' = g + weight_decay * p
 *   m = beta1 * m + (1 - beta1) * g'
 *   v = beta2 * v + (1 - beta2) * g'^2
 *   p = p - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
 * </pre>
 * {@link AdamW} decays the weights instead (decoupled). Per-parameter state: {@code step}, {@code exp_avg} (m),
 * {@code exp_avg_sq} (v). Hyperparameters: {@code lr}, {@code weight_decay}, {@code beta1}, {@code beta2}, {@code eps}.
 */
public class Adam extends Optimizer {
    static final String BETA1 = "beta1";
    static final String BETA2 = "beta2";
    static final String EPS = "eps";
    private static final String EXP_AVG = "exp_avg";
    private static final String EXP_AVG_SQ = "exp_avg_sq";

    /** Defaults for every group; change one with its wither: {@code Adam.options(1e-3f).beta2(0.99f)}. */
    public record Options(float lr, float beta1, float beta2, float eps, float weightDecay) {
        public Options lr(float v) { return new Options(v, beta1, beta2, eps, weightDecay); }
        public Options beta1(float v) { return new Options(lr, v, beta2, eps, weightDecay); }
        public Options beta2(float v) { return new Options(lr, beta1, v, eps, weightDecay); }
        public Options eps(float v) { return new Options(lr, beta1, beta2, v, weightDecay); }
        public Options weightDecay(float v) { return new Options(lr, beta1, beta2, eps, v); }

        Map<String, Float> asMap() {
            Map<String, Float> m = new LinkedHashMap<>();
            m.put(ParamGroup.LR, lr);
            m.put(ParamGroup.WEIGHT_DECAY, weightDecay);
            m.put(BETA1, beta1);
            m.put(BETA2, beta2);
            m.put(EPS, eps);
            return m;
        }
    }

    /** PyTorch's Adam defaults at {@code lr}: betas (0.9, 0.999), eps 1e-8, no weight decay. */
    public static Options options(float lr) { return new Options(lr, 0.9f, 0.999f, 1e-8f, 0f); }

    private final boolean decoupled;

    public Adam(List<Variable> params, Options options) { this(options, false, List.of(new ParamGroup(params))); }

    /** Groups with their own overrides of {@code defaults}. */
    public Adam(Options defaults, ParamGroup... groups) { this(defaults, false, List.of(groups)); }

    Adam(Options defaults, boolean decoupled, List<ParamGroup> groups) {
        super(defaults.asMap(), groups);
        this.decoupled = decoupled;
    }

    @Override final void validate(ParamGroup g) {
        float b1 = g.get(BETA1), b2 = g.get(BETA2), eps = g.get(EPS);
        require(g.lr() >= 0, name() + " lr must be >= 0, got " + g.lr());
        require(b1 >= 0 && b1 < 1, name() + " beta1 must be in [0, 1), got " + b1);
        require(b2 >= 0 && b2 < 1, name() + " beta2 must be in [0, 1), got " + b2);
        require(eps >= 0, name() + " eps must be >= 0, got " + eps);
        require(g.weightDecay() >= 0, name() + " weight_decay must be >= 0, got " + g.weightDecay());
    }

    @Override final void update(ParamGroup g, Variable param, Tensor grad, ParamState s) {
        Tensor m = s.buffers.computeIfAbsent(EXP_AVG, k -> zerosLike(param));
        Tensor v = s.buffers.computeIfAbsent(EXP_AVG_SQ, k -> zerosLike(param));
        s.step++;
        AdamParams p = new AdamParams(g.lr(), g.get(BETA1), g.get(BETA2), g.get(EPS), g.weightDecay(), decoupled, Math.toIntExact(s.step));
        param.data().backend().adamStep(param.data(), grad, m, v, p);
    }

    @Override final Set<String> bufferNames() { return Set.of(EXP_AVG, EXP_AVG_SQ); }
}
