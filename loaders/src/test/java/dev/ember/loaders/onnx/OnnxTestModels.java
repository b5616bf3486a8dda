package dev.ember.loaders.onnx;

import com.google.protobuf.ByteString;
import dev.ember.autograd.Variable;
import dev.ember.loaders.onnx.proto.OnnxProto.AttributeProto;
import dev.ember.loaders.onnx.proto.OnnxProto.GraphProto;
import dev.ember.loaders.onnx.proto.OnnxProto.ModelProto;
import dev.ember.loaders.onnx.proto.OnnxProto.NodeProto;
import dev.ember.loaders.onnx.proto.OnnxProto.OperatorSetIdProto;
import dev.ember.loaders.onnx.proto.OnnxProto.TensorProto;
import dev.ember.loaders.onnx.proto.OnnxProto.TensorShapeProto;
import dev.ember.loaders.onnx.proto.OnnxProto.TypeProto;
import dev.ember.loaders.onnx.proto.OnnxProto.ValueInfoProto;
import java.util.List;

/** Small ONNX models built in code with the generated builders, and a tiny op resolver for tests. */
final class OnnxTestModels {
    private OnnxTestModels() {}

    static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;
    static final int INT64 = TensorProto.DataType.INT64_VALUE;

    static NodeProto node(String name, String op, List<String> inputs, List<String> outputs, AttributeProto... attrs) {
        NodeProto.Builder b = NodeProto.newBuilder().setName(name).setOpType(op).addAllInput(inputs).addAllOutput(outputs);
        for (AttributeProto a : attrs) b.addAttribute(a);
        return b.build();
    }

    /** A tensor value declaration; a String dim is a named size, a null dim an unknown one, a Number a fixed one. */
    static ValueInfoProto value(String name, int elemType, Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            TensorShapeProto.Dimension.Builder db = TensorShapeProto.Dimension.newBuilder();
            if (d instanceof Number n) db.setDimValue(n.longValue());
            else if (d instanceof String s) db.setDimParam(s);
            shape.addDim(db);
        }
        TypeProto type = TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape)).build();
        return ValueInfoProto.newBuilder().setName(name).setType(type).build();
    }

    static TensorProto floats(String name, float[] data, long... dims) {
        TensorProto.Builder b = TensorProto.newBuilder().setName(name).setDataType(FLOAT);
        for (long d : dims) b.addDims(d);
        for (float v : data) b.addFloatData(v);
        return b.build();
    }

    static ModelProto model(GraphProto graph) {
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("ember-test").setProducerVersion("1")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17)).setGraph(graph).build();
    }

    /** y = Relu(x + w): x FLOAT [batch, 3], w an initializer [3]. */
    static ModelProto addRelu() {
        GraphProto g = GraphProto.newBuilder().setName("add_relu")
                .addNode(node("add", "Add", List.of("x", "w"), List.of("s")))
                .addNode(node("relu", "Relu", List.of("s"), List.of("y")))
                .addInitializer(floats("w", new float[] {1, -2, 3}, 3))
                .addInput(value("x", FLOAT, "batch", 3))
                .addOutput(value("y", FLOAT, "batch", 3))
                .build();
        return model(g);
    }

    /**
     * One node carrying every attribute kind, and initializers of several dtypes in raw and typed form: a
     * structure-rich seed for the fuzz test.
     */
    static ModelProto kitchenSink() {
        TensorProto half = TensorProto.newBuilder().setName("half").setDataType(TensorProto.DataType.FLOAT16_VALUE).addDims(2)
                .addInt32Data(0x3C00).addInt32Data(0xC000).build();
        TensorProto mask = TensorProto.newBuilder().setName("mask").setDataType(TensorProto.DataType.BOOL_VALUE).addDims(3)
                .setRawData(ByteString.copyFrom(new byte[] {1, 0, 1})).build();
        TensorProto shape = TensorProto.newBuilder().setName("shape").setDataType(INT64).addDims(2).addInt64Data(1).addInt64Data(-1).build();
        TensorProto doubles = TensorProto.newBuilder().setName("dbl").setDataType(TensorProto.DataType.DOUBLE_VALUE).addDims(1).addDims(2)
                .addDoubleData(0.5).addDoubleData(-0.5).build();
        NodeProto conv = node("conv", "Conv", List.of("x", "half", ""), List.of("c"),
                AttributeProto.newBuilder().setName("group").setType(AttributeProto.AttributeType.INT).setI(1).build(),
                AttributeProto.newBuilder().setName("alpha").setType(AttributeProto.AttributeType.FLOAT).setF(0.5f).build(),
                AttributeProto.newBuilder().setName("pads").setType(AttributeProto.AttributeType.INTS).addInts(1).addInts(1).build(),
                AttributeProto.newBuilder().setName("scales").setType(AttributeProto.AttributeType.FLOATS).addFloats(2).build(),
                AttributeProto.newBuilder().setName("auto_pad").setType(AttributeProto.AttributeType.STRING).setS(ByteString.copyFromUtf8("NOTSET")).build(),
                AttributeProto.newBuilder().setName("names").setType(AttributeProto.AttributeType.STRINGS).addStrings(ByteString.copyFromUtf8("a")).build(),
                AttributeProto.newBuilder().setName("value").setType(AttributeProto.AttributeType.TENSOR).setT(floats("v", new float[] {1, 2}, 2)).build(),
                AttributeProto.newBuilder().setName("body").setType(AttributeProto.AttributeType.GRAPH)
                        .setG(GraphProto.newBuilder().addNode(node("inner", "Relu", List.of("x"), List.of("z")))).build());
        GraphProto g = GraphProto.newBuilder().setName("kitchen_sink")
                .addNode(conv)
                .addNode(node("reshape", "Reshape", List.of("c", "shape"), List.of("r")))
                .addNode(node("where", "Where", List.of("mask", "r", "dbl"), List.of("y", "")))
                .addInitializer(half).addInitializer(mask).addInitializer(shape).addInitializer(doubles)
                .addInput(value("x", FLOAT, "batch", 2))
                .addOutput(value("y", FLOAT, "batch", 3))
                .addValueInfo(value("c", FLOAT, "batch", 2))
                .build();
        return model(g);
    }

    /** A graph whose single initializer is {@code t} (renamed "t"), passed through an Identity node. */
    static ModelProto wrapTensor(TensorProto t) {
        GraphProto g = GraphProto.newBuilder().setName("wrapped")
                .addNode(node("id", "Identity", List.of("t"), List.of("y")))
                .addInitializer(t.toBuilder().setName("t"))
                .addOutput(ValueInfoProto.newBuilder().setName("y"))
                .build();
        return model(g);
    }

    static OnnxModel load(ModelProto m) { return OnnxModel.read(m.toByteArray()); }

    /** Add and Relu through autograd; anything else unsupported. */
    static OnnxOp addRelu(OnnxNode node, int opset) {
        return switch (node.opType()) {
            case "Add" -> (n, in, o) -> new Variable[] {in[0].add(in[1])};
            case "Relu" -> (n, in, o) -> new Variable[] {in[0].relu()};
            default -> null;
        };
    }

    /** Accepts every op (for tests that only build sessions). */
    static OnnxOp anyOp(OnnxNode node, int opset) {
        return (n, in, o) -> new Variable[n.outputs().size()];
    }
}
