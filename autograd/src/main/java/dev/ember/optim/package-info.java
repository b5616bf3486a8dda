/**
 * Optimizers and learning-rate schedules. {@link dev.ember.optim.Optimizer} updates the parameters of its
 * {@link dev.ember.optim.ParamGroup}s (each with its own lr, weight decay and options) through the backend:
 * {@link dev.ember.optim.Sgd} (momentum, dampening, Nesterov), {@link dev.ember.optim.Adam} (L2 decay) and
 * {@link dev.ember.optim.AdamW} (decoupled decay). {@link dev.ember.optim.GradClip} clips by global norm.
 * {@link dev.ember.optim.LrSchedule}s are pure functions of the step: {@link dev.ember.optim.StepLr},
 * {@link dev.ember.optim.CosineWarmup}, {@link dev.ember.optim.OneCycle}. {@link dev.ember.optim.Checkpoint}
 * saves and restores model, optimizer and step in one file; {@code Optimizer.stateDict()} copies the state,
 * {@code stateView()} hands a checkpoint writer the live tensors instead (no second copy of Adam's moments).
 *
 * <p>Order of use, per batch: {@code optimizer.zeroGrad()}, forward, {@code loss.backward()},
 * {@code GradClip.clipGlobalNorm(...)} (optional), {@code schedule.apply(optimizer, step)}, {@code optimizer.step()};
 * all of it inside a {@link dev.ember.engine.TensorScope}, so that the step's tensors and gradients are reused by the
 * next one. An optimizer's state (momentum, Adam's moments) is made on its first step and detached from the scope.
 * Without clipping, {@code optimizer.backwardAndStep(loss)} replaces backward and step: each parameter is updated as
 * soon as the pass has its whole gradient (the same bits), so the step never holds every gradient at once.
 */
package dev.ember.optim;
