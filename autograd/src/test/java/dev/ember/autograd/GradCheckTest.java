package dev.ember.autograd;

import dev.ember.engine.Tensor;
import org.junit.jupiter.api.Test;

import java.util.function.Function;

import static dev.ember.autograd.Inputs.uniform;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The checker itself: it passes correct rules and catches the usual mistakes, naming the worst element. */
class GradCheckTest {

    /** y = a * b with a hand-written backward that the test gets wrong on purpose. */
    private static Variable product(Variable a, Variable b, float scaleA, boolean dropB) {
        Tensor y = a.data().mul(b.data());
        return Variable.fromOp("product under test", y, g -> new Tensor[] {
                g.mul(b.data()).mul(scaleA),
                dropB ? null : g.mul(a.data())}, a, b);
    }

    private static GradCheck.Report compare(Function<Variable[], Variable> f, Tensor... inputs) {
        return GradCheck.compare(f, GradCheck.DEFAULT_EPS, GradCheck.DEFAULT_ATOL, GradCheck.DEFAULT_RTOL, inputs);
    }

    @Test void correctRulePasses() {
        GradCheck.Report r = compare(v -> product(v[0], v[1], 1f, false), uniform(1, -1, 1, 3, 2), uniform(2, -1, 1, 3, 2));
        assertTrue(r.passed(), r.toString());
    }

    @Test void factorOfTwoFails() {
        GradCheck.Report r = compare(v -> product(v[0], v[1], 2f, false), uniform(1, -1, 1, 3, 2), uniform(2, -1, 1, 3, 2));
        assertFalse(r.passed());
        assertEquals(0, r.input());
        assertEquals(2 * r.numeric(), r.analytic(), 1e-2 * Math.abs(r.analytic()) + 1e-3);
    }

    @Test void wrongSignFails() {
        assertFalse(compare(v -> product(v[0], v[1], -1f, false), uniform(3, -1, 1, 4), uniform(4, -1, 1, 4)).passed());
    }

    @Test void missingTermFails() {
        // b gets no gradient at all: the checker treats that as 0 and must notice b mattered
        GradCheck.Report r = compare(v -> product(v[0], v[1], 1f, true), uniform(5, -1, 1, 4), uniform(6, -1, 1, 4));
        assertFalse(r.passed());
        assertEquals(1, r.input());
        assertEquals(0.0, r.analytic());
        // and a product rule that forgets one of two uses of x: d(x * x) taken as x instead of 2x
        assertFalse(compare(v -> product(v[0], v[0], 1f, true), uniform(7, 0.5f, 1.5f, 4)).passed());
    }

    @Test void failureMessageNamesTheWorstElement() {
        AssertionError e = assertThrows(AssertionError.class,
                () -> GradCheck.check(v -> product(v[0], v[1], 1f, true), uniform(8, -1, 1, 2, 2), uniform(9, 0.5f, 1, 2, 2)));
        String m = e.getMessage();
        assertTrue(m.contains("input 1") && m.contains("element") && m.contains("analytic") && m.contains("numeric"), m);
    }

    @Test void smallButWrongGradientFails() {
        // a factor-of-2 error on gradients of order 0.05 still exceeds atol + rtol * |g|
        assertFalse(compare(v -> product(v[0], v[1], 2f, false), uniform(10, -1, 1, 4), uniform(11, 0.04f, 0.06f, 4)).passed());
    }
}
