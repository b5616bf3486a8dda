package dev.ember.kernels.cuda;

import dev.ember.engine.BackendException;
import dev.ember.engine.Tensor;

import java.util.Arrays;

/**
 * A tensor view in the form the kernels take it ({@code struct Strided} of ember.cuh): rank, element offset,
 * then {@link #MAX_RANK} dims and strides (unused axes: dim 1, stride 0). Size-1 axes are dropped first so
 * rank-9 views with a size-1 axis still fit; then neighbouring axes that step through memory as one are merged
 * (axis a into a + 1 when stride[a] == stride[a + 1] * dim[a + 1]), as PyTorch's TensorIterator coalesces them: the
 * row-major order of elements is unchanged, and the kernels' per-element index arithmetic (a division and a
 * remainder per axis) shrinks to one axis for a contiguous view and to two or three for a broadcast bias.
 */
record Strided(int rank, int offset, int[] dims, int[] strides) {
    static final int MAX_RANK = 8;

    static Strided of(Tensor t) { return of(t.dims(), t.strides(), t.offset(), t.toString()); }

    static Strided of(int[] dims, int[] strides, int offset, String what) {
        int[] d = new int[Math.max(MAX_RANK, dims.length)], s = new int[d.length];   // unused axes: dim 1, stride 0
        Arrays.fill(d, 1);
        int r = 0;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] == 1) continue;
            if (r > 0 && s[r - 1] == (long) strides[i] * dims[i]) {   // the previous axis steps over this one whole
                d[r - 1] *= dims[i];
                s[r - 1] = strides[i];
                continue;
            }
            d[r] = dims[i];
            s[r] = strides[i];
            r++;
        }
        if (r > MAX_RANK) throw new BackendException("cuda backend: " + what + " has " + r + " axes that cannot be merged; kernels take at most " + MAX_RANK);
        return new Strided(r, offset, Arrays.copyOf(d, MAX_RANK), Arrays.copyOf(s, MAX_RANK));
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
