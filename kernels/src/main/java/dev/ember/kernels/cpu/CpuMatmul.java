package dev.ember.kernels.cpu;

import dev.ember.engine.BufferPool;
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
        float[] out = BufferPool.uninitialized(outShape.numel()); // (..., M, N), every element written (k = 0 too)
        if (out.length == 0) return Tensor.of(CpuStorage.wrap(out), outShape);

        float[] aData = floats(av), bData = floats(bv);
        int[] aBatchStrides = batchStrides(av, outShape, batchRank), bBatchStrides = batchStrides(bv, outShape, batchRank);
        int aRow = av.stride(-2), aCol = av.stride(-1), bRow = bv.stride(-2), bCol = bv.stride(-1);
        if (batches == 1 && m == 1 && Sgemm.PackedA.ENABLED && bv.storage().isConstant() && (long) n * k >= Sgemm.SMALL) {
            // one row times a constant weight (a classifier at batch 1): B packed once as Gemv's blocks of outputs and
            // kept. Every element is the same fma chain as C = A·B's.
            float[] packed = bv.storage().derived(new WeightKey(Form.GEMV, bv.offset(), n, k, bRow, bCol), () -> Gemv.pack(bData, bv.offset(), bRow, bCol, n, k));
            Gemv.gemv(n, k, packed, aData, av.offset(), aCol, out);
            return Tensor.of(CpuStorage.wrap(out), outShape);
        }
        if (batches == 1 && m <= SgemmNarrow.MAX_N && SgemmNarrow.SUPPORTED && Sgemm.PackedA.ENABLED && bv.storage().isConstant() && (long) m * n * k >= Sgemm.SMALL) {
            // A few rows times a constant weight (a classifier at batch 1): C^T = B^T A^T with B^T packed once and
            // kept, through the lanes-over-rows kernel. Every element is the same fma chain as C = A·B's.
            SgemmNarrow.gemm(n, m, k, packedTransposed(bv, bData, n, k), aData, av.offset(), aCol, aRow, out, 0, 1, n, false);
            return Tensor.of(CpuStorage.wrap(out), outShape);
        }
        if (batches == 1 && bCol != 1 && n > 1 && Sgemm.PackedA.ENABLED && bv.storage().isConstant() && (long) m * n * k >= Sgemm.SMALL) {
            // More rows times a constant weight read transposed (ONNX Gemm's transB: a classifier at batch 32): Sgemm
            // would pack B on every call (2 MB for resnet18's 1000x512 weight); it is packed once and kept. It was
            // C^T = B^T A^T with B^T packed as A, which gathered the activations column by column and transposed C
            // back: small_cnn's 32x1600 -> 128 ran 86-90 us, on two threads barely faster than on one (99).
            Sgemm.PackedB packed = bv.storage().derived(new WeightKey(Form.PACKED_B, bv.offset(), n, k, bRow, bCol), () -> Sgemm.PackedB.of(k, n, bData, bv.offset(), bRow, bCol));
            Sgemm.gemm(m, n, k, aData, av.offset(), aRow, aCol, packed, out, 0, n, false);
            return Tensor.of(CpuStorage.wrap(out), outShape);
        }
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

    /** The forms a constant B is kept in: {@link Gemv}'s blocks, Sgemm's packed B, and B^T packed as Sgemm's A. */
    private enum Form { GEMV, PACKED_B, PACKED_B_TRANSPOSED }

    /** What a kept form of B depends on besides the storage's values. */
    private record WeightKey(Form form, int offset, int n, int k, int bRow, int bCol) {}

    /** B^T (N, K) of a constant B (K, N), packed for Sgemm once and kept with B's storage. */
    private static Sgemm.PackedA packedTransposed(Tensor bv, float[] bData, int n, int k) {
        int bOff = bv.offset(), bRow = bv.stride(-2), bCol = bv.stride(-1);
        return bv.storage().derived(new WeightKey(Form.PACKED_B_TRANSPOSED, bOff, n, k, bRow, bCol), () -> Sgemm.PackedA.of(n, k, bData, bOff, bCol, bRow));
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
