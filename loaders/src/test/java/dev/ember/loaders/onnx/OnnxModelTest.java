package dev.ember.loaders.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.loaders.onnx.proto.OnnxProto.AttributeProto;
import dev.ember.loaders.onnx.proto.OnnxProto.GraphProto;
import dev.ember.loaders.onnx.proto.OnnxProto.ModelProto;
import dev.ember.loaders.onnx.proto.OnnxProto.NodeProto;
import dev.ember.loaders.onnx.proto.OnnxProto.OperatorSetIdProto;
import dev.ember.loaders.onnx.proto.OnnxProto.TensorProto;
import com.google.protobuf.ByteString;
import java.util.List;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading model files: metadata, opsets, and typed errors for files that are not models. */
class OnnxModelTest {
    @TempDir Path dir;

    @Test void readsMetadataAndGraph() throws IOException {
        Path f = dir.resolve("add_relu.onnx");
        Files.write(f, OnnxTestModels.addRelu().toByteArray());
        OnnxModel m = OnnxModel.read(f);
        assertEquals(8, m.irVersion());
        assertEquals("ember-test 1", m.producer());
        assertEquals(Map.of("", 17), m.opsets());
        assertEquals(17, m.opset("ai.onnx"));
        assertEquals(0, m.opset("com.microsoft"));
        assertEquals(f, m.file());
        assertEquals(2, m.graph().nodes().size());
        assertEquals("add", m.proto().getGraph().getNode(0).getName());
    }

    @Test void nothingKeptViewsTheBytesItWasReadFrom() {
        // raw_data is parsed as a view of the bytes (no copy); the model must not keep such views after parsing
        TensorProto weight = TensorProto.newBuilder().setName("w2").setDataType(TensorProto.DataType.FLOAT_VALUE).addDims(2)
                .setRawData(ByteString.copyFrom(new byte[] {0, 0, (byte) 0x80, 0x3F, 0, 0, 0, (byte) 0xC0})).build();   // 1, -2
        TensorProto constant = TensorProto.newBuilder().setName("c").setDataType(TensorProto.DataType.FLOAT_VALUE).addDims(1)
                .setRawData(ByteString.copyFrom(new byte[] {0, 0, 0x40, 0x40})).build();   // 3
        GraphProto g = OnnxTestModels.addRelu().getGraph().toBuilder().addInitializer(weight)
                .addNode(OnnxTestModels.node("k", "Constant", List.of(), List.of("k_out"),
                        AttributeProto.newBuilder().setName("value").setType(AttributeProto.AttributeType.TENSOR).setT(constant).build()))
                .build();
        ModelProto proto = OnnxTestModels.model(g);
        byte[] bytes = proto.toByteArray();
        OnnxModel m = OnnxModel.read(bytes);
        Arrays.fill(bytes, (byte) 0x7F);   // the caller reuses its buffer

        ModelProto.Builder structure = proto.toBuilder();
        structure.getGraphBuilder().clearInitializer();
        assertEquals(structure.build(), m.proto(), "the structure kept for export");
        assertArrayEquals(new float[] {1, -2}, m.graph().initializers().get("w2").toFloatArray());
        OnnxNode k = m.graph().nodes().stream().filter(n -> n.name().equals("k")).findFirst().orElseThrow();
        assertArrayEquals(new float[] {3}, k.attrTensor("value").toFloatArray());
    }

    @Test void aiOnnxAndEmptyDomainAreOneDomain() {
        ModelProto m = OnnxTestModels.addRelu().toBuilder().clearOpsetImport()
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("ai.onnx").setVersion(13))
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("com.example").setVersion(2)).build();
        OnnxModel model = OnnxTestModels.load(m);
        assertEquals(13, model.opset(""));
        assertEquals(13, model.opset("ai.onnx"));
        assertEquals(2, model.opset("com.example"));
    }

    @Test void truncatedFileNamesTheFile() throws IOException {
        byte[] full = OnnxTestModels.addRelu().toByteArray();
        Path f = dir.resolve("cut.onnx");
        Files.write(f, Arrays.copyOf(full, full.length - 7));
        OnnxException e = assertThrows(OnnxException.class, () -> OnnxModel.read(f));
        assertTrue(e.getMessage().startsWith(f.toString()) && e.getMessage().contains("not a valid ONNX model"), e.getMessage());
    }

    @Test void garbageBytesAreRefused() {
        byte[] garbage = new byte[4096];
        new Random(42).nextBytes(garbage);
        OnnxException e = assertThrows(OnnxException.class, () -> OnnxModel.read(garbage));
        assertTrue(e.getMessage().contains("ONNX model"), e.getMessage());
        OnnxException text = assertThrows(OnnxException.class, () -> OnnxModel.read("<html>not a model</html>".getBytes()));
        assertTrue(text.getMessage().contains("ONNX model"), text.getMessage());
    }

    @Test void emptyModelHasNoGraph() {
        OnnxException e = assertThrows(OnnxException.class, () -> OnnxModel.read(new byte[0]));
        assertTrue(e.getMessage().contains("no graph"), e.getMessage());
    }

    @Test void missingFileIsNamed() {
        Path f = dir.resolve("nope.onnx");
        OnnxException e = assertThrows(OnnxException.class, () -> OnnxModel.read(f));
        assertTrue(e.getMessage().contains("nope.onnx") && e.getMessage().contains("cannot read"), e.getMessage());
    }

    @Test void badOpsetVersionIsRefused() {
        ModelProto m = OnnxTestModels.addRelu().toBuilder().clearOpsetImport()
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(1L << 40)).build();
        OnnxException e = assertThrows(OnnxException.class, () -> OnnxTestModels.load(m));
        assertTrue(e.getMessage().contains("opset import") && e.getMessage().contains("1099511627776"), e.getMessage());
    }

    @Test void deeplyNestedSubgraphsHitTheRecursionLimitAsATypedError() {
        // If-style nesting: node -> graph attribute -> node -> ... 200 levels, beyond protobuf's nesting limit
        GraphProto inner = GraphProto.newBuilder().setName("leaf").build();
        for (int i = 0; i < 200; i++) {
            NodeProto n = NodeProto.newBuilder().setOpType("If").addAttribute(AttributeProto.newBuilder().setName("then_branch")
                    .setType(AttributeProto.AttributeType.GRAPH).setG(inner)).build();
            inner = GraphProto.newBuilder().setName("level" + i).addNode(n).build();
        }
        byte[] bytes = OnnxTestModels.model(inner).toByteArray();
        OnnxException e = assertThrows(OnnxException.class, () -> OnnxModel.read(bytes));
        assertTrue(e.getMessage().contains("not a valid ONNX model"), e.getMessage());
    }
}
