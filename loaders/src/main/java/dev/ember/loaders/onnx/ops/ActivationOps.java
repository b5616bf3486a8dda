package dev.ember.loaders.onnx.ops;

import dev.ember.autograd.Variable;
import dev.ember.engine.DType;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxException;
import dev.ember.loaders.onnx.OnnxNode;

import static dev.ember.loaders.onnx.ops.ElementwiseOps.floatIn;
import static dev.ember.loaders.onnx.ops.ElementwiseOps.one;

/**
 * Activations and the softmax family, composed from autograd ops so each is differentiable: the piecewise ones are
 * written with relu (e.g. elu(x) = relu(x) + alpha (e^(-relu(-x)) - 1)), so no mask or branch is needed.
 */
final class ActivationOps {
    private ActivationOps() {}

    static void register(OpTable t) {
        t.add("Relu", 1, (n, in, v) -> one(relu(n, Args.in(n, in, 0))));
        t.add("Sigmoid", 1, (n, in, v) -> one(floatIn(n, in).sigmoid()));
        t.add("Tanh", 1, (n, in, v) -> one(floatIn(n, in).tanh()));
        t.add("LeakyRelu", 1, (n, in, v) -> one(leakyRelu(floatIn(n, in), n.attrFloat("alpha", 0.01f))));
        t.add("PRelu", 1, (n, in, v) -> {
            Variable x = floatIn(n, in), slope = Args.in(n, in, 1);
            return one(x.relu().sub(x.neg().relu().mul(slope)));   // relu(x) - slope relu(-x)
        });
        t.add("Elu", 1, (n, in, v) -> one(elu(floatIn(n, in), n.attrFloat("alpha", 1f))));
        t.add("Selu", 1, (n, in, v) -> one(elu(floatIn(n, in), n.attrFloat("alpha", 1.67326319217681884765625f))
                .mul(n.attrFloat("gamma", 1.05070102214813232421875f))));
        t.add("Celu", 12, (n, in, v) -> {
            Variable x = floatIn(n, in);
            float alpha = n.attrFloat("alpha", 1f);   // max(0, x) + min(0, alpha (e^(x/alpha) - 1))
            return one(x.relu().add(x.neg().relu().div(-alpha).exp().sub(1f).mul(alpha)));
        });
        t.add("HardSigmoid", 1, (n, in, v) -> one(hardSigmoid(floatIn(n, in), n.attrFloat("alpha", 0.2f), n.attrFloat("beta", 0.5f))));
        t.add("HardSwish", 14, (n, in, v) -> {
            Variable x = floatIn(n, in);
            return one(x.mul(hardSigmoid(x, 1f / 6, 0.5f)));
        });
        t.add("Softplus", 1, (n, in, v) -> one(softplus(floatIn(n, in))));
        t.add("Softsign", 1, (n, in, v) -> {
            Variable x = floatIn(n, in);
            return one(x.div(x.abs().add(1f)));
        });
        t.add("ThresholdedRelu", 10, (n, in, v) -> {
            Variable x = floatIn(n, in);
            float alpha = n.attrFloat("alpha", 1f);
            return one(x.mul(Variable.of(Host.mapFloat(x.data(), a -> a > alpha ? 1 : 0))));
        });
        t.add("Mish", 18, (n, in, v) -> {
            Variable x = floatIn(n, in);
            return one(x.mul(softplus(x).tanh()));
        });
        t.add("Gelu", 20, (n, in, v) -> {
            Variable x = floatIn(n, in);
            String approx = n.attrString("approximate", "none");
            if (approx.equals("none")) return one(x.gelu());
            if (!approx.equals("tanh")) throw new OnnxException(n.describe() + ": approximate must be none or tanh, got '" + approx + "'");
            Variable inner = x.add(x.pow(3f).mul(0.044715f)).mul((float) Math.sqrt(2 / Math.PI));
            return one(x.mul(inner.tanh().add(1f)).mul(0.5f));
        });
        t.add("Shrink", 9, (n, in, v) -> {
            Variable x = floatIn(n, in);
            float bias = n.attrFloat("bias", 0f), lambd = n.attrFloat("lambd", 0.5f);
            Variable above = Variable.of(Host.mapFloat(x.data(), a -> a > lambd ? 1 : 0));
            Variable below = Variable.of(Host.mapFloat(x.data(), a -> a < -lambd ? 1 : 0));
            return one(x.sub(bias).mul(above).add(x.add(bias).mul(below)));
        });

        t.add("Dropout", 1, ActivationOps::dropout);

        t.add("Softmax", 1, (n, in, v) -> one(softmax(n, floatIn(n, in), 1, false)));
        t.add("Softmax", 13, (n, in, v) -> one(softmax(n, floatIn(n, in), 13, false)));
        t.add("LogSoftmax", 1, (n, in, v) -> one(softmax(n, floatIn(n, in), 1, true)));
        t.add("LogSoftmax", 13, (n, in, v) -> one(softmax(n, floatIn(n, in), 13, true)));
        t.add("Hardmax", 1, (n, in, v) -> one(hardmax(n, floatIn(n, in), v)));
    }

