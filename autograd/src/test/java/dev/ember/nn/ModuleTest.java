package dev.ember.nn;

import dev.ember.autograd.Variable;
import dev.ember.engine.Device;
import dev.ember.engine.EmberException;
import dev.ember.engine.Rng;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModuleTest {
    /** A residual-style block with named children, like torchvision's BasicBlock. */
    static final class Block extends Module {
        final Conv2d conv1;
        final BatchNorm2d bn1;

        Block(int channels, Rng rng) {
            conv1 = registerModule("conv1", new Conv2d(channels, channels, 3, 1, 1, 1, 1, false, rng));
            bn1 = registerModule("bn1", new BatchNorm2d(channels));
        }

        @Override public Variable forward(Variable x) { return bn1.forward(conv1.forward(x)).relu().add(x); }
    }

    /** stem conv, layer1 = two blocks, a classifier head. */
    static final class Net extends Module {
        final Conv2d conv1;
        final Sequential layer1;
        final Linear fc;

        Net(Rng rng) {
            conv1 = registerModule("conv1", new Conv2d(3, 4, 3, 1, 1, rng));
            layer1 = registerModule("layer1", new Sequential(new Block(4, rng), new Block(4, rng)));
            fc = registerModule("fc", new Linear(4, 2, rng));
        }

        @Override public Variable forward(Variable x) {
            return fc.forward(new GlobalAvgPool2d().forward(layer1.forward(conv1.forward(x))));
        }
    }

    @Test void namesNestWithDotsInRegistrationOrder() {
        Net net = new Net(new Rng(0));
        assertEquals(List.of(
                "conv1.weight", "conv1.bias",
                "layer1.0.conv1.weight", "layer1.0.bn1.weight", "layer1.0.bn1.bias",
                "layer1.1.conv1.weight", "layer1.1.bn1.weight", "layer1.1.bn1.bias",
                "fc.weight", "fc.bias"), new ArrayList<>(net.namedParameters().keySet()));
        assertEquals(List.of(
                "layer1.0.bn1.running_mean", "layer1.0.bn1.running_var", "layer1.0.bn1.num_batches_tracked",
                "layer1.1.bn1.running_mean", "layer1.1.bn1.running_var", "layer1.1.bn1.num_batches_tracked"),
                new ArrayList<>(net.namedBuffers().keySet()));
        assertEquals(10, net.parameters().size());
        assertEquals(List.of("conv1", "layer1", "fc"), new ArrayList<>(net.namedChildren().keySet()));
        assertSame(net.fc, net.children().get(2));
        assertSame(net.layer1.get(1), net.namedModules().get("layer1.1"));
    }

    @Test void stateDictHasPyTorchKeyOrder() {
        Net net = new Net(new Rng(0));
        List<String> keys = new ArrayList<>(net.stateDict().keySet());
        // each module: its parameters, then its buffers, then its children
        assertEquals(List.of("conv1.weight", "conv1.bias",
                "layer1.0.conv1.weight", "layer1.0.bn1.weight", "layer1.0.bn1.bias",
                "layer1.0.bn1.running_mean", "layer1.0.bn1.running_var", "layer1.0.bn1.num_batches_tracked"), keys.subList(0, 8));
        assertEquals(16, keys.size());
        assertSame(net.fc.weight().data(), net.stateDict().get("fc.weight"));
    }

    /**
     * The contract of {@code to}; only the CPU is here (the move to a GPU runs in tools/gpu-check's finetune step):
     * it keeps each parameter's Variable, drops gradients, calls movedTo on every module after the whole tree moved,
     * and BatchNorm2d's statistics are the registered buffers afterwards (its forward updates what stateDict lists).
     */
    @Test void toKeepsTheVariablesDropsGradientsAndCallsMovedToAfterTheWholeTree() {
        List<String> calls = new ArrayList<>();
        final class Leaf extends Module {
            final Linear fc = registerModule("fc", new Linear(2, 2, new Rng(1)));
            @Override public Variable forward(Variable x) { return fc.forward(x); }
            @Override protected void movedTo(Device device) { calls.add("leaf " + device); }
        }
        final class Root extends Module {
            final Leaf leaf = registerModule("leaf", new Leaf());
            final BatchNorm2d bn = registerModule("bn", new BatchNorm2d(2));
            @Override public Variable forward(Variable x) { return leaf.forward(x); }
            @Override protected void movedTo(Device device) { calls.add("root " + device + " " + leaf.fc.weight().data().device()); }
        }
        Root root = new Root();
        Variable w = root.leaf.fc.weight();
        root.forward(Variable.of(Tensor.ones(3, 2))).sum().backward();
        assertTrue(w.grad() != null);
        assertSame(root, root.to(Device.CPU));
        assertSame(w, root.leaf.fc.weight());
        assertEquals(null, w.grad());
        assertEquals(List.of("root cpu cpu", "leaf cpu"), calls);
        root.bn.forward(Variable.of(Tensor.randn(new Rng(2), 1f, 4, 2, 3, 3)));
        assertSame(root.bn.runningMean(), root.stateDict().get("bn.running_mean"));
        assertEquals(1, root.bn.numBatchesTracked());
        assertTrue(root.bn.runningMean().toFloatArray()[0] != 0f, "the forward updated the registered buffer");
    }

    @Test void sharedParameterIsListedOnce() {
        Linear shared = new Linear(2, 2, new Rng(0));
        Sequential twice = new Sequential(shared, new ReLU(), shared);
        assertEquals(List.of("0.weight", "0.bias"), new ArrayList<>(twice.namedParameters().keySet()));
        assertEquals(4, twice.stateDict().size());
    }

    @Test void trainAndEvalReachEveryDescendant() {
        Net net = new Net(new Rng(0));
        assertTrue(net.isTraining());
        net.eval();
        for (Module m : net.namedModules().values()) assertFalse(m.isTraining());
        net.train();
        for (Module m : net.namedModules().values()) assertTrue(m.isTraining());
    }

    @Test void freezeAndUnfreezeByGlobAndRegex() {
        Net net = new Net(new Rng(0));
        net.requiresGrad(false);
        for (Variable p : net.parameters()) assertFalse(p.requiresGrad());
        List<String> head = net.unfreeze("fc.*");
        assertEquals(List.of("fc.weight", "fc.bias"), head);
        assertTrue(net.fc.weight().requiresGrad());
        assertFalse(net.conv1.weight().requiresGrad());

        // '?' is one character, '*' crosses dots
        assertEquals(List.of("layer1.0.bn1.weight", "layer1.1.bn1.weight"), net.unfreeze("layer1.?.bn*.weight"));
        assertEquals(List.of("layer1.0.bn1.weight", "layer1.0.bn1.bias", "layer1.1.bn1.weight", "layer1.1.bn1.bias"),
                net.unfreeze("*bn1*"));
        // a dot in a glob is a dot: as a regex "weigh." would match "weight"
        assertThrows(EmberException.class, () -> net.freeze("fc.weigh."));
        net.requiresGrad(true);
        assertEquals(List.of("layer1.0.conv1.weight", "layer1.1.conv1.weight"), net.requiresGrad(Pattern.compile("layer1\\.\\d\\.conv1\\..*"), false));
        assertFalse(net.layer1.get(1).namedParameters().get("conv1.weight").requiresGrad());
        EmberException typo = assertThrows(EmberException.class, () -> net.freeze("lyer4.*"));
        assertTrue(typo.getMessage().contains("lyer4.*"), typo.getMessage());
    }

    @Test void zeroGradClearsGradients() {
        Linear lin = new Linear(2, 2, new Rng(0));
        lin.weight().setGrad(Tensor.ones(2, 2));
        lin.zeroGrad();
        Tensor g = lin.weight().grad();
        assertTrue(g == null || g.abs().sum().item() == 0f);
    }

    @Test void loadStateDictCopiesIntoAnotherlySeededModel() {
        Net source = new Net(new Rng(1));
        Net target = new Net(new Rng(2));
        source.layer1.get(0).stateDict().get("bn1.running_mean").copyFrom(Tensor.of(new float[] {1, 2, 3, 4}, 4));
        Module.LoadResult r = target.loadStateDict(source.stateDict());
        assertEquals(List.of(), r.missingKeys());
        assertEquals(List.of(), r.unexpectedKeys());
        for (Map.Entry<String, Tensor> e : source.stateDict().entrySet()) {
            Tensor got = target.stateDict().get(e.getKey());
            assertNotSame(e.getValue(), got);
            assertArrayEquals(e.getValue().toFloatArray(), got.toFloatArray(), 0f, e.getKey());
        }
        // no aliasing: changing the source afterwards leaves the target alone
        source.fc.weight().data().copyFrom(Tensor.zeros(2, 4));
        assertTrue(target.fc.weight().data().abs().sum().item() > 0);
    }

    @Test void loadStateDictNamesEveryProblemAndLoadsNothing() {
        Net target = new Net(new Rng(2));
        float[] before = target.conv1.weight().data().toFloatArray();
        Map<String, Tensor> state = new LinkedHashMap<>(new Net(new Rng(1)).stateDict());
        state.remove("fc.bias");
        state.put("fc.extra", Tensor.zeros(1));
        state.put("fc.weight", Tensor.zeros(3, 4));

        StateDictException e = assertThrows(StateDictException.class, () -> target.loadStateDict(state));
        assertEquals(List.of("fc.bias"), e.missingKeys());
        assertEquals(List.of("fc.extra"), e.unexpectedKeys());
        assertEquals(List.of(new StateDictException.Mismatch("fc.weight", Shape.of(2, 4), Shape.of(3, 4))), e.mismatches());
        assertTrue(e.getMessage().contains("fc.bias") && e.getMessage().contains("fc.extra") && e.getMessage().contains("[3, 4]"), e.getMessage());
        assertArrayEquals(before, target.conv1.weight().data().toFloatArray(), 0f);

        // non-strict: missing and unexpected are reported, a shape mismatch is still an error
        assertThrows(StateDictException.class, () -> target.loadStateDict(state, false));
        state.put("fc.weight", Tensor.zeros(2, 4));
        Module.LoadResult r = target.loadStateDict(state, false);
        assertEquals(List.of("fc.bias"), r.missingKeys());
        assertEquals(List.of("fc.extra"), r.unexpectedKeys());
        assertEquals(0f, target.fc.weight().data().abs().sum().item());
    }

    @Test void registrationRefusesBadOrDuplicateNames() {
        assertThrows(EmberException.class, () -> new Module() {
            { registerParameter("a.b", Tensor.zeros(1)); }
            @Override public Variable forward(Variable x) { return x; }
        });
        assertThrows(EmberException.class, () -> new Module() {
            { registerParameter("w", Tensor.zeros(1)); registerBuffer("w", Tensor.zeros(1)); }
            @Override public Variable forward(Variable x) { return x; }
        });
    }

    @Test void printsATreeLikePyTorch() {
        Rng rng = new Rng(0);
        Sequential model = new Sequential(
                new Conv2d(3, 8, 3, 2, 1, 1, 1, false, rng), new BatchNorm2d(8), new ReLU(), new MaxPool2d(3, 2, 1),
                new Sequential(new Conv2d(8, 8, 3, 1, 1, 1, 8, true, rng), new GELU()),
                new GlobalAvgPool2d(), new Dropout(0.5f, rng), new Linear(8, 10, rng), new LayerNorm(10), new Flatten());
        assertEquals("""
                Sequential(
                  (0): Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)
                  (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
                  (2): ReLU()
                  (3): MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)
                  (4): Sequential(
                    (0): Conv2d(8, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), groups=8)
                    (1): GELU()
                  )
                  (5): GlobalAvgPool2d()
                  (6): Dropout(p=0.5)
                  (7): Linear(in_features=8, out_features=10, bias=True)
                  (8): LayerNorm((10,), eps=1e-05, elementwise_affine=True)
                  (9): Flatten(start_dim=1, end_dim=-1)
                )""", model.toString());
    }

    @Test void sequentialSetReplacesAChildInPlace() {
        Sequential s = new Sequential(new Linear(2, 3, new Rng(0)), new ReLU());
        s.set(0, new Linear(2, 5, new Rng(0)));
        assertEquals(List.of("0.weight", "0.bias"), new ArrayList<>(s.namedParameters().keySet()));
        assertEquals(Shape.of(5, 2), s.namedParameters().get("0.weight").shape());
        assertThrows(EmberException.class, () -> s.get(2));
    }
}
