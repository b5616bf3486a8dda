package dev.ember.loaders.onnx.ops;

import dev.ember.autograd.Variable;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxException;
import dev.ember.loaders.onnx.OnnxNode;

/**
 * The optimizer steps of the ai.onnx.preview.training domain (Adagrad, Momentum, Adam) on the host, per the
 * ONNX reference: inputs R (learning rate), T (step count), then n tensors X, n gradients G and the n (or 2n)
 * optimizer states; outputs the n updated tensors followed by the updated states. Values, not differentiable.
 */
final class TrainingOps {
    static final String DOMAIN = "ai.onnx.preview.training";

    private TrainingOps() {}

    static void register(OpTable t) {
        t.add(DOMAIN, "Adagrad", 1, (n, in, v) -> step(n, in, 1, TrainingOps::adagrad));
        t.add(DOMAIN, "Momentum", 1, (n, in, v) -> step(n, in, 1, TrainingOps::momentum));
        t.add(DOMAIN, "Adam", 1, (n, in, v) -> step(n, in, 2, TrainingOps::adam));
    }

    /** One tensor's update: x, g and its states in, {x_new, states_new...} out (arrays updated in place). */
    private interface Rule { void apply(OnnxNode node, double r, long t, double[] x, double[] g, double[][] states); }

    private static Variable[] step(OnnxNode node, Variable[] in, int stateCount, Rule rule) {
        int n = (in.length - 2) / (2 + stateCount);
        if (n < 1 || in.length != 2 + n * (2 + stateCount)) throw new OnnxException(node.describe() + ": expected R, T and " + (2 + stateCount) + " tensors per optimized tensor, got " + in.length + " inputs");
        double r = Args.scalar(node, Args.in(node, in, 0), "R");
        long t = (long) Args.scalar(node, Args.in(node, in, 1), "T");
        Variable[] out = new Variable[n * (1 + stateCount)];
        for (int i = 0; i < n; i++) {
            Tensor xt = Args.in(node, in, 2 + i).data();
            double[] x = Host.doubles(xt), g = Host.doubles(Args.in(node, in, 2 + n + i).data());
            double[][] states = new double[stateCount][];
            for (int s = 0; s < stateCount; s++) states[s] = Host.doubles(Args.in(node, in, 2 + (2 + s) * n + i).data());
            rule.apply(node, r, t, x, g, states);
            out[i] = Variable.of(Host.fromDoubles(xt.dtype(), xt.dims(), x));
            for (int s = 0; s < stateCount; s++) out[(1 + s) * n + i] = Variable.of(Host.fromDoubles(xt.dtype(), xt.dims(), states[s]));
        }
        return out;
    }

    /** g' = lambda x + g; h += g'^2; x -= r / (1 + t decay) * g' / (sqrt h + eps). */
    private static void adagrad(OnnxNode node, double r, long t, double[] x, double[] g, double[][] s) {
        double lambda = node.attrFloat("norm_coefficient", 0f), eps = node.attrFloat("epsilon", 1e-6f), decay = node.attrFloat("decay_factor", 0f);
        double rate = r / (1 + t * decay);
        double[] h = s[0];
        for (int k = 0; k < x.length; k++) {
            double gr = lambda * x[k] + g[k];
            h[k] += gr * gr;
            x[k] -= rate * gr / (Math.sqrt(h[k]) + eps);
        }
    }

    /** g' = lambda x + g; v = alpha v + (t > 0 ? beta : 1) g'; x -= r v (standard) or r (g' + alpha v) (nesterov). */
    private static void momentum(OnnxNode node, double r, long t, double[] x, double[] g, double[][] s) {
        double lambda = node.attrFloat("norm_coefficient", 0f), alpha = node.attrFloat("alpha", 0f), beta = node.attrFloat("beta", 0f);
        String mode = node.attrString("mode", "standard");
        if (!mode.equals("standard") && !mode.equals("nesterov")) throw new OnnxException(node.describe() + ": mode must be standard or nesterov, got '" + mode + "'");
        double betaT = t > 0 ? beta : 1;
        double[] v = s[0];
        for (int k = 0; k < x.length; k++) {
            double gr = lambda * x[k] + g[k];
            v[k] = alpha * v[k] + betaT * gr;
            x[k] -= mode.equals("nesterov") ? r * (gr + alpha * v[k]) : r * v[k];
        }
    }

    /** Adam with bias correction folded into the rate (t > 0), then x *= 1 - norm_coefficient_post. */
    private static void adam(OnnxNode node, double r, long t, double[] x, double[] g, double[][] s) {
        double lambda = node.attrFloat("norm_coefficient", 0f), post = node.attrFloat("norm_coefficient_post", 0f);
        double alpha = node.attrFloat("alpha", 0.9f), beta = node.attrFloat("beta", 0.999f), eps = node.attrFloat("epsilon", 1e-6f);
        double rate = t > 0 ? r * Math.sqrt(1 - Math.pow(beta, t)) / (1 - Math.pow(alpha, t)) : r;
        double[] v = s[0], h = s[1];
        for (int k = 0; k < x.length; k++) {
            double gr = lambda * x[k] + g[k];
            v[k] = alpha * v[k] + (1 - alpha) * gr;
            h[k] = beta * h[k] + (1 - beta) * gr * gr;
            x[k] = (1 - post) * (x[k] - rate * v[k] / (Math.sqrt(h[k]) + eps));
        }
    }
}
