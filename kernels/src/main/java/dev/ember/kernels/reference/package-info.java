/**
 * The scalar reference backend, {@link dev.ember.kernels.reference.ReferenceBackend}: plain loops, double
 * accumulation, no vectors or threads. It is the oracle every faster backend is tested against, and runs a whole
 * model with {@code -Dember.backend=reference}. Matmul and convolution live in
 * {@link dev.ember.kernels.reference.ReferenceLinalg}, batch/layer norm in {@code ReferenceNorm}.
 */
package dev.ember.kernels.reference;
