package dev.ember.loaders.onnx;

import com.google.protobuf.ByteString;
import dev.ember.loaders.onnx.proto.OnnxProto.AttributeProto;
import dev.ember.loaders.onnx.proto.OnnxProto.GraphProto;
import dev.ember.loaders.onnx.proto.OnnxProto.ModelProto;
import dev.ember.loaders.onnx.proto.OnnxProto.NodeProto;
import dev.ember.loaders.onnx.proto.OnnxProto.OperatorSetIdProto;
import dev.ember.loaders.onnx.proto.OnnxProto.StringStringEntryProto;
import dev.ember.loaders.onnx.proto.OnnxProto.TensorProto;
import dev.ember.loaders.onnx.proto.OnnxProto.TensorShapeProto;
import dev.ember.loaders.onnx.proto.OnnxProto.ValueInfoProto;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Field-level mutations of a well-formed model, for the fuzz test: byte mutations mostly break the protobuf
 * framing, these keep it valid and attack what comes after (tensor dims and types, data lengths, external data,
 * node wiring, attribute types, opsets, declared shapes).
 */
final class ProtoMutations {
    private ProtoMutations() {}

    private static final long[] BAD_SIZES = {0, -1, 1L << 31, 1L << 40, Long.MAX_VALUE, Long.MIN_VALUE, Integer.MAX_VALUE, 3};
    private static final String[] BAD_LOCATIONS = {"../escape.bin", "/etc/passwd", "", "a/../../b", "weights.bin", "a\0b", "..", "."};

