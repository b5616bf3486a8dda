package dev.ember.optim;

import dev.ember.autograd.Variable;
import dev.ember.engine.EmberException;
import dev.ember.engine.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SGD against updates worked out by hand. Every case starts from p = [1, -2] with the fixed gradient
 * g = [0.5, 1] at every step, lr 0.1.
 */
class SgdTest {
    private static final float TOL = 1e-6f;

    private static Variable param() {
        Variable p = Variable.param(Tensor.of(new float[] {1f, -2f}, 2));
        p.setGrad(Tensor.of(new float[] {0.5f, 1f}, 2));
        return p;
    }

    private static float[] values(Variable p) { return p.data().toFloatArray(); }

    @Test void plainStepIsLrTimesGradient() {
        Variable p = param();
        Sgd sgd = new Sgd(List.of(p), Sgd.options(0.1f));
        sgd.step();
        // p = [1 - 0.1*0.5, -2 - 0.1*1] = [0.95, -2.1]
        assertArrayEquals(new float[] {0.95f, -2.1f}, values(p), TOL);
        sgd.step();
        // p = [0.95 - 0.05, -2.1 - 0.1] = [0.9, -2.2]
        assertArrayEquals(new float[] {0.9f, -2.2f}, values(p), TOL);
    }

    @Test void momentumAccumulatesTheBuffer() {
        Variable p = param();
        Sgd sgd = new Sgd(List.of(p), Sgd.options(0.1f).momentum(0.9f));
        sgd.step();
        // first step: buf = g = [0.5, 1]; p = [1 - 0.05, -2 - 0.1] = [0.95, -2.1]
        assertArrayEquals(new float[] {0.95f, -2.1f}, values(p), TOL);
        sgd.step();
        // buf = 0.9*[0.5, 1] + [0.5, 1] = [0.95, 1.9]; p = [0.95 - 0.095, -2.1 - 0.19] = [0.855, -2.29]
        assertArrayEquals(new float[] {0.855f, -2.29f}, values(p), TOL);
        sgd.step();
        // buf = 0.9*[0.95, 1.9] + [0.5, 1] = [1.355, 2.71]; p = [0.855 - 0.1355, -2.29 - 0.271] = [0.7195, -2.561]
        assertArrayEquals(new float[] {0.7195f, -2.561f}, values(p), TOL);
        assertArrayEquals(new float[] {1.355f, 2.71f}, sgd.stateDict().get("state.0.momentum_buffer").toFloatArray(), TOL);
    }

    @Test void dampeningScalesNewGradientsAfterTheFirstStep() {
        Variable p = param();
        Sgd sgd = new Sgd(List.of(p), Sgd.options(0.1f).momentum(0.9f).dampening(0.5f));
        sgd.step();
        // first step is undamped: buf = g = [0.5, 1]; p = [0.95, -2.1]
        assertArrayEquals(new float[] {0.95f, -2.1f}, values(p), TOL);
        sgd.step();
        // buf = 0.9*[0.5, 1] + 0.5*[0.5, 1] = [0.7, 1.4]; p = [0.95 - 0.07, -2.1 - 0.14] = [0.88, -2.24]
        assertArrayEquals(new float[] {0.88f, -2.24f}, values(p), TOL);
        sgd.step();
        // buf = 0.9*[0.7, 1.4] + 0.5*[0.5, 1] = [0.88, 1.76]; p = [0.88 - 0.088, -2.24 - 0.176] = [0.792, -2.416]
        assertArrayEquals(new float[] {0.792f, -2.416f}, values(p), TOL);
    }

    @Test void nesterovLooksAhead() {
        Variable p = param();
        Sgd sgd = new Sgd(List.of(p), Sgd.options(0.1f).momentum(0.9f).nesterov(true));
        sgd.step();
        // buf = g = [0.5, 1]; d = g + 0.9*buf = [0.95, 1.9]; p = [1 - 0.095, -2 - 0.19] = [0.905, -2.19]
        assertArrayEquals(new float[] {0.905f, -2.19f}, values(p), TOL);
        sgd.step();
        // buf = 0.9*[0.5, 1] + [0.5, 1] = [0.95, 1.9]; d = [0.5 + 0.855, 1 + 1.71] = [1.355, 2.71];
        // p = [0.905 - 0.1355, -2.19 - 0.271] = [0.7695, -2.461]
        assertArrayEquals(new float[] {0.7695f, -2.461f}, values(p), TOL);
    }

