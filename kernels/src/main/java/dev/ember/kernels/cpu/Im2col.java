package dev.ember.kernels.cpu;

import dev.ember.engine.Conv2dParams;
import dev.ember.engine.Shape;

import java.util.Arrays;

/**
 * The geometry of one convolution and its im2col / col2im maps for one (image, group).
 *
 * <pre>
 *   col (Cg*KH*KW, OH*OW): col[(c*KH + i)*KW + j, oh*OW + ow] = x[c, ih, iw]   (0 where (ih, iw) is padding)
 *   ih = oh*strideH - padH + i*dilationH,  iw = ow*strideW - padW + j*dilationW
 * </pre>
 * col2im is the adjoint: each column entry is added back to the input cell it came from, in row order, so
 * overlapping windows sum deterministically.
 */
final class Im2col {
    final int n, c, h, w, oc, kh, kw, oh, ow, groups, cPerGroup, ocPerGroup;
    /** Rows of the column matrix: Cg*KH*KW. */
    final int rows;
    /** Columns of the column matrix: OH*OW. */
    final int spatial;
    /** 1x1, stride 1, no padding: the column matrix is x itself. */
    final boolean pointwise;
    private final Conv2dParams p;

    Im2col(Shape input, Shape weight, Shape output, Conv2dParams p) {
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
        groups = p.groups();
        cPerGroup = c / groups;
        ocPerGroup = oc / groups;
        rows = cPerGroup * kh * kw;
        spatial = oh * ow;
        pointwise = kh == 1 && kw == 1 && p.strideH() == 1 && p.strideW() == 1 && p.padH() == 0 && p.padW() == 0;
    }

    /** x (Cg, H, W) at {@code xOff} into col (Cg*KH*KW, OH*OW); in parallel over rows (inline inside the pool). */
    void im2col(float[] x, int xOff, float[] col) {
        Parallel.forRange(rows, Parallel.grain(rows, Math.max(1, 4096 / Math.max(1, spatial))), (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                int ch = r / (kh * kw), i = r / kw % kh, j = r % kw;
                int plane = xOff + ch * h * w;
                int colOff = j * p.dilationW() - p.padW();
                int owLo = firstInside(colOff, p.strideW()), owHi = lastInside(colOff, p.strideW(), w);
                for (int y = 0; y < oh; y++) {
                    int at = r * spatial + y * ow;
                    int ih = y * p.strideH() - p.padH() + i * p.dilationH();
                    if (ih < 0 || ih >= h || owLo > owHi) {
                        Arrays.fill(col, at, at + ow, 0f);
                        continue;
                    }
                    Arrays.fill(col, at, at + owLo, 0f);
                    int src = plane + ih * w + colOff;
                    if (p.strideW() == 1) {
                        System.arraycopy(x, src + owLo, col, at + owLo, owHi - owLo + 1);
                    } else {
                        for (int q = owLo; q <= owHi; q++) col[at + q] = x[src + q * p.strideW()];
                    }
                    Arrays.fill(col, at + owHi + 1, at + ow, 0f);
                }
            }
        });
    }

    /** dx (Cg, H, W) at {@code dxOff} += col2im(dcol); in parallel over channels, each summing its rows in order. */
    void col2im(float[] dcol, float[] dx, int dxOff) {
        Parallel.forRange(cPerGroup, Parallel.grain(cPerGroup, Math.max(1, 4096 / Math.max(1, spatial * kh * kw))), (lo, hi) -> {
            for (int ch = lo; ch < hi; ch++) {
                int plane = dxOff + ch * h * w;
                for (int i = 0; i < kh; i++) {
                    for (int j = 0; j < kw; j++) {
                        int r = (ch * kh + i) * kw + j;
                        int colOff = j * p.dilationW() - p.padW();
                        int owLo = firstInside(colOff, p.strideW()), owHi = lastInside(colOff, p.strideW(), w);
                        for (int y = 0; y < oh; y++) {
                            int ih = y * p.strideH() - p.padH() + i * p.dilationH();
                            if (ih < 0 || ih >= h) continue;
                            int at = r * spatial + y * ow;
                            int dst = plane + ih * w + colOff;
                            for (int q = owLo; q <= owHi; q++) dx[dst + q * p.strideW()] += dcol[at + q];
                        }
                    }
                }
            }
        });
    }

    /** Smallest output column q with q*stride + colOff >= 0 (may exceed OW-1 when none). */
    private int firstInside(int colOff, int stride) {
        return colOff >= 0 ? 0 : Math.min(ow, (-colOff + stride - 1) / stride);
    }

    /** Largest output column q with q*stride + colOff <= W-1 (may be below 0 when none). */
    private int lastInside(int colOff, int stride, int width) {
        int lim = width - 1 - colOff;
        return lim < 0 ? -1 : Math.min(ow - 1, lim / stride);
    }
}
