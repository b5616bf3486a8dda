package dev.ember.loaders.onnx.ops;

import dev.ember.autograd.NoGrad;
import dev.ember.autograd.Variable;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxException;
import dev.ember.loaders.onnx.OnnxNode;

import java.util.function.IntFunction;

/**
 * Gradients for ops that autograd has no primitive for. Each op computes its value on tensors; when a graph is being
 * recorded (grad mode on and an input requires a gradient) it either composes the value from differentiable
 * Variable ops, attaches a first-order gradient with {@link #elementwise}, or refuses with {@link #refuse} — never
 * silently drops a gradient. Ops whose outputs are integers, booleans or piecewise constants (comparisons, argmax,
 * shapes, floor) have a zero gradient and return constants.
 */
final class Grad {
    private Grad() {}

    /** True when ops record a graph and one of {@code xs} requires a gradient. */
    static boolean recording(Variable... xs) {
        if (NoGrad.isEnabled()) return false;
        for (Variable x : xs) if (x != null && x.requiresGrad()) return true;
        return false;
    }

    /** Throws when a gradient would have to flow through {@code node}, which ember cannot differentiate yet. */
    static void refuse(OnnxNode node, Variable... xs) {
        if (recording(xs)) {
            throw new OnnxException(node.describe() + " is not differentiable in ember yet: run it under NoGrad, or freeze"
                    + " the parameters whose gradient would flow through it");
        }
    }

    /**
     * A result with value {@code y} whose gradient with respect to {@code xs[i]} is the elementwise partial
     * {@code dydx.apply(i)} (shaped like y; xs[i] broadcast to y). Built as y + sum_i (x_i - detach(x_i)) * dy/dx_i:
     * the added terms are exactly zero in value but carry g * dy/dx_i back to x_i. Non-finite partials become 0.
     */
    static Variable elementwise(Tensor y, Variable[] xs, IntFunction<Tensor> dydx) {
        Variable out = Variable.of(y);
        if (!recording(xs)) return out;
        for (int i = 0; i < xs.length; i++) {
            if (xs[i] == null || !xs[i].requiresGrad()) continue;
            Variable zero = xs[i].sub(xs[i].detach());   // zero (X_i): value 0, gradient 1 to x_i
            out = out.add(zero.mul(Variable.of(finite(dydx.apply(i)))));
        }
        return out;
    }

    /** Whole slices of x along axis in the order of {@code index}; autograd's indexSelect when recording. */
    static Variable take(Variable x, int axis, int[] index) {
        if (!recording(x)) return Variable.of(Host.take(x.data(), axis, index));
        return x.indexSelect(axis, index);
    }

    /** {@code parts} joined along {@code axis}; autograd's cat (gradients go back as slices) when recording. */
    static Variable concat(Variable[] parts, int axis) {
        if (recording(parts)) return Variable.cat(axis, parts);
        Tensor[] data = new Tensor[parts.length];
        for (int i = 0; i < parts.length; i++) data[i] = parts[i].data();
        return Variable.of(Host.concat(data, axis));
    }

    /** y[..., o, ...] = sum_i x[..., i, ...] * m[i, o] along {@code axis}: m (in, out) float32. Differentiable. */
    static Variable alongAxis(Variable x, int axis, Tensor m) {
        int r = x.rank();
        int[] toLast = new int[r], back = new int[r];
        for (int i = 0, j = 0; i < r; i++) if (i != axis) toLast[j++] = i;
        toLast[r - 1] = axis;
        for (int i = 0; i < r; i++) back[toLast[i]] = i;
        Variable y = x.permute(toLast).matmul(Variable.of(m));   // y (..., out)
        return y.permute(back);
    }

    private static Tensor finite(Tensor t) {
        float[] a = t.toFloatArray();
        boolean clean = true;
        for (float v : a) if (!Float.isFinite(v)) { clean = false; break; }
        if (clean) return t;
        for (int i = 0; i < a.length; i++) if (!Float.isFinite(a[i])) a[i] = 0f;
        return Tensor.of(a, t.dims());
    }
}
