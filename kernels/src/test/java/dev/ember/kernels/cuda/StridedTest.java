package dev.ember.kernels.cuda;

import dev.ember.engine.BackendException;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Strided's merging of axes keeps every element where it was: checked against the view's own strides, without a GPU. */
class StridedTest {
    /** ember.cuh's strided_offset, in Java. */
    private static long offset(Strided s, long i) {
        long at = s.offset();
        for (int a = s.rank() - 1; a >= 0; a--) {
            at += (i % s.dims()[a]) * s.strides()[a];
            i /= s.dims()[a];
        }
        return at;
    }

    /** The offset of element i (row-major) of t, from its unmerged dims and strides. */
    private static long direct(Tensor t, long i) {
        long at = t.offset();
        for (int a = t.rank() - 1; a >= 0; a--) {
            at += (i % t.dim(a)) * t.strides()[a];
            i /= t.dim(a);
        }
        return at;
    }

    private static void sameOffsets(Tensor t, int expectedRank) {
        Strided s = Strided.of(t);
        assertEquals(expectedRank, s.rank(), t + " merged to " + java.util.Arrays.toString(s.dims()));
        for (long i = 0; i < t.numel(); i++) assertEquals(direct(t, i), offset(s, i), t + " element " + i);
    }

    @Test void contiguousViewsBecomeOneAxis() {
        sameOffsets(Tensor.zeros(4, 3, 5, 7), 1);
        sameOffsets(Tensor.zeros(4, 1, 5, 1), 1);
        sameOffsets(Tensor.zeros(), 0);
    }

    @Test void aBroadcastBiasKeepsOnlyTheAxesThatDiffer() {
        Tensor bias = Tensor.zeros(3, 1, 1).expand(4, 3, 5, 7);   // strides (0, 1, 0, 0): (N) (C) (H W)
        sameOffsets(bias, 3);
        assertArrayEquals(new int[] {4, 3, 35, 1, 1, 1, 1, 1}, Strided.of(bias).dims());
    }

    @Test void permutedSlicedAndExpandedViewsKeepTheirOffsets() {
        Tensor x = Tensor.randn(new Rng(1), 1f, 5, 3, 17, 6);
        sameOffsets(x.permute(0, 2, 1, 3), 4);                   // (5, 17, 3, 6): only the last axis stays unit-stride
        sameOffsets(x.slice(3, 1, 6, 2), 1);                     // every other element of the whole tensor: one axis of stride 2
        sameOffsets(x.slice(1, 1, 3), 2);                        // channels 1..2 of each image: (5) (2*17*6)
        sameOffsets(x.transpose(2, 3).slice(0, 2, 3), 3);
        sameOffsets(Tensor.zeros(1, 6).expand(4, 6), 2);
    }

    @Test void nineAxesThatCannotMergeAreRefused() {
        int[] dims = {2, 2, 2, 2, 2, 2, 2, 2, 2}, strides = {1, 2, 4, 8, 16, 32, 64, 128, 256};   // reversed: none merge
        BackendException e = assertThrows(BackendException.class, () -> Strided.of(dims, strides, 0, "x"));
        assertEquals("cuda backend: x has 9 axes that cannot be merged; kernels take at most 8", e.getMessage());
    }
}
