package dev.ember.loaders.onnx.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.engine.DType;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxAttribute;
import dev.ember.loaders.onnx.OnnxException;
import dev.ember.loaders.onnx.OnnxModel;
import dev.ember.loaders.onnx.OnnxNode;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The low-level writer refuses malformed graphs as they are built, and writes what the reader reads back. */
class GraphBuilderTest {
    private static GraphBuilder small() {
        GraphBuilder g = new GraphBuilder("g");
        g.input("x", DType.FLOAT32, GraphBuilder.dims("n", 1, 3));
        g.initializer("w", Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
        return g;
    }

    @Test
    void refusesMalformedGraphsNamingTheValue() {
        GraphBuilder g = small();
        OnnxException dangling = assertThrows(OnnxException.class, () -> g.node("Gemm", "gemm", List.of("x", "nope")));
        assertTrue(dangling.getMessage().contains("'nope'"), dangling.getMessage());
        assertThrows(OnnxException.class, () -> g.initializer("x", Tensor.scalar(1)));
        assertThrows(OnnxException.class, () -> g.output("y", DType.FLOAT32, GraphBuilder.dims("n", 1, 2)));
        String y = g.node("Gemm", "gemm", List.of("x", "w"), OnnxAttribute.ofInt("transB", 1));
        assertThrows(OnnxException.class, () -> g.node(new OnnxNode("again", "Relu", "", List.of("x"), List.of(y), Map.of())));
        OnnxAttribute graphAttr = new OnnxAttribute("body", OnnxAttribute.Type.GRAPH, 0, 0, null, null, null, null, null);
        OnnxException sub = assertThrows(OnnxException.class, () -> g.node(new OnnxNode("loop", "Loop", "", List.of(), List.of("z"), Map.of("body", graphAttr))));
        assertTrue(sub.getMessage().contains("'body'"), sub.getMessage());
        assertThrows(OnnxException.class, () -> g.node("Relu", "r", List.of("x"), OnnxAttribute.ofInt("a", 1), OnnxAttribute.ofInt("a", 2)));
        assertEquals("gemm:0_1", g.uniqueValueName("gemm:0"));
    }

    @Test
    void writesWhatTheReaderReadsBack() {
        GraphBuilder g = small().opset("ai.onnx", 13).producer("test", "9").metadata("k", "v");
        String y = g.node("Gemm", "gemm", List.of("x", "w"), OnnxAttribute.ofInt("transB", 1), OnnxAttribute.ofFloat("alpha", 0.5f));
        String c = g.constant("c", Tensor.ofLongs(new long[] {1, -1}, 2));
        String r = g.node("Reshape", "reshape", List.of(y, c));
        g.renameNodeOutput(r, "out");
        g.output("out", DType.FLOAT32, null);
        byte[] bytes = g.toBytes();
        assertArrayEquals(bytes, g.toBytes(), "deterministic");

        OnnxModel m = OnnxModel.read(bytes);
        assertEquals(13, m.opset(""));
        assertEquals("test 9", m.producer());
        assertEquals(List.of("Gemm", "Constant", "Reshape"), m.graph().nodes().stream().map(OnnxNode::opType).toList());
        OnnxNode gemm = m.graph().nodes().get(0);
        assertEquals(1, gemm.attrInt("transB"));
        assertEquals(0.5f, gemm.attrFloat("alpha", 1f));
        assertEquals(List.of("gemm:0", "c:0"), m.graph().nodes().get(2).inputs());
        assertEquals(List.of("out"), m.graph().nodes().get(2).outputs());
        assertArrayEquals(new long[] {1, -1}, m.graph().nodes().get(1).attrTensor("value").toLongArray());
        assertEquals("n", m.graph().inputs().get(0).shape().get(0).param());
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, m.graph().initializers().get("w").toFloatArray());
        assertEquals(false, m.graph().outputs().get(0).hasShape());
    }
}
