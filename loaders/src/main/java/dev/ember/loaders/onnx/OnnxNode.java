package dev.ember.loaders.onnx;

import dev.ember.engine.Tensor;
import java.util.List;
import java.util.Map;

/**
 * A node of an ONNX graph, decoded from NodeProto: its op, its input and output value names (an empty name is
 * an omitted optional input) and its attributes. Typed attribute getters give a clear {@link OnnxException}
 * naming the node when an attribute has the wrong type or a required one is missing.
 */
public record OnnxNode(String name, String opType, String domain, List<String> inputs, List<String> outputs,
                       Map<String, OnnxAttribute> attributes) {
    public OnnxNode {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        attributes = Map.copyOf(attributes);
    }

    /** "Conv 'conv1' (domain ai.onnx)" — for messages. */
    public String describe() {
        return opType + " node '" + name + "'" + (domain.isEmpty() || domain.equals("ai.onnx") ? "" : " (domain " + domain + ")");
    }

    public boolean has(String attr) { return attributes.containsKey(attr); }

    public long attrInt(String attr, long dflt) { return has(attr) ? get(attr, OnnxAttribute.Type.INT).i() : dflt; }

    public long attrInt(String attr) { return get(attr, OnnxAttribute.Type.INT).i(); }

    public float attrFloat(String attr, float dflt) { return has(attr) ? get(attr, OnnxAttribute.Type.FLOAT).f() : dflt; }

    public String attrString(String attr, String dflt) { return has(attr) ? get(attr, OnnxAttribute.Type.STRING).s() : dflt; }

    public long[] attrInts(String attr, long[] dflt) { return has(attr) ? get(attr, OnnxAttribute.Type.INTS).ints().clone() : dflt; }

    public float[] attrFloats(String attr, float[] dflt) { return has(attr) ? get(attr, OnnxAttribute.Type.FLOATS).floats().clone() : dflt; }

    public Tensor attrTensor(String attr) { return get(attr, OnnxAttribute.Type.TENSOR).t(); }

    private OnnxAttribute get(String attr, OnnxAttribute.Type want) {
        OnnxAttribute a = attributes.get(attr);
        if (a == null) throw new OnnxException(describe() + ": required attribute '" + attr + "' is missing");
        if (a.type() != want) throw new OnnxException(describe() + ": attribute '" + attr + "' should be " + want + ", is " + a.type());
        return a;
    }
}
