package dev.ember.loaders.onnx;

/**
 * Finds the implementation of a node's op: {@code dev.ember.loaders.onnx.ops.OnnxOps.resolver()} is the standard
 * one. {@link OnnxSession} asks once per node, when it is created.
 */
@FunctionalInterface
public interface OpResolver {
    /**
     * The op that runs {@code node} at version {@code opset} of its domain, or null when unsupported. May throw
     * {@link OnnxException} to say why a supported op cannot run this node (an attribute value it lacks).
     */
    OnnxOp resolve(OnnxNode node, int opset);
}
