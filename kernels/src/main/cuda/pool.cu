// Max and average pooling over NCHW, forward and backward. Window (i, j) starts at (i*sh - ph, j*sw - pw),
// as in PyTorch; padded cells never win a max; the average divides by the window clipped to the padded input,
// or to the real input without countIncludePad. No float atomics: the average backward GATHERS (each input cell
// sums the outputs whose window holds it, in output order, the CPU backend's order); so does the max backward for
// indices this backend made, and for any other indices it scatters one plane per thread.
#include "ember.cuh"

struct Pool {
    int h, w, oh, ow, kh, kw, sh, sw, ph, pw, countIncludePad;
};

// y, idx (P, OH, OW) from x (P, H, W), P = N*C; idx is the winner's h*W + w within its plane.
extern "C" __global__ void ember_max_pool_forward(const float* x, float* y, int* idx, Pool p, long long total) {
    GRID_STRIDE(o, total) {
        int j = (int) (o % p.ow), i = (int) ((o / p.ow) % p.oh);
        long long plane = o / ((long long) p.oh * p.ow);
        const float* in = x + plane * p.h * p.w;
        int h0 = max(i * p.sh - p.ph, 0), h1 = min(i * p.sh - p.ph + p.kh, p.h);
        int w0 = max(j * p.sw - p.pw, 0), w1 = min(j * p.sw - p.pw + p.kw, p.w);
        int best = h0 * p.w + w0;
        float bestValue = -__int_as_float(0x7f800000);
        for (int r = h0; r < h1; r++) {
            for (int s = w0; s < w1; s++) {
                float v = in[r * p.w + s];
                if (v > bestValue || (v != v && bestValue == bestValue)) { best = r * p.w + s; bestValue = v; }
            }
        }
        y[o] = bestValue;
        idx[o] = best;
    }
}

// Output rows whose window (stride s, padding pad, kernel k) holds input row r: [first, last] clipped to [0, out).
__device__ __forceinline__ int first_window(int r, int k, int s, int pad) {
    int t = r + pad - k + 1;
    return t <= 0 ? 0 : (t + s - 1) / s;
}
__device__ __forceinline__ int last_window(int r, int s, int pad, int out) { return min((r + pad) / s, out - 1); }

// dx (P, H, W): each cell sums dy over the outputs whose window holds it and chose it, in output order: the order in
// which the scatter below (and the CPU backend) adds them, so the same bits, with a thread per cell instead of per
// plane. Only for indices made by ember_max_pool_forward with this geometry (CudaPool2d knows which): an index
// outside its window would be missed here.
extern "C" __global__ void ember_max_pool_backward_gather(const float* dy, const int* idx, float* dx, Pool p, long long total) {
    GRID_STRIDE(at, total) {
        int s = (int) (at % p.w), r = (int) ((at / p.w) % p.h);
        long long plane = at / ((long long) p.h * p.w);
        long long out = plane * p.oh * p.ow;
        int cell = r * p.w + s;
        float acc = 0.0f;
        for (int i = first_window(r, p.kh, p.sh, p.ph); i <= last_window(r, p.sh, p.ph, p.oh); i++) {
            for (int j = first_window(s, p.kw, p.sw, p.pw); j <= last_window(s, p.sw, p.pw, p.ow); j++) {
                long long o = out + (long long) i * p.ow + j;
                if (idx[o] == cell) acc += dy[o];
            }
        }
        dx[at] = acc;
    }
}

// dx (P, H*W) += dy routed to its winner, for indices of unknown origin (not given the window geometry), so it scatters: one
// thread per plane walks its outputs in order (the CPU backend's order; no atomics). dx must be zeroed by the caller.
// An index outside the plane records the smallest bad output position in *bad (initialised to INT_MAX by the caller).
extern "C" __global__ void ember_max_pool_backward(const float* dy, const int* idx, float* dx, int planes, int planeSize, int outPlane, int* bad) {
    GRID_STRIDE(plane, planes) {
        long long out = plane * outPlane;
        float* d = dx + plane * planeSize;
        for (int k = 0; k < outPlane; k++) {
            int at = idx[out + k];
            if (at < 0 || at >= planeSize) atomicMin(bad, (int) min(out + k, 2147483646LL));
            else d[at] += dy[out + k];
        }
    }
}

__device__ __forceinline__ int avg_divisor(const Pool& p, int i, int j, int* h0, int* h1, int* w0, int* w1) {
    int hs = i * p.sh - p.ph, ws = j * p.sw - p.pw;
    int he = min(hs + p.kh, p.h + p.ph), we = min(ws + p.kw, p.w + p.pw);
    int padded = (he - hs) * (we - ws);
    *h0 = max(hs, 0); *w0 = max(ws, 0); *h1 = min(he, p.h); *w1 = min(we, p.w);
    return p.countIncludePad ? padded : (*h1 - *h0) * (*w1 - *w0);
}

// y (P, OH, OW) = window sums / divisor.
extern "C" __global__ void ember_avg_pool_forward(const float* x, float* y, Pool p, long long total) {
    GRID_STRIDE(o, total) {
        int j = (int) (o % p.ow), i = (int) ((o / p.ow) % p.oh);
        long long plane = o / ((long long) p.oh * p.ow);
        const float* in = x + plane * p.h * p.w;
        int h0, h1, w0, w1;
        int divisor = avg_divisor(p, i, j, &h0, &h1, &w0, &w1);
        float sum = 0.0f;
        for (int r = h0; r < h1; r++) for (int s = w0; s < w1; s++) sum += in[r * p.w + s];
        y[o] = sum / divisor;
    }
}

// dx (P, H, W) = sum over the windows holding the cell of dy / divisor.
extern "C" __global__ void ember_avg_pool_backward(const float* dy, float* dx, Pool p, long long total) {
    GRID_STRIDE(at, total) {
        int s = (int) (at % p.w), r = (int) ((at / p.w) % p.h);
        long long plane = at / ((long long) p.h * p.w);
        long long out = plane * p.oh * p.ow;
        float acc = 0.0f;
        for (int i = first_window(r, p.kh, p.sh, p.ph); i <= last_window(r, p.sh, p.ph, p.oh); i++) {
            for (int j = first_window(s, p.kw, p.sw, p.pw); j <= last_window(s, p.sw, p.pw, p.ow); j++) {
                int h0, h1, w0, w1;
                int divisor = avg_divisor(p, i, j, &h0, &h1, &w0, &w1);
                if (r >= h0 && r < h1 && s >= w0 && s < w1) acc += dy[out + (long long) i * p.ow + j] / divisor;
            }
        }
        dx[at] = acc;
    }
}
