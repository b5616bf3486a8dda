package dev.ember.kernels.cpu;

import dev.ember.engine.Conv2dParams;
import dev.ember.engine.CpuStorage;
import dev.ember.engine.Shape;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;

/**
 * 2-D convolution on the CPU as im2col + {@link Sgemm}, one (image, group) at a time.
 *
 * <pre>
 *   x (N, C, H, W), w (OC, Cg, KH, KW), y (N, OC, OH, OW); Cg = C/groups, OCg = OC/groups, S = OH*OW
 *   col (Cg*KH*KW, S)    = im2col(x[n, group])                      see {@link Im2col}
 *   forward:         y[n, group]  (OCg, S)       = w[group] (OCg, Cg*KH*KW) · col
 *   backwardInput:   dcol         (Cg*KH*KW, S)  = w[group]^T · dy[n, group];  dx[n, group] = col2im(dcol)
 *   backwardWeight:  dw[group]    (OCg, Cg*KH*KW) = sum over n, in order, of dy[n, group] · col^T
 * </pre>
 * A 1x1, stride-1, unpadded convolution is a plain matrix product on x itself: no im2col. The column buffer
 * holds one image and group, never the whole batch. Work runs in parallel over (image, group) jobs when each
 * job is small, else inside Sgemm; each job writes its own outputs, and the batch sum of backwardWeight runs
 * in image order, so results are bit-identical run to run.
 */
final class CpuConv2d {
    /** Below this many multiply-adds per job, parallelize over jobs rather than inside Sgemm. */
    private static final long SMALL_JOB = 1L << 22;

    private CpuConv2d() {}

    static Tensor forward(Tensor x, Tensor w, Conv2dParams p) {
        Shape ys = p.outputShape(x.shape(), w.shape());
        Im2col g = new Im2col(x.shape(), w.shape(), ys, p);
        Tensor xc = x.contiguous(), wc = w.contiguous();
        float[] xd = CpuMatmul.floats(xc), wd = CpuMatmul.floats(wc);
        int xBase = xc.offset(), wBase = wc.offset();
        float[] y = new float[ys.numel()]; // (N, OC, OH, OW)
        int jobs = g.n * g.groups;
        forJobs(jobs, (long) g.ocPerGroup * g.rows * g.spatial, (lo, hi) -> {
            float[] col = g.pointwise ? null : new float[g.rows * g.spatial]; // (Cg*KH*KW, OH*OW)
            for (int job = lo; job < hi; job++) {
                int n = job / g.groups, grp = job % g.groups;
                int xOff = xBase + (n * g.c + grp * g.cPerGroup) * g.h * g.w;
                int yOff = (n * g.oc + grp * g.ocPerGroup) * g.spatial;
                int wOff = wBase + grp * g.ocPerGroup * g.rows;
                float[] b = xd;
                int bOff = xOff;
                if (!g.pointwise) {
                    g.im2col(xd, xOff, col);
                    b = col;
                    bOff = 0;
                }
                Sgemm.gemm(g.ocPerGroup, g.spatial, g.rows, wd, wOff, g.rows, 1, b, bOff, g.spatial, 1, y, yOff, g.spatial, false);
            }
        });
        return Tensor.of(CpuStorage.wrap(y), ys);
    }

    static Tensor backwardInput(Tensor dy, Tensor w, Shape inputShape, Conv2dParams p) {
        Shape ys = p.outputShape(inputShape, w.shape());
        if (!ys.equals(dy.shape())) throw new ShapeException("conv2d backwardInput: dy " + dy.shape() + " should be " + ys);
        Im2col g = new Im2col(inputShape, w.shape(), ys, p);
        Tensor dyc = dy.contiguous(), wc = w.contiguous();
        float[] dyd = CpuMatmul.floats(dyc), wd = CpuMatmul.floats(wc);
        int dyBase = dyc.offset(), wBase = wc.offset();
        float[] dx = new float[inputShape.numel()]; // (N, C, H, W)
        int jobs = g.n * g.groups;
        forJobs(jobs, (long) g.ocPerGroup * g.rows * g.spatial, (lo, hi) -> {
            float[] dcol = g.pointwise ? null : new float[g.rows * g.spatial]; // (Cg*KH*KW, OH*OW)
            for (int job = lo; job < hi; job++) {
                int n = job / g.groups, grp = job % g.groups;
                int dxOff = (n * g.c + grp * g.cPerGroup) * g.h * g.w;
                int dyOff = dyBase + (n * g.oc + grp * g.ocPerGroup) * g.spatial;
                int wOff = wBase + grp * g.ocPerGroup * g.rows;
                // w[group]^T (Cg*KH*KW, OCg): row stride 1, column stride Cg*KH*KW
                if (g.pointwise) {
                    Sgemm.gemm(g.rows, g.spatial, g.ocPerGroup, wd, wOff, 1, g.rows, dyd, dyOff, g.spatial, 1, dx, dxOff, g.spatial, false);
                } else {
                    Sgemm.gemm(g.rows, g.spatial, g.ocPerGroup, wd, wOff, 1, g.rows, dyd, dyOff, g.spatial, 1, dcol, 0, g.spatial, false);
                    g.col2im(dcol, dx, dxOff);
                }
            }
        });
        return Tensor.of(CpuStorage.wrap(dx), inputShape);
    }

    static Tensor backwardWeight(Tensor dy, Tensor x, Shape weightShape, Conv2dParams p) {
        Shape ys = p.outputShape(x.shape(), weightShape);
        if (!ys.equals(dy.shape())) throw new ShapeException("conv2d backwardWeight: dy " + dy.shape() + " should be " + ys);
        Im2col g = new Im2col(x.shape(), weightShape, ys, p);
        Tensor dyc = dy.contiguous(), xc = x.contiguous();
        float[] dyd = CpuMatmul.floats(dyc), xd = CpuMatmul.floats(xc);
        int dyBase = dyc.offset(), xBase = xc.offset();
        float[] dw = new float[weightShape.numel()]; // (OC, Cg, KH, KW)
        // One job per group; inside it the images add up in order 0..N-1.
        forJobs(g.groups, (long) g.ocPerGroup * g.rows * g.spatial * g.n, (lo, hi) -> {
            float[] col = g.pointwise ? null : new float[g.rows * g.spatial]; // (Cg*KH*KW, OH*OW)
            for (int grp = lo; grp < hi; grp++) {
                int dwOff = grp * g.ocPerGroup * g.rows;
                for (int n = 0; n < g.n; n++) {
                    int xOff = xBase + (n * g.c + grp * g.cPerGroup) * g.h * g.w;
                    int dyOff = dyBase + (n * g.oc + grp * g.ocPerGroup) * g.spatial;
                    float[] b = xd;
                    int bOff = xOff;
                    if (!g.pointwise) {
                        g.im2col(xd, xOff, col);
                        b = col;
                        bOff = 0;
                    }
                    // col^T (OH*OW, Cg*KH*KW): row stride 1, column stride OH*OW
                    Sgemm.gemm(g.ocPerGroup, g.rows, g.spatial, dyd, dyOff, g.spatial, 1, b, bOff, 1, g.spatial, dw, dwOff, g.rows, n > 0);
                }
            }
        });
        return Tensor.of(CpuStorage.wrap(dw), weightShape);
    }

    /** Runs jobs [0, jobs) in parallel when each is small (Sgemm would not fan out), else one by one. */
    private static void forJobs(int jobs, long workPerJob, Parallel.Range body) {
        if (jobs > 1 && workPerJob < SMALL_JOB) Parallel.forRange(jobs, Parallel.grain(jobs, 1), body);
        else body.run(0, jobs);
    }
}
