package dev.ember.loaders.onnx.train;

import dev.ember.engine.DType;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxAttribute;
import dev.ember.loaders.onnx.OnnxException;
import dev.ember.loaders.onnx.OnnxGraph;
import dev.ember.loaders.onnx.OnnxModel;
import dev.ember.loaders.onnx.OnnxNode;
import dev.ember.loaders.onnx.OnnxValueInfo;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Finds an imported graph's classifier head and writes the nodes that replace it by a new Linear layer; the module
 * side (parameters) is {@link OnnxModule#replaceHead}.
 *
 * <p>The head is a Gemm or MatMul whose weight (input B) is a 2-D float32 initializer. Found automatically, it is the
 * first such node met walking back from a graph output (outputs in declaration order) through only
 * {@linkplain #PASS_THROUGH unary ops that keep the class axis} (Softmax, Relu, Identity, Dropout, ...), where a MatMul
 * may be followed by an Add of a constant bias; if no output leads to one that way, it is the last such node in
 * topological order.
 *
 * <p>Replacing: a Gemm head becomes {@code Gemm(A, head.weight, head.bias, transB=1)} (its transA kept; alpha and beta
 * dropped with the old weights); a MatMul head, whose A may have any rank, becomes
 * {@code Add(MatMul(A, Transpose(head.weight)), head.bias)}, absorbing the Add of its old bias. The new nodes write the
 * old head's output value, so everything downstream reads them unchanged; graph outputs reached from it through
 * pass-through ops get {@code N} as their last axis.
 */
public final class HeadReplacement {
    /** Unary ops that keep the class axis as it is: a head may be followed by any chain of them. */
    static final Set<String> PASS_THROUGH = Set.of("Identity", "Dropout", "Relu", "LeakyRelu", "PRelu", "Elu", "Selu", "Celu",
            "Sigmoid", "HardSigmoid", "Tanh", "Softmax", "LogSoftmax", "Softplus", "Softsign", "Gelu", "Erf", "Neg", "Exp", "Log", "Abs");

    private HeadReplacement() {}

    /** The old head: which nodes go, what they read, and the sizes of the old weight. */
    record Plan(OnnxNode product, OnnxNode biasAdd, String input, String weight, String bias, int inFeatures, int outFeatures) {
        /** The value the replaced nodes wrote last: the logits before any pass-through op. */
        String output() { return (biasAdd != null ? biasAdd : product).outputs().get(0); }

        boolean removes(OnnxNode n) { return n == product || n == biasAdd; }
    }

    /** The head {@link HeadReplacement} would replace in {@code graph} (see the class comment for the rule). */
    public static OnnxNode find(OnnxGraph graph) {
        Map<String, OnnxNode> producer = producers(graph);
        for (OnnxValueInfo out : graph.outputs()) {
            OnnxNode n = producer.get(out.name());
            while (n != null) {
                if (isProduct(graph, n)) return n;
                if (n.opType().equals("Add")) {
                    OnnxNode mm = biasedMatMul(graph, producer, n);
                    if (mm != null) return mm;
                    break;
                }
                if (!PASS_THROUGH.contains(n.opType()) || n.inputs().isEmpty()) break;
                n = producer.get(n.inputs().get(0));
            }
        }
        OnnxNode last = null;
        for (OnnxNode n : graph.order()) if (isProduct(graph, n)) last = n;
        if (last == null) throw new OnnxException("graph '" + graph.name() + "' has no Gemm or MatMul whose weight is a 2-D float initializer: no head to replace");
        return last;
    }

    /** The node named {@code nodeName}, checked to be a Gemm or MatMul with a 2-D float initializer weight. */
    public static OnnxNode find(OnnxGraph graph, String nodeName) {
        for (OnnxNode n : graph.order()) {
            if (!n.name().equals(nodeName)) continue;
            if (!isProduct(graph, n)) {
                throw new OnnxException(n.describe() + " cannot be a head: it must be a Gemm or MatMul whose input B is a 2-D float32 initializer");
            }
            return n;
        }
        throw new OnnxException("graph '" + graph.name() + "' has no node named '" + nodeName + "'");
    }

    /** The sizes and values of head {@code head}, and the bias Add a MatMul head absorbs. */
    static Plan plan(OnnxGraph graph, OnnxNode head) {
        Tensor w = graph.initializers().get(head.inputs().get(1));
        String input = head.inputs().get(0);
        if (head.opType().equals("Gemm")) {
            boolean transB = head.attrInt("transB", 0) != 0;   // B (out, in) when transposed, else (in, out)
            String bias = head.inputs().size() > 2 && !head.inputs().get(2).isEmpty() ? head.inputs().get(2) : null;
            return new Plan(head, null, input, head.inputs().get(1), bias, w.dim(transB ? 1 : 0), w.dim(transB ? 0 : 1));
        }
        OnnxNode add = absorbedAdd(graph, head, w.dim(1));
        String bias = add == null ? null : otherInput(add, head.outputs().get(0));
        return new Plan(head, add, input, head.inputs().get(1), bias, w.dim(0), w.dim(1));
    }

    /**
     * The nodes that replace {@code plan}'s: they read {@code weightName} (out, in) and {@code biasName} (out) and write
     * the old head's output value. {@code taken} is every value name in the graph, for naming intermediates.
     */
    static List<OnnxNode> newNodes(Plan plan, String weightName, String biasName, Set<String> taken) {
        OnnxNode old = plan.product();
        if (old.opType().equals("Gemm")) {
            Map<String, OnnxAttribute> attrs = new HashMap<>();
            attrs.put("transB", OnnxAttribute.ofInt("transB", 1));
            if (old.attrInt("transA", 0) != 0) attrs.put("transA", OnnxAttribute.ofInt("transA", 1));
            return List.of(new OnnxNode(old.name(), "Gemm", "", List.of(plan.input(), weightName, biasName), List.of(plan.output()), attrs));
        }
        String transposed = unique(weightName + "/transposed", taken), product = unique(plan.output() + "/no_bias", taken);
        return List.of(
                new OnnxNode(old.name() + "/weight_t", "Transpose", "", List.of(weightName), List.of(transposed),
                        Map.of("perm", OnnxAttribute.ofInts("perm", new long[] {1, 0}))),
                new OnnxNode(old.name(), "MatMul", "", List.of(plan.input(), transposed), List.of(product), Map.of()),
                new OnnxNode(old.name() + "/bias", "Add", "", List.of(product, biasName), List.of(plan.output()), Map.of()));
    }

    /** The graph outputs reached from {@code value} through pass-through ops, with their last axis set to {@code classes}. */
    static List<OnnxValueInfo> outputs(OnnxGraph graph, String value, int classes) {
        Set<String> reached = new HashSet<>(List.of(value));
        for (OnnxNode n : graph.order()) {   // topological, so one pass follows every chain
            if (PASS_THROUGH.contains(n.opType()) && !n.inputs().isEmpty() && reached.contains(n.inputs().get(0))) reached.add(n.outputs().get(0));
        }
        List<OnnxValueInfo> out = new ArrayList<>();
        for (OnnxValueInfo o : graph.outputs()) {
            if (!reached.contains(o.name()) || !o.hasShape() || o.shape().isEmpty()) {
                out.add(o);
                continue;
            }
            List<OnnxValueInfo.Dim> dims = new ArrayList<>(o.shape());
            dims.set(dims.size() - 1, new OnnxValueInfo.Dim(classes, null));
            out.add(new OnnxValueInfo(o.name(), o.kind(), o.elemType(), dims));
        }
        return out;
    }

    // ---- helpers ----

    private static boolean isProduct(OnnxGraph graph, OnnxNode n) {
        if (!standard(n) || !(n.opType().equals("Gemm") || n.opType().equals("MatMul")) || n.inputs().size() < 2) return false;
        Tensor w = graph.initializers().get(n.inputs().get(1));
        return w != null && w.rank() == 2 && w.dtype() == DType.FLOAT32;
    }

    /** The MatMul head under {@code add} when add = MatMul(x, W) + constant bias; else null. */
    private static OnnxNode biasedMatMul(OnnxGraph graph, Map<String, OnnxNode> producer, OnnxNode add) {
        for (String in : add.inputs()) {
            OnnxNode p = producer.get(in);
            if (p != null && p.opType().equals("MatMul") && isProduct(graph, p) && absorbedAdd(graph, p, graph.initializers().get(p.inputs().get(1)).dim(1)) == add) return p;
        }
        return null;
    }

    /**
     * The Add that adds a constant bias of {@code out} elements to MatMul {@code mm}'s output, when it is the output's only
     * reader and the output is no graph output; else null.
     */
    private static OnnxNode absorbedAdd(OnnxGraph graph, OnnxNode mm, int out) {
        String y = mm.outputs().get(0);
        if (graph.outputs().stream().anyMatch(o -> o.name().equals(y))) return null;
        OnnxNode reader = null;
        for (OnnxNode n : graph.order()) {
            if (!n.inputs().contains(y)) continue;
            if (reader != null) return null;
            reader = n;
        }
        if (reader == null || !reader.opType().equals("Add") || reader.inputs().size() != 2 || !standard(reader)) return null;
        Tensor b = graph.initializers().get(otherInput(reader, y));
        boolean vector = b != null && b.dtype() == DType.FLOAT32 && b.rank() >= 1 && b.rank() <= 2 && b.numel() == out && b.dim(-1) == out;
        return vector ? reader : null;
    }

    private static boolean standard(OnnxNode n) { return OnnxModel.canonicalDomain(n.domain()).equals(OnnxModel.DEFAULT_DOMAIN); }

    private static String otherInput(OnnxNode add, String value) {
        return add.inputs().get(0).equals(value) ? add.inputs().get(1) : add.inputs().get(0);
    }

    private static Map<String, OnnxNode> producers(OnnxGraph graph) {
        Map<String, OnnxNode> p = new HashMap<>();
        for (OnnxNode n : graph.order()) for (String out : n.outputs()) if (!out.isEmpty()) p.put(out, n);
        return p;
    }

    static String unique(String hint, Set<String> taken) {
        String s = hint;
        for (int i = 1; taken.contains(s); i++) s = hint + "_" + i;
        taken.add(s);
        return s;
    }
}
