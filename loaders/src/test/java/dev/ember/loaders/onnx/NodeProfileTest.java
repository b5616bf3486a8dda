package dev.ember.loaders.onnx;

import static dev.ember.loaders.onnx.OnnxTestModels.FLOAT;
import static dev.ember.loaders.onnx.OnnxTestModels.floats;
import static dev.ember.loaders.onnx.OnnxTestModels.load;
import static dev.ember.loaders.onnx.OnnxTestModels.model;
import static dev.ember.loaders.onnx.OnnxTestModels.node;
import static dev.ember.loaders.onnx.OnnxTestModels.value;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ember.autograd.Variable;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.ops.OnnxOps;
import dev.ember.loaders.onnx.proto.OnnxProto.AttributeProto;
import dev.ember.loaders.onnx.proto.OnnxProto.GraphProto;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@link NodeProfile}: one entry per step the session runs, each step's time where it was spent, results unchanged. */
class NodeProfileTest {
    private static final long SLEEP_MS = 20;

    /** x (1, 3, 6, 6) -> Conv (4 filters 3x3, pad 1) -> c -> Relu -> r -> Slow (sleeps, passes r on) -> y. */
    private static OnnxModel convReluSlow() {
        Rng rng = new Rng(5);
        float[] w = new float[4 * 3 * 9];
        for (int i = 0; i < w.length; i++) w[i] = (float) rng.nextGaussian();
        GraphProto g = GraphProto.newBuilder().setName("profiled")
                .addNode(node("conv", "Conv", List.of("x", "w"), List.of("c"),
                        AttributeProto.newBuilder().setName("pads").setType(AttributeProto.AttributeType.INTS).addAllInts(List.of(1L, 1L, 1L, 1L)).build()))
                .addNode(node("relu", "Relu", List.of("c"), List.of("r")))
                .addNode(node("slow", "Slow", List.of("r"), List.of("y")))
                .addInitializer(floats("w", w, 4, 3, 3, 3))
                .addInput(value("x", FLOAT, 1, 3, 6, 6))
                .addOutput(value("y", FLOAT, 1, 4, 6, 6))
                .build();
        return load(model(g));
    }

    /** The engine's ops and fusions, and "Slow": sleeps, then returns its input. */
    private static final OpResolver WITH_SLOW = new OpResolver() {
        @Override public OnnxOp resolve(OnnxNode node, int opset) {
            if (!node.opType().equals("Slow")) return OnnxOps.resolver().resolve(node, opset);
            return (n, in, o) -> {
                try {
                    Thread.sleep(SLEEP_MS);
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                return new Variable[] {in[0]};
            };
        }

        @Override public OnnxOp fuse(List<OnnxNode> chain, int opset) { return OnnxOps.resolver().fuse(chain, opset); }
    };

    private static Tensor input() { return Tensor.randn(new Rng(6), 1f, 1, 3, 6, 6); }

    @Test void timesEachStepTheSessionRuns() {
        OnnxSession s = new OnnxSession(convReluSlow(), WITH_SLOW);
        NodeProfile profile = s.newProfile();
        float[] plain = s.run(Map.of("x", input())).get("y").toFloatArray();
        for (int run = 0; run < 3; run++) {
            assertArrayEquals(plain, s.run(Map.of("x", input()), profile).get("y").toFloatArray(), "a profiled run gives the same bits");
        }
        List<NodeProfile.Step> steps = profile.steps();
        assertEquals(3, profile.runs());
        assertEquals(2, steps.size(), "Conv and Relu run as one step: " + steps);
        NodeProfile.Step conv = steps.get(0), slow = steps.get(1);
        assertEquals(List.of("conv", "relu"), conv.nodes());
        assertEquals("Conv+Relu", conv.ops());
        assertEquals(List.of("r"), conv.outputs());
        assertEquals(List.of("slow"), slow.nodes());
        assertEquals(List.of("y"), slow.outputs());
        assertEquals(3, slow.runs());
        assertTrue(slow.meanMicros() >= SLEEP_MS * 1000, "the sleep is the Slow step's: " + slow.meanMicros() + " us");
        assertTrue(conv.nanos() > 0 && conv.meanMicros() < SLEEP_MS * 1000, "the conv step's own time: " + conv.meanMicros() + " us");
        String table = profile.toString();
        assertTrue(table.contains("Conv+Relu") && table.contains("conv + relu") && table.contains("3 runs"), table);

        profile.reset();
        assertEquals(0, profile.runs());
        assertEquals(0, profile.steps().get(1).nanos());
        assertTrue(Double.isNaN(profile.steps().get(1).meanMicros()));
    }

    @Test void aFailedRunAddsNothingAndAProfileServesOnlyItsSession() {
        OnnxSession s = new OnnxSession(convReluSlow(), WITH_SLOW);
        NodeProfile profile = s.newProfile();
        assertThrows(RuntimeException.class, () -> s.run(Map.of("x", Tensor.zeros(1, 5, 6, 6)), profile));
        assertEquals(0, profile.runs());
        assertEquals(0, profile.steps().get(0).nanos());

        OnnxSession other = new OnnxSession(convReluSlow(), WITH_SLOW);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> other.run(Map.of("x", input()), profile));
        assertTrue(e.getMessage().contains("another session"), e.getMessage());
    }

    /** resnet18: every node in exactly one step, the downsampling blocks' 3x3/2 conv and 1x1/2 shortcut in one. */
    @Test void resnet18StepsCoverEveryNodeOnce() {
        Path file = Path.of(System.getProperty("ember.shared", "../shared"), "models", "resnet18.onnx");
        assumeTrue(Files.isRegularFile(file), "shared models not found at " + file + "; skipping");
        OnnxModel m = OnnxModel.read(file);
        OnnxSession s = new OnnxSession(m, OnnxOps.resolver());
        NodeProfile profile = s.newProfile();
        s.run(Map.of(m.graph().inputs().get(0).name(), Tensor.randn(new Rng(1), 1f, 1, 3, 32, 32)), profile);
        List<String> seen = new ArrayList<>();
        int pairs = 0;
        for (NodeProfile.Step step : profile.steps()) {
            seen.addAll(step.nodes());
            assertTrue(step.nanos() > 0, "timed: " + step);
            if (step.opTypes().stream().filter("Conv"::equals).count() == 2) pairs++;
        }
        Set<String> all = new HashSet<>();
        for (OnnxNode n : m.graph().order()) all.add(n.name());
        assertEquals(all.size(), seen.size(), "no node in two steps");
        assertEquals(all, new HashSet<>(seen));
        assertEquals(3, pairs, "layer2-4's first blocks: 3x3/2 conv with its 1x1/2 shortcut");
    }
}
