package dev.ember.autograd;

import dev.ember.engine.Tensor;
import dev.ember.engine.UnaryOp;
import org.junit.jupiter.api.Test;

import static dev.ember.autograd.Inputs.awayFromZero;
import static dev.ember.autograd.Inputs.distinct;
import static dev.ember.autograd.Inputs.uniform;
import static dev.ember.autograd.GradCheck.check;

/** A numeric gradient check for every differentiable op on {@link Variable}, broadcasting variants included. */
class VariableGradCheckTest {

    // ---- binary, same shape and broadcast ----

    @Test void add() {
        check(v -> v[0].add(v[1]), uniform(1, -1, 1, 2, 3), uniform(2, -1, 1, 2, 3));
        check(v -> v[0].add(v[1]), uniform(1, -1, 1, 2, 3), uniform(2, -1, 1, 3));
        check(v -> v[0].add(v[1]), uniform(1, -1, 1, 2, 1, 3), uniform(2, -1, 1, 4, 1));
    }

    @Test void sub() {
        check(v -> v[0].sub(v[1]), uniform(3, -1, 1, 2, 3), uniform(4, -1, 1, 2, 3));
        check(v -> v[0].sub(v[1]), uniform(3, -1, 1, 1, 3), uniform(4, -1, 1, 2, 1));
    }

    @Test void mul() {
        check(v -> v[0].mul(v[1]), uniform(5, -1, 1, 2, 3), uniform(6, -1, 1, 2, 3));
        check(v -> v[0].mul(v[1]), uniform(5, -1, 1, 2, 3), uniform(6, -1, 1, 2, 1));
        check(v -> v[0].mul(v[0]), uniform(5, -1, 1, 4));   // one input used twice: gradients must add
    }

    @Test void div() {
        check(v -> v[0].div(v[1]), uniform(7, -1, 1, 2, 3), uniform(8, 0.5f, 1.5f, 2, 3));
        check(v -> v[0].div(v[1]), uniform(7, -1, 1, 2, 3), uniform(8, 0.5f, 1.5f, 3));
    }

    @Test void maximum() {
        // b lies 0.3 above or below a everywhere, so no step of 1e-2 changes which one wins
        Tensor a = uniform(9, -1, 1, 2, 3);
        Tensor b = a.add(awayFromZero(10, 2, 3).unary(UnaryOp.SIGN).mul(0.3f));
        check(v -> v[0].maximum(v[1]), a, b);
        check(v -> v[0].maximum(v[1]), Tensor.of(new float[] {0.1f, 0.9f, -0.5f, 0.6f, 0.3f, -0.2f}, 2, 3),
                Tensor.of(new float[] {0.4f, 0.2f, 0.0f}, 3));
    }

    // ---- with a constant ----

    @Test void scalarOps() {
        Tensor x = uniform(11, -1, 1, 2, 3);
        check(v -> v[0].add(0.7f), x);
        check(v -> v[0].sub(0.7f), x);
        check(v -> v[0].mul(-1.5f), x);
        check(v -> v[0].div(4f), x);
    }

    @Test void pow() {
        Tensor x = uniform(12, 0.5f, 1.5f, 2, 3);
        check(v -> v[0].pow(3f), x);
        check(v -> v[0].pow(-0.5f), x);
        check(v -> v[0].pow(2.5f), x);
        check(v -> v[0].pow(0f), x);
        check(v -> v[0].pow(3f), uniform(13, -1, 1, 5));   // integer exponent over negative bases
    }

    // ---- unary ----

    @Test void unary() {
        Tensor any = uniform(14, -1.5f, 1.5f, 2, 3);
        Tensor positive = uniform(15, 0.5f, 2f, 2, 3);
        Tensor noKink = awayFromZero(16, 2, 3);
        check(v -> v[0].neg(), any);
        check(v -> v[0].exp(), any);
        check(v -> v[0].log(), positive);
        check(v -> v[0].sqrt(), positive);
        check(v -> v[0].abs(), noKink);
        check(v -> v[0].square(), any);
        check(v -> v[0].relu(), noKink);
        check(v -> v[0].sigmoid(), any);
        check(v -> v[0].tanh(), any);
        check(v -> v[0].gelu(), any);
    }

