package dev.ember.autograd;

import dev.ember.engine.DType;
import dev.ember.engine.Shape;
import dev.ember.engine.ShapeException;
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

    /** parts joined along axis (all other sizes equal): y (..., sum n_i, ...); each part's gradient is its slice of g. */
    static Variable cat(Variable[] parts, int axis) {
        Tensor first = parts[0].data();
        int a = first.shape().axis(axis);
        int[] dims = first.dims();
        int total = 0;
        for (Variable p : parts) {
            if (p.rank() != first.rank() || p.data().dtype() != first.dtype()) {
                throw new ShapeException("cat: part " + p.shape() + " " + p.data().dtype() + " does not match " + first.shape() + " " + first.dtype());
            }
            for (int d = 0; d < dims.length; d++) {
                if (d != a && p.dim(d) != dims[d]) throw new ShapeException("cat along axis " + axis + ": part " + p.shape() + " does not fit " + first.shape());
            }
            total += p.dim(a);
        }
        dims[a] = total;
        Tensor y = first.backend().zeros(first.dtype(), Shape.of(dims));   // y (..., total, ...)
        int[] offsets = new int[parts.length];
        for (int i = 0, at = 0; i < parts.length; i++) {
            offsets[i] = at;
            y.slice(a, at, at + parts[i].dim(a)).copyFrom(parts[i].data());
            at += parts[i].dim(a);
        }
        return Variable.fromOp("cat", y, g -> {
            Tensor[] grads = new Tensor[parts.length];
            for (int i = 0; i < parts.length; i++) {
                if (parts[i].requiresGrad()) grads[i] = g.slice(a, offsets[i], offsets[i] + parts[i].dim(a)).contiguous();
            }
            return grads;
        }, parts);
    }

    /**
     * Whole slices of x along axis, in the order of {@code index} (repeats allowed): y (..., k, ...). The gradient
     * adds each slice of g back into the slice of dx it came from, in index order (deterministic).
     */
    static Variable indexSelect(Variable x, int axis, int[] index) {
        Tensor xd = x.data();
        int a = xd.shape().axis(axis), n = xd.dim(a);
        for (int j = 0; j < index.length; j++) {
            if (index[j] < 0 || index[j] >= n) throw new ShapeException("indexSelect: index " + index[j] + " at position " + j + " is outside [0, " + n + ") of axis " + axis + " of " + xd.shape());
        }
        int[] dims = xd.dims();
        dims[a] = index.length;
        Tensor y = xd.backend().zeros(xd.dtype(), Shape.of(dims));   // y (..., k, ...)
        for (int j = 0; j < index.length; j++) y.slice(a, j, j + 1).copyFrom(xd.slice(a, index[j], index[j] + 1));
        return Variable.fromOp("indexSelect", y, g -> {
            Tensor dx = g.backend().zeros(DType.FLOAT32, x.shape());   // dx (X)
            for (int j = 0; j < index.length; j++) {
                Tensor at = dx.slice(a, index[j], index[j] + 1);
                at.copyFrom(at.add(g.slice(a, j, j + 1)));
            }
            return new Tensor[] {dx};
        }, x);
    }
}
