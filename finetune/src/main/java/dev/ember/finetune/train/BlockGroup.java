package dev.ember.finetune.train;

import dev.ember.autograd.Variable;
import dev.ember.nn.Module;

import java.util.List;
import java.util.Map;

/**
 * One unit of freezing and of learning rate: parameters by their full dotted names in the model, and the
 * normalization layers ({@link dev.ember.nn.BatchNorm2d}) among them, whose running statistics stay fixed while the
 * group is frozen.
 */
public record BlockGroup(String name, Map<String, Variable> parameters, List<Module> normLayers) {
    public BlockGroup {
        parameters = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(parameters));
        normLayers = List.copyOf(normLayers);
    }

    /** Turns gradient tracking of every parameter of the group on or off. */
    void setTrainable(boolean on) {
        for (Variable p : parameters.values()) p.requiresGrad(on);
    }
}
