package dev.ember.loaders.onnx.export;

import com.google.protobuf.ByteString;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxAttribute;
import dev.ember.loaders.onnx.OnnxException;
import dev.ember.loaders.onnx.OnnxNode;
import dev.ember.loaders.onnx.OnnxTensors;
import dev.ember.loaders.onnx.OnnxValueInfo;
import dev.ember.loaders.onnx.proto.OnnxProto.AttributeProto;
import dev.ember.loaders.onnx.proto.OnnxProto.AttributeProto.AttributeType;
import dev.ember.loaders.onnx.proto.OnnxProto.GraphProto;
import dev.ember.loaders.onnx.proto.OnnxProto.ModelProto;
import dev.ember.loaders.onnx.proto.OnnxProto.NodeProto;
import dev.ember.loaders.onnx.proto.OnnxProto.OperatorSetIdProto;
import dev.ember.loaders.onnx.proto.OnnxProto.StringStringEntryProto;
import dev.ember.loaders.onnx.proto.OnnxProto.TensorShapeProto;
import dev.ember.loaders.onnx.proto.OnnxProto.TypeProto;
import dev.ember.loaders.onnx.proto.OnnxProto.ValueInfoProto;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A {@link GraphBuilder}'s contents as a ModelProto. Tensors go into {@code raw_data}; attributes sorted by name. */
final class ModelEncoder {
    /** What one protobuf message may hold, less room for everything that is not tensor data. */
    private static final long MAX_TENSOR_BYTES = Integer.MAX_VALUE - (64L << 20);

    private ModelEncoder() {}

    static ModelProto encode(GraphBuilder b) {
        long tensorBytes = 0;
        for (Map.Entry<String, Tensor> e : b.initializers().entrySet()) {
            tensorBytes += (long) e.getValue().numel() * e.getValue().dtype().byteSize();
            if (tensorBytes > MAX_TENSOR_BYTES) {
                throw new OnnxException("graph '" + b.graphName() + "': initializers pass " + MAX_TENSOR_BYTES + " bytes at '" + e.getKey()
                        + "'; one ONNX protobuf holds 2 GiB and this exporter does not write external data");
            }
        }
        GraphProto.Builder g = GraphProto.newBuilder().setName(b.graphName());
        for (OnnxValueInfo v : b.inputs()) g.addInput(valueInfo(v));
        for (Map.Entry<String, Tensor> e : b.initializers().entrySet()) g.addInitializer(OnnxTensors.toProto(e.getKey(), e.getValue()));
        for (OnnxNode n : b.nodes()) g.addNode(node(n));
        for (OnnxValueInfo v : b.outputs()) g.addOutput(valueInfo(v));

        ModelProto.Builder m = ModelProto.newBuilder()
                .setIrVersion(b.irVersion())
                .setProducerName(b.producerName())
                .setProducerVersion(b.producerVersion())
                .setGraph(g);
        for (Map.Entry<String, Integer> o : b.opsets().entrySet()) {
            m.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(o.getKey()).setVersion(o.getValue()));
        }
        for (Map.Entry<String, String> p : b.metadataProps().entrySet()) {
            m.addMetadataProps(StringStringEntryProto.newBuilder().setKey(p.getKey()).setValue(p.getValue()));
        }
        return m.build();
    }

    private static NodeProto node(OnnxNode n) {
        NodeProto.Builder p = NodeProto.newBuilder().setName(n.name()).setOpType(n.opType()).addAllInput(n.inputs()).addAllOutput(n.outputs());
        if (!n.domain().isEmpty()) p.setDomain(n.domain());
        List<String> names = new ArrayList<>(n.attributes().keySet());
        names.sort(null);
        for (String a : names) p.addAttribute(attribute(n, n.attributes().get(a)));
        return p.build();
    }

    private static AttributeProto attribute(OnnxNode n, OnnxAttribute a) {
        AttributeProto.Builder p = AttributeProto.newBuilder().setName(a.name());
        switch (a.type()) {
            case INT -> p.setType(AttributeType.INT).setI(a.i());
            case FLOAT -> p.setType(AttributeType.FLOAT).setF(a.f());
            case STRING -> p.setType(AttributeType.STRING).setS(ByteString.copyFrom(a.s(), StandardCharsets.UTF_8));
            case TENSOR -> p.setType(AttributeType.TENSOR).setT(OnnxTensors.toProto("", a.t()));
            case INTS -> {
                p.setType(AttributeType.INTS);
                for (long v : a.ints()) p.addInts(v);
            }
            case FLOATS -> {
                p.setType(AttributeType.FLOATS);
                for (float v : a.floats()) p.addFloats(v);
            }
            case STRINGS -> {
                p.setType(AttributeType.STRINGS);
                for (String v : a.strings()) p.addStrings(ByteString.copyFrom(v, StandardCharsets.UTF_8));
            }
            case GRAPH, OTHER -> throw new OnnxException(n.describe() + ": attribute '" + a.name() + "' of type " + a.type() + " cannot be exported");
        }
        return p.build();
    }

    private static ValueInfoProto valueInfo(OnnxValueInfo v) {
        TypeProto.Tensor.Builder t = TypeProto.Tensor.newBuilder().setElemType(v.elemType());
        if (v.hasShape()) {
            TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
            for (OnnxValueInfo.Dim d : v.shape()) {
                TensorShapeProto.Dimension.Builder dim = TensorShapeProto.Dimension.newBuilder();
                if (d.isFixed()) dim.setDimValue(d.value());
                else if (d.param() != null) dim.setDimParam(d.param());
                s.addDim(dim);
            }
            t.setShape(s);
        }
        return ValueInfoProto.newBuilder().setName(v.name()).setType(TypeProto.newBuilder().setTensorType(t)).build();
    }
}
