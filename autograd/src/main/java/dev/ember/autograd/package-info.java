/**
 * Reverse-mode automatic differentiation over engine tensors: {@link dev.ember.autograd.Variable} (value, gradient,
 * graph node), {@link dev.ember.autograd.NoGrad} (scopes that record nothing), the functional layer
 * {@link dev.ember.autograd.F}, the losses {@link dev.ember.autograd.Loss} and the numeric gradient check
 * {@link dev.ember.autograd.GradCheck}. Compiles against {@code engine} only; the backend arrives at run time.
 *
 * <p>Order of use: wrap parameters with {@code Variable.param}, inputs with {@code Variable.of}; compute a scalar
 * loss with Variable ops, {@code F} and {@code Loss}; call {@code loss.backward()}; read {@code grad()} of each
 * parameter (gradients add up across backward calls); {@code zeroGrad()} before the next step.
 * {@code loss.backward(hook)} hands each leaf's gradient to a {@link dev.ember.autograd.Variable.LeafHook} as soon as it
 * is whole instead (an optimizer updating there: {@code Optimizer.backwardAndStep}).
 *
 * <p>Inside: one derivative rule per primitive, forward and backward side by side, grouped by kind in
 * {@code ElementwiseOps}, {@code ReduceOps}, {@code MovementOps}, {@code LinalgOps} and {@code NormOps} (batch and
 * layer norm over the backend's fused kernels); composed functions (mean, eval-mode batch norm, cross-entropy) get
 * their gradients from those. {@code BackwardPass} walks the graph iteratively.
 */
package dev.ember.autograd;
