/**
 * Writing ONNX models. {@link dev.ember.loaders.onnx.export.OnnxExport} exports a model built from nn modules
 * (opset 17, symbolic batch axis, initializers named after the state dict); underneath,
 * {@link dev.ember.loaders.onnx.export.GraphBuilder} writes any graph given as inputs, initializers, nodes and outputs,
 * in the reader's own types, so an imported graph can be written back with its trained weights and a new head.
 * {@link dev.ember.loaders.onnx.export.OnnxExportable} lets a module lower itself. Files are written atomically.
 */
package dev.ember.loaders.onnx.export;