    /** One field mutation of {@code m}, described in {@code how}. */
    static ModelProto mutate(ModelProto m, Random r, StringBuilder how) {
        ModelProto.Builder model = m.toBuilder();
        GraphProto.Builder g = model.getGraphBuilder();
        switch (r.nextInt(8)) {
            case 0, 1 -> {
                List<TensorProto.Builder> tensors = tensors(g);
                if (tensors.isEmpty()) {
                    how.append("no tensor to mutate");
                    break;
                }
                mutateTensor(tensors.get(r.nextInt(tensors.size())), r, how);
            }
            case 2 -> {
                if (g.getNodeCount() == 0) break;
                NodeProto.Builder n = g.getNodeBuilder(r.nextInt(g.getNodeCount()));
                List<String> names = valueNames(g);
                switch (r.nextInt(5)) {
                    case 0 -> {
                        if (n.getInputCount() > 0) n.setInput(r.nextInt(n.getInputCount()), names.get(r.nextInt(names.size())));
                        how.append("node '").append(n.getName()).append("' input rewired");
                    }
                    case 1 -> {
                        if (n.getOutputCount() > 0) n.setOutput(r.nextInt(n.getOutputCount()), names.get(r.nextInt(names.size())));
                        how.append("node '").append(n.getName()).append("' output renamed to an existing value");
                    }
                    case 2 -> {
                        n.setOpType(r.nextBoolean() ? "" : "NoSuchOp");
                        how.append("node op_type changed");
                    }
                    case 3 -> {
                        n.setDomain(r.nextBoolean() ? "ai.onnx" : "com.unknown");
                        how.append("node domain changed");
                    }
                    default -> {
                        n.addInput(r.nextBoolean() ? "" : "ghost");
                        how.append("node input added");
                    }
                }
            }
            case 3 -> {
                if (g.getNodeCount() == 0) break;
                int i = r.nextInt(g.getNodeCount());
                if (r.nextBoolean()) {
                    g.addNode(g.getNode(i));
                    how.append("node ").append(i).append(" duplicated");
                } else {
                    g.removeNode(i);
                    how.append("node ").append(i).append(" removed");
                }
            }
            case 4 -> {
                List<AttributeProto.Builder> attrs = new ArrayList<>();
                for (NodeProto.Builder n : g.getNodeBuilderList()) attrs.addAll(n.getAttributeBuilderList());
                if (attrs.isEmpty()) break;
                AttributeProto.Builder a = attrs.get(r.nextInt(attrs.size()));
                switch (r.nextInt(3)) {
                    case 0 -> {
                        AttributeProto.AttributeType t = AttributeProto.AttributeType.forNumber(r.nextInt(16));
                        a.setType(t == null ? AttributeProto.AttributeType.UNDEFINED : t);
                    }
                    case 1 -> a.clearType();
                    default -> a.setName(r.nextBoolean() ? "" : "kernel_shape");
                }
                how.append("attribute '").append(a.getName()).append("' retyped/renamed");
            }
            case 5 -> {
                model.clearOpsetImport().addOpsetImport(OperatorSetIdProto.newBuilder()
                        .setDomain(r.nextBoolean() ? "" : "ai.onnx").setVersion(BAD_SIZES[r.nextInt(BAD_SIZES.length)]));
                how.append("opset version changed");
            }
            case 6 -> {
                List<ValueInfoProto.Builder> infos = new ArrayList<>(g.getInputBuilderList());
                infos.addAll(g.getOutputBuilderList());
                if (infos.isEmpty()) break;
                ValueInfoProto.Builder v = infos.get(r.nextInt(infos.size()));
                var t = v.getTypeBuilder().getTensorTypeBuilder();
                if (r.nextBoolean()) t.setElemType(r.nextInt(30) - 2);
                else t.getShapeBuilder().addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(BAD_SIZES[r.nextInt(BAD_SIZES.length)]));
                how.append("declared type of '").append(v.getName()).append("' changed");
            }
            default -> {
                if (r.nextBoolean() && g.getInputCount() > 0) {
                    g.addInput(g.getInput(r.nextInt(g.getInputCount())));
                    how.append("graph input duplicated");
                } else {
                    g.addOutput(ValueInfoProto.newBuilder().setName(r.nextBoolean() ? "" : "nowhere"));
                    how.append("graph output added");
                }
            }
        }
        return model.build();
    }

    private static void mutateTensor(TensorProto.Builder t, Random r, StringBuilder how) {
        how.append("tensor '").append(t.getName()).append("' ");
        switch (r.nextInt(6)) {
            case 0 -> {
                long v = BAD_SIZES[r.nextInt(BAD_SIZES.length)];
                if (t.getDimsCount() > 0) t.setDims(r.nextInt(t.getDimsCount()), v);
                else t.addDims(v);
                how.append("dim set to ").append(v);
            }
            case 1 -> {
                int type = r.nextInt(26);
                t.setDataType(type);
                how.append("data_type set to ").append(type);
            }
            case 2 -> {
                ByteString raw = t.getRawData();
                int cut = raw.isEmpty() ? 0 : r.nextInt(raw.size());
                t.setRawData(raw.substring(0, cut));
                how.append("raw_data cut to ").append(cut);
            }
            case 3 -> {
                t.setDataLocation(TensorProto.DataLocation.EXTERNAL).clearExternalData()
                        .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue(BAD_LOCATIONS[r.nextInt(BAD_LOCATIONS.length)]))
                        .addExternalData(StringStringEntryProto.newBuilder().setKey("offset").setValue(Long.toString(BAD_SIZES[r.nextInt(BAD_SIZES.length)])));
                how.append("made external");
            }
            case 4 -> {
                t.clearRawData().addInt32Data(r.nextInt()).addFloatData(r.nextFloat());
                how.append("raw_data replaced by stray typed values");
            }
            default -> {
                t.addDims(BAD_SIZES[r.nextInt(BAD_SIZES.length)]).setSegment(TensorProto.Segment.newBuilder().setBegin(0).setEnd(-1));
                how.append("dim and segment added");
            }
        }
    }

    /** Initializers and the tensors of tensor-valued attributes (Constant values). */
    private static List<TensorProto.Builder> tensors(GraphProto.Builder g) {
        List<TensorProto.Builder> out = new ArrayList<>(g.getInitializerBuilderList());
        for (NodeProto.Builder n : g.getNodeBuilderList()) {
            for (AttributeProto.Builder a : n.getAttributeBuilderList()) if (a.hasT()) out.add(a.getTBuilder());
        }
        return out;
    }

    private static List<String> valueNames(GraphProto.Builder g) {
        List<String> names = new ArrayList<>(List.of("", "ghost"));
        for (NodeProto n : g.getNodeList()) {
            names.addAll(n.getInputList());
            names.addAll(n.getOutputList());
        }
        return names;
    }
}
