package dev.ember.loaders.onnx;

import static dev.ember.loaders.onnx.OnnxTestModels.FLOAT;
import static dev.ember.loaders.onnx.OnnxTestModels.INT64;
import static dev.ember.loaders.onnx.OnnxTestModels.load;
import static dev.ember.loaders.onnx.OnnxTestModels.model;
import static dev.ember.loaders.onnx.OnnxTestModels.node;
import static dev.ember.loaders.onnx.OnnxTestModels.value;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.autograd.NoGrad;
import dev.ember.autograd.Variable;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.proto.OnnxProto.GraphProto;
import dev.ember.loaders.onnx.proto.OnnxProto.OperatorSetIdProto;
import dev.ember.loaders.onnx.proto.OnnxProto.TensorProto;
import dev.ember.loaders.onnx.proto.OnnxProto.TypeProto;
import dev.ember.loaders.onnx.proto.OnnxProto.ValueInfoProto;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Running graphs: results, input checks, unsupported ops, early dropping, and gradients through runVariables. */
class OnnxSessionTest {
    private static OnnxSession addReluSession() {
        return new OnnxSession(load(OnnxTestModels.addRelu()), OnnxTestModels::addRelu);
    }

    @Test void runsAddRelu() {
        Map<String, Tensor> out = addReluSession().run(Map.of("x", Tensor.of(new float[] {0, 0, 0, -2, 5, -4}, 2, 3)));
        assertEquals(List.of("y"), List.copyOf(out.keySet()));
        assertArrayEquals(new float[] {1, 0, 3, 0, 3, 0}, out.get("y").toFloatArray());
    }

    @Test void runVariablesSubstitutesInitializersAndRecordsGradients() {
        OnnxSession s = addReluSession();
        Variable w = Variable.param(Tensor.of(new float[] {1, 1, 1}, 3));
        Variable x = Variable.of(Tensor.of(new float[] {1, -5, 2}, 1, 3));
        Variable y = s.runVariables(Map.of("x", x), Map.of("w", w)).get("y");
        assertArrayEquals(new float[] {2, 0, 3}, y.data().toFloatArray());
        y.sum().backward();
        assertArrayEquals(new float[] {1, 0, 1}, w.grad().toFloatArray(), "relu passes gradient where x + w > 0");

        OnnxException wrongShape = assertThrows(OnnxException.class,
                () -> s.runVariables(Map.of("x", x), Map.of("w", Variable.param(Tensor.zeros(4)))));
        assertTrue(wrongShape.getMessage().contains("initializer 'w'"), wrongShape.getMessage());
        OnnxException unknown = assertThrows(OnnxException.class,
                () -> s.runVariables(Map.of("x", x), Map.of("bias", Variable.param(Tensor.zeros(3)))));
        assertTrue(unknown.getMessage().contains("'bias' does not exist"), unknown.getMessage());
    }

    @Test void runEntersNoGradAndRunVariablesDoesNot() {
        boolean[] noGradSeen = new boolean[1];
        OnnxSession s = new OnnxSession(load(OnnxTestModels.addRelu()), (node, opset) -> (n, in, o) -> {
            noGradSeen[0] = NoGrad.isEnabled();
            return OnnxTestModels.addRelu(n, o).apply(n, in, o);
        });
        s.run(Map.of("x", Tensor.zeros(1, 3)));
        assertTrue(noGradSeen[0]);
        assertFalse(NoGrad.isEnabled(), "the scope is closed after run");
        s.runVariables(Map.of("x", Variable.of(Tensor.zeros(1, 3))), Map.of());
        assertFalse(noGradSeen[0]);
    }

    @Test void unsupportedOpsAreListedWithOpset() {
        GraphProto g = GraphProto.newBuilder()
                .addNode(node("n1", "Frobnicate", List.of("x"), List.of("a")))
                .addNode(node("n2", "Relu", List.of("a"), List.of("b")))
                .addNode(node("n3", "Frobnicate", List.of("b"), List.of("c")))
                .addNode(node("n4", "Twiddle", List.of("c"), List.of("y")))
                .addInput(value("x", FLOAT, 2)).addOutput(value("y", FLOAT, 2)).build();
        OnnxException e = assertThrows(OnnxException.class, () -> new OnnxSession(load(model(g)), OnnxTestModels::addRelu));
        String m = e.getMessage();
        assertTrue(m.contains("unsupported op 'Frobnicate' (domain ai.onnx, opset 17) at node 'n1' (and 1 more node)"), m);
        assertTrue(m.contains("unsupported op 'Twiddle' (domain ai.onnx, opset 17) at node 'n4'"), m);
        assertFalse(m.contains("Relu"), m);
    }

