package dev.ember.loaders.onnx.train;

import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxModel;
import dev.ember.loaders.onnx.OnnxNode;
import dev.ember.loaders.onnx.OnnxValueInfo;
import dev.ember.loaders.onnx.export.GraphBuilder;

import java.util.List;
import java.util.Map;

/**
 * An imported model's graph written anew through the exporter's {@link GraphBuilder}: the same opsets, graph inputs
 * and node attributes, with the initializers, nodes and outputs the caller gives (trained weights, a replaced head).
 * Head replacement re-reads the copy as the module's new graph; {@link OnnxModuleExport} writes it to a file.
 */
final class GraphCopy {
    /** Initializers outside the graph inputs need IR version 4 or later. */
    private static final long MIN_IR_VERSION = 4;

    private GraphCopy() {}

    /**
     * {@code nodes} must be in a topological order; {@code initializers} are written in map order. The IR version is the
     * model's (at least {@value #MIN_IR_VERSION}); the producer is ember.
     */
    static GraphBuilder of(OnnxModel model, Map<String, Tensor> initializers, List<OnnxNode> nodes, List<OnnxValueInfo> outputs) {
        String name = model.graph().name().isEmpty() ? "ember" : model.graph().name();
        GraphBuilder b = new GraphBuilder(name);
        for (Map.Entry<String, Integer> o : model.opsets().entrySet()) b.opset(o.getKey(), o.getValue());
        b.irVersion(Math.max(model.irVersion(), MIN_IR_VERSION));
        for (OnnxValueInfo in : model.graph().inputs()) b.input(in);
        for (Map.Entry<String, Tensor> e : initializers.entrySet()) b.initializer(e.getKey(), e.getValue());
        for (OnnxNode n : nodes) b.node(n);
        for (OnnxValueInfo out : outputs) b.output(out);
        return b;
    }

    /** The copy read back as a model, for a new session over it. */
    static OnnxModel reread(GraphBuilder b) { return OnnxModel.read(b.toBytes()); }
}
