// Batch norm (x (N, C, S), one group per channel; used when cuDNN is absent) and layer norm (x (R, D), one group
// per row), forward and backward, with the CPU backend's math: group sums in double, variance from the
// centred sums, y = (x - mean) invStd gamma + beta; backward dx = a (d bd + c0 + w) with d = x - mean.
// One block per group, a fixed tree over the threads' double partials: deterministic.
#include "ember.cuh"

__device__ double block_sum_double(double v, double* shared) {
    shared[threadIdx.x] = v;
    __syncthreads();
    for (int half = EMBER_BLOCK / 2; half > 0; half >>= 1) {
        if (threadIdx.x < half) shared[threadIdx.x] += shared[threadIdx.x + half];
        __syncthreads();
    }
    double r = shared[0];
    __syncthreads();
    return r;
}

// Element k (0 <= k < N*S) of channel ch in x (N, C, S).
__device__ __forceinline__ long long channel_at(int ch, long long k, int channels, int inner) {
    return ((k / inner) * channels + ch) * inner + k % inner;
}

// y (N, C, S); mean, variance, invStd (C). gamma/beta may be null (1 and 0).
extern "C" __global__ void ember_batch_norm_forward(const float* x, const float* gamma, const float* beta, float* y,
                                                    float* mean, float* variance, float* invStd,
                                                    int n, int channels, int inner, float eps) {
    __shared__ double shared[EMBER_BLOCK];
    long long count = (long long) n * inner;
    for (int ch = blockIdx.x; ch < channels; ch += gridDim.x) {
        double s = 0;
        for (long long k = threadIdx.x; k < count; k += EMBER_BLOCK) s += x[channel_at(ch, k, channels, inner)];
        float m = (float) (block_sum_double(s, shared) / count);
        double s1 = 0, s2 = 0;
        for (long long k = threadIdx.x; k < count; k += EMBER_BLOCK) {
            float d = x[channel_at(ch, k, channels, inner)] - m;
            s1 += d;
            s2 += (double) d * d;
        }
        s1 = block_sum_double(s1, shared);
        s2 = block_sum_double(s2, shared);
        double v = fmax(0.0, (s2 - s1 * s1 / count) / count), inv = 1.0 / sqrt(v + eps);
        float scale = (float) (gamma == nullptr ? inv : gamma[ch] * inv), shift = beta == nullptr ? 0.0f : beta[ch];
        for (long long k = threadIdx.x; k < count; k += EMBER_BLOCK) {
            long long at = channel_at(ch, k, channels, inner);
            y[at] = fmaf(x[at] - m, scale, shift);
        }
        if (threadIdx.x == 0) {
            mean[ch] = m;
            variance[ch] = (float) v;
            invStd[ch] = (float) inv;
        }
    }
}

// dx (N, C, S); dgamma, dbeta (C). gamma may be null (1).
extern "C" __global__ void ember_batch_norm_backward(const float* dy, const float* x, const float* mean, const float* invStd,
                                                     const float* gamma, float* dx, float* dgamma, float* dbeta,
                                                     int n, int channels, int inner) {
    __shared__ double shared[EMBER_BLOCK];
    long long count = (long long) n * inner;
    for (int ch = blockIdx.x; ch < channels; ch += gridDim.x) {
        float m = mean[ch];
        double s0 = 0, s1 = 0;   // sum dy, sum dy (x - mean)
        for (long long k = threadIdx.x; k < count; k += EMBER_BLOCK) {
            long long at = channel_at(ch, k, channels, inner);
            s0 += dy[at];
            s1 += (double) dy[at] * (x[at] - m);
        }
        s0 = block_sum_double(s0, shared);
        s1 = block_sum_double(s1, shared);
        double is = invStd[ch];
        float a = (float) ((gamma == nullptr ? 1.0f : gamma[ch]) * is);
        float bd = (float) (-is * is * s1 / count), c0 = (float) (-s0 / count);
        for (long long k = threadIdx.x; k < count; k += EMBER_BLOCK) {
            long long at = channel_at(ch, k, channels, inner);
            dx[at] = (fmaf(x[at] - m, bd, c0) + dy[at]) * a;
        }
        if (threadIdx.x == 0) {
            dgamma[ch] = (float) (s1 * is);
            dbeta[ch] = (float) s0;
        }
    }
}

