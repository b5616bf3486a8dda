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
}
