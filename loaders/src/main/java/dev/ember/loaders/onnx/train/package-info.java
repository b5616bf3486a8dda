/**
 * Training imported ONNX models. {@link dev.ember.loaders.onnx.train.OnnxModule} turns an
 * {@link dev.ember.loaders.onnx.OnnxModel} into a {@link dev.ember.nn.Module} whose parameters are the graph's float
 * initializers under their ONNX names; {@link dev.ember.loaders.onnx.train.HeadReplacement} finds the classifier head
 * that {@link dev.ember.loaders.onnx.train.OnnxModule#replaceHead} swaps for a new {@link dev.ember.nn.Linear};
 * {@link dev.ember.loaders.onnx.train.OnnxModuleExport} writes the trained graph back to ONNX.
 *
 * <p>Order of use: read, wrap, replace the head, freeze by parameter or node name, train, export.
 */
package dev.ember.loaders.onnx.train;
