package dev.ember.autograd;

import dev.ember.engine.DTypeException;
import dev.ember.engine.EmberException;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the graph does besides computing derivatives: accumulation, scopes, detaching, broadcasting, depth. */
class AutogradSemanticsTest {

    private static Variable param(float... v) { return Variable.param(Tensor.of(v.clone(), v.length)); }

    @Test void gradientsAccumulateUntilZeroGrad() {
        Variable x = param(1, 2, 3);
        x.mul(x).sum().backward();                       // d/dx sum x^2 = 2x
        assertArrayEquals(new float[] {2, 4, 6}, x.grad().toFloatArray());
        x.mul(3f).sum().backward();                      // adds 3
        assertArrayEquals(new float[] {5, 7, 9}, x.grad().toFloatArray());
        x.zeroGrad();
        assertNull(x.grad());
        x.sum().backward();
        assertArrayEquals(new float[] {1, 1, 1}, x.grad().toFloatArray());
    }

    @Test void backwardTwiceThroughOneGraphAddsAgain() {
        Variable x = param(1, 2);
        Variable y = x.exp().sum();
        y.backward();
        y.backward();
        assertArrayEquals(new float[] {2 * (float) Math.E, 2 * (float) Math.exp(2)}, x.grad().toFloatArray(), 1e-5f);
    }

    @Test void onlyLeavesKeepGradients() {
        Variable x = param(1, 2);
        Variable h = x.mul(2f);
        h.sum().backward();
        assertFalse(h.isLeaf());
        assertTrue(h.requiresGrad());
        assertNull(h.grad());
        assertTrue(x.isLeaf());
        assertThrows(EmberException.class, () -> h.requiresGrad(false));
        assertThrows(EmberException.class, () -> h.setData(Tensor.zeros(2)));
    }

    @Test void gradientDoesNotAliasSeedOrOtherLeaves() {
        Variable a = param(1, 2), b = param(3, 4);
        Tensor seed = Tensor.of(new float[] {1, 1}, 2);
        a.add(b).backward(seed);                          // add passes the seed through to both
        assertNotSame(a.grad(), b.grad());
        a.add(b).backward(seed);                          // accumulating into a must leave b and the seed alone
        assertArrayEquals(new float[] {2, 2}, a.grad().toFloatArray());
        assertArrayEquals(new float[] {2, 2}, b.grad().toFloatArray());
        assertArrayEquals(new float[] {1, 1}, seed.toFloatArray());
    }

    @Test void noGradRecordsNothing() {
        Variable x = param(1, 2);
        assertFalse(NoGrad.isEnabled());
        try (NoGrad outer = NoGrad.enter()) {
            assertTrue(NoGrad.isEnabled());
            try (NoGrad inner = NoGrad.enter()) {
                assertTrue(NoGrad.isEnabled());
            }
            assertTrue(NoGrad.isEnabled(), "closing the inner scope keeps the outer one");
            Variable y = x.mul(x).sum();
            assertFalse(y.requiresGrad());
            assertTrue(y.isLeaf());
            assertThrows(EmberException.class, y::backward);
        }
        assertFalse(NoGrad.isEnabled());
        assertTrue(x.mul(x).requiresGrad());
    }

    @Test void constantsRecordNothing() {
        Variable c = Variable.of(Tensor.of(new float[] {1, 2}, 2));
        Variable y = c.mul(c).exp();
        assertFalse(y.requiresGrad());
        assertTrue(y.isLeaf());
    }

    @Test void detachCutsTheGraphButSharesData() {
        Variable x = param(1, 2);
        Variable h = x.mul(3f);
        Variable d = h.detach();
        assertSame(h.data(), d.data());
        assertFalse(d.requiresGrad());
        // y = x * detach(3x): only the first factor carries a gradient, so dy/dx = 3x, not 6x
        x.mul(d).sum().backward();
        assertArrayEquals(new float[] {3, 6}, x.grad().toFloatArray());
    }

    @Test void frozenLeafGetsNoGradient() {
        Variable w = param(1, 2).requiresGrad(false);
        Variable x = param(3, 4);
        x.mul(w).sum().backward();
        assertNull(w.grad());
        assertArrayEquals(new float[] {1, 2}, x.grad().toFloatArray());
    }

