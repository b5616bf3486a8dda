package dev.ember.loaders.onnx.train;

import dev.ember.autograd.NoGrad;
import dev.ember.autograd.Variable;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxAttribute;
import dev.ember.loaders.onnx.OnnxModel;
import dev.ember.loaders.onnx.OnnxNode;
import dev.ember.loaders.onnx.OnnxOp;
import dev.ember.loaders.onnx.OpResolver;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.BooleanSupplier;

/**
 * Resolves ops as {@code base} does, except that a BatchNormalization node written for inference follows the module's
 * mode: in training mode it normalizes with the batch's statistics (the op's {@code training_mode}) and hands the updated
 * running mean and variance to {@code updateStatistic} by initializer name; in eval mode it uses the running statistics
 * as written. Nodes from before opset 9 (the {@code spatial} / {@code is_test} forms) and nodes the file already marks
 * {@code training_mode=1} run as written.
 *
 * <p>Dropout has no training form in the ops (a random mask), so an imported Dropout is the identity in both modes.
 */
final class ModeAwareResolver implements OpResolver {
    /** BatchNormalization's training outputs and attribute exist from this opset on. */
    private static final int BN_TRAINING_OPSET = 14;

    private final OpResolver base;
    private final BooleanSupplier training;
    private final BiConsumer<String, Tensor> updateStatistic;

    ModeAwareResolver(OpResolver base, BooleanSupplier training, BiConsumer<String, Tensor> updateStatistic) {
        this.base = base;
        this.training = training;
        this.updateStatistic = updateStatistic;
    }

    @Override public OnnxOp resolve(OnnxNode node, int opset) {
        OnnxOp op = base.resolve(node, opset);
        boolean standard = OnnxModel.canonicalDomain(node.domain()).equals(OnnxModel.DEFAULT_DOMAIN);
        if (op == null || !standard || !node.opType().equals("BatchNormalization") || opset < 9 || node.inputs().size() < 5) return op;
        if (node.attrInt("training_mode", 0) != 0) return op;
        OnnxNode trainingNode = trainingForm(node);
        String runningMean = node.inputs().get(3), runningVar = node.inputs().get(4);
        return (n, in, v) -> {
            if (!training.getAsBoolean()) return op.apply(n, in, v);
            Variable[] out = op.apply(trainingNode, in, Math.max(v, BN_TRAINING_OPSET));   // {y, running mean, running var}
            try (NoGrad _ = NoGrad.enter()) {
                updateStatistic.accept(runningMean, out[1].data());
                updateStatistic.accept(runningVar, out[2].data());
            }
            return new Variable[] {out[0]};
        };
    }

    /** The node with {@code training_mode=1} and the two running-statistic outputs named (their names are never read). */
    private static OnnxNode trainingForm(OnnxNode node) {
        Map<String, OnnxAttribute> attrs = new HashMap<>(node.attributes());
        attrs.put("training_mode", OnnxAttribute.ofInt("training_mode", 1));
        String y = node.outputs().get(0);
        return new OnnxNode(node.name(), node.opType(), node.domain(), node.inputs(),
                List.of(y, y + "/running_mean", y + "/running_var"), attrs);
    }
}
