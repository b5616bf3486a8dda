package dev.ember.autograd;

import dev.ember.engine.Tensor;

/**
 * How a non-leaf {@link Variable} was made: the op's name (for messages), its inputs, and the rule that turns
 * the gradient of the output into the gradients of the inputs. The rule captures what the forward saved.
 */
record Node(String op, Variable[] inputs, Backward backward) {

    /**
     * dL/d(inputs) from dL/d(output). Returns one tensor per input, shaped like that input; an entry may be null
     * when the input needs no gradient (rules skip costly work for such inputs by asking {@code requiresGrad()}).
     */
    @FunctionalInterface
    interface Backward {
        Tensor[] apply(Tensor gradOutput);
    }
}
