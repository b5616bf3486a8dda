// im2col / col2im for convolution by GEMM, one image (and one group) at a time:
//   col (C*KH*KW, OH*OW): row (c, kh, kw), column (oh, ow) = x[c, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw] (0 outside)
// col2im is the adjoint and GATHERS: each input cell sums the column entries that sampled it, in (kh, kw) order.
#include "ember.cuh"

struct Conv {
    int c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow;
};

// col (C*KH*KW, OH*OW) from x (C, H, W).
extern "C" __global__ void ember_im2col(const float* x, float* col, Conv g) {
    long long total = (long long) g.c * g.kh * g.kw * g.oh * g.ow;
    GRID_STRIDE(at, total) {
        int ow = (int) (at % g.ow), oh = (int) ((at / g.ow) % g.oh);
        long long row = at / ((long long) g.oh * g.ow);
        int kw = (int) (row % g.kw), kh = (int) ((row / g.kw) % g.kh), c = (int) (row / ((long long) g.kh * g.kw));
        int r = oh * g.sh - g.ph + kh * g.dh, s = ow * g.sw - g.pw + kw * g.dw;
        col[at] = (r >= 0 && r < g.h && s >= 0 && s < g.w) ? x[((long long) c * g.h + r) * g.w + s] : 0.0f;
    }
}

// dx (C, H, W) = col2im(col (C*KH*KW, OH*OW)).
extern "C" __global__ void ember_col2im(const float* col, float* dx, Conv g) {
    long long total = (long long) g.c * g.h * g.w;
    GRID_STRIDE(at, total) {
        int s = (int) (at % g.w), r = (int) ((at / g.w) % g.h), c = (int) (at / ((long long) g.h * g.w));
        float acc = 0.0f;
        for (int kh = 0; kh < g.kh; kh++) {
            int top = r + g.ph - kh * g.dh;   // = oh * sh when this kernel row sampled r
            if (top < 0 || top % g.sh != 0 || top / g.sh >= g.oh) continue;
            int oh = top / g.sh;
            for (int kw = 0; kw < g.kw; kw++) {
                int left = s + g.pw - kw * g.dw;
                if (left < 0 || left % g.sw != 0 || left / g.sw >= g.ow) continue;
                int ow = left / g.sw;
                long long row = ((long long) c * g.kh + kh) * g.kw + kw;
                acc += col[row * g.oh * g.ow + (long long) oh * g.ow + ow];
            }
        }
        dx[at] = acc;
    }
}
