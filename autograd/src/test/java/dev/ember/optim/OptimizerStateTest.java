package dev.ember.optim;

import dev.ember.autograd.Variable;
import dev.ember.engine.Tensor;
import dev.ember.nn.StateDictException;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OptimizerStateTest {
    private static Variable param(float... v) { return Variable.param(Tensor.of(v.clone(), v.length)); }

    private static void grad(Variable p, float... g) { p.setGrad(Tensor.of(g.clone(), g.length)); }

    @Test void adamStateRoundTripsIntoAFreshOptimizer() {
        Variable a = param(1f, -2f), b = param(3f);
        Adam first = new Adam(Adam.options(0.1f), new ParamGroup(List.of(a)), new ParamGroup(List.of(b)).lr(0.05f));
        grad(a, 0.5f, 1f);
        grad(b, -1f);
        first.step();
        first.groups().get(0).lr(0.07f);  // as a schedule would

        Variable a2 = param(a.data().toFloatArray()), b2 = param(b.data().toFloatArray());
        Adam second = new Adam(Adam.options(0.9f), new ParamGroup(List.of(a2)), new ParamGroup(List.of(b2)));
        second.loadStateDict(first.stateDict());
        assertEquals(0.07f, second.groups().get(0).lr());
        assertEquals(0.1f, second.groups().get(0).baseLr());
        assertEquals(0.05f, second.groups().get(1).lr());

        // both continue the same way, bit for bit
        grad(a, 2f, -1f);
        grad(b, 0.5f);
        grad(a2, 2f, -1f);
        grad(b2, 0.5f);
        first.step();
        second.step();
        assertArrayEquals(a.data().toFloatArray(), a2.data().toFloatArray(), 0f);
        assertArrayEquals(b.data().toFloatArray(), b2.data().toFloatArray(), 0f);
        assertEquals(2L, second.stateDict().get("state.1.step").toLongArray()[0]);
    }

    @Test void stateViewHoldsTheLiveBuffersAndStateDictCopies() {
        Variable a = param(1f, -2f);
        Adam adam = new Adam(List.of(a), Adam.options(0.1f));
        grad(a, 0.5f, 1f);
        adam.step();
        Map<String, Tensor> copies = adam.stateDict(), view = adam.stateView();
        assertEquals(copies.keySet(), view.keySet());
        for (String k : copies.keySet()) assertArrayEquals(copies.get(k).toFloatArray(), view.get(k).toFloatArray(), k);
        float[] before = copies.get("state.0.exp_avg").toFloatArray();

        grad(a, -3f, 2f);
        adam.step();
        assertArrayEquals(before, copies.get("state.0.exp_avg").toFloatArray(), "the copy kept the first step's moment");
        assertArrayEquals(adam.stateDict().get("state.0.exp_avg").toFloatArray(), view.get("state.0.exp_avg").toFloatArray(),
                "the view follows the optimizer");
        assertFalse(Arrays.equals(before, view.get("state.0.exp_avg").toFloatArray()));
    }

    @Test void loadedBuffersAreCopiesNotAliases() {
        Variable p = param(1f, 2f);
        Sgd sgd = new Sgd(List.of(p), Sgd.options(0.1f).momentum(0.9f));
        grad(p, 1f, 1f);
        sgd.step();
        Map<String, Tensor> saved = sgd.stateDict();
        Variable q = param(1f, 2f);
        Sgd other = new Sgd(List.of(q), Sgd.options(0.1f).momentum(0.9f));
        other.loadStateDict(saved);
        grad(q, 1f, 1f);
        other.step();
        // the saved dict still holds the buffer of the first step
        assertArrayEquals(new float[] {1f, 1f}, saved.get("state.0.momentum_buffer").toFloatArray(), 0f);
    }

    @Test void refusesADictOfAnotherLayout() {
        Variable p = param(1f, 2f);
        Sgd sgd = new Sgd(List.of(p), Sgd.options(0.1f).momentum(0.9f));
        grad(p, 1f, 1f);
        sgd.step();
        Map<String, Tensor> saved = sgd.stateDict();

        // another optimizer kind: Adam knows neither momentum_buffer nor momentum/dampening/nesterov, and lacks beta1...
        Adam adam = new Adam(List.of(param(1f, 2f)), Adam.options(0.1f));
        StateDictException e = assertThrows(StateDictException.class, () -> adam.loadStateDict(saved));
        assertTrue(e.missingKeys().contains("param_groups.0.beta1"), e.getMessage());
        assertTrue(e.unexpectedKeys().contains("state.0.momentum_buffer"), e.getMessage());

        // same kind, parameter of another shape
        Sgd wrongShape = new Sgd(List.of(param(1f, 2f, 3f)), Sgd.options(0.1f).momentum(0.9f));
        StateDictException shape = assertThrows(StateDictException.class, () -> wrongShape.loadStateDict(saved));
        assertEquals("state.0.momentum_buffer", shape.mismatches().get(0).name());

        // same kind, two parameters where one was saved
        Sgd twoParams = new Sgd(List.of(param(1f, 2f), param(3f)), Sgd.options(0.1f).momentum(0.9f));
        assertThrows(StateDictException.class, () -> twoParams.loadStateDict(saved));

        // a buffer without its step count
        Map<String, Tensor> noStep = new LinkedHashMap<>(saved);
        noStep.remove("state.0.step");
        Sgd fresh = new Sgd(List.of(param(1f, 2f)), Sgd.options(0.1f).momentum(0.9f));
        StateDictException missingStep = assertThrows(StateDictException.class, () -> fresh.loadStateDict(noStep));
        assertEquals(List.of("state.0.step"), missingStep.missingKeys());
    }
}
