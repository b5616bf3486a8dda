package dev.ember.autograd;

import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Reductions and the softmax family, forward with derivative rule beneath. Reduced axes come back in the
 * gradient by reshaping g to the kept-dims shape and broadcasting it over the input.
 */
final class ReduceOps {
    private ReduceOps() {}

    static Variable sum(Variable x, boolean keepDims, int... axes) {
        int[] ax = x.data().normalizeAxes(axes);
        Tensor y = x.data().sum(keepDims, ax);   // y (X with axes removed, or size 1 when keepDims)
        return Variable.fromOp("sum", y, g -> new Tensor[] {
                g.reshape(keptDims(x.shape(), ax)).expand(x.shape())}, x);   // dy/dx = 1 for every summed element
    }

    /** Composed: sum times 1/n, so its gradient comes from sum and mul. */
    static Variable mean(Variable x, boolean keepDims, int... axes) {
        int[] ax = x.data().normalizeAxes(axes);
        long n = 1;
        for (int a : ax) n *= x.dim(a);
        return sum(x, keepDims, ax).mul(1f / n);
    }

    static Variable max(Variable x, boolean keepDims, int... axes) {
        int[] ax = x.data().normalizeAxes(axes);
        Tensor kept = x.data().max(true, ax);   // kept (X with axes of size 1)
        Tensor y = keepDims ? kept : kept.reshape(removedDims(x.shape(), ax));
        return Variable.fromOp("max", y, g -> {
            Tensor winners = x.data().eq(kept);                 // winners (X): 1 where x is its window's max
            Tensor count = winners.sum(true, ax);               // count (kept): ties share the gradient evenly
            return new Tensor[] {winners.mul(g.reshape(kept.dims()).div(count))};
        }, x);
    }

    static Variable softmax(Variable x, int axis) {
        int a = x.shape().axis(axis);
        Tensor y = x.data().softmax(a);   // y (X)
        return Variable.fromOp("softmax", y, g -> new Tensor[] {
                y.mul(g.sub(g.mul(y).sum(true, a)))}, x);   // dx = y * (g - sum(g y))
    }

    static Variable logSoftmax(Variable x, int axis) {
        int a = x.shape().axis(axis);
        Tensor y = x.data().logSoftmax(a);   // y (X)
        return Variable.fromOp("logSoftmax", y, g -> new Tensor[] {
                g.sub(y.exp().mul(g.sum(true, a)))}, x);   // dx = g - softmax(x) * sum(g)
    }

    /**
     * Sums a broadcast gradient back to {@code shape}: over the leading axes the broadcast added and over every
     * axis where {@code shape} has size 1 but {@code g} does not.
     */
    static Tensor sumToShape(Tensor g, Shape shape) {
        if (g.shape().equals(shape)) return g;
        int lead = g.rank() - shape.rank();
        List<Integer> axes = new ArrayList<>();
        for (int i = 0; i < g.rank(); i++) {
            if (i < lead || (shape.dim(i - lead) == 1 && g.dim(i) != 1)) axes.add(i);
        }
        int[] ax = axes.stream().mapToInt(Integer::intValue).toArray();
        Tensor summed = ax.length == 0 ? g : g.sum(true, ax);
        return summed.reshape(shape.dims());
    }

    /** {@code shape} with the reduced axes set to 1. */
    static int[] keptDims(Shape shape, int[] axes) {
        int[] d = shape.dims();
        for (int a : axes) d[a] = 1;
        return d;
    }

    /** {@code shape} without the reduced axes. */
    static int[] removedDims(Shape shape, int[] axes) {
        int[] d = new int[shape.rank() - axes.length];
        for (int i = 0, j = 0, k = 0; i < shape.rank(); i++) {
            if (k < axes.length && axes[k] == i) k++;
            else d[j++] = shape.dim(i);
        }
        return d;
    }
}
