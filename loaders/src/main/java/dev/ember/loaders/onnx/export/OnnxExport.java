package dev.ember.loaders.onnx.export;

import dev.ember.engine.DType;
import dev.ember.engine.EmberException;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxAttribute;
import dev.ember.loaders.onnx.OnnxNode;
import dev.ember.loaders.onnx.OnnxValueInfo;
import dev.ember.nn.Module;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Exports a model built from nn modules to an ONNX file that other runtimes load: opset {@value GraphBuilder#DEFAULT_OPSET},
 * IR version {@value GraphBuilder#DEFAULT_IR_VERSION}, one float32 input whose first axis (the batch) is symbolic,
 * one output, and the parameters and buffers as initializers under their {@link Module#stateDict()} names. What is
 * written is the model's inference computation (eval mode), whatever mode it is in; its modes are restored after.
 * The lowering of each module is listed in {@link ModuleLowering}; a module without one is an
 * {@link dev.ember.loaders.onnx.OnnxException} naming it, unless it implements {@link OnnxExportable}.
 *
 * <p>The export runs the model once on a zero input of {@code inputShape} to learn every value's shape (dim 0 of
 * {@code inputShape} is the batch size used for that run; the file declares the batch axis by name).
 */
public final class OnnxExport {
    /** Names in the written graph. */
    public record Options(String graphName, String inputName, String outputName, String batchName) {
        public static Options defaults() { return new Options("ember", "input", "output", "batch"); }
    }

    private OnnxExport() {}

    /** Writes {@code model} to {@code file} atomically, with {@link Options#defaults()}. */
    public static void write(Module model, Shape inputShape, Path file) throws IOException {
        write(model, inputShape, file, Options.defaults());
    }

    public static void write(Module model, Shape inputShape, Path file, Options options) throws IOException {
        toGraph(model, inputShape, options).write(file);
    }

    /** The model as a graph, for adding metadata or nodes before {@link GraphBuilder#write}. */
    public static GraphBuilder toGraph(Module model, Shape inputShape, Options options) {
        if (inputShape.rank() < 1) throw new EmberException("ONNX export needs an input shape with a batch axis, got " + inputShape);
        Map<Module, Boolean> modes = new LinkedHashMap<>();   // parents before children, so restoring in order works
        for (Module m : model.namedModules().values()) modes.put(m, m.isTraining());
        model.eval();
        try {
            GraphBuilder graph = new GraphBuilder(options.graphName());
            String input = graph.input(options.inputName(), DType.FLOAT32, GraphBuilder.dims(options.batchName(), inputShape.dims()));
            ModuleLowering.Traced out = new ModuleLowering(graph).lower(model, "", new ModuleLowering.Traced(input, Tensor.zeros(DType.FLOAT32, inputShape)));
            if (out.value().equals(input)) {
                graph.node(new OnnxNode("Identity", "Identity", "", List.of(input), List.of(options.outputName()), Map.<String, OnnxAttribute>of()));
            } else {
                graph.renameNodeOutput(out.value(), options.outputName());
            }
            graph.output(options.outputName(), DType.FLOAT32, outputDims(out.sample().shape(), inputShape, options.batchName()));
            return graph;
        } finally {
            for (Map.Entry<Module, Boolean> e : modes.entrySet()) e.getKey().train(e.getValue());
        }
    }

    /** The traced output's dims with the batch axis named, when the output has one. */
    private static List<OnnxValueInfo.Dim> outputDims(Shape out, Shape in, String batchName) {
        boolean batched = out.rank() >= 1 && out.dim(0) == in.dim(0);
        return new ArrayList<>(GraphBuilder.dims(batched ? batchName : null, out.dims()));
    }
}
