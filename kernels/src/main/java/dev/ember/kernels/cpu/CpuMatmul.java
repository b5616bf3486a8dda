package dev.ember.kernels.cpu;

import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;

/** Batched matrix product on the CPU over {@link Sgemm}. (Being written: see issue 6.) */
final class CpuMatmul {
    private CpuMatmul() {}

    /** C = A·B for A (..., M, K), B (..., K, N), batch axes broadcast to outShape's leading axes; any strides. */
    static Tensor matmul(Tensor a, Tensor b, Shape outShape) {
        throw new UnsupportedOperationException("CpuMatmul is being written");
    }
}
