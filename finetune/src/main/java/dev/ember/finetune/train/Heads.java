package dev.ember.finetune.train;

import dev.ember.engine.EmberException;
import dev.ember.engine.Rng;
import dev.ember.nn.Linear;
import dev.ember.nn.Module;
import dev.ember.nn.Sequential;

import java.util.ArrayList;
import java.util.List;

/**
 * Head replacement for Java {@link Sequential} models (an imported ONNX model has
 * {@link dev.ember.loaders.onnx.train.OnnxModule#replaceHead}). The head is the last {@link Linear} met walking the
 * Sequential depth first (nested Sequentials are opened); it is replaced, in place, by a new
 * {@code Linear(in, classes)}, preceded by a {@link ResumableDropout} when {@code dropout > 0}.
 */
public final class Heads {
    private Heads() {}

    /**
     * Replaces the head of {@code model} in place and returns the model with its block groups and a source-task view:
     * a Sequential over the SAME backbone modules with the old head, so it scores the source classes with whatever the
     * backbone has become.
     */
    public static TunableModel replace(Sequential model, int classes, float dropout, Rng rng) {
        if (classes < 1) throw new EmberException("a head needs at least 1 output, got " + classes);
        List<Integer> path = lastLinear(model);
        if (path == null) throw new EmberException("the model has no Linear layer to replace as its head:\n" + model);
        Sequential parent = model;
        for (int i = 0; i < path.size() - 1; i++) parent = (Sequential) parent.get(path.get(i));
        Linear old = (Linear) parent.get(path.getLast());
        Sequential sourceView = copyAlong(model, path, 0, old);
        Linear fresh = new Linear(old.inFeatures(), classes, rng);
        Module head = dropout > 0 ? new Sequential(new ResumableDropout(dropout, rng.split()), fresh) : fresh;
        parent.set(path.getLast(), head);
        return new TunableModel(model, BlockGroups.of(model), sourceView);
    }

    /** Child indices leading to the last Linear, or null. */
    private static List<Integer> lastLinear(Sequential s) {
        for (int i = s.size() - 1; i >= 0; i--) {
            Module c = s.get(i);
            if (c instanceof Linear) return new ArrayList<>(List.of(i));
            if (c instanceof Sequential inner) {
                List<Integer> below = lastLinear(inner);
                if (below != null) {
                    below.addFirst(i);
                    return below;
                }
            }
        }
        return null;
    }

    /** New Sequentials along {@code path} over the same children, with {@code leaf} at its end. */
    private static Sequential copyAlong(Sequential s, List<Integer> path, int depth, Module leaf) {
        List<Module> children = new ArrayList<>(s.children());
        int at = path.get(depth);
        children.set(at, depth == path.size() - 1 ? leaf : copyAlong((Sequential) s.get(at), path, depth + 1, leaf));
        return new Sequential(children);
    }
}
