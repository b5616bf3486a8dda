package dev.ember.optim;

import dev.ember.autograd.Variable;
import dev.ember.engine.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Adam and AdamW against updates worked out by hand, with round betas so the arithmetic stays readable:
 * beta1 = beta2 = 0.5, eps = 0, lr = 0.1, p = [1, -2].
 */
class AdamTest {
    private static final float TOL = 1e-6f;
    private static final float[][] GRADS = {{0.5f, 1f}, {-0.5f, 2f}, {1f, -1f}};

    private static Adam.Options roundBetas(Adam.Options o) { return o.lr(0.1f).beta1(0.5f).beta2(0.5f).eps(0f); }

    private static void stepWith(Optimizer opt, Variable p, int i) {
        p.setGrad(Tensor.of(GRADS[i].clone(), 2));
        opt.step();
    }

    @Test void adamWithBiasCorrection() {
        Variable p = Variable.param(Tensor.of(new float[] {1f, -2f}, 2));
        Adam adam = new Adam(List.of(p), roundBetas(Adam.options(0.1f)));
        stepWith(adam, p, 0);
        // t=1: m = 0.5*g = [0.25, 0.5], v = 0.5*g^2 = [0.125, 0.5]; mhat = m/0.5 = g, vhat = v/0.5 = g^2
        // p -= 0.1 * g/|g| = 0.1 * sign(g): [0.9, -2.1]
        assertArrayEquals(new float[] {0.9f, -2.1f}, p.data().toFloatArray(), TOL);
        stepWith(adam, p, 1);
        // t=2: g = [-0.5, 2]; m = 0.5*[0.25, 0.5] + 0.5*g = [-0.125, 1.25]; v = 0.5*[0.125, 0.5] + 0.5*[0.25, 4] = [0.1875, 2.25]
        // 1 - 0.5^2 = 0.75: mhat = [-1/6, 5/3], vhat = [0.25, 3], sqrt(vhat) = [0.5, 1.7320508]
        // p -= 0.1 * [-1/3, 0.9622504] -> [0.9333333, -2.1962250]
        assertArrayEquals(new float[] {0.93333333f, -2.19622504f}, p.data().toFloatArray(), TOL);
        stepWith(adam, p, 2);
        // t=3: g = [1, -1]; m = [-0.0625 + 0.5, 0.625 - 0.5] = [0.4375, 0.125]; v = [0.09375 + 0.5, 1.125 + 0.5] = [0.59375, 1.625]
        // 1 - 0.5^3 = 0.875: mhat = [0.5, 0.1428571], vhat = [0.6785714, 1.8571429], sqrt = [0.8237545, 1.3627703]
        // p -= 0.1 * [0.6069769, 0.1048285] -> [0.8726356, -2.2067079]
        assertArrayEquals(new float[] {0.87263564f, -2.20670789f}, p.data().toFloatArray(), TOL);
        assertEquals(3L, adam.stateDict().get("state.0.step").toLongArray()[0]);
        assertArrayEquals(new float[] {0.4375f, 0.125f}, adam.stateDict().get("state.0.exp_avg").toFloatArray(), TOL);
        assertArrayEquals(new float[] {0.59375f, 1.625f}, adam.stateDict().get("state.0.exp_avg_sq").toFloatArray(), TOL);
    }

    @Test void adamFoldsWeightDecayIntoTheGradient() {
        Variable p = Variable.param(Tensor.of(new float[] {1f, -2f}, 2));
        Adam adam = new Adam(List.of(p), roundBetas(Adam.options(0.1f)).weightDecay(0.25f));
        stepWith(adam, p, 0);
        // t=1: g' = g + 0.25*p = [0.75, 0.5]; mhat = g', vhat = g'^2; p -= 0.1*sign(g') -> [0.9, -2.1]
        assertArrayEquals(new float[] {0.9f, -2.1f}, p.data().toFloatArray(), TOL);
        stepWith(adam, p, 1);
        // t=2: g' = [-0.5 + 0.225, 2 - 0.525] = [-0.275, 1.475]
        // m = 0.5*[0.375, 0.25] + 0.5*g' = [0.05, 0.8625]; v = 0.5*[0.28125, 0.125] + 0.5*g'^2 = [0.1784375, 1.1503125]
        // mhat = m/0.75 = [0.0666667, 1.15]; vhat = v/0.75 = [0.2379167, 1.53375]; sqrt = [0.4877671, 1.2384466]
        // p -= 0.1 * [0.1366794, 0.9285826] -> [0.8863323, -2.1928583]
        assertArrayEquals(new float[] {0.88633227f, -2.19285826f}, p.data().toFloatArray(), TOL);
    }

    @Test void adamWDecaysTheWeightsInstead() {
        Variable p = Variable.param(Tensor.of(new float[] {1f, -2f}, 2));
        AdamW adamW = new AdamW(List.of(p), roundBetas(AdamW.options(0.1f)).weightDecay(0.25f));
        stepWith(adamW, p, 0);
        // t=1: p *= 1 - 0.1*0.25 = 0.975 -> [0.975, -1.95]; then the plain Adam step -0.1*sign(g) -> [0.875, -2.05]
        assertArrayEquals(new float[] {0.875f, -2.05f}, p.data().toFloatArray(), TOL);
        stepWith(adamW, p, 1);
        // t=2: p *= 0.975 -> [0.853125, -1.99875]; m, v as in plain Adam (raw g): update 0.1*[-1/3, 0.9622504]
        // p -> [0.8864583, -2.0949750]
        assertArrayEquals(new float[] {0.88645833f, -2.09497504f}, p.data().toFloatArray(), TOL);
    }

    @Test void defaultsMatchPyTorch() {
        Variable p = Variable.param(Tensor.of(new float[] {1f}, 1));
        Adam adam = new Adam(List.of(p), Adam.options(1e-3f));
        ParamGroup g = adam.groups().get(0);
        assertEquals(0.9f, g.get("beta1"));
        assertEquals(0.999f, g.get("beta2"));
        assertEquals(1e-8f, g.get("eps"));
        assertEquals(0f, g.weightDecay());
        assertEquals(0.01f, new AdamW(List.of(p), AdamW.options(1e-3f)).groups().get(0).weightDecay());
    }

    @Test void groupsHaveTheirOwnLr() {
        Variable a = Variable.param(Tensor.of(new float[] {1f}, 1));
        Variable b = Variable.param(Tensor.of(new float[] {1f}, 1));
        a.setGrad(Tensor.of(new float[] {3f}, 1));
        b.setGrad(Tensor.of(new float[] {3f}, 1));
        Adam adam = new Adam(Adam.options(0.1f).eps(0f), new ParamGroup(List.of(a)), new ParamGroup(List.of(b)).lr(0.01f));
        adam.step();
        // first Adam step moves by lr * sign(g)
        assertEquals(0.9f, a.data().item(), TOL);
        assertEquals(0.99f, b.data().item(), TOL);
    }
}
