package dev.ember.kernels.reference;

import dev.ember.engine.BackendException;
import dev.ember.engine.Conv2dParams;
import dev.ember.engine.CpuStorage;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;

/**
 * Naive matmul and convolution loops, straight from the definitions, accumulating in double: the oracle for
 * the CPU kernels. Inputs are any strided CPU views; outputs are new contiguous float32 tensors.
 *
 * <pre>
 *   matmul:         C[b, i, j]        = sum_p A[b, i, p] * B[b, p, j]          (batch axes broadcast)
 *   conv2d:         y[n, o, oh, ow]   = sum_{c, kh, kw} x[n, g*Cg + c, ih, iw] * w[o, c, kh, kw]
 *                   ih = oh*strideH - padH + kh*dilationH, iw likewise; g = o / OCg; outside x counts as 0
 *   backwardInput:  dx[n, g*Cg + c, ih, iw] = sum over every (o, oh, ow, kh, kw) that reads it of dy * w
 *   backwardWeight: dw[o, c, kh, kw]  = sum_{n, oh, ow} dy[n, o, oh, ow] * x[n, g*Cg + c, ih, iw]
 * </pre>
 */
public final class ReferenceLinalg {
    private ReferenceLinalg() {}

    /** C = A·B for A (..., M, K) and B (..., K, N), batch axes broadcast to {@code outShape}'s leading axes. */
    public static Tensor matmul(Tensor a, Tensor b, Shape outShape) {
        View av = new View(a), bv = new View(b);
        int r = outShape.rank(), batchRank = r - 2;
        int m = outShape.dim(r - 2), n = outShape.dim(r - 1), k = a.dim(-1);
        int[] dims = outShape.dims();
        float[] out = new float[outShape.numel()]; // (..., M, N)
        int batches = m * n == 0 ? 0 : out.length / (m * n);
        int[] aIdx = new int[a.rank()], bIdx = new int[b.rank()];
        for (int bi = 0; bi < batches; bi++) {
            for (int ax = batchRank - 1, rest = bi; ax >= 0; ax--) {
                int idx = rest % dims[ax];
                rest /= dims[ax];
                int ja = ax - (batchRank - (a.rank() - 2)), jb = ax - (batchRank - (b.rank() - 2));
                if (ja >= 0) aIdx[ja] = a.dim(ja) == 1 ? 0 : idx;
                if (jb >= 0) bIdx[jb] = b.dim(jb) == 1 ? 0 : idx;
            }
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double sum = 0;
                    for (int p = 0; p < k; p++) {
                        aIdx[a.rank() - 2] = i;
                        aIdx[a.rank() - 1] = p;
                        bIdx[b.rank() - 2] = p;
                        bIdx[b.rank() - 1] = j;
                        sum += av.get(aIdx) * bv.get(bIdx);
                    }
                    out[(bi * m + i) * n + j] = (float) sum;
                }
            }
        }
        return Tensor.of(CpuStorage.wrap(out), outShape);
    }

    /** y (N, OC, OH, OW) = conv(x (N, C, H, W), w (OC, C/groups, KH, KW)). */
    public static Tensor conv2d(Tensor x, Tensor w, Conv2dParams p) {
        Shape ys = p.outputShape(x.shape(), w.shape());
        Geometry g = new Geometry(x.shape(), w.shape(), ys, p);
        View xv = new View(x), wv = new View(w);
        float[] y = new float[ys.numel()]; // (N, OC, OH, OW)
        for (int n = 0; n < g.n; n++) {
            for (int o = 0; o < g.oc; o++) {
                int c0 = (o / g.ocPerGroup) * g.cPerGroup;
                for (int oh = 0; oh < g.oh; oh++) {
                    for (int ow = 0; ow < g.ow; ow++) {
                        double sum = 0;
                        for (int c = 0; c < g.cPerGroup; c++) {
                            for (int kh = 0; kh < g.kh; kh++) {
                                int ih = g.inRow(oh, kh);
                                if (ih < 0 || ih >= g.h) continue;
                                for (int kw = 0; kw < g.kw; kw++) {
                                    int iw = g.inCol(ow, kw);
                                    if (iw < 0 || iw >= g.w) continue;
                                    sum += xv.get(n, c0 + c, ih, iw) * wv.get(o, c, kh, kw);
                                }
                            }
                        }
                        y[((n * g.oc + o) * g.oh + oh) * g.ow + ow] = (float) sum;
                    }
                }
            }
        }
        return Tensor.of(CpuStorage.wrap(y), ys);
    }

    /** dx (N, C, H, W) = the adjoint of conv2d in x, applied to dy (N, OC, OH, OW). */
    public static Tensor conv2dBackwardInput(Tensor dy, Tensor w, Shape inputShape, Conv2dParams p) {
        Geometry g = new Geometry(inputShape, w.shape(), dy.shape(), p);
        View dyv = new View(dy), wv = new View(w);
        double[] dx = new double[inputShape.numel()]; // (N, C, H, W)
        for (int n = 0; n < g.n; n++) {
            for (int o = 0; o < g.oc; o++) {
                int c0 = (o / g.ocPerGroup) * g.cPerGroup;
                for (int oh = 0; oh < g.oh; oh++) {
                    for (int ow = 0; ow < g.ow; ow++) {
                        double d = dyv.get(n, o, oh, ow);
                        for (int c = 0; c < g.cPerGroup; c++) {
                            for (int kh = 0; kh < g.kh; kh++) {
                                int ih = g.inRow(oh, kh);
                                if (ih < 0 || ih >= g.h) continue;
                                for (int kw = 0; kw < g.kw; kw++) {
                                    int iw = g.inCol(ow, kw);
                                    if (iw < 0 || iw >= g.w) continue;
                                    dx[((n * g.c + c0 + c) * g.h + ih) * g.w + iw] += d * wv.get(o, c, kh, kw);
                                }
                            }
                        }
                    }
                }
            }
        }
        return Tensor.of(CpuStorage.wrap(toFloats(dx)), inputShape);
    }

    /** dw (OC, C/groups, KH, KW) = the adjoint of conv2d in w, applied to dy (N, OC, OH, OW), summed over the batch. */
    public static Tensor conv2dBackwardWeight(Tensor dy, Tensor x, Shape weightShape, Conv2dParams p) {
        Geometry g = new Geometry(x.shape(), weightShape, dy.shape(), p);
        View dyv = new View(dy), xv = new View(x);
        float[] dw = new float[weightShape.numel()]; // (OC, C/groups, KH, KW)
        for (int o = 0; o < g.oc; o++) {
            int c0 = (o / g.ocPerGroup) * g.cPerGroup;
            for (int c = 0; c < g.cPerGroup; c++) {
                for (int kh = 0; kh < g.kh; kh++) {
                    for (int kw = 0; kw < g.kw; kw++) {
                        double sum = 0;
                        for (int n = 0; n < g.n; n++) {
                            for (int oh = 0; oh < g.oh; oh++) {
                                int ih = g.inRow(oh, kh);
                                if (ih < 0 || ih >= g.h) continue;
                                for (int ow = 0; ow < g.ow; ow++) {
                                    int iw = g.inCol(ow, kw);
                                    if (iw < 0 || iw >= g.w) continue;
                                    sum += dyv.get(n, o, oh, ow) * xv.get(n, c0 + c, ih, iw);
                                }
                            }
                        }
                        dw[((o * g.cPerGroup + c) * g.kh + kh) * g.kw + kw] = (float) sum;
                    }
                }
            }
        }
        return Tensor.of(CpuStorage.wrap(dw), weightShape);
    }

    private static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    /** Sizes of one convolution, and the input position a kernel tap reads. */
    private static final class Geometry {
        final int n, c, h, w, oc, kh, kw, oh, ow, cPerGroup, ocPerGroup;
        final Conv2dParams p;

        Geometry(Shape input, Shape weight, Shape output, Conv2dParams p) {
            this.p = p;
            n = input.dim(0);
            c = input.dim(1);
            h = input.dim(2);
            w = input.dim(3);
            oc = weight.dim(0);
            kh = weight.dim(2);
            kw = weight.dim(3);
            oh = output.dim(2);
            ow = output.dim(3);
            cPerGroup = c / p.groups();
            ocPerGroup = oc / p.groups();
        }

        int inRow(int outRow, int tap) { return outRow * p.strideH() - p.padH() + tap * p.dilationH(); }

        int inCol(int outCol, int tap) { return outCol * p.strideW() - p.padW() + tap * p.dilationW(); }
    }

    /** Element access into a strided CPU view by multi-index. */
    private static final class View {
        private final CpuStorage storage;
        private final int[] strides;
        private final int offset;

        View(Tensor t) {
            if (!(t.storage() instanceof CpuStorage s)) throw new BackendException("reference linalg needs CPU tensors, got one on " + t.device());
            storage = s;
            strides = t.strides();
            offset = t.offset();
        }

        double get(int... index) {
            int at = offset;
            for (int i = 0; i < index.length; i++) at += index[i] * strides[i];
            return storage.getDouble(at);
        }
    }
}
