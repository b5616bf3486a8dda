package dev.ember.kernels.cpu;

import static dev.ember.kernels.cpu.MatmulConvAssert.abs;
import static dev.ember.kernels.cpu.MatmulConvAssert.assertBitIdentical;
import static dev.ember.kernels.cpu.MatmulConvAssert.assertNear;
import static dev.ember.kernels.cpu.MatmulConvAssert.randn;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ember.engine.Rng;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import dev.ember.kernels.reference.ReferenceLinalg;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

/**
 * CpuMatmul against ReferenceLinalg.matmul: plain 2-D shapes, transposed views of either operand (read in
 * place), a view with no unit stride (copied), broadcast batch axes (size 1, missing, stride 0), many small
 * matrices (parallel over the batch) and 1-D operands through Tensor.matmul. Tolerance: 1e-5 of the sum of
 * |terms| plus 1e-6 (see {@link MatmulConvAssert#assertNear}).
 */
class CpuMatmulTest {
    private static final int[][] SHAPES = {{1, 1, 1}, {17, 31, 45}, {5, 7, 1}, {64, 33, 130}, {130, 97, 260}};

    @Test void plainAndTransposedOperands() {
        Rng rng = new Rng(21);
        for (int[] s : SHAPES) {
            int m = s[0], n = s[1], k = s[2];
            Tensor a = randn(rng, m, k), b = randn(rng, k, n);
            Tensor at = randn(rng, k, m).mT(), bt = randn(rng, n, k).mT();
            String what = Arrays.toString(s);
            check(a, b, what);
            check(at, b, what + " A=mT");
            check(a, bt, what + " B=mT");
            check(at, bt, what + " both mT");
        }
    }

    /**
     * Rows times a constant weight, as a classifier's Gemm (x · W^T, W constant): the weight is packed once and kept
     * (at most 4 rows through the lanes-over-rows kernel, more as C^T = W x^T), and the result has the bits of an
     * ordinary weight, on first and later calls.
     */
    @Test void rowsTimesAConstantWeightGiveTheSameBits() {
        Rng rng = new Rng(27);
        for (int m : new int[] {1, 2, 3, 4, 5, 8, 32, 33, 257}) {
            for (int[] nk : new int[][] {{1000, 512}, {37, 300}, {128, 1600}, {10, 128}}) {
                int n = nk[0], k = nk[1];
                Tensor x = randn(rng, m, k), w = randn(rng, n, k);
                Tensor constant = Tensor.of(w.toFloatArray(), n, k);
                constant.storage().markConstant();
                Tensor want = CpuMatmul.matmul(x, w.permute(1, 0), Shape.of(m, n));
                String what = m + "x" + k + " times (" + n + "x" + k + ")^T";
                assertBitIdentical(want, CpuMatmul.matmul(x, constant.permute(1, 0), Shape.of(m, n)), what + ", first call");
                assertBitIdentical(want, CpuMatmul.matmul(x, constant.permute(1, 0), Shape.of(m, n)), what + ", packed ahead");
                Tensor rowMajor = Tensor.of(w.toFloatArray(), k, n);   // and a constant (K, N) weight read as it is
                Tensor rowMajorConstant = Tensor.of(w.toFloatArray(), k, n);
                rowMajorConstant.storage().markConstant();
                assertBitIdentical(CpuMatmul.matmul(x, rowMajor, Shape.of(m, n)), CpuMatmul.matmul(x, rowMajorConstant, Shape.of(m, n)), what + ", row-major");
            }
        }
    }

    @Test void viewWithoutUnitStrideIsCopied() {
        Rng rng = new Rng(22);
        Tensor a = randn(rng, 12, 40).slice(0, 0, 12, 2).slice(1, 0, 40, 2); // (6, 20), strides (80, 2)
        Tensor b = randn(rng, 20, 9);
        check(a, b, "stepped slice");
    }

    @Test void batchAxesBroadcast() {
        Rng rng = new Rng(23);
        check(randn(rng, 2, 3, 17, 19), randn(rng, 2, 3, 19, 23), "(2,3) x (2,3)");
        check(randn(rng, 2, 1, 17, 19), randn(rng, 4, 19, 23), "(2,1) x (4)");
        check(randn(rng, 17, 19), randn(rng, 3, 19, 23), "() x (3)");
        check(randn(rng, 1, 19, 23).expand(5, 19, 23), randn(rng, 5, 23, 6).mT().mT(), "stride-0 batch");
        check(randn(rng, 3, 40, 50), randn(rng, 50, 300), "big matrices, small batch");
    }

