package dev.ember.engine;

/**
 * A tensor was used after the {@link TensorScope} it was made in closed. Its elements are gone (the array may already
 * hold another tensor's values), so reading or writing them is refused rather than answered with stale numbers.
 */
public class ReleasedTensorException extends EmberException {
    public ReleasedTensorException(int size, DType dtype) {
        super("a tensor of " + size + " " + dtype + " elements was used after it was released: the TensorScope it was made in"
                + " has closed (or it was a gradient a backward pass had passed on); keep what must outlive a step with"
                + " TensorScope.detach(tensor), or copy it out (item(), toFloatArray()) inside the scope");
    }
}