    // ---- reductions ----

    @Test void sumAndMean() {
        Tensor x = uniform(17, -1, 1, 2, 3, 4);
        check(v -> v[0].sum(), x);
        check(v -> v[0].sum(1), x);
        check(v -> v[0].sum(0, 2), x);
        check(v -> v[0].sum(true, -1), x);
        check(v -> v[0].mean(), x);
        check(v -> v[0].mean(0, 2), x);
        check(v -> v[0].mean(true, 1), x);
    }

    @Test void max() {
        Tensor x = distinct(18, 2, 3, 4);
        check(v -> v[0].max(false), x);
        check(v -> v[0].max(false, 1), x);
        check(v -> v[0].max(true, 0, 2), x);
        check(v -> v[0].max(false, -1), x);
    }

    @Test void softmaxFamily() {
        Tensor x = uniform(19, -2, 2, 2, 3, 4);
        check(v -> v[0].softmax(-1), x);
        check(v -> v[0].softmax(1), x);
        check(v -> v[0].logSoftmax(-1), x);
        check(v -> v[0].logSoftmax(0), x);
    }

    // ---- movement ----

    @Test void movement() {
        Tensor x = uniform(20, -1, 1, 2, 3, 4);
        check(v -> v[0].reshape(6, 4), x);
        check(v -> v[0].reshape(4, -1), x);
        check(v -> v[0].permute(2, 0, 1), x);
        check(v -> v[0].transpose(0, 2), x);
        check(v -> v[0].flatten(1), x);
        check(v -> v[0].unsqueeze(1).mul(v[0].unsqueeze(1)), x);
        check(v -> v[0].squeeze(1), uniform(21, -1, 1, 2, 1, 3));
        check(v -> v[0].expand(2, 4, 3), uniform(22, -1, 1, 4, 1));
        check(v -> v[0].expand(3, 4, 2), uniform(22, -1, 1, 1, 2));
        check(v -> v[0].slice(1, 0, 3, 2), x);
        check(v -> v[0].slice(2, -3, 4, 1), x);
        check(v -> v[0].permute(1, 0, 2).slice(0, 1, 3, 1).reshape(-1), x);   // views of views
    }

    // ---- linear algebra ----

    @Test void matmul() {
        check(v -> v[0].matmul(v[1]), uniform(23, -1, 1, 3, 4), uniform(24, -1, 1, 4, 5));
        check(v -> v[0].matmul(v[1]), uniform(25, -1, 1, 2, 3, 4), uniform(26, -1, 1, 4, 5));     // batch broadcast on b
        check(v -> v[0].matmul(v[1]), uniform(27, -1, 1, 3, 4), uniform(28, -1, 1, 2, 4, 2));     // batch broadcast on a
        check(v -> v[0].matmul(v[1]), uniform(29, -1, 1, 2, 1, 3, 4), uniform(30, -1, 1, 3, 4, 2)); // both broadcast
        check(v -> v[0].matmul(v[1]), uniform(31, -1, 1, 4), uniform(32, -1, 1, 4, 3));           // 1-D @ 2-D
        check(v -> v[0].matmul(v[1]), uniform(33, -1, 1, 3, 4), uniform(34, -1, 1, 4));           // 2-D @ 1-D
        check(v -> v[0].matmul(v[1]), uniform(35, -1, 1, 4), uniform(36, -1, 1, 4));              // dot product
        check(v -> v[0].matmul(v[1].transpose(0, 1)), uniform(37, -1, 1, 3, 4), uniform(38, -1, 1, 5, 4));   // strided operand
    }

    // ---- compositions ----

    @Test void composedExpression() {
        // a small network-like expression: every input used more than once, broadcast on the way
        check(v -> v[0].matmul(v[1]).add(v[2]).tanh().mul(v[0].sum(true, 1)).softmax(1).log().mean(),
                uniform(39, -1, 1, 3, 4), uniform(40, -1, 1, 4, 2), uniform(41, -1, 1, 2));
    }
}
