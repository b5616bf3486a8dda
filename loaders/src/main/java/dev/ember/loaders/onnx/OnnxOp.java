package dev.ember.loaders.onnx;

import dev.ember.autograd.Variable;

/**
 * One ONNX operator, written once in terms of autograd {@link Variable}s: inference runs it inside
 * {@code NoGrad} (no graph is recorded), training of an imported model runs the same code with gradients on.
 * Non-differentiable results (shapes, indices, masks) are returned as {@code Variable.of(tensor)}.
 */
@FunctionalInterface
public interface OnnxOp {
    /**
     * Computes the node's outputs. {@code inputs[i]} is null for an omitted optional input; the result has one entry
     * per node output (trailing optional outputs may be null when not requested). {@code opset} is the model's
     * version of the op's domain, for attributes and inputs that changed between versions.
     */
    Variable[] apply(OnnxNode node, Variable[] inputs, int opset);
}
