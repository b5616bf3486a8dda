package dev.ember.finetune.train;

import dev.ember.engine.Rng;
import dev.ember.loaders.onnx.OnnxModel;
import dev.ember.loaders.onnx.train.OnnxModule;
import dev.ember.nn.Module;
import dev.ember.nn.Sequential;

/**
 * A model ready for {@link FineTuner}: the model with its new head, its {@link BlockGroups}, and optionally the
 * source-task model (backbone + the old head; null when there is none) for the catastrophic-forgetting monitor.
 * Before the source model is scored, the fine-tuned model's state is copied into it under the names both share
 * (the head group excepted), so it may be a separate copy (an ONNX import) or share the backbone (a Java view).
 */
public record TunableModel(Module model, BlockGroups groups, Module sourceModel) {

    /** A model trained as it is (from scratch, or with a head already in place): automatic groups, no source task. */
    public static TunableModel of(Module model) { return new TunableModel(model, BlockGroups.of(model), null); }

    /** A pretrained Java Sequential with its last Linear replaced by a {@code classes}-way head (see {@link Heads}). */
    public static TunableModel replaceHead(Sequential pretrained, int classes, float headDropout, Rng rng) {
        return Heads.replace(pretrained, classes, headDropout, rng);
    }

    /**
     * An imported ONNX classifier with its head replaced by a {@code classes}-way Linear; the source model is a second
     * import of the same file with the old head. (Head dropout does not apply: the graph has no place for it.)
     */
    public static TunableModel replaceHead(OnnxModel pretrained, int classes, Rng rng) { return replaceHead(pretrained, classes, rng, true); }

    /**
     * As above; without {@code withSource} there is no source model (null), which saves a copy of every weight
     * (resnet18: 45 MB) when no source task will be scored.
     */
    public static TunableModel replaceHead(OnnxModel pretrained, int classes, Rng rng, boolean withSource) {
        OnnxModule source = withSource ? new OnnxModule(pretrained) : null;
        OnnxModule tuned = new OnnxModule(pretrained);
        tuned.replaceHead(classes, rng);
        return new TunableModel(tuned, BlockGroups.of(tuned), source);
    }
}
