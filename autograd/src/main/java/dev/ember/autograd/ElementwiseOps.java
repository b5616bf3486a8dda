package dev.ember.autograd;

import dev.ember.engine.Tensor;
import dev.ember.engine.UnaryOp;

import static dev.ember.autograd.ReduceOps.sumToShape;

/**
 * Elementwise primitives, each forward with its derivative rule right beneath it. {@code g} is dL/dy, shaped like
 * the output y. Binary ops broadcast (NumPy rules), so their input gradients are summed back to each input's shape.
 */
final class ElementwiseOps {
    private ElementwiseOps() {}

    // ---- binary: a (A), b (B), y (broadcast(A, B)) ----

    static Variable add(Variable a, Variable b) {
        Tensor y = a.data().add(b.data());
        return Variable.fromOp("add", y, g -> new Tensor[] {
                sumToShape(g, a.shape()),                      // dy/da = 1
                sumToShape(g, b.shape())}, a, b);              // dy/db = 1
    }

    static Variable sub(Variable a, Variable b) {
        Tensor y = a.data().sub(b.data());
        return Variable.fromOp("sub", y, g -> new Tensor[] {
                sumToShape(g, a.shape()),                      // dy/da = 1
                b.requiresGrad() ? sumToShape(g, b.shape()).neg() : null}, a, b);   // dy/db = -1
    }

    static Variable mul(Variable a, Variable b) {
        Tensor y = a.data().mul(b.data());
        return Variable.fromOp("mul", y, g -> new Tensor[] {
                a.requiresGrad() ? sumToShape(g.mul(b.data()), a.shape()) : null,  // dy/da = b
                b.requiresGrad() ? sumToShape(g.mul(a.data()), b.shape()) : null}, a, b);  // dy/db = a
    }

    static Variable div(Variable a, Variable b) {
        Tensor y = a.data().div(b.data());
        return Variable.fromOp("div", y, g -> new Tensor[] {
                a.requiresGrad() ? sumToShape(g.div(b.data()), a.shape()) : null,             // dy/da = 1/b
                b.requiresGrad() ? sumToShape(g.mul(y).div(b.data()), b.shape()).neg() : null}, a, b);  // dy/db = -a/b^2 = -y/b
    }

    static Variable maximum(Variable a, Variable b) {
        Tensor y = a.data().maximum(b.data());
        return Variable.fromOp("maximum", y, g -> {
            // share of the gradient that goes to a: 1 where a > b, 1/2 on ties, 0 where a < b
            Tensor aShare = a.data().gt(b.data()).add(a.data().eq(b.data()).mul(0.5f));
            return new Tensor[] {
                    sumToShape(g.mul(aShare), a.shape()),
                    sumToShape(g.mul(aShare.neg().add(1f)), b.shape())};
        }, a, b);
    }

    // ---- with a constant: x (X), y (X) ----

    static Variable addScalar(Variable x, float v) {
        return Variable.fromOp("add scalar", x.data().add(v), g -> new Tensor[] {g}, x);   // dy/dx = 1
    }

    static Variable mulScalar(Variable x, float v) {
        return Variable.fromOp("mul scalar", x.data().mul(v), g -> new Tensor[] {g.mul(v)}, x);   // dy/dx = v
    }

    static Variable divScalar(Variable x, float v) {
        return Variable.fromOp("div scalar", x.data().div(v), g -> new Tensor[] {g.div(v)}, x);   // dy/dx = 1/v
    }

    static Variable pow(Variable x, float p) {
        Tensor y = x.data().pow(p);
        return Variable.fromOp("pow", y, g -> {
            if (p == 0) return new Tensor[] {g.mul(0f)};   // x^0 is constant (also where x = 0)
            return new Tensor[] {g.mul(x.data().pow(p - 1)).mul(p)};   // dy/dx = p x^(p-1)
        }, x);
    }

    // ---- unary: x (X), y (X) ----

    static Variable neg(Variable x) {
        return Variable.fromOp("neg", x.data().neg(), g -> new Tensor[] {g.neg()}, x);   // dy/dx = -1
    }

    static Variable exp(Variable x) {
        Tensor y = x.data().exp();
        return Variable.fromOp("exp", y, g -> new Tensor[] {g.mul(y)}, x);   // dy/dx = e^x = y
    }

    static Variable log(Variable x) {
        return Variable.fromOp("log", x.data().log(), g -> new Tensor[] {g.div(x.data())}, x);   // dy/dx = 1/x
    }

    static Variable sqrt(Variable x) {
        Tensor y = x.data().sqrt();
        return Variable.fromOp("sqrt", y, g -> new Tensor[] {g.div(y).mul(0.5f)}, x);   // dy/dx = 1/(2 sqrt x)
    }

    static Variable abs(Variable x) {
        return Variable.fromOp("abs", x.data().abs(), g -> new Tensor[] {g.mul(x.data().unary(UnaryOp.SIGN))}, x);   // dy/dx = sign x
    }

    static Variable square(Variable x) {
        return Variable.fromOp("square", x.data().square(), g -> new Tensor[] {g.mul(x.data()).mul(2f)}, x);   // dy/dx = 2x
    }

    static Variable relu(Variable x) {
        return Variable.fromOp("relu", x.data().relu(), g -> new Tensor[] {g.reluBackward(x.data())}, x);   // dy/dx = [x > 0]
    }

    static Variable sigmoid(Variable x) {
        Tensor y = x.data().sigmoid();
        return Variable.fromOp("sigmoid", y, g -> new Tensor[] {g.mul(y).mul(y.neg().add(1f))}, x);   // dy/dx = y (1 - y)
    }

    static Variable tanh(Variable x) {
        Tensor y = x.data().tanh();
        return Variable.fromOp("tanh", y, g -> new Tensor[] {g.mul(y.square().neg().add(1f))}, x);   // dy/dx = 1 - y^2
    }

    static Variable gelu(Variable x) {
        return Variable.fromOp("gelu", x.data().gelu(),
                g -> new Tensor[] {g.mul(x.data().unary(UnaryOp.GELU_GRAD))}, x);   // dy/dx = Phi(x) + x phi(x)
    }
}
