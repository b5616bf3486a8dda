package dev.ember.loaders.onnx.ops;

import dev.ember.loaders.onnx.OnnxNode;
import dev.ember.loaders.onnx.OnnxOp;
import dev.ember.loaders.onnx.OpResolver;

import java.util.List;
import java.util.Set;

/**
 * The ONNX operators ember implements, by (domain, op type, opset). Each op is written once over autograd
 * Variables (see {@link OnnxOp}); an op whose attributes or inputs changed between opsets is registered once per
 * version that changed it, and the model's opset picks the newest registration not above it.
 */
public final class OnnxOps {
    private static final OpTable TABLE = build();

    private OnnxOps() {}

    private static OpTable build() {
        OpTable t = new OpTable();
        ElementwiseOps.register(t);
        ActivationOps.register(t);
        ShapeOps.register(t);
        IndexOps.register(t);
        ReduceOps.register(t);
        MatrixOps.register(t);
        ConvOps.register(t);
        PoolOps.register(t);
        NormOps.register(t);
        ResizeOps.register(t);
        LossOps.register(t);
        RecurrentOps.register(t);
        TrainingOps.register(t);
        SignalOps.register(t);
        DetectionOps.register(t);
        GridSampleOp.register(t);
        QuantOps.register(t);
        TfIdfVectorizerOp.register(t);
        return t;
    }

    /**
     * The implementation of {@code opType} in {@code domain} ("" or "ai.onnx" for the default domain) at {@code opset},
     * or an {@link OnnxUnsupportedException} naming the op, domain and opset.
     */
    public static OnnxOp find(String domain, String opType, int opset) {
        OnnxOp op = TABLE.find(domain, opType, opset);
        if (op == null) {
            String d = OpTable.domainOf(domain);
            throw new OnnxUnsupportedException("unsupported op '" + opType + "' (domain " + (d.isEmpty() ? "ai.onnx" : d) + ", opset " + opset + ")");
        }
        return op;
    }

    /** As {@link #find(String, String, int)}, naming the node in the error. */
    public static OnnxOp find(OnnxNode node, int opset) {
        OnnxOp op = TABLE.find(node.domain(), node.opType(), opset);
        if (op == null) {
            String d = OpTable.domainOf(node.domain());
            throw new OnnxUnsupportedException("unsupported op '" + node.opType() + "' (domain " + (d.isEmpty() ? "ai.onnx" : d)
                    + ", opset " + opset + ") at node '" + node.name() + "'");
        }
        return op;
    }

    /** The resolver {@link dev.ember.loaders.onnx.OnnxSession} takes: null for an op ember does not implement. */
    public static OpResolver resolver() {
        return new OpResolver() {
            @Override public OnnxOp resolve(OnnxNode node, int opset) { return TABLE.find(node.domain(), node.opType(), opset); }

            /**
             * Conv then Relu: one pass over the output (the backend's fused conv2dBiasRelu); Add then Relu (a residual
             * block's end) and Gemm then Relu (a classifier's hidden layer: its bias and the ReLU): one pass instead of
             * two, and one array instead of two (the backend's addRelu). All where no gradient is recorded; with one,
             * the same ops as unfused.
             */
            @Override public OnnxOp fuse(OnnxNode producer, OnnxNode consumer, int opset) {
                boolean standard = OpTable.domainOf(producer.domain()).isEmpty() && OpTable.domainOf(consumer.domain()).isEmpty();
                if (!standard || !consumer.opType().equals("Relu")) return null;
                return switch (producer.opType()) {
                    case "Conv" -> ConvOps::convRelu;
                    case "Add" -> ElementwiseOps::addRelu;
                    case "Gemm" -> MatrixOps::gemmRelu;
                    default -> null;
                };
            }

            /**
             * Conv, Relu, then a MaxPool with one output (a CNN's first layer): the backend's conv2dMaxPool, which may
             * never write the convolution's output; Conv, Add (of an earlier value), then Relu: the backend's
             * conv2dAddRelu; pairs as above.
             */
            @Override public OnnxOp fuse(List<OnnxNode> chain, int opset) {
                for (OnnxNode n : chain) if (!OpTable.domainOf(n.domain()).isEmpty()) return null;
                OnnxNode head = chain.get(0);
                // Conv, then an Add of its output and an earlier value (the session passes that value after the Conv's
                // inputs), then Relu: a residual block's end, the residual added as the conv's output is written
                boolean convAdd = head.opType().equals("Conv") && chain.get(1).opType().equals("Add") && chain.get(1).inputs().size() == 2;
                if (convAdd && chain.size() == 2) return (n, in, v) -> ConvOps.convAdd(n, in, chain.get(1), false, v);
                if (convAdd && chain.size() == 3 && chain.get(2).opType().equals("Relu")) return (n, in, v) -> ConvOps.convAdd(n, in, chain.get(1), true, v);
                if (chain.size() == 2) return fuse(chain.get(0), chain.get(1), opset);
                if (chain.size() != 3) return null;
                OnnxNode pool = chain.get(2);
                boolean convReluPool = chain.get(0).opType().equals("Conv") && chain.get(1).opType().equals("Relu")
                        && pool.opType().equals("MaxPool") && pool.outputs().size() == 1;
                return convReluPool ? (n, in, v) -> ConvOps.convReluMaxPool(n, in, pool) : null;
            }

            /**
             * A Conv, or a Conv then Relu, beside a Conv of the same input (a downsampling block's 3x3/2 conv and its
             * 1x1/2 shortcut): the backend's conv2dPair, which may compute both in one pass over the input.
             */
            @Override public OnnxOp fusePair(List<OnnxNode> chain, OnnxNode sibling, int opset) {
                for (OnnxNode n : chain) if (!OpTable.domainOf(n.domain()).isEmpty()) return null;
                OnnxNode head = chain.get(0);
                boolean convs = head.opType().equals("Conv") && sibling.opType().equals("Conv") && OpTable.domainOf(sibling.domain()).isEmpty()
                        && sibling.outputs().size() == 1 && !sibling.inputs().isEmpty() && head.inputs().get(0).equals(sibling.inputs().get(0));
                boolean relu = chain.size() == 2 && chain.get(1).opType().equals("Relu");
                if (!convs || chain.size() > 2 || (chain.size() == 2 && !relu)) return null;
                return (n, in, v) -> ConvOps.convPair(head, java.util.Arrays.copyOf(in, head.inputs().size()), relu, sibling,
                        java.util.Arrays.copyOfRange(in, head.inputs().size(), in.length));
            }
        };
    }

    /** True when {@code opType} has an implementation at {@code opset}. */
    public static boolean supports(String domain, String opType, int opset) { return TABLE.find(domain, opType, opset) != null; }

    /** Every registered op: "Conv", or "domain::OpType" outside the default domain; sorted. */
    public static Set<String> opTypes() { return TABLE.keys(); }
}
