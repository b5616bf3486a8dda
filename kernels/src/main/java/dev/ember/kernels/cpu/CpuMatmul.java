package dev.ember.kernels.cpu;

import dev.ember.engine.CpuStorage;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;

/**
 * Batched matrix product on the CPU over {@link Sgemm}.
 *
 * <p>A (..., M, K) and B (..., K, N) are read through their own strides: a batch axis of size 1 (or stride 0)
 * reuses the same matrix, and the last two axes go to Sgemm as (row stride, column stride) whenever one of
 * them is unit, so a transposed view ({@code x.mT()}) is never copied. Many small matrices run in parallel over
 * the batch; otherwise each product is parallel inside Sgemm. Each output element's arithmetic is the same
 * either way, so the result does not depend on the split.
 */
final class CpuMatmul {
    /** Below this many multiply-adds per matrix, parallelize over the batch instead of inside Sgemm. */
    private static final long SMALL_MATRIX = 1L << 22;

    private CpuMatmul() {}

    /** C = A·B for A (..., M, K), B (..., K, N), batch axes broadcast to outShape's leading axes; any strides. */
    static Tensor matmul(Tensor a, Tensor b, Shape outShape) {
        Tensor av = sgemmReadable(a), bv = sgemmReadable(b);
        int r = outShape.rank();
        int m = outShape.dim(r - 2), n = outShape.dim(r - 1), k = av.dim(-1);
        int batchRank = r - 2;
        int batches = 1;
        for (int i = 0; i < batchRank; i++) batches *= outShape.dim(i);
        float[] out = new float[outShape.numel()]; // (..., M, N)
        if (out.length == 0) return Tensor.of(CpuStorage.wrap(out), outShape);

        float[] aData = floats(av), bData = floats(bv);
        int[] aBatchStrides = batchStrides(av, outShape, batchRank), bBatchStrides = batchStrides(bv, outShape, batchRank);
        int aRow = av.stride(-2), aCol = av.stride(-1), bRow = bv.stride(-2), bCol = bv.stride(-1);
        int[] outDims = outShape.dims();
        Parallel.Range body = (lo, hi) -> {
            for (int bi = lo; bi < hi; bi++) {
                int aOff = av.offset(), bOff = bv.offset();
                for (int ax = batchRank - 1, rest = bi; ax >= 0; ax--) {
                    int idx = rest % outDims[ax];
                    rest /= outDims[ax];
                    aOff += idx * aBatchStrides[ax];
                    bOff += idx * bBatchStrides[ax];
                }
                Sgemm.gemm(m, n, k, aData, aOff, aRow, aCol, bData, bOff, bRow, bCol, out, bi * m * n, n, false);
            }
        };
        if (batches > 1 && (long) m * n * k < SMALL_MATRIX) {
            Parallel.forRange(batches, Parallel.grain(batches, 1), body);
        } else {
            body.run(0, batches);
        }
        return Tensor.of(CpuStorage.wrap(out), outShape);
    }

    /** {@code t} itself when its last two axes can feed Sgemm's packing directly, else a contiguous copy. */
    private static Tensor sgemmReadable(Tensor t) {
        boolean rowUnit = t.dim(-2) == 1 || t.stride(-2) == 1;
        boolean colUnit = t.dim(-1) == 1 || t.stride(-1) == 1;
        return rowUnit || colUnit ? t : t.contiguous();
    }

    /** Strides of {@code t}'s batch axes aligned to the output's batch axes; 0 where {@code t} broadcasts. */
    private static int[] batchStrides(Tensor t, Shape outShape, int batchRank) {
        int[] s = new int[batchRank];
        int tBatchRank = t.rank() - 2;
        for (int i = 0; i < batchRank; i++) {
            int j = i - (batchRank - tBatchRank);
            s[i] = j < 0 || t.dim(j) == 1 ? 0 : t.stride(j);
        }
        return s;
    }

    static float[] floats(Tensor t) {
        if (!(t.storage() instanceof CpuStorage c)) {
            throw new dev.ember.engine.BackendException("CPU matmul needs CPU tensors, got one on " + t.device());
        }
        return c.floats();
    }
}
