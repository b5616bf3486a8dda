package dev.ember.kernels;

import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Seeded float32 test inputs of one shape in several memory layouts: contiguous, permuted (a transposed copy
 * viewed back), sliced with a step and an offset, and expanded from a size-1 axis (stride 0).
 */
final class Views {
    private Views() {}

    /** Named layouts of random normal values * scale with the given dims. */
    static List<Named> of(Rng rng, float scale, int... dims) {
        List<Named> out = new ArrayList<>();
        out.add(new Named("contiguous", Tensor.randn(rng, scale, dims)));
        if (dims.length >= 2) out.add(new Named("permuted", permuted(rng, scale, dims)));
        if (dims.length >= 1) out.add(new Named("strided", strided(rng, scale, dims)));
        for (int a = 0; a < dims.length; a++) {
            if (dims[a] > 1) {
                out.add(new Named("expanded axis " + a, expanded(rng, scale, dims, a)));
                break;
            }
        }
        return out;
    }

    /** Same elements layout as a reversed-axes tensor viewed back: every stride non-contiguous. */
    static Tensor permuted(Rng rng, float scale, int... dims) {
        int r = dims.length;
        int[] rev = new int[r], perm = new int[r];
        for (int i = 0; i < r; i++) {
            rev[i] = dims[r - 1 - i];
            perm[i] = r - 1 - i;
        }
        return Tensor.randn(rng, scale, rev).permute(perm);
    }

    /** Every second element of a larger tensor along the last axis, starting at 1 (non-zero offset). */
    static Tensor strided(Rng rng, float scale, int... dims) {
        int[] big = dims.clone();
        int last = dims.length - 1;
        big[last] = 2 * dims[last] + 1;
        return Tensor.randn(rng, scale, big).slice(last, 1, big[last], 2);
    }

    /** Size 1 along {@code axis}, expanded to dims[axis] (stride 0). */
    static Tensor expanded(Rng rng, float scale, int[] dims, int axis) {
        int[] one = dims.clone();
        one[axis] = 1;
        return Tensor.randn(rng, scale, one).expand(dims);
    }

    record Named(String name, Tensor tensor) {
        @Override public String toString() { return name; }
    }
}
