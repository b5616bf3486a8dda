package dev.ember.loaders.onnx.ops;

import dev.ember.autograd.NoGrad;
import dev.ember.autograd.Variable;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxAttribute;
import dev.ember.loaders.onnx.OnnxNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Test helper: builds a node by hand and runs one op on tensors, as a session would. */
final class Ops {
    private Ops() {}

    static OnnxNode node(String opType, int inputs, int outputs, OnnxAttribute... attrs) {
        List<String> in = new ArrayList<>(), out = new ArrayList<>();
        for (int i = 0; i < inputs; i++) in.add("x" + i);
        for (int i = 0; i < outputs; i++) out.add("y" + i);
        Map<String, OnnxAttribute> a = new LinkedHashMap<>();
        for (OnnxAttribute at : attrs) a.put(at.name(), at);
        return new OnnxNode("n", opType, "", in, out, a);
    }

    /** Runs {@code opType} at {@code opset} under NoGrad on the given inputs (null: omitted); one output per result. */
    static Tensor[] run(String opType, int opset, int outputs, List<OnnxAttribute> attrs, Tensor... inputs) {
        Variable[] in = new Variable[inputs.length];
        for (int i = 0; i < in.length; i++) in[i] = inputs[i] == null ? null : Variable.of(inputs[i]);
        OnnxNode node = node(opType, inputs.length, outputs, attrs.toArray(new OnnxAttribute[0]));
        try (NoGrad g = NoGrad.enter()) {
            Variable[] out = OnnxOps.find(node, opset).apply(node, in, opset);
            Tensor[] r = new Tensor[out.length];
            for (int i = 0; i < r.length; i++) r[i] = out[i] == null ? null : out[i].data();
            return r;
        }
    }

    static Tensor run1(String opType, int opset, List<OnnxAttribute> attrs, Tensor... inputs) {
        return run(opType, opset, 1, attrs, inputs)[0];
    }

    /** Runs with gradients recorded (no NoGrad scope): for gradient checks. */
    static Variable apply(String opType, int opset, List<OnnxAttribute> attrs, Variable... inputs) {
        OnnxNode node = node(opType, inputs.length, 1, attrs.toArray(new OnnxAttribute[0]));
        return OnnxOps.find(node, opset).apply(node, inputs, opset)[0];
    }

    static Tensor longs(long[] v, int... dims) { return Tensor.ofLongs(v, dims); }

    static Tensor range(int n, int... dims) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = i;
        return Tensor.of(a, dims);
    }
}
