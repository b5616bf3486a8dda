package dev.ember.loaders.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.loaders.onnx.proto.OnnxProto.AttributeProto;
import dev.ember.loaders.onnx.proto.OnnxProto.GraphProto;
import dev.ember.loaders.onnx.proto.OnnxProto.ModelProto;
import dev.ember.loaders.onnx.proto.OnnxProto.NodeProto;
import dev.ember.loaders.onnx.proto.OnnxProto.OperatorSetIdProto;
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