    /**
     * Dropout in inference is the identity, with an all-true mask (bool from opset 10). Training mode with a
     * non-zero ratio draws a random mask, which no reference can check: it is reported unsupported.
     */
    static Variable[] dropout(OnnxNode node, Variable[] in, int opset) {
        Variable x = Args.in(node, in, 0);
        Variable ratioInput = Args.opt(in, 1), trainingInput = Args.opt(in, 2);
        double ratio = opset >= 12 ? (ratioInput == null ? 0.5 : Args.scalar(node, ratioInput, "ratio")) : node.attrFloat("ratio", 0.5f);
        boolean training = opset >= 12 ? trainingInput != null && Args.scalar(node, trainingInput, "training_mode") != 0
                : opset < 7 && node.attrInt("is_test", 0) == 0;
        if (training && ratio != 0) {
            throw new OnnxUnsupportedException(node.describe() + ": Dropout in training mode (ratio " + ratio + ") draws a random mask; not supported");
        }
        if (!Args.wantsOutput(node, 1)) return one(x);
        DType maskType = opset >= 10 ? DType.BOOL : x.data().dtype();
        return new Variable[] {x, Variable.of(Host.full(maskType, x.shape().dims(), 1))};
    }

    /** relu(x) - alpha relu(-x). */
    /** max(x, 0): float32 through the backend (with its gradient), an integer type on the host. */
    static Variable relu(OnnxNode node, Variable x) {
        if (x.data().dtype() == DType.FLOAT32) return x.relu();
        ElementwiseOps.requireInteger(node, x.data().dtype());
        return Variable.of(Host.mapLong(x.data(), x.data().dtype(), a -> Math.max(a, 0)));
    }

    static Variable leakyRelu(Variable x, float alpha) { return x.relu().sub(x.neg().relu().mul(alpha)); }

    /** x for x > 0, alpha (e^x - 1) otherwise: relu(x) + alpha (e^(-relu(-x)) - 1). */
    static Variable elu(Variable x, float alpha) { return x.relu().add(x.neg().relu().neg().exp().sub(1f).mul(alpha)); }

    /** clamp(alpha x + beta, 0, 1) = relu(t) - relu(t - 1) with t = alpha x + beta. */
    static Variable hardSigmoid(Variable x, float alpha, float beta) {
        Variable t = x.mul(alpha).add(beta);
        return t.relu().sub(t.sub(1f).relu());
    }

    /** ln(1 + e^x), written relu(x) + ln(1 + e^-|x|) so large |x| neither overflows nor loses the value. */
    static Variable softplus(Variable x) { return x.relu().add(x.abs().neg().exp().add(1f).log()); }

    /**
     * Softmax / LogSoftmax. Before opset 13 the input is coerced to 2-D at {@code axis} (default 1): the softmax runs
     * over all trailing axes together; from 13 it runs along the single axis {@code axis} (default -1).
     */
    static Variable softmax(OnnxNode node, Variable x, int version, boolean log) {
        int rank = x.rank();
        if (version >= 13) {
            int a = Args.axis(node, node.attrInt("axis", -1), Math.max(rank, 1), "axis");
            if (rank == 0) x = x.reshape(1);
            Variable y = log ? x.logSoftmax(a) : x.softmax(a);
            return rank == 0 ? y.reshape() : y;
        }
        int a = Args.axis(node, node.attrInt("axis", 1), Math.max(rank, 1), "axis");
        int[] dims = x.shape().dims();
        Variable flat = x.reshape(Host.product(dims, 0, a), Host.product(dims, a, rank));   // flat (outer, inner)
        Variable y = log ? flat.logSoftmax(1) : flat.softmax(1);
        return y.reshape(dims);
    }

    /** 1 at the first maximum along the axis (2-D coerced before opset 13, as Softmax), 0 elsewhere. */
    static Variable hardmax(OnnxNode node, Variable x, int opset) {
        int rank = x.rank();
        int[] dims = x.shape().dims();
        int outer, n, inner;
        if (opset >= 13) {
            int a = Args.axis(node, node.attrInt("axis", -1), rank, "axis");
            outer = Host.product(dims, 0, a);
            n = dims[a];
            inner = Host.product(dims, a + 1, rank);
        } else {
            int a = Args.axis(node, node.attrInt("axis", 1), rank, "axis");
            outer = Host.product(dims, 0, a);
            n = Host.product(dims, a, rank);
            inner = 1;
        }
        float[] v = x.data().toFloatArray(), y = new float[v.length];
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                int best = 0;
                for (int k = 1; k < n; k++) if (v[(o * n + k) * inner + i] > v[(o * n + best) * inner + i]) best = k;
                if (n > 0) y[(o * n + best) * inner + i] = 1f;
            }
        }
        return Variable.of(Tensor.of(y, dims));
    }
}