    @Test void weightDecayAddsToTheGradient() {
        Variable p = param();
        Sgd sgd = new Sgd(List.of(p), Sgd.options(0.1f).weightDecay(0.1f));
        sgd.step();
        // g' = g + 0.1*p = [0.5 + 0.1, 1 - 0.2] = [0.6, 0.8]; p = [1 - 0.06, -2 - 0.08] = [0.94, -2.08]
        assertArrayEquals(new float[] {0.94f, -2.08f}, values(p), TOL);
        sgd.step();
        // g' = [0.5 + 0.094, 1 - 0.208] = [0.594, 0.792]; p = [0.94 - 0.0594, -2.08 - 0.0792] = [0.8806, -2.1592]
        assertArrayEquals(new float[] {0.8806f, -2.1592f}, values(p), TOL);
    }

    @Test void weightDecayGoesIntoTheMomentumBuffer() {
        Variable p = param();
        Sgd sgd = new Sgd(List.of(p), Sgd.options(0.1f).momentum(0.9f).weightDecay(0.1f));
        sgd.step();
        // g' = [0.6, 0.8]; buf = g'; p = [0.94, -2.08]
        sgd.step();
        // g' = [0.594, 0.792]; buf = 0.9*[0.6, 0.8] + g' = [1.134, 1.512]; p = [0.94 - 0.1134, -2.08 - 0.1512] = [0.8266, -2.2312]
        assertArrayEquals(new float[] {0.8266f, -2.2312f}, values(p), TOL);
    }

    @Test void groupsOverrideLrAndMomentum() {
        Variable a = Variable.param(Tensor.of(new float[] {1f}, 1));
        Variable b = Variable.param(Tensor.of(new float[] {1f}, 1));
        a.setGrad(Tensor.of(new float[] {1f}, 1));
        b.setGrad(Tensor.of(new float[] {1f}, 1));
        Sgd sgd = new Sgd(Sgd.options(0.1f), new ParamGroup(List.of(a)), new ParamGroup(List.of(b)).lr(0.01f).set("momentum", 0.5f));
        assertEquals(0.1f, sgd.groups().get(0).lr());
        assertEquals(0.0f, sgd.groups().get(0).get("momentum"));
        assertEquals(0.01f, sgd.groups().get(1).baseLr());
        sgd.step();
        sgd.step();
        // a: no momentum, 1 - 0.1 - 0.1 = 0.8
        // b: buf = 1, then 0.5*1 + 1 = 1.5; b = 1 - 0.01*1 - 0.01*1.5 = 0.975
        assertEquals(0.8f, a.data().item(), TOL);
        assertEquals(0.975f, b.data().item(), TOL);
    }

    @Test void skipsParametersWithoutGradientOrFrozen() {
        Variable noGrad = Variable.param(Tensor.of(new float[] {1f, 2f}, 2));
        Variable frozen = param();
        frozen.requiresGrad(false);
        Variable live = param();
        Sgd sgd = new Sgd(List.of(noGrad, frozen, live), Sgd.options(0.1f).momentum(0.9f));
        sgd.step();
        assertArrayEquals(new float[] {1f, 2f}, values(noGrad));
        assertArrayEquals(new float[] {1f, -2f}, values(frozen));
        assertArrayEquals(new float[] {0.95f, -2.1f}, values(live), TOL);
        // only the live parameter (index 2) has state
        assertTrue(sgd.stateDict().containsKey("state.2.momentum_buffer"));
        assertTrue(sgd.stateDict().keySet().stream().noneMatch(k -> k.startsWith("state.0.") || k.startsWith("state.1.")));
    }

    @Test void refusesBadHyperparameters() {
        Variable p = param();
        assertThrows(EmberException.class, () -> new Sgd(List.of(p), Sgd.options(0.1f).nesterov(true)));           // nesterov without momentum
        assertThrows(EmberException.class, () -> new Sgd(List.of(p), Sgd.options(-1f)));
        assertThrows(EmberException.class, () -> new Sgd(Sgd.options(0.1f), new ParamGroup(List.of(p)).set("beta1", 0.9f)));
        assertThrows(EmberException.class, () -> new Sgd(Sgd.options(0.1f), new ParamGroup(List.of(p)), new ParamGroup(List.of(p))));
    }

    @Test void zeroGradClearsEveryGroup() {
        Variable a = param(), b = param();
        Sgd sgd = new Sgd(Sgd.options(0.1f), new ParamGroup(List.of(a)), new ParamGroup(List.of(b)));
        sgd.zeroGrad();
        for (Variable v : List.of(a, b)) assertTrue(v.grad() == null || v.grad().abs().sum().item() == 0f);
    }
}
