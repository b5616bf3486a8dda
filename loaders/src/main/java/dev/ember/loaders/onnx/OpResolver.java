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

    /**
     * One op that computes {@code consumer(producer(...))} where {@code producer}'s first output is read only by
     * {@code consumer} (as its only input), or null when there is no such fusion (the default). The fused op takes
     * {@code producer}'s inputs and returns {@code consumer}'s outputs, with the same values and gradients as the two
     * ops one after the other. The session asks once per such pair, when it is created.
     */
    default OnnxOp fuse(OnnxNode producer, OnnxNode consumer, int opset) { return null; }

    /**
     * {@link #fuse(OnnxNode, OnnxNode, int)} for a chain of nodes, each reading only the one before it (Conv, Relu,
     * MaxPool), or that and one more value ready before the chain's first node runs (Conv, then an Add of a residual,
     * then Relu): one op taking the first node's inputs, followed by that value if there is one, and returning the last
     * node's outputs, or null. The session grows a chain one node at a time while this answers. The default fuses pairs
     * only.
     */
    default OnnxOp fuse(java.util.List<OnnxNode> chain, int opset) {
        return chain.size() == 2 ? fuse(chain.get(0), chain.get(1), opset) : null;
    }

    /**
     * One op that runs {@code chain} (a node, or a chain {@link #fuse(java.util.List, int)} answered) and {@code
     * sibling}, a node reading the same first input (a residual block's first conv and its 1x1 shortcut), or null (the
     * default). The fused op takes the chain's first node's inputs followed by {@code sibling}'s, and returns the
     * chain's last node's outputs followed by {@code sibling}'s, with the same values and gradients as the ops apart.
     */
    default OnnxOp fusePair(java.util.List<OnnxNode> chain, OnnxNode sibling, int opset) { return null; }
}
