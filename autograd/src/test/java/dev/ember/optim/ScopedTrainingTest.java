package dev.ember.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.autograd.Loss;
import dev.ember.autograd.Variable;
import dev.ember.engine.BufferPool;
import dev.ember.engine.DType;
import dev.ember.engine.ReleasedTensorException;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.engine.TensorScope;
import dev.ember.nn.BatchNorm2d;
import dev.ember.nn.Conv2d;
import dev.ember.nn.Dropout;
import dev.ember.nn.Flatten;
import dev.ember.nn.Linear;
import dev.ember.nn.MaxPool2d;
import dev.ember.nn.Module;
import dev.ember.nn.ReLU;
import dev.ember.nn.Sequential;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Training steps run in a {@link TensorScope} give the same bits as without one, keep the optimizer's state and the
 * BatchNorm statistics, reuse their arrays from the second step on, and refuse a tensor kept past its step.
 */
class ScopedTrainingTest {
    private static Module model() {
        Rng rng = new Rng(3);
        return new Sequential(new Conv2d(2, 8, 3, 1, 1, rng), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),
                new Flatten(), new Dropout(0.25f, new Rng(4)), new Linear(8 * 8 * 8, 5, rng));
    }

    private static final Tensor X = Tensor.randn(new Rng(1), 1f, 6, 2, 16, 16);
    private static final Tensor Y = Tensor.ofLongs(new long[] {0, 1, 2, 3, 4, 0}, 6);

    /** Trains {@code steps} steps with {@code optimizer}, each in a scope over {@code pool} (none if null); the state after. */
    private static List<float[]> train(Function<Module, Optimizer> optimizer, int steps, BufferPool pool) {
        Module m = model();
        m.train();
        Optimizer opt = optimizer.apply(m);
        for (int i = 0; i < steps; i++) {
            if (pool == null) step(m, opt);
            else try (TensorScope scope = TensorScope.open(pool)) { step(m, opt); }
        }
        List<float[]> state = new ArrayList<>();
        for (Tensor t : m.stateDict().values()) state.add(t.dtype() == DType.FLOAT32 ? t.toFloatArray() : new float[0]);
        return state;
    }

    private static float step(Module m, Optimizer opt) {
        opt.zeroGrad();
        Variable loss = Loss.crossEntropy(m.forward(Variable.of(X)), Y);
        loss.backward();
        opt.step();
        return loss.item();
    }

    @Test void scopedStepsGiveTheSameBitsAsUnscopedOnes() {
        List<Function<Module, Optimizer>> optimizers = List.of(
                m -> new Sgd(m.parameters(), Sgd.options(0.05f).momentum(0.9f).weightDecay(1e-4f)),
                m -> new Adam(m.parameters(), Adam.options(1e-2f)));
        for (Function<Module, Optimizer> o : optimizers) {
            List<float[]> plain = train(o, 4, null), scoped = train(o, 4, new BufferPool());
            assertEquals(plain.size(), scoped.size());
            for (int i = 0; i < plain.size(); i++) assertArrayEquals(plain.get(i), scoped.get(i), "state entry " + i + " (momentum/Adam state kept, BatchNorm statistics updated in place)");
        }
    }

    /** A residual block with views: add's backward hands one gradient to two inputs, reshape hands on a view of it. */
    private static final class Residual extends Module {
        final Conv2d a = registerModule("a", new Conv2d(2, 2, 3, 1, 1, new Rng(5)));
        final Conv2d b = registerModule("b", new Conv2d(2, 2, 3, 1, 1, new Rng(6)));
        final Linear head = registerModule("head", new Linear(2 * 16 * 16, 5, new Rng(7)));

        @Override public Variable forward(Variable x) {
            Variable h = a.forward(x).relu();
            Variable r = b.forward(h).add(h).add(x);   // (6, 2, 16, 16): h is read twice, x too
            return head.forward(r.reshape(6, 2 * 16 * 16).mul(r.reshape(6, 2 * 16 * 16)));
        }
    }

    /** Every parameter of a Residual after three SGD steps, each in a scope or not. */
    private static List<float[]> residualAfterTraining(boolean scoped) {
        Module m = new Residual();
        Optimizer opt = new Sgd(m.parameters(), Sgd.options(0.01f).momentum(0.9f));
        BufferPool pool = new BufferPool();
        for (int i = 0; i < 3; i++) {
            if (!scoped) step(m, opt);
            else try (TensorScope scope = TensorScope.open(pool)) { step(m, opt); }
        }
        List<float[]> params = new ArrayList<>();
        for (Variable p : m.parameters()) params.add(p.data().toFloatArray());
        return params;
    }

    @Test void gradientsFreedDuringBackwardLeaveTheSameBits() {
        List<float[]> plain = residualAfterTraining(false), scoped = residualAfterTraining(true);
        for (int i = 0; i < plain.size(); i++) assertArrayEquals(plain.get(i), scoped.get(i), "parameter " + i);
    }

    @Test void gradientsPassedOnAreFreedDuringTheBackwardPass() {
        Module m = model();
        m.train();
        BufferPool pool = new BufferPool();
        try (TensorScope scope = TensorScope.open(pool)) {
            Variable loss = Loss.crossEntropy(m.forward(Variable.of(X)), Y);
            assertEquals(0, pool.pooledFloats(), "the forward pass frees nothing: its outputs are the caller's until the scope closes");
            loss.backward();
            // ReLU's and the pool's input gradients (6, 8, 16, 16) are dead once passed on: their arrays went back
            assertTrue(pool.pooledFloats() >= 6 * 8 * 16 * 16, "pooled during backward: " + pool.pooledFloats());
            for (Variable p : m.parameters()) assertEquals(p.shape().numel(), p.grad().toFloatArray().length, "leaf gradients are kept, readable");
        }
    }

    @Test void aLeafTakesOverAGradientOnlyItHoldsAndCopiesOneItShares() {
        int n = 2048;   // large enough to be pooled
        float[] av = new float[n], xv = new float[n];
        for (int i = 0; i < n; i++) {
            av[i] = 0.01f * i;
            xv[i] = 1 - 0.02f * i;
        }
        Variable a = Variable.param(Tensor.of(av.clone(), n)), b = Variable.param(Tensor.of(av.clone(), n));
        Variable w = Variable.param(Tensor.of(av.clone(), n));
        Variable x = Variable.of(Tensor.of(xv.clone(), n));
        try (TensorScope scope = TensorScope.open(new BufferPool())) {
            // add's backward hands one gradient to both a and b; w * x gives w one that only w holds
            Variable loss = a.add(b).mul(x).sum().add(w.mul(x).mul(w).sum());
            loss.backward();
            assertArrayEquals(xv, a.grad().toFloatArray());
            assertArrayEquals(xv, b.grad().toFloatArray());
            assertNotSame(a.grad().storage(), b.grad().storage(), "a shared gradient is copied for one of its leaves");
            float[] dw = new float[n];
            for (int i = 0; i < n; i++) dw[i] = 2 * av[i] * xv[i];
            assertArrayEquals(dw, w.grad().toFloatArray(), 1e-6f);

            // a second pass adds into the gradients it took over
            Variable again = a.add(b).mul(x).sum();
            again.backward();
            for (int i = 0; i < n; i++) {
                assertEquals(2 * xv[i], a.grad().toFloatArray()[i]);
                assertEquals(2 * xv[i], b.grad().toFloatArray()[i]);
            }
        }
    }

    @Test void theSecondStepTakesTheFirstStepsArraysAndGivesThemBack() {
        Module m = model();
        m.train();
        Optimizer opt = new Sgd(m.parameters(), Sgd.options(0.05f));
        BufferPool pool = new BufferPool();
        long[] pooledAfter = new long[3];
        for (int i = 0; i < 3; i++) {
            try (TensorScope scope = TensorScope.open(pool)) {
                opt.zeroGrad();
                Variable loss = Loss.crossEntropy(m.forward(Variable.of(X)), Y);
                if (i > 0) assertTrue(pool.pooledFloats() < pooledAfter[0], "step " + i + "'s activations came from the pool");
                loss.backward();
                opt.step();
            }
            pooledAfter[i] = pool.pooledFloats();
        }
        assertTrue(pooledAfter[0] >= 6 * 8 * 16 * 16 * 3, "the first step's conv output, its ReLU and their gradients were pooled: " + pooledAfter[0]);
        assertEquals(pooledAfter[0], pooledAfter[1], "a warm step allocates no new pooled array: it takes the last step's and gives them back");
        assertEquals(pooledAfter[0], pooledAfter[2]);
    }

    @Test void aTensorKeptPastItsStepIsRefusedNotStale() {
        Module m = model();
        m.train();
        Optimizer opt = new Sgd(m.parameters(), Sgd.options(0.05f).momentum(0.9f));
        Variable kept;
        float[] copied;
        try (TensorScope scope = TensorScope.open(new BufferPool())) {
            opt.zeroGrad();
            kept = m.forward(Variable.of(X));
            copied = kept.data().toFloatArray();   // what should be done instead
            Loss.crossEntropy(kept, Y).backward();
            opt.step();
        }
        assertNotNull(copied);
        assertThrows(ReleasedTensorException.class, () -> kept.data().toFloatArray());
        assertThrows(ReleasedTensorException.class, () -> m.parameters().get(0).grad().toFloatArray(), "gradients are the step's too");
        // the parameters and the momentum buffers were made outside or detached: the next step runs
        try (TensorScope scope = TensorScope.open(new BufferPool())) {
            step(m, opt);
        }
    }
}
