package dev.ember.optim;

import dev.ember.autograd.Variable;
import dev.ember.engine.SgdParams;
import dev.ember.engine.Tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Stochastic gradient descent, torch.optim.SGD's rule, per parameter p with gradient g:
 * <pre>
 *   g' = g + weight_decay * p
 *   buf = g'                                          first step
 *   buf = momentum * buf + (1 - dampening) * g'        later steps
 *   d = nesterov ? g' + momentum * buf : buf           (d = g' when momentum is 0; no buffer is kept then)
 *   p = p - lr * d
 * </pre>
 * Per-parameter state: {@code momentum_buffer}. Hyperparameters: {@code lr}, {@code weight_decay},
 * {@code momentum}, {@code dampening}, {@code nesterov} (1 or 0).
 */
public final class Sgd extends Optimizer {
    static final String MOMENTUM = "momentum";
    static final String DAMPENING = "dampening";
    static final String NESTEROV = "nesterov";
    private static final String BUFFER = "momentum_buffer";

    /** Defaults for every group; change one with its wither: {@code Sgd.options(0.1f).momentum(0.9f)}. */
    public record Options(float lr, float momentum, float dampening, float weightDecay, boolean nesterov) {
        public Options lr(float v) { return new Options(v, momentum, dampening, weightDecay, nesterov); }
        public Options momentum(float v) { return new Options(lr, v, dampening, weightDecay, nesterov); }
        public Options dampening(float v) { return new Options(lr, momentum, v, weightDecay, nesterov); }
        public Options weightDecay(float v) { return new Options(lr, momentum, dampening, v, nesterov); }
        public Options nesterov(boolean v) { return new Options(lr, momentum, dampening, weightDecay, v); }

        Map<String, Float> asMap() {
            Map<String, Float> m = new LinkedHashMap<>();
            m.put(ParamGroup.LR, lr);
            m.put(ParamGroup.WEIGHT_DECAY, weightDecay);
            m.put(MOMENTUM, momentum);
            m.put(DAMPENING, dampening);
            m.put(NESTEROV, nesterov ? 1f : 0f);
            return m;
        }
    }

    /** Plain SGD at {@code lr}: no momentum, dampening or weight decay. */
    public static Options options(float lr) { return new Options(lr, 0, 0, 0, false); }

    public Sgd(List<Variable> params, Options options) { this(options, new ParamGroup(params)); }

    /** Groups with their own overrides of {@code defaults}. */
    public Sgd(Options defaults, ParamGroup... groups) { super(defaults.asMap(), List.of(groups)); }

    @Override void validate(ParamGroup g) {
        float momentum = g.get(MOMENTUM), dampening = g.get(DAMPENING);
        require(g.lr() >= 0, "Sgd lr must be >= 0, got " + g.lr());
        require(momentum >= 0, "Sgd momentum must be >= 0, got " + momentum);
        require(g.weightDecay() >= 0, "Sgd weight_decay must be >= 0, got " + g.weightDecay());
        require(g.get(NESTEROV) == 0 || (momentum > 0 && dampening == 0), "Sgd nesterov needs momentum > 0 and dampening 0, got momentum " + momentum + ", dampening " + dampening);
    }

    @Override void update(ParamGroup g, Variable param, Tensor grad, ParamState s) {
        float momentum = g.get(MOMENTUM);
        Tensor buf = null;
        boolean first = false;
        if (momentum != 0) {
            buf = s.buffers.get(BUFFER);
            if (buf == null) {
                buf = zerosLike(param);
                s.buffers.put(BUFFER, buf);
                first = true;
            }
        }
        SgdParams p = new SgdParams(g.lr(), momentum, g.get(DAMPENING), g.weightDecay(), g.get(NESTEROV) != 0, first);
        param.data().backend().sgdStep(param.data(), grad, buf, p);
        s.step++;
    }

    @Override Set<String> bufferNames() { return Set.of(BUFFER); }
}
