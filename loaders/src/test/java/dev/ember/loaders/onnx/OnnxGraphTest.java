package dev.ember.loaders.onnx;

import static dev.ember.loaders.onnx.OnnxTestModels.FLOAT;
import static dev.ember.loaders.onnx.OnnxTestModels.INT64;
import static dev.ember.loaders.onnx.OnnxTestModels.floats;
import static dev.ember.loaders.onnx.OnnxTestModels.load;
import static dev.ember.loaders.onnx.OnnxTestModels.model;
import static dev.ember.loaders.onnx.OnnxTestModels.node;
import static dev.ember.loaders.onnx.OnnxTestModels.value;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.ember.loaders.onnx.proto.OnnxProto.AttributeProto;
import dev.ember.loaders.onnx.proto.OnnxProto.AttributeProto.AttributeType;
import dev.ember.loaders.onnx.proto.OnnxProto.GraphProto;
import dev.ember.loaders.onnx.proto.OnnxProto.NodeProto;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Graph decoding and checks: order, last use, value declarations, attributes, and each typed graph error. */
class OnnxGraphTest {
    private static List<String> names(List<OnnxNode> nodes) { return nodes.stream().map(OnnxNode::name).toList(); }

    private static GraphProto.Builder graph(NodeProto... nodes) {
        GraphProto.Builder g = GraphProto.newBuilder().setName("g").addInput(value("x", FLOAT, 2)).addOutput(value("y", FLOAT, 2));
        for (NodeProto n : nodes) g.addNode(n);
        return g;
    }

    private static OnnxException graphError(GraphProto.Builder g) {
        return assertThrows(OnnxException.class, () -> load(model(g.build())));
    }

    @Test void orderIsTopologicalAndKeepsFileOrderWherePossible() {
        // file order: c reads b's output, b reads a's; d independent. Expected: a, b, c stay in dependency order,
        // d keeps its file place relative to the nodes ready before it.
        OnnxGraph g = load(model(graph(
                node("c", "Relu", List.of("b_out"), List.of("y")),
                node("d", "Relu", List.of("x"), List.of("d_out")),
                node("b", "Relu", List.of("a_out"), List.of("b_out")),
                node("a", "Relu", List.of("x"), List.of("a_out"))).build())).graph();
        assertEquals(List.of("c", "d", "b", "a"), names(g.nodes()));
        assertEquals(List.of("d", "a", "b", "c"), names(g.order()));

        OnnxGraph sorted = load(model(graph(
                node("a", "Relu", List.of("x"), List.of("a_out")),
                node("d", "Relu", List.of("x"), List.of("d_out")),
                node("b", "Relu", List.of("a_out"), List.of("b_out")),
                node("c", "Add", List.of("b_out", "d_out"), List.of("y"))).build())).graph();
        assertEquals(List.of("a", "d", "b", "c"), names(sorted.order()), "a file in topological order runs as written");
    }

    @Test void lastUseMarksTheLastReaderAndKeepsOutputs() {
        OnnxGraph g = load(model(graph(
                node("a", "Relu", List.of("x"), List.of("a_out")),
                node("b", "Relu", List.of("a_out"), List.of("b_out")),
                node("c", "Add", List.of("a_out", "b_out"), List.of("y", "unused"))).build())).graph();
        assertEquals(0, g.lastUse("x"));
        assertEquals(2, g.lastUse("a_out"));
        assertEquals(2, g.lastUse("b_out"));
        assertEquals(OnnxGraph.KEEP, g.lastUse("y"));
        assertEquals(-1, g.lastUse("unused"));
    }

    @Test void inputsExcludeInitializersAndKeepDeclaredShapes() {
        GraphProto g = GraphProto.newBuilder()
                .addNode(node("add", "Add", List.of("x", "w"), List.of("y")))
                .addInitializer(floats("w", new float[] {1, 2}, 2))
                .addInput(value("x", FLOAT, "batch", null, 2))
                .addInput(value("w", FLOAT, 2))
                .addOutput(value("y", FLOAT, "batch", 2))
                .addValueInfo(value("tmp", INT64, 5))
                .build();
        OnnxGraph graph = load(model(g)).graph();
        assertEquals(1, graph.inputs().size());
        OnnxValueInfo x = graph.inputs().get(0);
        assertEquals("x", x.name());
        assertEquals(FLOAT, x.elemType());
        assertEquals(OnnxValueInfo.Kind.TENSOR, x.kind());
        assertEquals(List.of(new OnnxValueInfo.Dim(-1, "batch"), new OnnxValueInfo.Dim(-1, null), new OnnxValueInfo.Dim(2, null)), x.shape());
        assertEquals("FLOAT [batch, ?, 2]", x.describe());
        assertArrayEquals(new float[] {1, 2}, graph.initializers().get("w").toFloatArray());
        assertEquals(List.of("y"), graph.outputs().stream().map(OnnxValueInfo::name).toList());
        assertEquals(INT64, graph.valueInfo().get("tmp").elemType());
    }

