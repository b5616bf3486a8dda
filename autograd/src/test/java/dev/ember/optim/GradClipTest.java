package dev.ember.optim;

import dev.ember.autograd.Variable;
import dev.ember.engine.EmberException;
import dev.ember.engine.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class GradClipTest {
    /** Gradients [3, 4] and [12]: total norm sqrt(9 + 16 + 144) = 13. */
    private static List<Variable> params() {
        Variable a = Variable.param(Tensor.zeros(2));
        Variable b = Variable.param(Tensor.zeros(1));
        Variable none = Variable.param(Tensor.zeros(3));
        a.setGrad(Tensor.of(new float[] {3f, 4f}, 2));
        b.setGrad(Tensor.of(new float[] {12f}, 1));
        return List.of(a, b, none);
    }

    @Test void scalesAllGradientsByOneFactor() {
        List<Variable> ps = params();
        float total = GradClip.clipGlobalNorm(ps, 6.5f);
        assertEquals(13f, total, 1e-5f);
        // coef = 6.5 / (13 + 1e-6) = 0.49999996: [1.5, 2] and [6], norm 6.5
        assertArrayEquals(new float[] {1.5f, 2f}, ps.get(0).grad().toFloatArray(), 1e-5f);
        assertArrayEquals(new float[] {6f}, ps.get(1).grad().toFloatArray(), 1e-5f);
        assertNull(ps.get(2).grad());
    }

    @Test void leavesSmallGradientsAlone() {
        List<Variable> ps = params();
        assertEquals(13f, GradClip.clipGlobalNorm(ps, 20f), 1e-5f);
        assertArrayEquals(new float[] {3f, 4f}, ps.get(0).grad().toFloatArray());
        assertArrayEquals(new float[] {12f}, ps.get(1).grad().toFloatArray());
    }

    @Test void frozenParametersTakeNoPart() {
        List<Variable> ps = params();
        ps.get(1).requiresGrad(false);
        assertEquals(5f, GradClip.clipGlobalNorm(ps, 100f), 1e-5f);
    }

    @Test void refusesNonPositiveMaxNorm() {
        assertThrows(EmberException.class, () -> GradClip.clipGlobalNorm(params(), 0f));
    }
}
