/**
 * ONNX operator implementations: {@link dev.ember.loaders.onnx.ops.OnnxOps} maps (domain, op type, opset) to an
 * {@link dev.ember.loaders.onnx.OnnxOp}, each written once over autograd Variables so the same code runs inference
 * (under NoGrad) and training of an imported model. Ops with no autograd counterpart compute on the host and either
 * attach a first-order gradient or refuse one with a clear error. {@link dev.ember.loaders.onnx.ops.OnnxConformance}
 * runs the upstream node tests and writes the per-op report to {@code docs/onnx-conformance.md}.
 *
 * <p>Families, one file each: elementwise math and logic, activations and softmax, shape and movement ops, indexing,
 * reductions, matrix products, convolution, pooling, normalization, resize, losses.
 */
package dev.ember.loaders.onnx.ops;
