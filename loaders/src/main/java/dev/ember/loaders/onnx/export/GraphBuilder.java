package dev.ember.loaders.onnx.export;

import dev.ember.engine.DType;
import dev.ember.engine.Tensor;
import dev.ember.loaders.checkpoint.AtomicFile;
import dev.ember.loaders.onnx.OnnxAttribute;
import dev.ember.loaders.onnx.OnnxException;
import dev.ember.loaders.onnx.OnnxNode;
import dev.ember.loaders.onnx.OnnxTensors;
import dev.ember.loaders.onnx.OnnxValueInfo;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Builds an ONNX model from graph inputs, initializers, nodes and outputs, and writes it. The node and value types
 * are the reader's ({@link OnnxNode}, {@link OnnxAttribute}, {@link OnnxValueInfo}), so a graph read with
 * {@link dev.ember.loaders.onnx.OnnxModel#read} can be written back node for node, with new initializer values
 * and extra nodes (a replaced head).
 *
 * <p>Order of use: {@link #opset} (the standard set defaults to {@value #DEFAULT_OPSET}), {@link #input}s and
 * {@link #initializer}s, then {@link #node}s in a topological order (each reads only values defined before it),
 * {@link #output}s, and {@link #write}. Every name is checked as it is added: a value defined twice, a node reading
 * a value nothing defined, or an output nothing produces is an {@link OnnxException} naming it, so a model that
 * builds is well-formed. Attributes are written sorted by name and nothing depends on hash order, so the same
 * graph always gives the same bytes.
 */
public final class GraphBuilder {
    /** The standard operator set version written unless {@link #opset} says otherwise. */
    public static final int DEFAULT_OPSET = 17;
    /** IR version 8 goes with opsets up to 18 (ONNX 1.13-1.14); raise it with {@link #irVersion} for newer opsets. */
    public static final long DEFAULT_IR_VERSION = 8;
    public static final String PRODUCER_NAME = "ember";
    public static final String PRODUCER_VERSION = "0.1.0";

    private final String graphName;
    private final Map<String, Integer> opsets = new LinkedHashMap<>();
    private long irVersion = DEFAULT_IR_VERSION;
    private String producerName = PRODUCER_NAME;
    private String producerVersion = PRODUCER_VERSION;
    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final List<OnnxValueInfo> inputs = new ArrayList<>();
    private final Map<String, Tensor> initializers = new LinkedHashMap<>();
    private final List<OnnxNode> nodes = new ArrayList<>();
    private final List<OnnxValueInfo> outputs = new ArrayList<>();
    private final Set<String> values = new HashSet<>();      // every defined value: inputs, initializers, node outputs
    private final Set<String> nodeNames = new HashSet<>();

    public GraphBuilder(String graphName) {
        this.graphName = graphName;
        opsets.put("", DEFAULT_OPSET);
    }

    // ---- model-level fields ----

    /** Imports {@code version} of operator set {@code domain} ("" or "ai.onnx" is the standard one). */
    public GraphBuilder opset(String domain, int version) {
        if (version < 1) throw new OnnxException("opset version must be >= 1, got " + version + " for domain '" + domain + "'");
        opsets.put(domain.equals("ai.onnx") ? "" : domain, version);
        return this;
    }

    public GraphBuilder irVersion(long version) {
        if (version < 3) throw new OnnxException("IR version must be >= 3 (initializers outside the inputs need it), got " + version);
        irVersion = version;
        return this;
    }

    public GraphBuilder producer(String name, String version) {
        producerName = name;
        producerVersion = version;
        return this;
    }

    /** A model-level metadata_props entry. */
    public GraphBuilder metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    // ---- values ----

    /** Declares a graph input and returns its name. */
    public String input(OnnxValueInfo info) {
        define(info.name(), "graph input");
        inputs.add(info);
        return info.name();
    }

    /** A float32/int/bool input whose dims are fixed sizes ({@code >= 0}) or named ones (see {@link #dims}). */
    public String input(String name, DType dtype, List<OnnxValueInfo.Dim> shape) {
        return input(new OnnxValueInfo(name, OnnxTensors.onnxType(dtype), shape));
    }

    /** A constant the graph reads by {@code name} (a trained weight); stored in the file. Returns the name. */
    public String initializer(String name, Tensor value) {
        define(name, "initializer");
        initializers.put(name, value);
        return name;
    }

    /** Declares graph output {@code info}; a node, input or initializer must already define it. */
    public GraphBuilder output(OnnxValueInfo info) {
        if (!values.contains(info.name())) throw new OnnxException("graph output '" + info.name() + "' is not produced by any node, input or initializer");
        for (OnnxValueInfo o : outputs) if (o.name().equals(info.name())) throw new OnnxException("graph output '" + info.name() + "' is declared twice");
        outputs.add(info);
        return this;
    }

    public GraphBuilder output(String name, DType dtype, List<OnnxValueInfo.Dim> shape) {
        return output(new OnnxValueInfo(name, OnnxTensors.onnxType(dtype), shape));
    }

    /** Whether some input, initializer or node output already has {@code name}. */
    public boolean hasValue(String name) { return values.contains(name); }

    /** {@code hint} when no value has that name yet, else {@code hint_1}, {@code hint_2}, ... */
    public String uniqueValueName(String hint) { return unique(hint, values); }

    /** Dims for a value info: each {@code >= 0} is a fixed size; {@code symbolic} names dim 0 when not null. */
    public static List<OnnxValueInfo.Dim> dims(String symbolic, int... sizes) {
        List<OnnxValueInfo.Dim> out = new ArrayList<>();
        for (int i = 0; i < sizes.length; i++) {
            out.add(i == 0 && symbolic != null ? new OnnxValueInfo.Dim(-1, symbolic) : new OnnxValueInfo.Dim(sizes[i], null));
        }
        return out;
    }

    // ---- nodes ----

    /** Adds {@code node} as given (names kept); its inputs must be defined, its outputs new. */
    public OnnxNode node(OnnxNode node) {
        String what = node.describe();
        if (node.opType().isEmpty()) throw new OnnxException("node '" + node.name() + "' has an empty op type");
        for (String in : node.inputs()) {
            if (!in.isEmpty() && !values.contains(in)) {
                throw new OnnxException(what + " reads '" + in + "', which no earlier node, graph input or initializer defines (add nodes in topological order)");
            }
        }
        for (OnnxAttribute a : node.attributes().values()) {
            if (a.type() == OnnxAttribute.Type.GRAPH || a.type() == OnnxAttribute.Type.OTHER) {
                throw new OnnxException(what + ": attribute '" + a.name() + "' of type " + a.type() + " cannot be exported");
            }
        }
        List<String> outs = new ArrayList<>();
        for (String out : node.outputs()) if (!out.isEmpty()) outs.add(out);
        for (String out : outs) if (values.contains(out)) throw new OnnxException(what + " writes '" + out + "', which is already defined");
        if (new HashSet<>(outs).size() != outs.size()) throw new OnnxException(what + " lists an output twice: " + outs);
        values.addAll(outs);
        nodeNames.add(node.name());
        nodes.add(node);
        return node;
    }

    /**
     * Adds a one-output node of the standard operator set named after {@code nameHint} (made unique), whose output
     * value is named {@code nameHint + ":0"} (made unique); returns the output's name.
     */
    public String node(String opType, String nameHint, List<String> inputs, OnnxAttribute... attributes) {
        String name = unique(nameHint, nodeNames);
        String out = uniqueValueName(nameHint + ":0");
        Map<String, OnnxAttribute> attrs = new LinkedHashMap<>();
        for (OnnxAttribute a : attributes) {
            if (attrs.put(a.name(), a) != null) throw new OnnxException(opType + " node '" + name + "': attribute '" + a.name() + "' given twice");
        }
        node(new OnnxNode(name, opType, "", inputs, List.of(out), attrs));
        return out;
    }

    /** A Constant node holding {@code value}; returns its output's name. Constants are not initializers. */
    public String constant(String nameHint, Tensor value) {
        return node("Constant", nameHint, List.of(), OnnxAttribute.ofTensor("value", value));
    }

    /**
     * Renames value {@code from} to {@code to} in every node that writes or reads it (for naming the graph output
     * after lowering); {@code from} must be a node output not yet declared as a graph output.
     */
    public void renameNodeOutput(String from, String to) {
        if (values.contains(to)) throw new OnnxException("cannot rename '" + from + "' to '" + to + "': that name is taken");
        for (OnnxValueInfo o : outputs) if (o.name().equals(from)) throw new OnnxException("cannot rename '" + from + "': it is already a graph output");
        if (nodes.stream().noneMatch(n -> n.outputs().contains(from))) throw new OnnxException("cannot rename '" + from + "': no node writes it");
        for (int i = 0; i < nodes.size(); i++) {
            OnnxNode n = nodes.get(i);
            if (!n.outputs().contains(from) && !n.inputs().contains(from)) continue;
            nodes.set(i, new OnnxNode(n.name(), n.opType(), n.domain(), replace(n.inputs(), from, to), replace(n.outputs(), from, to), n.attributes()));
        }
        values.remove(from);
        values.add(to);
    }

    private static List<String> replace(List<String> names, String from, String to) {
        List<String> out = new ArrayList<>(names);
        Collections.replaceAll(out, from, to);
        return out;
    }

    // ---- read back what was built ----

    public List<OnnxNode> nodes() { return Collections.unmodifiableList(nodes); }

    public Map<String, Tensor> initializers() { return Collections.unmodifiableMap(initializers); }

    // ---- write ----

    /** The model as ONNX protobuf bytes. */
    public byte[] toBytes() { return ModelEncoder.encode(this).toByteArray(); }

    /** Writes the model to {@code file} atomically (temporary file, fsync, rename). */
    public void write(Path file) throws IOException {
        var model = ModelEncoder.encode(this);
        AtomicFile.write(file, model::writeTo);
    }

    // ---- for ModelEncoder ----

    String graphName() { return graphName; }
    Map<String, Integer> opsets() { return opsets; }
    long irVersion() { return irVersion; }
    String producerName() { return producerName; }
    String producerVersion() { return producerVersion; }
    Map<String, String> metadataProps() { return metadata; }
    List<OnnxValueInfo> inputs() { return inputs; }
    List<OnnxValueInfo> outputs() { return outputs; }

    // ---- helpers ----

    private void define(String name, String what) {
        if (name == null || name.isEmpty()) throw new OnnxException("a " + what + " needs a non-empty name");
        if (!values.add(name)) throw new OnnxException(what + " '" + name + "': a value of that name is already defined");
    }

    private static String unique(String hint, Set<String> taken) {
        if (!taken.contains(hint)) return hint;
        for (int i = 1; ; i++) {
            String s = hint + "_" + i;
            if (!taken.contains(s)) return s;
        }
    }

    @Override public String toString() {
        return "GraphBuilder[" + graphName + ": " + inputs.size() + " inputs, " + initializers.size() + " initializers, "
                + nodes.size() + " nodes, " + outputs.size() + " outputs, opsets " + opsets + "]";
    }
}