    @Test void expandedColumnsAreRead() {
        Rng rng = new Rng(24);
        Tensor b = randn(rng, 30, 1).expand(30, 20); // column stride 0
        check(randn(rng, 10, 30), b, "B with a stride-0 column axis");
    }

    @Test void oneDimensionalOperandsThroughTensorMatmul() {
        Rng rng = new Rng(25);
        Tensor v = randn(rng, 37), m = randn(rng, 37, 21), m2 = randn(rng, 21, 37);
        Tensor vm = v.matmul(m), mv = m2.matmul(v), vv = v.matmul(v);
        assertEquals(Shape.of(21), vm.shape());
        assertEquals(Shape.of(21), mv.shape());
        assertEquals(Shape.of(), vv.shape());
        assertNear(ReferenceLinalg.matmul(v.unsqueeze(0), m, Shape.of(1, 21)).reshape(21),
                ReferenceLinalg.matmul(abs(v).unsqueeze(0), abs(m), Shape.of(1, 21)).reshape(21), vm, "v @ M");
        assertNear(ReferenceLinalg.matmul(m2, v.unsqueeze(1), Shape.of(21, 1)).reshape(21),
                ReferenceLinalg.matmul(abs(m2), abs(v).unsqueeze(1), Shape.of(21, 1)).reshape(21), mv, "M @ v");
        assertNear(ReferenceLinalg.matmul(v.unsqueeze(0), v.unsqueeze(1), Shape.of(1, 1)).reshape(),
                ReferenceLinalg.matmul(abs(v).unsqueeze(0), abs(v).unsqueeze(1), Shape.of(1, 1)).reshape(), vv, "v @ v");
    }

    @Test void emptyAndZeroInnerSize() {
        Tensor c = CpuMatmul.matmul(Tensor.zeros(3, 0), Tensor.zeros(0, 4), Shape.of(3, 4));
        assertBitIdentical(Tensor.zeros(3, 4), c, "K = 0 gives zeros");
        assertEquals(0, CpuMatmul.matmul(Tensor.zeros(0, 5), Tensor.zeros(5, 4), Shape.of(0, 4)).numel());
    }

    @Test void repeatRunsAreBitIdenticalOnBothParallelPaths() {
        Rng rng = new Rng(26);
        Tensor many = randn(rng, 16, 24, 40), w = randn(rng, 40, 32);   // many small: parallel over the batch
        Tensor big = randn(rng, 300, 500), w2 = randn(rng, 500, 200);   // one large: parallel inside Sgemm
        Shape s1 = Shape.of(16, 24, 32), s2 = Shape.of(300, 200);
        Tensor first1 = CpuMatmul.matmul(many, w, s1), first2 = CpuMatmul.matmul(big, w2, s2);
        for (int rep = 0; rep < 3; rep++) {
            assertBitIdentical(first1, CpuMatmul.matmul(many, w, s1), "batched, repeat " + rep);
            assertBitIdentical(first2, CpuMatmul.matmul(big, w2, s2), "single, repeat " + rep);
        }
        // The batch split does not change any element: entry 5 alone equals entry 5 of the batch.
        Tensor alone = CpuMatmul.matmul(many.slice(0, 5, 6).squeeze(0), w, Shape.of(24, 32));
        assertBitIdentical(alone, first1.slice(0, 5, 6).squeeze(0), "entry 5 alone vs in the batch");
    }

    private static void check(Tensor a, Tensor b, String what) {
        Shape out = outShape(a, b);
        Tensor got = CpuMatmul.matmul(a, b, out);
        assertNear(ReferenceLinalg.matmul(a, b, out), ReferenceLinalg.matmul(abs(a), abs(b), out), got, what);
    }

    private static Shape outShape(Tensor a, Tensor b) {
        Shape batchA = Shape.of(Arrays.copyOf(a.dims(), a.rank() - 2)), batchB = Shape.of(Arrays.copyOf(b.dims(), b.rank() - 2));
        int[] batch = Shape.broadcast(batchA, batchB).dims();
        int[] out = Arrays.copyOf(batch, batch.length + 2);
        out[batch.length] = a.dim(-2);
        out[batch.length + 1] = b.dim(-1);
        return Shape.of(out);
    }
}
