package dev.ember.kernels.cuda;

import dev.ember.engine.Conv2dParams;
import dev.ember.engine.DType;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;

import java.util.Arrays;

/**
 * Matrix products and convolution. GEMM goes to cuBLAS when it loaded, else to our sgemm.cu kernel; convolution to
 * cuDNN when it loaded, else to im2col + GEMM per image and group (col2im for the input gradient, per-image GEMMs
 * accumulated in image order for the weight gradient: deterministic).
 */
final class CudaLinalg {
    private static final int TILE = 64;

    private final CudaContext cx;
    private final Cublas cublas;   // null: our kernel
    private final Cudnn cudnn;     // null: im2col + GEMM

    CudaLinalg(CudaContext cx, Cublas cublas, Cudnn cudnn) {
        this.cx = cx;
        this.cublas = cublas;
        this.cudnn = cudnn;
    }

    /** Row-major contiguous C_i (M, N) = A_i (M, K) B_i (K, N) + beta C_i; batch strides in elements (0 repeats). */
    void gemm(int m, int n, int k, long a, long strideA, long b, long strideB, long c, long strideC, int batch, float beta) {
        if (m == 0 || n == 0 || batch == 0) return;
        if (cublas != null) {
            cublas.sgemmRowMajor(m, n, k, a, strideA, b, strideB, c, strideC, batch, beta);
            return;
        }
        cx.launch(Kernel.SGEMM, Math.ceilDiv(n, TILE), Math.ceilDiv(m, TILE), batch, new KernelArgs().i32(m).i32(n).i32(k)
                .address(a).i32(k).i64(strideA).address(b).i32(n).i64(strideB).address(c).i32(n).i64(strideC).f32(1f).f32(beta));
    }

    /** C = A·B with batch axes broadcast to {@code outShape}'s leading axes. */
    Tensor matmul(Tensor a, Tensor b, Shape outShape) {
        CudaTensors.requireFloat("matmul left operand", a);
        CudaTensors.requireFloat("matmul right operand", b);
        int r = outShape.rank(), m = outShape.dim(r - 2), n = outShape.dim(r - 1), k = a.dim(-1);
        int[] batchDims = Arrays.copyOf(outShape.dims(), r - 2);
        int batch = Shape.of(batchDims).numel();
        Tensor c = CudaTensors.zeros(cx, DType.FLOAT32, outShape);
        if (k == 0) return c;
        Operand pa = operand(a, batchDims, m, k), pb = operand(b, batchDims, k, n);
        gemm(m, n, k, CudaTensors.address(pa.t), pa.stride, CudaTensors.address(pb.t), pb.stride, CudaTensors.address(c), (long) m * n, batch, 0f);
        return c;
    }

    private record Operand(Tensor t, long stride) {}

    /** A contiguous (batch..., rows, cols) operand; one shared by every batch stays unexpanded with stride 0. */
    private Operand operand(Tensor t, int[] batchDims, int rows, int cols) {
        int ownBatch = 1;
        for (int i = 0; i < t.rank() - 2; i++) ownBatch *= t.dim(i);
        if (ownBatch == 1) return new Operand(CudaTensors.contiguous(cx, t), 0);
        int[] full = Arrays.copyOf(batchDims, batchDims.length + 2);
        full[batchDims.length] = rows;
        full[batchDims.length + 1] = cols;
        return new Operand(CudaTensors.contiguous(cx, t.expand(full)), (long) rows * cols);
    }

    // ---- convolution ----

    Tensor conv2d(Tensor x, Tensor w, Conv2dParams p) {
        Shape yShape = p.outputShape(x.shape(), w.shape());
        Tensor xc = CudaTensors.contiguous(cx, x), wc = CudaTensors.contiguous(cx, w);
        if (yShape.numel() == 0 || x.numel() == 0) return CudaTensors.zeros(cx, DType.FLOAT32, yShape);
        Tensor y = CudaTensors.empty(cx, DType.FLOAT32, yShape);   // every cell written below (cuDNN's beta is 0)
        if (cudnn != null) {
            cudnn.convolution(Cudnn.Direction.FORWARD, x.shape(), w.shape(), yShape, p, CudaTensors.address(xc), CudaTensors.address(wc),
                    CudaTensors.address(y), this::workspace);
            return y;
        }
        Geometry g = new Geometry(x.shape(), w.shape(), yShape, p);
        Tensor col = CudaTensors.empty(cx, DType.FLOAT32, Shape.of(g.colRows, g.spatial));
        for (int img = 0; img < g.n; img++) {
            for (int grp = 0; grp < p.groups(); grp++) {
                im2col(g, xc, img, grp, col);
                // y[img, grp] (OCg, OH*OW) = w[grp] (OCg, Cg*KH*KW) col (Cg*KH*KW, OH*OW)
                gemm(g.ocg, g.spatial, g.colRows, floatAt(wc, (long) grp * g.ocg * g.colRows), 0, CudaTensors.address(col), 0,
                        floatAt(y, ((long) img * g.oc + (long) grp * g.ocg) * g.spatial), 0, 1, 0f);
            }
        }
        return y;
    }

