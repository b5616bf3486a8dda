package dev.ember.loaders.onnx;

import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.proto.OnnxProto.GraphProto;
import dev.ember.loaders.onnx.proto.OnnxProto.TensorProto;
import dev.ember.loaders.onnx.proto.OnnxProto.TensorShapeProto;
import dev.ember.loaders.onnx.proto.OnnxProto.TypeProto;
import dev.ember.loaders.onnx.proto.OnnxProto.ValueInfoProto;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * A decoded and checked ONNX graph: nodes, initializers (name to constant tensor), the graph inputs a caller
 * must feed (initializers excluded), outputs and declared value types.
 *
 * <p>Checked on construction, each failure an {@link OnnxException} naming the value or node: every value has
 * one producer (node output, initializer or graph input); every node input and graph output has a producer
 * (no dangling names); no cycles; no empty op types. {@link #order()} is a topological order that keeps file
 * order wherever dependencies allow, and {@link #lastUse} tells for each value the last step that reads it, so
 * an executor can drop intermediates early.
 *
 * <p>Values read only inside subgraph attributes (If/Loop bodies, not decoded) are invisible here; ops with such
 * attributes are not supported.
 */
public final class OnnxGraph {
    /** lastUse of a value that must outlive every step: a graph output. */
    public static final int KEEP = Integer.MAX_VALUE;

    private final String name;
    private final List<OnnxNode> nodes;
    private final List<OnnxNode> order;
    private final Map<String, Tensor> initializers;
    private final List<OnnxValueInfo> inputs;
    private final List<OnnxValueInfo> outputs;
    private final Map<String, OnnxValueInfo> valueInfo;
    private final Map<String, Integer> lastUse;

    private OnnxGraph(String name, List<OnnxNode> nodes, List<OnnxNode> order, Map<String, Tensor> initializers,
                      List<OnnxValueInfo> inputs, List<OnnxValueInfo> outputs, Map<String, OnnxValueInfo> valueInfo,
                      Map<String, Integer> lastUse) {
        this.name = name;
        this.nodes = List.copyOf(nodes);
        this.order = List.copyOf(order);
        this.initializers = Collections.unmodifiableMap(initializers);
        this.inputs = List.copyOf(inputs);
        this.outputs = List.copyOf(outputs);
        this.valueInfo = Collections.unmodifiableMap(valueInfo);
        this.lastUse = Collections.unmodifiableMap(lastUse);
    }

    public String name() { return name; }

    /** Nodes in file order. */
    public List<OnnxNode> nodes() { return nodes; }

    /** Nodes in execution order: topological, file order where dependencies allow. */
    public List<OnnxNode> order() { return order; }

    /** Initializers by name, in file order. */
    public Map<String, Tensor> initializers() { return initializers; }

    /**
     * This graph with the initializers named in {@code replacements} holding those tensors instead (each of the same
     * dtype and shape as the one it replaces); nodes, inputs and outputs shared.
     */
    OnnxGraph withInitializers(Map<String, Tensor> replacements) {
        Map<String, Tensor> merged = new LinkedHashMap<>(initializers);
        for (Map.Entry<String, Tensor> e : replacements.entrySet()) {
            Tensor old = initializers.get(e.getKey()), t = e.getValue();
            if (old == null) throw new OnnxException("graph '" + name + "' has no initializer '" + e.getKey() + "' to replace");
            if (old.dtype() != t.dtype() || !old.shape().equals(t.shape())) {
                throw new OnnxException("initializer '" + e.getKey() + "' is " + old.dtype() + " " + old.shape() + "; its replacement is " + t.dtype() + " " + t.shape());
            }
            merged.put(e.getKey(), t);
        }
        return new OnnxGraph(name, nodes, order, merged, inputs, outputs, valueInfo, lastUse);
    }

    /** The inputs a caller feeds: graph inputs that are not initializers, in file order. */
    public List<OnnxValueInfo> inputs() { return inputs; }

    public List<OnnxValueInfo> outputs() { return outputs; }

    /** Declared types of intermediate values (value_info), by name. */
    public Map<String, OnnxValueInfo> valueInfo() { return valueInfo; }

    /**
     * The position in {@link #order()} of the last node reading {@code value}; {@link #KEEP} for a graph output;
     * -1 when nothing reads it.
     */
    public int lastUse(String value) { return lastUse.getOrDefault(value, -1); }

    // ---- decoding and checks ----

    /** Decodes and checks {@code g}; external initializer data is looked up in {@code folder} (may be null). */
    static OnnxGraph of(GraphProto g, Path folder) {
        Map<String, String> producedBy = new HashMap<>();   // value -> "initializer", "graph input" or a node

        Map<String, Tensor> initializers = new LinkedHashMap<>();
        for (int i = 0; i < g.getInitializerCount(); i++) {
            TensorProto t = g.getInitializer(i);
            if (t.getName().isEmpty()) throw new OnnxException("initializer " + i + " has no name");
            if (initializers.containsKey(t.getName())) throw new OnnxException("initializer '" + t.getName() + "' appears twice");
            initializers.put(t.getName(), OnnxTensors.decode(t, folder, "initializer '" + t.getName() + "'"));
            producedBy.put(t.getName(), "an initializer");
        }

        List<OnnxValueInfo> inputs = new ArrayList<>();
        Set<String> inputNames = new HashSet<>();
        for (ValueInfoProto v : g.getInputList()) {
            if (v.getName().isEmpty()) throw new OnnxException("a graph input has no name");
            if (!inputNames.add(v.getName())) throw new OnnxException("graph input '" + v.getName() + "' appears twice");
            if (initializers.containsKey(v.getName())) continue;   // an initializer's declaration, not a value to feed
            inputs.add(valueInfo(v));
            producedBy.put(v.getName(), "a graph input");
        }

        List<OnnxNode> nodes = new ArrayList<>(g.getNodeCount());
        for (int i = 0; i < g.getNodeCount(); i++) nodes.add(NodeDecoder.decode(g.getNode(i), i, folder));

        Map<String, Integer> producerNode = new HashMap<>();
        for (int i = 0; i < nodes.size(); i++) {
            OnnxNode n = nodes.get(i);
            for (String out : n.outputs()) {
                if (out.isEmpty()) continue;   // an optional output the model does not want
                String earlier = producedBy.putIfAbsent(out, n.describe());
                if (earlier != null) throw new OnnxException("value '" + out + "' is produced twice: by " + earlier + " and by " + n.describe());
                producerNode.put(out, i);
            }
        }
        for (OnnxNode n : nodes) {
            for (String in : n.inputs()) {
                if (!in.isEmpty() && !producedBy.containsKey(in)) {
                    throw new OnnxException(n.describe() + " reads '" + in + "', which no node, initializer or graph input produces");
                }
            }
        }

        List<OnnxValueInfo> outputs = new ArrayList<>();
        Set<String> outputNames = new HashSet<>();
        for (ValueInfoProto v : g.getOutputList()) {
            if (v.getName().isEmpty()) throw new OnnxException("a graph output has no name");
            if (!outputNames.add(v.getName())) throw new OnnxException("graph output '" + v.getName() + "' appears twice");
            if (!producedBy.containsKey(v.getName())) throw new OnnxException("graph output '" + v.getName() + "' is produced by no node, initializer or graph input");
            outputs.add(valueInfo(v));
        }

        Map<String, OnnxValueInfo> valueInfo = new LinkedHashMap<>();
        for (ValueInfoProto v : g.getValueInfoList()) {
            if (!v.getName().isEmpty()) valueInfo.putIfAbsent(v.getName(), valueInfo(v));
        }

        List<OnnxNode> order = topologicalOrder(nodes, producerNode);
        return new OnnxGraph(g.getName(), nodes, order, initializers, inputs, outputs, valueInfo, lastUses(order, outputNames));
    }

    /** For each value read in {@code order}, the position of its last reader; {@link #KEEP} for the graph's outputs. */
    static Map<String, Integer> lastUses(List<OnnxNode> order, java.util.Collection<String> outputNames) {
        Map<String, Integer> lastUse = new HashMap<>();
        for (int step = 0; step < order.size(); step++) {
            for (String in : order.get(step).inputs()) if (!in.isEmpty()) lastUse.put(in, step);
        }
        for (String out : outputNames) lastUse.put(out, KEEP);
        return lastUse;
    }

    /** How many nodes of {@code order} read each value (a node reading it twice counts once). */
    static Map<String, Integer> readerCounts(List<OnnxNode> order) {
        Map<String, Integer> readers = new HashMap<>();
        for (OnnxNode n : order) for (String in : new HashSet<>(n.inputs())) if (!in.isEmpty()) readers.merge(in, 1, Integer::sum);
        return readers;
    }

    /** The position in {@code order} of each node output's producer. */
    static Map<String, Integer> producedAt(List<OnnxNode> order) {
        Map<String, Integer> at = new HashMap<>();
        for (int step = 0; step < order.size(); step++) for (String out : order.get(step).outputs()) if (!out.isEmpty()) at.put(out, step);
        return at;
    }

    /**
     * Kahn's algorithm, always taking the ready node that comes first in the file, so a file already in
     * topological order runs as written. Nodes left over lie on or behind a cycle; one cycle is named.
     */
    private static List<OnnxNode> topologicalOrder(List<OnnxNode> nodes, Map<String, Integer> producerNode) {
        int n = nodes.size();
        int[] waiting = new int[n];                 // inputs of node i whose producer node has not run
        List<List<Integer>> readers = new ArrayList<>(n);
        for (int i = 0; i < n; i++) readers.add(new ArrayList<>());
        for (int i = 0; i < n; i++) {
            for (String in : nodes.get(i).inputs()) {
                Integer p = producerNode.get(in);
                if (p != null) {
                    readers.get(p).add(i);
                    waiting[i]++;
                }
            }
        }
        PriorityQueue<Integer> ready = new PriorityQueue<>();
        for (int i = 0; i < n; i++) if (waiting[i] == 0) ready.add(i);
        List<OnnxNode> order = new ArrayList<>(n);
        boolean[] done = new boolean[n];
        while (!ready.isEmpty()) {
            int i = ready.poll();
            done[i] = true;
            order.add(nodes.get(i));
            for (int r : readers.get(i)) if (--waiting[r] == 0) ready.add(r);
        }
        if (order.size() < n) throw new OnnxException("the graph has a cycle: " + describeCycle(nodes, producerNode, done));
        return order;
    }

    /**
     * Walks from a node that never became ready to a producer that never ran, and so on, until a node repeats:
     * that node is on a cycle. Iterative, so a long cycle cannot overflow the stack.
     */
    private static String describeCycle(List<OnnxNode> nodes, Map<String, Integer> producerNode, boolean[] done) {
        int start = 0;
        while (done[start]) start++;
        int[] seenAt = new int[nodes.size()];
        Arrays.fill(seenAt, -1);
        List<Integer> path = new ArrayList<>();
        int at = start;
        while (seenAt[at] < 0) {
            seenAt[at] = path.size();
            path.add(at);
            at = pendingProducer(nodes.get(at), producerNode, done);
        }
        List<Integer> cycle = new ArrayList<>(path.subList(seenAt[at], path.size()));
        Collections.reverse(cycle);   // walked against the data flow; print it along
        List<String> names = new ArrayList<>();
        for (int i : cycle.subList(0, Math.min(cycle.size(), 8))) names.add(nodes.get(i).describe());
        if (cycle.size() > 8) names.add("... (" + (cycle.size() - 8) + " more)");
        names.add(nodes.get(cycle.get(0)).describe());
        return String.join(" -> ", names);
    }

    /** A node that produces one of {@code n}'s inputs and has not run; one exists for every node left over. */
    private static int pendingProducer(OnnxNode n, Map<String, Integer> producerNode, boolean[] done) {
        for (String in : n.inputs()) {
            Integer p = producerNode.get(in);
            if (p != null && !done[p]) return p;
        }
        throw new IllegalStateException(n.describe() + " was left unordered with every producer done");
    }

    private static OnnxValueInfo valueInfo(ValueInfoProto v) {
        TypeProto type = v.getType();
        OnnxValueInfo.Kind kind = switch (type.getValueCase()) {
            case TENSOR_TYPE -> OnnxValueInfo.Kind.TENSOR;
            case SEQUENCE_TYPE -> OnnxValueInfo.Kind.SEQUENCE;
            case MAP_TYPE -> OnnxValueInfo.Kind.MAP;
            case OPTIONAL_TYPE -> OnnxValueInfo.Kind.OPTIONAL;
            case SPARSE_TENSOR_TYPE -> OnnxValueInfo.Kind.SPARSE_TENSOR;
            case VALUE_NOT_SET -> OnnxValueInfo.Kind.UNDECLARED;
        };
        if (kind != OnnxValueInfo.Kind.TENSOR) return new OnnxValueInfo(v.getName(), kind, 0, null);
        TypeProto.Tensor t = type.getTensorType();
        if (!t.hasShape()) return new OnnxValueInfo(v.getName(), kind, t.getElemType(), null);
        List<OnnxValueInfo.Dim> dims = new ArrayList<>();
        for (TensorShapeProto.Dimension d : t.getShape().getDimList()) {
            if (d.hasDimValue() && d.getDimValue() >= 0) dims.add(new OnnxValueInfo.Dim(d.getDimValue(), null));
            else if (d.hasDimParam() && !d.getDimParam().isEmpty()) dims.add(new OnnxValueInfo.Dim(-1, d.getDimParam()));
            else dims.add(new OnnxValueInfo.Dim(-1, null));
        }
        return new OnnxValueInfo(v.getName(), kind, t.getElemType(), dims);
    }
}
