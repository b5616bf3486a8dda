package dev.ember.loaders.onnx.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ember.autograd.NoGrad;
import dev.ember.autograd.Variable;
import dev.ember.engine.Tensor;
import dev.ember.loaders.data.Npy;
import dev.ember.loaders.onnx.OnnxModel;
import dev.ember.loaders.onnx.OnnxSession;
import dev.ember.loaders.onnx.ops.OnnxOps;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The shared torch-exported models reproduce their batch-2 references (float32 .npy, written by PyTorch and checked
 * against ONNX Runtime) within 1e-4 absolute, run by the session and by the imported module in eval mode.
 * Skips when {@code ../shared} (system property {@code ember.shared}) is absent.
 */
class ReferenceModelsTest {
    static final float TOLERANCE = 1e-4f;

    /** The shared models folder, or a skipped test saying where it was looked for. */
    static Path models() {
        Path dir = Path.of(System.getProperty("ember.shared", "../shared"), "models");
        assumeTrue(Files.isDirectory(dir), "shared reference models not found at " + dir.toAbsolutePath() + " (set -Dember.shared); skipping");
        return dir;
    }

    private static void check(String model, String input, String output) {
        Path dir = models();
        OnnxModel m = OnnxModel.read(dir.resolve(model));
        Tensor x = Npy.read(dir.resolve(input));
        Tensor want = Npy.read(dir.resolve(output));

        Tensor bySession = new OnnxSession(m, OnnxOps.resolver()).run(Map.of("input", x)).get("output");
        assertClose(want, bySession, model + " (session)");

        OnnxModule module = new OnnxModule(m);
        module.eval();
        try (NoGrad _ = NoGrad.enter()) {
            assertClose(want, module.forward(Variable.of(x)).data(), model + " (module)");
        }
    }

    static void assertClose(Tensor want, Tensor got, String what) {
        assertArrayEquals(want.dims(), got.dims(), what + ": shape");
        float[] w = want.toFloatArray(), g = got.toFloatArray();
        float worst = 0;
        int at = 0;
        for (int i = 0; i < w.length; i++) {
            float d = Math.abs(w[i] - g[i]);
            if (!(d <= worst)) {   // NaN counts as worst
                worst = d;
                at = i;
            }
        }
        float worstDiff = worst;
        int worstAt = at;
        assertTrue(worstDiff <= TOLERANCE, () -> what + ": max |diff| " + worstDiff + " at " + worstAt + " (want " + w[worstAt] + ", got " + g[worstAt] + ") exceeds " + TOLERANCE);
    }

    @Test void smallCnnMatchesReference() { check("small_cnn.onnx", "small_cnn_input.npy", "small_cnn_output.npy"); }

    @Test void resnet18MatchesReferenceAt64() { check("resnet18.onnx", "resnet18_input_64.npy", "resnet18_output_64.npy"); }
}
