/**
 * The engine: {@link dev.ember.engine.Tensor} (a strided view over a {@link dev.ember.engine.Storage}),
 * {@link dev.ember.engine.Shape}, {@link dev.ember.engine.DType}, {@link dev.ember.engine.Device}, the closed
 * op set ({@link dev.ember.engine.UnaryOp}, {@link dev.ember.engine.BinaryOp}, {@link dev.ember.engine.ReduceOp}
 * and the methods of {@link dev.ember.engine.Backend}), and typed errors rooted at
 * {@link dev.ember.engine.EmberException}. Needs only {@code java.base}.
 *
 * <p>Order of use: build tensors ({@code Tensor.of}, {@code zeros}, {@code randn} with an {@link dev.ember.engine.Rng}),
 * take views, call ops; each op checks shapes here and dispatches to the backend that
 * {@link dev.ember.engine.Backends} found for the tensor's device (the {@code kernels} jar provides the CPU ones).
 * Weights that will not change again (an inference session's) can be {@linkplain dev.ember.engine.Storage#markConstant
 * marked constant}, which lets a backend keep them in its kernels' layout instead of re-laying them out per call.
 * Code that runs the same graph again and again and knows when each value dies (an inference session) can hand
 * dead values' arrays to a {@link dev.ember.engine.BufferPool}, from which the CPU kernels take their outputs while
 * the pool's lease is open on the calling thread: its intermediates are then allocated on the first run only.
 * A training loop gets the same through a {@link dev.ember.engine.TensorScope} around each step: every tensor made
 * in it is released when it closes (a later use is a {@link dev.ember.engine.ReleasedTensorException}); a CPU tensor's
 * array serves the next step, a GPU tensor's device memory goes back to its allocator's cache.
 */
package dev.ember.engine;
