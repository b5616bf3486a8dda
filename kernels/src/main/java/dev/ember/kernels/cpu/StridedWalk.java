package dev.ember.kernels.cpu;

import java.util.Arrays;

/**
 * A row-major walk over several strided operands of one shape (an output and its inputs), cut into runs along the
 * innermost axis. Axes of size 1 are dropped and neighbouring axes that are contiguous with each other in every
 * operand are merged first, so a contiguous tensor is one run and {@code x (N, C) + bias (C)} is N runs of C.
 *
 * <p>{@link #forEachRun} walks any sub-range of element numbers, so a parallel caller cuts [0, numel) into fixed
 * chunks and each chunk writes only its own outputs.
 */
final class StridedWalk {
    /** Body over one run: {@code count} elements starting at {@code offsets[k]} in operand k, stepping by {@link #innerStride}. */
    @FunctionalInterface
    interface Run { void run(int[] offsets, int count); }

    private final int[] dims;        // merged sizes, innermost last; at least one axis
    private final int[][] strides;   // [operand][axis]
    private final int[] base;        // [operand] offset of element 0
    private final int numel;

    /** Operand k has strides {@code strides[k]} (one per axis of {@code dims}) and offset {@code offsets[k]}. */
    StridedWalk(int[] dims, int[][] strides, int[] offsets) {
        int ops = strides.length;
        int[] d = new int[Math.max(1, dims.length)];   // a 0-d tensor walks as one axis of size 1
        int[][] s = new int[ops][d.length];
        int r = 0;
        long n = 1;
        for (int axis = 0; axis < dims.length; axis++) {
            n *= dims[axis];
            if (dims[axis] == 1) continue;
            boolean merge = r > 0;
            for (int k = 0; k < ops && merge; k++) merge = s[k][r - 1] == strides[k][axis] * dims[axis];
            if (merge) {
                d[r - 1] *= dims[axis];
                for (int k = 0; k < ops; k++) s[k][r - 1] = strides[k][axis];
            } else {
                d[r] = dims[axis];
                for (int k = 0; k < ops; k++) s[k][r] = strides[k][axis];
                r++;
            }
        }
        if (r == 0) {   // a single element (or a shape of all ones)
            d[0] = 1;
            r = 1;
        }
        this.dims = Arrays.copyOf(d, r);
        this.strides = new int[ops][];
        for (int k = 0; k < ops; k++) this.strides[k] = Arrays.copyOf(s[k], r);
        this.base = offsets.clone();
        this.numel = (int) n;
    }

    int numel() { return numel; }

    /** Length of a full run (the merged innermost axis). */
    int runLength() { return dims[dims.length - 1]; }

    /** Step between consecutive elements of a run in operand {@code k}. */
    int innerStride(int k) { return strides[k][dims.length - 1]; }

    /** Calls {@code body} for the runs covering element numbers [lo, hi); the offsets array is reused, do not keep it. */
    void forEachRun(int lo, int hi, Run body) {
        if (lo >= hi) return;
        int r = dims.length, ops = base.length, last = r - 1;
        int[] idx = new int[r];
        int[] off = base.clone();
        int rest = lo;
        for (int a = last; a >= 0; a--) {
            idx[a] = rest % dims[a];
            rest /= dims[a];
            for (int k = 0; k < ops; k++) off[k] += idx[a] * strides[k][a];
        }
        int[] view = new int[ops];
        for (int pos = lo; pos < hi; ) {
            int count = Math.min(dims[last] - idx[last], hi - pos);
            System.arraycopy(off, 0, view, 0, ops);
            body.run(view, count);
            pos += count;
            if (pos >= hi) break;
            // advance the odometer by count along the innermost axis, carrying into outer axes
            idx[last] += count;
            for (int k = 0; k < ops; k++) off[k] += count * strides[k][last];
            for (int a = last; a > 0 && idx[a] == dims[a]; a--) {
                idx[a] = 0;
                idx[a - 1]++;
                for (int k = 0; k < ops; k++) off[k] += strides[k][a - 1] - dims[a] * strides[k][a];
            }
        }
    }
}
