package dev.ember.optim;

import dev.ember.autograd.Variable;
import dev.ember.engine.EmberException;
import dev.ember.engine.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class LrScheduleTest {
    private static final float TOL = 1e-6f;

    @Test void stepLrDecaysEveryStepSize() {
        StepLr s = new StepLr(3, 0.1);
        // base * 0.1^floor(step / 3)
        assertEquals(1f, s.lr(0, 1f), TOL);
        assertEquals(1f, s.lr(2, 1f), TOL);
        assertEquals(0.1f, s.lr(3, 1f), TOL);
        assertEquals(0.1f, s.lr(5, 1f), TOL);
        assertEquals(0.01f, s.lr(6, 1f), 1e-8f);
        assertEquals(0.05f, s.lr(4, 0.5f), TOL);
    }

    @Test void cosineWarmupRampsThenDecays() {
        CosineWarmup s = new CosineWarmup(4, 12, 0.01);
        // warmup: base * step / 4
        assertEquals(0f, s.lr(0, 1f), TOL);
        assertEquals(0.5f, s.lr(2, 1f), TOL);
        // t = (step - 4) / 8; lr = 0.01 + 0.99 * (1 + cos(pi t)) / 2
        assertEquals(1f, s.lr(4, 1f), TOL);                    // t = 0
        assertEquals(0.85501786f, s.lr(6, 1f), TOL);           // t = 1/4: 0.01 + 0.99 * (1 + 0.7071068) / 2
        assertEquals(0.505f, s.lr(8, 1f), TOL);                // t = 1/2: 0.01 + 0.99 / 2
        assertEquals(0.01f, s.lr(12, 1f), TOL);                // t = 1
        assertEquals(0.01f, s.lr(40, 1f), TOL);                // past the end it stays at minLr
    }

    @Test void oneCycleFollowsOneCycleLr() {
        // maxLr 1, 10 steps, pctStart 0.3 -> phase 1 ends at step 0.3*10 - 1 = 2;
        // initial = 1/25 = 0.04, final = 0.04/1e4 = 4e-6; anneal(a, b, t) = b + (a - b)/2 * (cos(pi t) + 1)
        OneCycle s = new OneCycle(1.0, 10, 0.3, 25, 1e4);
        assertEquals(0.04f, s.lr(0, 123f), TOL);               // base lr is ignored, as in OneCycleLR
        assertEquals(0.52f, s.lr(1, 1f), TOL);                 // t = 1/2: 1 + (0.04 - 1)/2 * 1
        assertEquals(1f, s.lr(2, 1f), TOL);                    // peak
        assertEquals(0.81174565f, s.lr(4, 1f), TOL);           // t = 2/7: 4e-6 + (1 - 4e-6)/2 * (cos(2pi/7) + 1)
        assertEquals(4e-6f, s.lr(9, 1f), 1e-9f);               // t = 1
        assertEquals(0.04951937f, s.lr(10, 1f), TOL);          // OneCycleLR allows one step past the end (t = 8/7)
        assertThrows(EmberException.class, () -> s.lr(11, 1f));
    }

    @Test void applySetsEachGroupFromItsBaseLr() {
        Variable a = Variable.param(Tensor.zeros(1));
        Variable b = Variable.param(Tensor.zeros(1));
        Sgd sgd = new Sgd(Sgd.options(1f), new ParamGroup(List.of(a)), new ParamGroup(List.of(b)).lr(0.1f));
        StepLr s = new StepLr(2, 0.5);
        s.apply(sgd, 4);
        // 4 / 2 = 2 decays: base * 0.25
        assertEquals(0.25f, sgd.groups().get(0).lr(), TOL);
        assertEquals(0.025f, sgd.groups().get(1).lr(), TOL);
        assertEquals(1f, sgd.groups().get(0).baseLr());
        assertEquals(0.1f, sgd.groups().get(1).baseLr());
        s.apply(sgd, 0);
        assertEquals(1f, sgd.groups().get(0).lr(), TOL);
    }

    @Test void refusesBadArguments() {
        assertThrows(EmberException.class, () -> new StepLr(0, 0.1));
        assertThrows(EmberException.class, () -> new CosineWarmup(10, 10, 0));
        assertThrows(EmberException.class, () -> new OneCycle(1.0, 2, 0.3, 25, 1e4));   // phase 1 would be empty
    }
}
