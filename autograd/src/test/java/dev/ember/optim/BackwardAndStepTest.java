package dev.ember.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.autograd.Loss;
import dev.ember.autograd.Variable;
import dev.ember.engine.BufferPool;
import dev.ember.engine.DType;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.engine.TensorScope;
import dev.ember.nn.BatchNorm2d;
import dev.ember.nn.Conv2d;
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
 * {@link Optimizer#backwardAndStep} gives the bits of backward, step, zeroGrad; hands each weight over once its last
 * consumer has run (not at its depth-first place), and leaves other leaves' gradients alone.
 */
class BackwardAndStepTest {
    private static final Tensor X = Tensor.randn(new Rng(1), 1f, 6, 2, 12, 12);
    private static final Tensor Y = Tensor.ofLongs(new long[] {0, 1, 2, 3, 4, 0}, 6);

    private static Module model() {
        Rng rng = new Rng(3);
        return new Sequential(new Conv2d(2, 8, 3, 1, 1, rng), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),
                new Conv2d(8, 8, 3, 1, 1, rng), new ReLU(), new Flatten(), new Linear(8 * 6 * 6, 5, rng));
    }

    /** {@code steps} steps in scopes, fused or not; every float state entry after (weights, BatchNorm statistics). */
    private static List<float[]> train(Function<Module, Optimizer> optimizer, int steps, boolean fused) {
        Module m = model();
        m.train();
        Optimizer opt = optimizer.apply(m);
        BufferPool pool = new BufferPool();
        for (int i = 0; i < steps; i++) {
            try (TensorScope scope = TensorScope.open(pool)) {
                opt.zeroGrad();
                Variable loss = Loss.crossEntropy(m.forward(Variable.of(X)), Y);
                if (fused) {
                    opt.backwardAndStep(loss);
                } else {
                    loss.backward();
                    opt.step();
                    opt.zeroGrad();
                }
            }
            for (Variable p : m.parameters()) assertNull(p.grad(), "no parameter keeps a gradient after the step");
        }
        List<float[]> state = new ArrayList<>();
        for (Tensor t : m.stateDict().values()) if (t.dtype() == DType.FLOAT32) state.add(t.toFloatArray());
        for (Tensor t : opt.stateDict().values()) if (t.dtype() == DType.FLOAT32) state.add(t.toFloatArray());
        return state;
    }

    @Test void sameBitsAsBackwardThenStep() {
        List<Function<Module, Optimizer>> optimizers = List.of(
                m -> new Sgd(m.parameters(), Sgd.options(0.05f).momentum(0.9f).weightDecay(1e-4f)),
                m -> new Adam(m.parameters(), Adam.options(1e-2f)),
                m -> new AdamW(m.parameters(), Adam.options(1e-2f).weightDecay(0.01f)));
        for (Function<Module, Optimizer> o : optimizers) {
            List<float[]> plain = train(o, 3, false), fused = train(o, 3, true);
            assertEquals(plain.size(), fused.size());
            for (int i = 0; i < plain.size(); i++) assertArrayEquals(plain.get(i), fused.get(i), "state entry " + i);
        }
    }

    /** loss = sum(w2 @ relu(w1 @ x)) + sum(w2 @ x'): w2 used twice and each time as its op's first input. */
    private static Variable twoLayers(Variable w1, Variable w2, Variable x) {
        Variable h = w1.matmul(x).relu();
        return w2.matmul(h).sum().add(w2.matmul(x.mul(x)).sum());
    }

    @Test void aWeightIsHandedOverOnceItsLastConsumerHasRun() {
        Rng rng = new Rng(5);
        Variable w1 = Variable.param(Tensor.randn(rng, 1f, 4, 4));
        Variable w2 = Variable.param(Tensor.randn(rng, 1f, 3, 4));
        Variable x = Variable.param(Tensor.randn(rng, 1f, 4, 2));
        List<String> handed = new ArrayList<>();
        twoLayers(w1, w2, x).backward((leaf, g) -> {
            handed.add(leaf == w1 ? "w1" : leaf == w2 ? "w2" : leaf == x ? "x" : "?");
            return false;
        });
        // depth-first order visits w2 (the first input of both its matmuls) after everything below it; handed over
        // at its last use it comes before w1, whose op runs its backward later
        assertEquals(List.of("w2", "w1", "x"), handed);
        // declined gradients are the plain pass's
        Tensor[] fused = {w1.grad(), w2.grad(), x.grad()};
        w1.zeroGrad();
        w2.zeroGrad();
        x.zeroGrad();
        twoLayers(w1, w2, x).backward();
        assertArrayEquals(w1.grad().toFloatArray(), fused[0].toFloatArray());
        assertArrayEquals(w2.grad().toFloatArray(), fused[1].toFloatArray());
        assertArrayEquals(x.grad().toFloatArray(), fused[2].toFloatArray());
    }

    @Test void earlierGradientsAreAddedInAndOtherLeavesKeepTheirs() {
        Rng rng = new Rng(6);
        Tensor w1v = Tensor.randn(rng, 1f, 4, 4), w2v = Tensor.randn(rng, 1f, 3, 4), xv = Tensor.randn(rng, 1f, 4, 2);
        // reference: two backward passes accumulate, then one step
        Variable w1 = Variable.param(w1v.copy()), w2 = Variable.param(w2v.copy()), x = Variable.param(xv.copy());
        Adam plain = new Adam(List.of(w1, w2), Adam.options(0.1f));
        twoLayers(w1, w2, x).backward();
        twoLayers(w1, w2, x).backward();
        plain.step();
        // fused: the second pass steps with the sum; x, not in the optimizer, accumulates as before
        Variable f1 = Variable.param(w1v.copy()), f2 = Variable.param(w2v.copy()), fx = Variable.param(xv.copy());
        Adam fused = new Adam(List.of(f1, f2), Adam.options(0.1f));
        twoLayers(f1, f2, fx).backward();
        fused.backwardAndStep(twoLayers(f1, f2, fx));
        assertArrayEquals(w1.data().toFloatArray(), f1.data().toFloatArray());
        assertArrayEquals(w2.data().toFloatArray(), f2.data().toFloatArray());
        assertNull(f1.grad());
        assertNotNull(fx.grad());
        assertArrayEquals(x.grad().toFloatArray(), fx.grad().toFloatArray());
        assertTrue(w1.grad() != null, "the reference keeps its gradients until zeroGrad");
    }
}