    @Test void attributesAreDecoded() {
        NodeProto n = NodeProto.newBuilder().setOpType("Conv").addInput("x").addOutput("y")   // no name: named by position
                .addAttribute(AttributeProto.newBuilder().setName("group").setType(AttributeType.INT).setI(2))
                .addAttribute(AttributeProto.newBuilder().setName("alpha").setType(AttributeType.FLOAT).setF(0.5f))
                .addAttribute(AttributeProto.newBuilder().setName("pads").setType(AttributeType.INTS).addInts(1).addInts(2))
                .addAttribute(AttributeProto.newBuilder().setName("scales").setType(AttributeType.FLOATS).addFloats(1.5f))
                .addAttribute(AttributeProto.newBuilder().setName("mode").setType(AttributeType.STRING).setS(ByteString.copyFromUtf8("nearest")))
                .addAttribute(AttributeProto.newBuilder().setName("names").setType(AttributeType.STRINGS).addStrings(ByteString.copyFromUtf8("a")))
                .addAttribute(AttributeProto.newBuilder().setName("value").setType(AttributeType.TENSOR).setT(floats("v", new float[] {7}, 1)))
                .addAttribute(AttributeProto.newBuilder().setName("body").setType(AttributeType.GRAPH).setG(GraphProto.getDefaultInstance()))
                .addAttribute(AttributeProto.newBuilder().setName("legacy").setI(3))   // IR 1: no type field
                .build();
        OnnxNode node = load(model(graph(n).build())).graph().nodes().get(0);
        assertEquals("#0", node.name());
        assertEquals(2, node.attrInt("group"));
        assertEquals(0.5f, node.attrFloat("alpha", 0));
        assertArrayEquals(new long[] {1, 2}, node.attrInts("pads", null));
        assertArrayEquals(new float[] {1.5f}, node.attrFloats("scales", null));
        assertEquals("nearest", node.attrString("mode", null));
        assertArrayEquals(new String[] {"a"}, node.attributes().get("names").strings());
        assertArrayEquals(new float[] {7}, node.attrTensor("value").toFloatArray());
        assertEquals(OnnxAttribute.Type.GRAPH, node.attributes().get("body").type());
        assertNull(node.attributes().get("body").t());
        assertEquals(3, node.attrInt("legacy"));
    }

    @Test void cycleIsNamed() {
        OnnxException e = graphError(graph(
                node("a", "Relu", List.of("x"), List.of("a_out")),
                node("loop1", "Add", List.of("a_out", "loop2_out"), List.of("loop1_out")),
                node("loop2", "Relu", List.of("loop1_out"), List.of("loop2_out")),
                node("out", "Relu", List.of("loop2_out"), List.of("y"))));
        assertTrue(e.getMessage().contains("cycle") && e.getMessage().contains("loop1") && e.getMessage().contains("loop2"), e.getMessage());
        assertTrue(!e.getMessage().contains("'a'"), "a is not on the cycle: " + e.getMessage());

        OnnxException self = graphError(graph(node("self", "Add", List.of("x", "y"), List.of("y"))));
        assertTrue(self.getMessage().contains("cycle") && self.getMessage().contains("'self'"), self.getMessage());
    }

    @Test void danglingInputNamesNodeAndInput() {
        OnnxException e = graphError(graph(node("relu", "Relu", List.of("ghost"), List.of("y"))));
        assertTrue(e.getMessage().contains("Relu node 'relu'") && e.getMessage().contains("'ghost'"), e.getMessage());
        OnnxException out = graphError(graph(node("relu", "Relu", List.of("x"), List.of("z"))));
        assertTrue(out.getMessage().contains("graph output 'y'"), out.getMessage());
    }

    @Test void duplicateProducersAreRefused() {
        OnnxException e = graphError(graph(
                node("a", "Relu", List.of("x"), List.of("y")),
                node("b", "Relu", List.of("x"), List.of("y"))));
        assertTrue(e.getMessage().contains("'y' is produced twice") && e.getMessage().contains("'a'") && e.getMessage().contains("'b'"), e.getMessage());
        OnnxException shadow = graphError(graph(node("a", "Relu", List.of("x"), List.of("x", "y"))));
        assertTrue(shadow.getMessage().contains("'x' is produced twice") && shadow.getMessage().contains("graph input"), shadow.getMessage());
        OnnxException init = graphError(graph(node("a", "Relu", List.of("x"), List.of("y")))
                .addInitializer(floats("k", new float[] {1}, 1)).addInitializer(floats("k", new float[] {2}, 1)));
        assertTrue(init.getMessage().contains("initializer 'k' appears twice"), init.getMessage());
    }

    @Test void emptyOpTypeIsRefused() {
        OnnxException e = graphError(graph(node("mystery", "", List.of("x"), List.of("y"))));
        assertTrue(e.getMessage().contains("empty op_type") && e.getMessage().contains("mystery"), e.getMessage());
    }

    @Test void badInitializerIsNamedWithTheFileSource() {
        OnnxException e = graphError(graph(node("a", "Relu", List.of("x"), List.of("y")))
                .addInitializer(floats("weights", new float[] {1, 2}, 3)));
        assertTrue(e.getMessage().contains("initializer 'weights'") && e.getMessage().contains("float_data has 2 values, expected 3"), e.getMessage());
    }
}