    @Test void broadcastGradientsHaveTheInputShapes() {
        Variable a = Variable.param(Tensor.ones(2, 3, 4));
        Variable row = Variable.param(Tensor.ones(4));
        Variable col = Variable.param(Tensor.ones(3, 1));
        Variable s = Variable.param(Tensor.scalar(2f));
        a.mul(row).add(col).mul(s).sum().backward();
        assertArrayEquals(new int[] {2, 3, 4}, a.grad().dims());
        assertArrayEquals(new int[] {4}, row.grad().dims());
        assertArrayEquals(new int[] {3, 1}, col.grad().dims());
        assertArrayEquals(new int[] {}, s.grad().dims());
        assertArrayEquals(new float[] {12, 12, 12, 12}, row.grad().toFloatArray());   // 2 (s) * 6 rows
        assertArrayEquals(new float[] {16, 16, 16}, col.grad().toFloatArray());       // 2 (s) * 8 elements
        assertEquals(2 * 3 * 4 * 2, s.grad().item());                                 // sum of a*row + col = 24 * 2
    }

    @Test void tiedMaximaShareTheGradient() {
        Variable a = param(1, 5), b = param(1, 2);
        a.maximum(b).sum().backward();
        assertArrayEquals(new float[] {0.5f, 1}, a.grad().toFloatArray());
        assertArrayEquals(new float[] {0.5f, 0}, b.grad().toFloatArray());
        Variable x = param(3, 1, 3);
        x.max(false).backward();
        assertArrayEquals(new float[] {0.5f, 0, 0.5f}, x.grad().toFloatArray());
    }

    @Test void deepChainBackwardNeedsNoRecursion() throws InterruptedException {
        // 10,000 ops deep, on a thread with a 256 KiB stack: a recursive walk would overflow it
        float[] grad = new float[1];
        Throwable[] failure = new Throwable[1];
        Thread t = new Thread(null, () -> {
            try {
                Variable x = param(1f);
                Variable y = x;
                for (int i = 0; i < 10_000; i++) y = y.mul(1.0001f);
                y.sum().backward();
                grad[0] = x.grad().item();
            } catch (Throwable e) {
                failure[0] = e;
            }
        }, "deep-chain", 256 * 1024);
        t.start();
        t.join();
        if (failure[0] != null) throw new AssertionError("backward through a deep chain failed", failure[0]);
        assertEquals(Math.pow(1.0001, 10_000), grad[0], 1e-3);   // float32 rounding of 1.0001 included
    }

    @Test void wideDiamondSumsEveryPath() {
        // y = sum_i (x * i) for i = 1..100 reaches x by 100 paths: dy/dx = 5050
        Variable x = param(1f);
        Variable y = x.mul(0f);
        for (int i = 1; i <= 100; i++) y = y.add(x.mul(i));
        y.sum().backward();
        assertEquals(5050f, x.grad().item(), 1e-2f);
    }

    @Test void backwardChecksItsArguments() {
        Variable x = Variable.param(Tensor.ones(2, 2));
        assertThrows(ShapeException.class, () -> x.mul(2f).backward());                      // not one element
        assertThrows(ShapeException.class, () -> x.mul(2f).backward(Tensor.ones(4)));       // seed of the wrong shape
        x.mul(2f).backward(Tensor.ones(2, 2));
        assertArrayEquals(new float[] {2, 2, 2, 2}, x.grad().toFloatArray());
        assertThrows(DTypeException.class, () -> Variable.param(Tensor.ofInts(new int[] {1}, 1)));
    }

    @Test void setDataAndSetGrad() {
        Variable w = param(1, 2);
        w.setData(Tensor.of(new float[] {5, 6}, 2));
        assertArrayEquals(new float[] {5, 6}, w.data().toFloatArray());
        assertThrows(ShapeException.class, () -> w.setData(Tensor.zeros(3)));
        w.setGrad(Tensor.of(new float[] {1, 1}, 2));
        w.mul(w).sum().backward();   // adds 2w = [10, 12]
        assertArrayEquals(new float[] {11, 13}, w.grad().toFloatArray());
        assertThrows(ShapeException.class, () -> w.setGrad(Tensor.zeros(3)));
        w.setGrad(null);
        assertNull(w.grad());
    }

    @Test void leafBackwardOnItself() {
        Variable x = param(4f);
        x.backward();
        assertEquals(1f, x.grad().item());
    }
}
