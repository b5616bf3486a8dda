package dev.ember.loaders.onnx.train;

import dev.ember.loaders.onnx.OnnxGraph;
import dev.ember.loaders.onnx.export.GraphBuilder;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Writes an {@link OnnxModule} back to ONNX: its current graph (with a replaced head, if any) node for node, under the
 * imported model's opsets, with every initializer at its current value (trained parameters, updated BatchNormalization
 * statistics, the untouched constants). What is written is the inference computation: BatchNormalization nodes keep
 * their inference form whatever the module's mode.
 */
public final class OnnxModuleExport {
    private OnnxModuleExport() {}

    /** The module as a graph, for adding metadata before {@link GraphBuilder#write}. */
    public static GraphBuilder toGraph(OnnxModule module) {
        OnnxGraph g = module.model().graph();
        return GraphCopy.of(module.model(), module.initializerValues(), g.order(), g.outputs());
    }

    /** Writes {@code module} to {@code file} atomically (temporary file, fsync, rename). */
    public static void write(OnnxModule module, Path file) throws IOException { toGraph(module).write(file); }
}