    @Test void nodeInADomainTheModelDoesNotImport() {
        GraphProto g = GraphProto.newBuilder()
                .addNode(node("n", "Relu", List.of("x"), List.of("y")).toBuilder().setDomain("com.example"))
                .addInput(value("x", FLOAT, 2)).addOutput(value("y", FLOAT, 2)).build();
        OnnxException e = assertThrows(OnnxException.class, () -> new OnnxSession(load(model(g)), OnnxTestModels::addRelu));
        assertTrue(e.getMessage().contains("imports no opset for domain 'com.example'"), e.getMessage());

        OnnxModel imported = load(model(g).toBuilder().addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("com.example").setVersion(3)).build());
        int[] seen = new int[1];
        new OnnxSession(imported, (node, opset) -> {
            seen[0] = opset;
            return OnnxTestModels.anyOp(node, opset);
        });
        assertEquals(3, seen[0], "the node's own domain's opset is passed");
    }

    @Test void inputsAreChecked() {
        OnnxSession s = addReluSession();
        OnnxException dtype = assertThrows(OnnxException.class, () -> s.run(Map.of("x", Tensor.ofLongs(new long[] {1, 2, 3}, 1, 3))));
        assertTrue(dtype.getMessage().contains("input 'x'") && dtype.getMessage().contains("FLOAT [batch, 3]") && dtype.getMessage().contains("int64"), dtype.getMessage());
        OnnxException dims = assertThrows(OnnxException.class, () -> s.run(Map.of("x", Tensor.zeros(2, 4))));
        assertTrue(dims.getMessage().contains("input 'x'") && dims.getMessage().contains("axis 1 is 4, expected 3"), dims.getMessage());
        OnnxException rank = assertThrows(OnnxException.class, () -> s.run(Map.of("x", Tensor.zeros(3))));
        assertTrue(rank.getMessage().contains("rank 1 instead of 2"), rank.getMessage());
        OnnxException missing = assertThrows(OnnxException.class, () -> s.run(Map.of()));
        assertTrue(missing.getMessage().contains("input 'x'") && missing.getMessage().contains("missing"), missing.getMessage());
        OnnxException extra = assertThrows(OnnxException.class, () -> s.run(Map.of("x", Tensor.zeros(1, 3), "typo", Tensor.zeros(1))));
        assertTrue(extra.getMessage().contains("'typo' is not an input"), extra.getMessage());
    }

    @Test void namedDimsMustAgreeAcrossInputs() {
        GraphProto g = GraphProto.newBuilder()
                .addNode(node("add", "Add", List.of("a", "b"), List.of("y")))
                .addInput(value("a", FLOAT, "batch", 2)).addInput(value("b", FLOAT, "batch", 2))
                .addOutput(value("y", FLOAT, "batch", 2)).build();
        OnnxSession s = new OnnxSession(load(model(g)), OnnxTestModels::addRelu);
        assertEquals(3, s.run(Map.of("a", Tensor.zeros(3, 2), "b", Tensor.zeros(3, 2))).get("y").dim(0));
        OnnxException e = assertThrows(OnnxException.class, () -> s.run(Map.of("a", Tensor.zeros(3, 2), "b", Tensor.zeros(4, 2))));
        assertTrue(e.getMessage().contains("'batch'"), e.getMessage());
    }

    @Test void opFailuresNameTheNode() {
        GraphProto g = GraphProto.newBuilder()
                .addNode(node("bad_add", "Add", List.of("a", "b"), List.of("y")))
                .addInput(value("a", FLOAT, 2)).addInput(value("b", FLOAT, 3))
                .addOutput(value("y", FLOAT, 2)).build();
        OnnxSession s = new OnnxSession(load(model(g)), OnnxTestModels::addRelu);
        OnnxException e = assertThrows(OnnxException.class, () -> s.run(Map.of("a", Tensor.zeros(2), "b", Tensor.zeros(3))));
        assertTrue(e.getMessage().contains("Add node 'bad_add'"), e.getMessage());
        assertTrue(e.getCause() instanceof ShapeException, "the engine's error is kept as the cause");
    }

    @Test void intermediatesAreDroppedAfterTheirLastReader() {
        GraphProto g = GraphProto.newBuilder()
                .addNode(node("a", "Relu", List.of("x"), List.of("t1")))
                .addNode(node("b", "Relu", List.of("t1"), List.of("t2")))
                .addNode(node("c", "Add", List.of("t1", "t2"), List.of("y")))
                .addInput(value("x", FLOAT, 2)).addOutput(value("y", FLOAT, 2)).build();
        OnnxSession s = new OnnxSession(load(model(g)), OnnxTestModels::addRelu);
        assertEquals(List.of("x"), s.droppedAfter(0));
        assertEquals(List.of(), s.droppedAfter(1));
        assertEquals(List.of("t1", "t2"), s.droppedAfter(2));
        assertArrayEquals(new float[] {2, 0}, s.run(Map.of("x", Tensor.of(new float[] {1, -1}, 2))).get("y").toFloatArray());
    }

    /**
     * Under run, dead intermediates' arrays are reused by later steps and runs: a view of a dead value (Reshape) keeps
     * its array out of the pool, a user's input and the outputs handed back are never reused, and every run gives
     * the same values.
     */
    @Test void reusedBuffersNeverReachALiveValueAnInputOrAReturnedOutput() {
        assertTrue(OnnxSession.REUSE_BUFFERS, "run with -Dember.reuseBuffers unset");
        int n = 4096;   // above the pool's minimum size
        TensorProto shape = TensorProto.newBuilder().setName("shape").setDataType(INT64).addDims(2).addInt64Data(64).addInt64Data(-1).build();
        GraphProto g = GraphProto.newBuilder()
                .addNode(node("relu", "Relu", List.of("x"), List.of("t1")))
                .addNode(node("view", "Reshape", List.of("t1", "shape"), List.of("t2")))   // t1 dies here, t2 shares its array
                .addNode(node("abs", "Abs", List.of("x"), List.of("t3")))                  // a new array of t1's size
                .addNode(node("neg", "Neg", List.of("t3"), List.of("t4")))                 // t3 dies here: t4 may take it
                .addNode(node("flat", "Reshape", List.of("t4", "flat"), List.of("t5")))
                .addNode(node("add", "Add", List.of("t2", "t5"), List.of("y")))
                .addNode(node("id", "Identity", List.of("x"), List.of("same")))
                .addInitializer(shape)
                .addInitializer(TensorProto.newBuilder().setName("flat").setDataType(INT64).addDims(2).addInt64Data(64).addInt64Data(-1).build())
                .addInput(value("x", FLOAT, n)).addOutput(value("y", FLOAT, 64, n / 64)).addOutput(value("same", FLOAT, n)).build();
        OnnxSession s = new OnnxSession(load(model(g)), dev.ember.loaders.onnx.ops.OnnxOps.resolver());
        float[] x = new float[n], want = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (i % 7) - 3.5f;
            want[i] = Math.max(x[i], 0) - Math.abs(x[i]);   // relu(x) + neg(abs(x)): t2 overwritten would break it
        }
        float[] xCopy = x.clone();
        Map<String, Tensor> first = s.run(Map.of("x", Tensor.of(x, n)));
        float[] firstY = first.get("y").toFloatArray();
        assertArrayEquals(want, firstY);
        for (int run = 0; run < 3; run++) {
            Map<String, Tensor> again = s.run(Map.of("x", Tensor.of(x, n)));
            assertArrayEquals(want, again.get("y").toFloatArray(), "run " + (run + 2));
        }
        assertArrayEquals(firstY, first.get("y").toFloatArray(), "the first run's output is the caller's, not reused later");
        assertArrayEquals(xCopy, x, "the input is never written");
        assertArrayEquals(xCopy, first.get("same").toFloatArray());
    }

    @Test void outputThatIsAnInitializerOrInputPassesThrough() {
        GraphProto g = GraphProto.newBuilder()
                .addNode(node("r", "Relu", List.of("x"), List.of("y")))
                .addInitializer(OnnxTestModels.floats("k", new float[] {4}, 1))
                .addInput(value("x", FLOAT, 1))
                .addOutput(value("y", FLOAT, 1)).addOutput(value("k", FLOAT, 1)).addOutput(value("x", FLOAT, 1)).build();
        Map<String, Tensor> out = new OnnxSession(load(model(g)), OnnxTestModels::addRelu).run(Map.of("x", Tensor.of(new float[] {-1}, 1)));
        assertEquals(List.of("y", "k", "x"), List.copyOf(out.keySet()));
        assertEquals(4f, out.get("k").item());
        assertEquals(-1f, out.get("x").item());
    }

    @Test void nonTensorGraphInputsAreRefusedAtCreation() {
        TypeProto floatTensor = TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(FLOAT)).build();
        ValueInfoProto seq = ValueInfoProto.newBuilder().setName("s")
                .setType(TypeProto.newBuilder().setSequenceType(TypeProto.Sequence.newBuilder().setElemType(floatTensor))).build();
        GraphProto g = GraphProto.newBuilder()
                .addNode(node("at", "SequenceAt", List.of("s", "i"), List.of("y")))
                .addInput(seq).addInput(value("i", INT64)).addOutput(value("y", FLOAT)).build();
        OnnxModel m = load(model(g));
        assertEquals(OnnxValueInfo.Kind.SEQUENCE, m.graph().inputs().get(0).kind());
        OnnxException e = assertThrows(OnnxException.class, () -> new OnnxSession(m, OnnxTestModels::anyOp));
        assertTrue(e.getMessage().contains("graph input 's' is a SEQUENCE value"), e.getMessage());
    }

    @Test void declaredIntegerInputsExpectTheirEngineType() {
        GraphProto g = GraphProto.newBuilder()
                .addNode(node("id", "Relu", List.of("i"), List.of("y")))
                .addInput(value("i", INT64, 2)).addOutput(value("y", INT64, 2)).build();
        OnnxSession s = new OnnxSession(load(model(g)), (n, o) -> (node, in, opset) -> new Variable[] {in[0]});
        assertArrayEquals(new long[] {4, 5}, s.run(Map.of("i", Tensor.ofLongs(new long[] {4, 5}, 2))).get("y").toLongArray());
    }
}
