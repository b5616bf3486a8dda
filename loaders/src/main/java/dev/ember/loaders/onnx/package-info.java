/**
 * ONNX models: read, check and run them on the engine.
 *
 * <p>Order of use: {@link dev.ember.loaders.onnx.OnnxModel#read} parses a file and checks its graph
 * ({@link dev.ember.loaders.onnx.OnnxGraph}: nodes, initializers, inputs, a topological order);
 * {@link dev.ember.loaders.onnx.OnnxSession} resolves every node to an {@link dev.ember.loaders.onnx.OnnxOp}
 * through an {@link dev.ember.loaders.onnx.OpResolver} and runs the graph. {@link dev.ember.loaders.onnx.OnnxTensors}
 * converts tensors between ONNX TensorProto and the engine. {@link dev.ember.loaders.onnx.NodeProfile} times a
 * session's runs step by step (where an inference's time goes, as ONNX Runtime's profiler reports it).
 *
 * <p>Every problem with a model, from a truncated file to an unsupported op, is an
 * {@link dev.ember.loaders.onnx.OnnxException} naming the file, node, tensor or field and what was expected.
 * The protobuf classes generated from {@code src/main/proto/onnx.proto} ({@code dev.ember.loaders.onnx.proto})
 * are internal to the loader and its exporter.
 */
package dev.ember.loaders.onnx;
