package dev.ember.autograd;

import dev.ember.engine.Backend;
import dev.ember.engine.Conv2dParams;
import dev.ember.engine.Pool2dParams;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import dev.ember.engine.UnaryOp;

/**
 * Matrix product, convolution and pooling, forward with derivative rule beneath. The costly rules skip inputs
 * that need no gradient (data, frozen weights): there a whole matmul or convolution would be wasted.
 */
final class LinalgOps {
    private LinalgOps() {}

    /**
     * x (..., in) · w^T = y (..., out) for w (out, in). Its own rule rather than matmul of a transposed view: dw comes
     * out as g^T · x directly in w's (out, in) layout, where the generic rule would give (in, out) and leave a
     * transposing copy of the whole weight gradient for every step.
     */
    static Variable linear(Variable x, Variable w) {
        Tensor y = x.data().matmul(w.data().mT());   // y (..., out)
        return Variable.fromOp("linear", y, g -> {
            Tensor dx = x.requiresGrad() ? g.matmul(w.data()) : null;   // dx (..., in) = g · w
            Tensor dw = null;
            if (w.requiresGrad()) {
                Tensor g2 = g.reshape(-1, w.dim(0)), x2 = x.data().reshape(-1, w.dim(1));   // g2 (R, out), x2 (R, in)
                dw = g2.mT().matmul(x2);                                                    // dw (out, in) = g^T · x
            }
            return new Tensor[] {dx, dw};
        }, x, w);
    }

    /** a (..., M, K) · b (..., K, N) = y (batch, M, N) with batch axes broadcast; both operands rank >= 2. */
    static Variable matmul(Variable a, Variable b) {
        Tensor y = a.data().matmul(b.data());
        return Variable.fromOp("matmul", y, g -> new Tensor[] {
                a.requiresGrad() ? ReduceOps.sumToShape(g.matmul(b.data().mT()), a.shape()) : null,   // da = g · b^T
                b.requiresGrad() ? ReduceOps.sumToShape(a.data().mT().matmul(g), b.shape()) : null},  // db = a^T · g
                a, b);
    }

    /** x (N, C, H, W) conv w (OC, C/groups, KH, KW) = y (N, OC, OH, OW); no bias. */
    static Variable conv2d(Variable x, Variable w, Conv2dParams p) {
        Tensor y = x.data().conv2d(w.data(), p);
        return Variable.fromOp("conv2d", y, g -> {
            Backend be = g.backend();
            return new Tensor[] {
                    x.requiresGrad() ? be.conv2dBackwardInput(g, w.data(), x.shape(), p) : null,    // dx (N, C, H, W)
                    w.requiresGrad() ? be.conv2dBackwardWeight(g, x.data(), w.shape(), p) : null};  // dw (OC, C/groups, KH, KW)
        }, x, w);
    }

    /**
     * y = relu(conv2d(x, w) + b) when {@code relu}, else conv2d(x, w) + b (b (OC) may be null), as one node: the backend's
     * fused pass forward, and neither the convolution's output nor the biased one is kept, where the composed ops kept
     * both. Backward goes through [y > 0], which is [conv + b > 0]; every gradient is the composed ops' value, bit for bit
     * (the bias's is the same sum add's backward takes).
     */
    static Variable conv2dBiasRelu(Variable x, Variable w, Variable b, boolean relu, Conv2dParams p) {
        Tensor y = x.data().conv2dBiasRelu(w.data(), b == null ? null : b.data(), relu, p);   // y (N, OC, OH, OW)
        int oc = y.dim(1);
        return Variable.fromOp(relu ? "conv2dBiasRelu" : "conv2dBias", y, g -> {
            Tensor gz = relu ? g.reluBackward(y) : g;   // dL/d(conv + b)
            Backend be = gz.backend();
            return new Tensor[] {
                    x.requiresGrad() ? be.conv2dBackwardInput(gz, w.data(), x.shape(), p) : null,     // dx (N, C, H, W)
                    w.requiresGrad() ? be.conv2dBackwardWeight(gz, x.data(), w.shape(), p) : null,   // dw (OC, C/groups, KH, KW)
                    b != null && b.requiresGrad() ? ReduceOps.sumToShape(gz, Shape.of(1, oc, 1, 1)).reshape(oc) : null};  // db (OC)
        }, x, w, b);
    }

    /**
     * Transposed convolution: x (N, C_in, H, W), w (C_in, C_out/g, KH, KW) -> y {@code outShape} (N, C_out, OH, OW).
     * y is the input-gradient of the convolution that maps y-space to x-space with weight w, so its own gradients are
     * that convolution (dx) and its weight-gradient with the roles of input and output swapped (dw).
     */
    static Variable convTranspose2d(Variable x, Variable w, Shape outShape, Conv2dParams p) {
        Tensor y = x.data().backend().conv2dBackwardInput(x.data(), w.data(), outShape, p);
        return Variable.fromOp("convTranspose2d", y, g -> {
            Backend be = g.backend();
            return new Tensor[] {
                    x.requiresGrad() ? be.conv2d(g, w.data(), p) : null,                             // dx (N, C_in, H, W)
                    w.requiresGrad() ? be.conv2dBackwardWeight(x.data(), g, w.shape(), p) : null};  // dw (C_in, C_out/g, KH, KW)
        }, x, w);
    }

    /** x (N, C, H, W) -> y (N, C, OH, OW); each g goes back to the cell that won its window. */
    static Variable maxPool2d(Variable x, Pool2dParams p) {
        if (!Variable.recordsGradient(x)) return Variable.of(x.data().maxPool2dValues(p));   // no indices to keep
        Backend.MaxPoolResult r = x.data().maxPool2d(p);   // indices (N, C, OH, OW): h*W + w of each winner
        return Variable.fromOp("maxPool2d", r.output(), g -> new Tensor[] {
                g.backend().maxPool2dBackward(g, r.indices(), x.shape())}, x);
    }

    /** x (N, C, H, W) -> y (N, C, OH, OW); each g spread evenly over its window's counted cells. */
    static Variable avgPool2d(Variable x, Pool2dParams p) {
        Tensor y = x.data().avgPool2d(p);
        return Variable.fromOp("avgPool2d", y, g -> new Tensor[] {g.backend().avgPool2dBackward(g, x.shape(), p)}, x);
    }
}
