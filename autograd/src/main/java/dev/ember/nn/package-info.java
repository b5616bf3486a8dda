/**
 * Neural-network modules: {@link dev.ember.nn.Module} (parameters, buffers and children under dotted names,
 * train/eval, freezing by glob or regex, {@code stateDict}/{@code loadStateDict}, a PyTorch-like printout) and the
 * layers built on it ({@link dev.ember.nn.Linear}, {@link dev.ember.nn.Conv2d}, {@link dev.ember.nn.BatchNorm2d},
 * {@link dev.ember.nn.LayerNorm}, activations, pooling, {@link dev.ember.nn.Dropout}, {@link dev.ember.nn.Flatten},
 * {@link dev.ember.nn.Sequential}). Modules hold state; the math is in {@link dev.ember.autograd.F}.
 *
 * <p>{@link dev.ember.nn.Init} draws seeded initial weights (every constructor that draws takes a
 * {@link dev.ember.engine.Rng}); {@link dev.ember.nn.StateFile} writes and reads named tensors on disk (atomic
 * write, checked read); {@link dev.ember.nn.StateDictException} reports a state dict that does not fit.
 */
package dev.ember.nn;
