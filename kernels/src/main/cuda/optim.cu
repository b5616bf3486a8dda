// Fused optimizer steps with PyTorch's rules (engine SgdParams / AdamParams), one pass over parameter, gradient and
// state. The per-tensor kernels serve Backend.sgdStep / adamStep; the multi-tensor ones update a whole parameter
// list in one launch through a chunk table (chunk k covers elements [start[k], start[k] + chunkSize) of tensor
// tensor[k]). Built with -fmad=false and explicit fmaf where the CPU backend uses Math.fma, so each element's
// update is the CPU backend's, bit for bit. The Adam bias corrections are computed by the caller in double.
#include "ember.cuh"

struct SgdArgs {
    float lr, weightDecay, momentum, keep;   // keep = 1 - dampening
    int useMomentum, nesterov, firstStep;
};

// g' = g + wd p; buf = momentum buf + keep g' (g' on the first step); d = nesterov ? g' + momentum buf : buf; p -= lr d
__device__ __forceinline__ void sgd_element(float* p, const float* g, float* buf, const SgdArgs& a, long long i) {
    float w = p[i];
    float gw = fmaf(w, a.weightDecay, g[i]);
    if (!a.useMomentum) {
        p[i] = fmaf(gw, -a.lr, w);
        return;
    }
    float b = a.firstStep ? gw : buf[i] * a.momentum + gw * a.keep;
    buf[i] = b;
    float d = a.nesterov ? fmaf(b, a.momentum, gw) : b;
    p[i] = fmaf(d, -a.lr, w);
}

struct AdamArgs {
    float l2, shrink, beta1, beta2, eps, stepSize, bias2Sqrt;   // l2 = wd for Adam, 0 for AdamW; shrink = 1 - lr wd for AdamW
};

// g += l2 p; p *= shrink; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= stepSize m / (sqrt(v) / bias2Sqrt + eps)
__device__ __forceinline__ void adam_element(float* p, const float* grad, float* m, float* v, const AdamArgs& a, long long i) {
    float w = p[i];
    float g = fmaf(w, a.l2, grad[i]);
    w *= a.shrink;
    float mv = m[i] * a.beta1 + g * (1.0f - a.beta1);
    float vv = v[i] * a.beta2 + g * g * (1.0f - a.beta2);
    m[i] = mv;
    v[i] = vv;
    float denom = sqrtf(vv) / a.bias2Sqrt + a.eps;
    p[i] = w - mv / denom * a.stepSize;
}

extern "C" __global__ void ember_sgd_step(float* param, const float* grad, float* momentumBuf, SgdArgs a, long long n) {
    GRID_STRIDE(i, n) sgd_element(param, grad, momentumBuf, a, i);
}

extern "C" __global__ void ember_adam_step(float* param, const float* grad, float* m, float* v, AdamArgs a, long long n) {
    GRID_STRIDE(i, n) adam_element(param, grad, m, v, a, i);
}

// One block per chunk (grid-stride over chunks); sizes (T), tensor and start (chunks) describe the chunk table.
extern "C" __global__ void ember_sgd_step_multi(float* const* params, const float* const* grads, float* const* bufs, const int* sizes,
                                                const int* tensor, const int* start, int chunks, int chunkSize, SgdArgs a) {
    for (int k = blockIdx.x; k < chunks; k += gridDim.x) {
        int t = tensor[k];
        long long end = min((long long) start[k] + chunkSize, (long long) sizes[t]);
        for (long long i = start[k] + threadIdx.x; i < end; i += blockDim.x) sgd_element(params[t], grads[t], bufs == nullptr ? nullptr : bufs[t], a, i);
    }
}

extern "C" __global__ void ember_adam_step_multi(float* const* params, const float* const* grads, float* const* ms, float* const* vs, const int* sizes,
                                                 const int* tensor, const int* start, int chunks, int chunkSize, AdamArgs a) {
    for (int k = blockIdx.x; k < chunks; k += gridDim.x) {
        int t = tensor[k];
        long long end = min((long long) start[k] + chunkSize, (long long) sizes[t]);
        for (long long i = start[k] + threadIdx.x; i < end; i += blockDim.x) adam_element(params[t], grads[t], ms[t], vs[t], a, i);
    }
}
