package dev.ember.autograd;

import dev.ember.engine.DType;
import dev.ember.engine.Tensor;

/**
 * Movement primitives: they rearrange elements without arithmetic, so each gradient is the inverse movement
 * of g (expand's inverse is a sum, slice's is a scatter into zeros). flatten, squeeze and unsqueeze are reshapes.
 */
final class MovementOps {
    private MovementOps() {}

    static Variable reshape(Variable x, int... dims) {
        Tensor y = x.data().reshape(dims);   // y (dims), same elements as x (X)
        return Variable.fromOp("reshape", y, g -> new Tensor[] {g.reshape(x.shape().dims())}, x);
    }

    static Variable permute(Variable x, int... perm) {
        Tensor y = x.data().permute(perm);   // y axis i = x axis perm[i]
        int[] inverse = new int[perm.length];
        for (int i = 0; i < perm.length; i++) inverse[x.shape().axis(perm[i])] = i;
        return Variable.fromOp("permute", y, g -> new Tensor[] {g.permute(inverse)}, x);
    }

    static Variable expand(Variable x, int... dims) {
        Tensor y = x.data().expand(dims);   // y (dims): x repeated along stride-0 axes
        return Variable.fromOp("expand", y, g -> new Tensor[] {ReduceOps.sumToShape(g, x.shape())}, x);
    }

    static Variable slice(Variable x, int axis, int start, int end, int step) {
        Tensor y = x.data().slice(axis, start, end, step);   // y: every step-th element of x's [start, end) on axis
        return Variable.fromOp("slice", y, g -> {
            Tensor dx = g.backend().zeros(DType.FLOAT32, x.shape());   // dx (X): 0 outside the slice
            dx.slice(axis, start, end, step).copyFrom(g);
            return new Tensor[] {dx};
        }, x);
    }
}
