package dev.ember.kernels.cuda;

import dev.ember.engine.BackendException;
import dev.ember.engine.Tensor;

import java.util.Arrays;

/**
 * A tensor view in the form the kernels take it ({@code struct Strided} of ember.cuh): rank, element offset,
 * then {@link #MAX_RANK} dims and strides (unused axes: dim 1, stride 0). Size-1 axes are dropped first so
 * rank-9 views with a size-1 axis still fit.
 */
record Strided(int rank, int offset, int[] dims, int[] strides) {
    static final int MAX_RANK = 8;

    static Strided of(Tensor t) { return of(t.dims(), t.strides(), t.offset(), t.toString()); }

    static Strided of(int[] dims, int[] strides, int offset, String what) {
        int kept = 0;
        for (int d : dims) if (d != 1) kept++;
        if (kept > MAX_RANK) throw new BackendException("cuda backend: " + what + " has " + kept + " axes longer than 1; kernels take at most " + MAX_RANK);
        int[] d = new int[MAX_RANK], s = new int[MAX_RANK];
        Arrays.fill(d, 1);
        int r = 0;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] == 1) continue;
            d[r] = dims[i];
            s[r] = strides[i];
            r++;
        }
        return new Strided(r, offset, d, s);
    }

    /** The 2 + 2 * MAX_RANK 32-bit words of the struct. */
    int[] words() {
        int[] w = new int[2 + 2 * MAX_RANK];
        w[0] = rank;
        w[1] = offset;
        System.arraycopy(dims, 0, w, 2, MAX_RANK);
        System.arraycopy(strides, 0, w, 2 + MAX_RANK, MAX_RANK);
        return w;
    }
}
