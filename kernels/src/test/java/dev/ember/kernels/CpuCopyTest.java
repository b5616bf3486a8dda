package dev.ember.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.ember.engine.BufferPool;
import dev.ember.engine.CpuStorage;
import dev.ember.engine.DType;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import dev.ember.engine.TensorScope;
import org.junit.jupiter.api.Test;

/** Copies take their float arrays unzeroed from the pool, so they must write every element themselves. */
class CpuCopyTest {
    @Test void aCopyIntoAReusedArrayHoldsTheSourceValuesOnly() {
        int rows = 40, cols = 64;   // 2560 floats: a pooled size
        float[] values = new float[rows * cols];
        for (int i = 0; i < values.length; i++) values[i] = i - 1000.5f;
        Tensor src = Tensor.of(values, rows, cols);
        BufferPool pool = new BufferPool();
        float[] dirty;
        try (TensorScope scope = TensorScope.open(pool)) {
            Tensor t = Tensor.zeros(DType.FLOAT32, Shape.of(rows * cols));
            dirty = ((CpuStorage) t.storage()).floats();
            java.util.Arrays.fill(dirty, Float.NaN);
        }
        try (TensorScope scope = TensorScope.open(pool)) {
            Tensor transposed = src.transpose(0, 1);
            Tensor copy = transposed.copy();   // strided source: not one arraycopy
            assertSame(dirty, ((CpuStorage) copy.storage()).floats(), "the copy took the released array");
            assertArrayEquals(transposed.toFloatArray(), copy.toFloatArray());
            assertArrayEquals(new int[] {cols, rows}, copy.dims());
            assertArrayEquals(transposed.toFloatArray(), transposed.contiguous().toFloatArray());
        }
    }

    /** A copy in short runs is cut into several chunks run in parallel: each element still lands in its place. */
    @Test void aCopyInShortRunsSplitAcrossThreadsPutsEveryElementInPlace() {
        int n = 16, c = 512, k = 4;   // (N, C, 4) -> (C, N, 4): runs of 4, 32k elements
        float[] values = new float[n * c * k];
        for (int i = 0; i < values.length; i++) values[i] = i;
        Tensor permuted = Tensor.of(values, n, c, k).permute(1, 0, 2);
        float[] expected = new float[values.length];
        for (int ci = 0; ci < c; ci++) {
            for (int ni = 0; ni < n; ni++) {
                for (int ki = 0; ki < k; ki++) expected[(ci * n + ni) * k + ki] = (ni * c + ci) * k + ki;
            }
        }
        assertArrayEquals(expected, ((CpuStorage) permuted.contiguous().storage()).floats());
    }
}
