package dev.ember.tools;

import dev.ember.autograd.Variable;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxNode;
import dev.ember.loaders.onnx.train.OnnxModule;
import dev.ember.nn.Init;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The "from scratch" baseline of the report: the same imported network with every parameter drawn afresh, so the gain
 * of starting from pretrained weights is measured on the same graph, data and settings. Each parameter is set by the
 * role of the node input that reads it:
 * <ul>
 *   <li>a normalization's scale (BatchNormalization, LayerNormalization, InstanceNormalization input 1): ones;</li>
 *   <li>a normalization's shift (input 2) and a Conv/Gemm bias (input 2): zeros;</li>
 *   <li>any other parameter of rank &ge; 2 (Conv, Gemm, MatMul weights): PyTorch's layer default, kaiming-uniform with
 *       a = sqrt(5), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = dim 1 x receptive field;</li>
 *   <li>other rank-0/1 parameters: zeros.</li>
 * </ul>
 * BatchNormalization's running statistics are buffers and keep their values (they are re-estimated in training mode).
 */
final class FinetuneScratch {
    private static final Set<String> NORMS = Set.of("BatchNormalization", "LayerNormalization", "InstanceNormalization");

    private FinetuneScratch() {}

    /** Redraws every parameter of {@code module} from {@code rng}, in {@link OnnxModule#namedParameters()} order. */
    static void reinitialize(OnnxModule module, Rng rng) {
        Map<String, String> role = roles(module);
        for (Map.Entry<String, Variable> e : module.namedParameters().entrySet()) {
            Tensor t = e.getValue().data();
            switch (role.getOrDefault(e.getKey(), t.rank() >= 2 ? "weight" : "zero")) {
                case "one" -> Init.constant(t, 1f);
                case "weight" -> {
                    if (t.rank() >= 2) Init.kaimingUniform(t, Math.sqrt(5), Init.FanMode.FAN_IN, Init.Nonlinearity.LEAKY_RELU, rng);
                    else Init.constant(t, 0f);
                }
                default -> Init.constant(t, 0f);
            }
        }
    }

    /** Parameter name -> "one", "zero" or "weight", from the first node input that reads it (through Identity nodes). */
    private static Map<String, String> roles(OnnxModule module) {
        List<OnnxNode> nodes = module.model().graph().order();
        Map<String, String> alias = new HashMap<>();
        Map<String, String> role = new HashMap<>();
        for (OnnxNode n : nodes) {
            if (n.opType().equals("Identity") && n.inputs().size() == 1) {
                alias.put(n.outputs().get(0), alias.getOrDefault(n.inputs().get(0), n.inputs().get(0)));
                continue;
            }
            for (int i = 0; i < n.inputs().size(); i++) {
                String p = alias.getOrDefault(n.inputs().get(i), n.inputs().get(i));
                if (role.containsKey(p)) continue;
                if (NORMS.contains(n.opType())) role.put(p, i == 1 ? "one" : "zero");
                else if (i == 2) role.put(p, "zero");
                else role.put(p, "weight");
            }
        }
        return role;
    }
}