// y (R, D); mean, variance, invStd (R). gamma/beta (D) may be null.
extern "C" __global__ void ember_layer_norm_forward(const float* x, const float* gamma, const float* beta, float* y,
                                                    float* mean, float* variance, float* invStd, int rows, int d, float eps) {
    __shared__ double shared[EMBER_BLOCK];
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* xr = x + (long long) r * d;
        float* yr = y + (long long) r * d;
        double s = 0;
        for (int j = threadIdx.x; j < d; j += EMBER_BLOCK) s += xr[j];
        float m = (float) (block_sum_double(s, shared) / d);
        double s1 = 0, s2 = 0;
        for (int j = threadIdx.x; j < d; j += EMBER_BLOCK) {
            float dv = xr[j] - m;
            s1 += dv;
            s2 += (double) dv * dv;
        }
        s1 = block_sum_double(s1, shared);
        s2 = block_sum_double(s2, shared);
        double v = fmax(0.0, (s2 - s1 * s1 / d) / d), inv = 1.0 / sqrt(v + eps);
        float invf = (float) inv;
        for (int j = threadIdx.x; j < d; j += EMBER_BLOCK) {
            yr[j] = fmaf((xr[j] - m) * invf, gamma == nullptr ? 1.0f : gamma[j], beta == nullptr ? 0.0f : beta[j]);
        }
        if (threadIdx.x == 0) {
            mean[r] = m;
            variance[r] = (float) v;
            invStd[r] = invf;
        }
    }
}

// dx (R, D) of layer norm; gamma (D) may be null.
extern "C" __global__ void ember_layer_norm_backward_input(const float* dy, const float* x, const float* mean, const float* invStd,
                                                           const float* gamma, float* dx, int rows, int d) {
    __shared__ double shared[EMBER_BLOCK];
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        long long base = (long long) r * d;
        float m = mean[r];
        double s0 = 0, s1 = 0;   // sum w, sum w (x - mean), w = dy gamma
        for (int j = threadIdx.x; j < d; j += EMBER_BLOCK) {
            float w = dy[base + j] * (gamma == nullptr ? 1.0f : gamma[j]);
            s0 += w;
            s1 += (double) w * (x[base + j] - m);
        }
        s0 = block_sum_double(s0, shared);
        s1 = block_sum_double(s1, shared);
        double is = invStd[r];
        float bd = (float) (-is * is * s1 / d), c0 = (float) (-s0 / d), a = invStd[r];
        for (int j = threadIdx.x; j < d; j += EMBER_BLOCK) {
            float w = dy[base + j] * (gamma == nullptr ? 1.0f : gamma[j]);
            dx[base + j] = (fmaf(x[base + j] - m, bd, c0) + w) * a;
        }
    }
}

// dgamma (D) = sum_r dy (x - mean) invStd, dbeta (D) = sum_r dy: one thread per column, rows in order.
extern "C" __global__ void ember_layer_norm_backward_affine(const float* dy, const float* x, const float* mean, const float* invStd,
                                                            float* dgamma, float* dbeta, int rows, int d) {
    GRID_STRIDE(j, d) {
        double g = 0, b = 0;
        for (int r = 0; r < rows; r++) {
            long long at = (long long) r * d + j;
            g += (double) dy[at] * ((x[at] - mean[r]) * invStd[r]);
            b += dy[at];
        }
        dgamma[j] = (float) g;
        dbeta[j] = (float) b;
    }
}
