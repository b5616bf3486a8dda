package dev.ember.loaders.onnx.ops;

import dev.ember.autograd.Variable;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxException;
import dev.ember.loaders.onnx.OnnxNode;

/**
 * NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss over input (N, C, d...) and integer targets (N, d...).
 * The picked log-probabilities are a product with a constant (N, C, d...) weight tensor that holds weight[target] at
 * the target class and 0 elsewhere (and on ignored targets), summed over C: differentiable in the input.
 */
final class LossOps {
    private LossOps() {}

    static void register(OpTable t) {
        t.add("NegativeLogLikelihoodLoss", 12, (n, in, v) -> new Variable[] {
                nll(n, Args.in(n, in, 0), Args.in(n, in, 1), Args.opt(in, 2))});
        t.add("SoftmaxCrossEntropyLoss", 12, (n, in, v) -> {
            Variable scores = Args.in(n, in, 0);
            Args.requireFloat(n, scores, "scores");
            if (scores.rank() < 2) throw new OnnxException(n.describe() + ": scores must be (N, C, ...), got " + scores.shape());
            Variable logProb = scores.logSoftmax(1);
            Variable loss = nll(n, logProb, Args.in(n, in, 1), Args.opt(in, 2));
            return Args.wantsOutput(n, 1) ? new Variable[] {loss, logProb} : new Variable[] {loss};
        });
    }

    /** loss (N, d...) = -input[n, target, d...] * weight[target]; reduced by sum, or mean over the total weight. */
    static Variable nll(OnnxNode node, Variable input, Variable target, Variable weight) {
        Args.requireFloat(node, input, "input");
        int[] d = input.shape().dims();
        if (d.length < 2) throw new OnnxException(node.describe() + ": input must be (N, C, ...), got " + input.shape());
        int n = d[0], c = d[1], inner = Host.product(d, 2, d.length);
        if (target.shape().numel() != n * inner || target.rank() != d.length - 1) {
            throw new OnnxException(node.describe() + ": target " + target.shape() + " does not fit input " + input.shape());
        }
        long[] t = Args.longs(node, target, "target");
        float[] w = weight == null ? null : weight.data().toFloatArray();
        if (w != null && w.length != c) throw new OnnxException(node.describe() + ": weight must have " + c + " entries, got " + w.length);
        boolean hasIgnore = node.has("ignore_index");
        long ignore = node.attrInt("ignore_index", 0);
        float[] pick = new float[input.shape().numel()];   // pick (N, C, d...): weight[target] at the target class
        double total = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < inner; j++) {
                long k = t[i * inner + j];
                if (hasIgnore && k == ignore) continue;
                if (k < 0 || k >= c) throw new OnnxException(node.describe() + ": target " + k + " is out of range for " + c + " classes");
                float wk = w == null ? 1f : w[(int) k];
                pick[(i * c + (int) k) * inner + j] = wk;
                total += wk;
            }
        }
        Variable loss = input.mul(Variable.of(Tensor.of(pick, d))).sum(1).neg();   // loss (N, d...)
        String reduction = node.attrString("reduction", "mean");
        return switch (reduction) {
            case "none" -> loss;
            case "sum" -> loss.sum();
            case "mean" -> loss.sum().div((float) total);
            default -> throw new OnnxException(node.describe() + ": reduction must be none, sum or mean, got '" + reduction + "'");
        };
    }
}
