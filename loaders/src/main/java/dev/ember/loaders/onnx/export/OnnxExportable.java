package dev.ember.loaders.onnx.export;

/**
 * A module that writes its own ONNX nodes, for modules {@link OnnxExport} has no built-in lowering for (an imported
 * ONNX graph wrapped as a module, a custom block). The exporter calls it with the module's place in the tree and
 * the value it reads, and traces its output shape by running {@code forward} once.
 */
public interface OnnxExportable {
    /**
     * Adds to {@code graph} the nodes computing this module's inference (eval-mode) forward from value {@code input},
     * and returns the name of the value holding the result. Each parameter or buffer the nodes read becomes an
     * initializer named {@code prefix + its name in this module's state dict}, so the ONNX names are the model's
     * {@code stateDict()} names ({@code prefix} is "" for the root module, else its dotted path and a dot). Nodes must
     * be added in topological order; use {@link GraphBuilder#uniqueValueName} for intermediate values.
     */
    String exportOnnx(GraphBuilder graph, String prefix, String input);
}
