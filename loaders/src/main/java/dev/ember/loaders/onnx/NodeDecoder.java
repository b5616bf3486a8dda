package dev.ember.loaders.onnx;

import dev.ember.loaders.onnx.proto.OnnxProto.AttributeProto;
import dev.ember.loaders.onnx.proto.OnnxProto.AttributeProto.AttributeType;
import dev.ember.loaders.onnx.proto.OnnxProto.NodeProto;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * NodeProto to {@link OnnxNode}: names, inputs, outputs and decoded attributes. A node without a name is named
 * {@code #i} (its position in the file) so that messages can point at it. Graph-valued attributes (If/Loop bodies)
 * become {@link OnnxAttribute.Type#GRAPH} without a value; sparse tensors, tensor lists and type protos become
 * {@link OnnxAttribute.Type#OTHER}.
 */
final class NodeDecoder {
    private NodeDecoder() {}

    static OnnxNode decode(NodeProto p, int index, Path folder) {
        String name = p.getName().isEmpty() ? "#" + index : p.getName();
        if (p.getOpType().isEmpty()) throw new OnnxException("node " + index + " ('" + name + "') has an empty op_type");
        String where = p.getOpType() + " node '" + name + "'";
        Map<String, OnnxAttribute> attributes = new LinkedHashMap<>();
        for (AttributeProto a : p.getAttributeList()) {
            if (a.getName().isEmpty()) throw new OnnxException(where + ": an attribute has no name");
            if (attributes.containsKey(a.getName())) throw new OnnxException(where + ": attribute '" + a.getName() + "' appears twice");
            attributes.put(a.getName(), attribute(a, where, folder));
        }
        return new OnnxNode(name, p.getOpType(), p.getDomain(), p.getInputList(), p.getOutputList(), attributes);
    }

    private static OnnxAttribute attribute(AttributeProto a, String where, Path folder) {
        String name = a.getName();
        AttributeType type = a.hasType() ? a.getType() : guessType(a);
        if (!a.getRefAttrName().isEmpty()) return other(name);   // a function-body reference: meaningless in a main graph
        return switch (type) {
            case FLOAT -> OnnxAttribute.ofFloat(name, a.getF());
            case INT -> OnnxAttribute.ofInt(name, a.getI());
            case STRING -> OnnxAttribute.ofString(name, a.getS().toStringUtf8());
            case TENSOR -> OnnxAttribute.ofTensor(name, OnnxTensors.decode(a.getT(), folder, where + ": attribute '" + name + "'"));
            case FLOATS -> {
                float[] v = new float[a.getFloatsCount()];
                for (int i = 0; i < v.length; i++) v[i] = a.getFloats(i);
                yield OnnxAttribute.ofFloats(name, v);
            }
            case INTS -> {
                long[] v = new long[a.getIntsCount()];
                for (int i = 0; i < v.length; i++) v[i] = a.getInts(i);
                yield OnnxAttribute.ofInts(name, v);
            }
            case STRINGS -> {
                String[] v = new String[a.getStringsCount()];
                for (int i = 0; i < v.length; i++) v[i] = a.getStrings(i).toStringUtf8();
                yield OnnxAttribute.ofStrings(name, v);
            }
            case GRAPH, GRAPHS -> new OnnxAttribute(name, OnnxAttribute.Type.GRAPH, 0, 0, null, null, null, null, null);
            default -> other(name);
        };
    }

    private static OnnxAttribute other(String name) {
        return new OnnxAttribute(name, OnnxAttribute.Type.OTHER, 0, 0, null, null, null, null, null);
    }

    /** IR version 1 files carry no type discriminator: take the one value field that is set. */
    private static AttributeType guessType(AttributeProto a) {
        if (a.hasF()) return AttributeType.FLOAT;
        if (a.hasI()) return AttributeType.INT;
        if (a.hasS()) return AttributeType.STRING;
        if (a.hasT()) return AttributeType.TENSOR;
        if (a.hasG()) return AttributeType.GRAPH;
        if (a.getFloatsCount() > 0) return AttributeType.FLOATS;
        if (a.getIntsCount() > 0) return AttributeType.INTS;
        if (a.getStringsCount() > 0) return AttributeType.STRINGS;
        if (a.getGraphsCount() > 0) return AttributeType.GRAPHS;
        return AttributeType.UNDEFINED;
    }
}