    Tensor conv2dBackwardInput(Tensor dy, Tensor w, Shape inputShape, Conv2dParams p) {
        Tensor dyc = CudaTensors.contiguous(cx, dy), wc = CudaTensors.contiguous(cx, w);
        if (inputShape.numel() == 0 || dy.numel() == 0) return CudaTensors.zeros(cx, DType.FLOAT32, inputShape);
        Tensor dx = CudaTensors.empty(cx, DType.FLOAT32, inputShape);   // every cell written below (cuDNN's beta is 0)
        if (cudnn != null) {
            cudnn.convolution(Cudnn.Direction.BACKWARD_DATA, inputShape, w.shape(), dy.shape(), p, CudaTensors.address(wc), CudaTensors.address(dyc),
                    CudaTensors.address(dx), this::workspace);
            return dx;
        }
        Geometry g = new Geometry(inputShape, w.shape(), dy.shape(), p);
        // wT (groups, Cg*KH*KW, OCg): each group's weight matrix transposed, once
        Tensor wT = CudaTensors.contiguous(cx, wc.reshape(p.groups(), g.ocg, g.colRows).transpose(1, 2));
        Tensor col = CudaTensors.empty(cx, DType.FLOAT32, Shape.of(g.colRows, g.spatial));
        for (int img = 0; img < g.n; img++) {
            for (int grp = 0; grp < p.groups(); grp++) {
                // col (Cg*KH*KW, OH*OW) = wT[grp] dy[img, grp] (OCg, OH*OW)
                gemm(g.colRows, g.spatial, g.ocg, floatAt(wT, (long) grp * g.colRows * g.ocg), 0,
                        floatAt(dyc, ((long) img * g.oc + (long) grp * g.ocg) * g.spatial), 0, CudaTensors.address(col), 0, 1, 0f);
                cx.launch1d(Kernel.COL2IM, (long) g.cg * g.h * g.w, new KernelArgs().address(CudaTensors.address(col))
                        .address(floatAt(dx, ((long) img * g.c + (long) grp * g.cg) * g.h * g.w)).words(g.words()));
            }
        }
        return dx;
    }

    Tensor conv2dBackwardWeight(Tensor dy, Tensor x, Shape weightShape, Conv2dParams p) {
        Tensor dyc = CudaTensors.contiguous(cx, dy), xc = CudaTensors.contiguous(cx, x);
        if (weightShape.numel() == 0 || dy.numel() == 0) return CudaTensors.zeros(cx, DType.FLOAT32, weightShape);
        Tensor dw = CudaTensors.empty(cx, DType.FLOAT32, weightShape);   // every cell written below (cuDNN's beta is 0)
        if (cudnn != null) {
            cudnn.convolution(Cudnn.Direction.BACKWARD_FILTER, x.shape(), weightShape, dy.shape(), p, CudaTensors.address(xc), CudaTensors.address(dyc),
                    CudaTensors.address(dw), this::workspace);
            return dw;
        }
        Geometry g = new Geometry(x.shape(), weightShape, dy.shape(), p);
        Tensor col = CudaTensors.empty(cx, DType.FLOAT32, Shape.of(g.colRows, g.spatial));
        Tensor colT = CudaTensors.empty(cx, DType.FLOAT32, Shape.of(g.spatial, g.colRows));
        for (int img = 0; img < g.n; img++) {
            for (int grp = 0; grp < p.groups(); grp++) {
                im2col(g, xc, img, grp, col);
                CudaElementwise.copyInto(cx, col.transpose(0, 1), colT);
                // dw[grp] (OCg, Cg*KH*KW) += dy[img, grp] (OCg, OH*OW) colT (OH*OW, Cg*KH*KW), images in order
                gemm(g.ocg, g.colRows, g.spatial, floatAt(dyc, ((long) img * g.oc + (long) grp * g.ocg) * g.spatial), 0,
                        CudaTensors.address(colT), 0, floatAt(dw, (long) grp * g.ocg * g.colRows), 0, 1, img == 0 ? 0f : 1f);
            }
        }
        return dw;
    }

    private void im2col(Geometry g, Tensor xc, int img, int grp, Tensor col) {
        cx.launch1d(Kernel.IM2COL, (long) g.colRows * g.spatial, new KernelArgs()
                .address(floatAt(xc, ((long) img * g.c + (long) grp * g.cg) * g.h * g.w)).address(CudaTensors.address(col)).words(g.words()));
    }

    /** A scratch block of at least {@code bytes} for cuDNN; freed when unreachable like any tensor's. */
    private long workspace(long bytes) {
        Tensor ws = CudaTensors.empty(cx, DType.UINT8, Shape.of((int) Math.min(bytes, Integer.MAX_VALUE - 8)));
        workspaceKeepAlive = ws;   // held until the next call: the cuDNN call using it is queued before any reuse
        return CudaTensors.address(ws);
    }

    private Tensor workspaceKeepAlive;

    private static long floatAt(Tensor t, long elements) { return CudaTensors.address(t) + elements * 4; }

    /** Sizes of one image and group: the {@code Conv} struct of im2col.cu plus the GEMM sizes. */
    private static final class Geometry {
        final int n, c, cg, oc, ocg, h, w, kh, kw, oh, ow, colRows, spatial;
        final Conv2dParams p;

        Geometry(Shape x, Shape wShape, Shape y, Conv2dParams p) {
            this.p = p;
            n = x.dim(0);
            c = x.dim(1);
            cg = c / p.groups();
            oc = wShape.dim(0);
            ocg = oc / p.groups();
            h = x.dim(2);
            w = x.dim(3);
            kh = wShape.dim(2);
            kw = wShape.dim(3);
            oh = y.dim(2);
            ow = y.dim(3);
            colRows = cg * kh * kw;
            spatial = oh * ow;
        }

        int[] words() { return new int[] {cg, h, w, kh, kw, p.strideH(), p.strideW(), p.padH(), p.padW(), p.dilationH(), p.dilationW(), oh, ow}; }
    }
}
