// Classification family: softmax / log-softmax along an axis, cross-entropy forward and backward, one-hot.
// x is contiguous and seen as (O, L, I): the axis has length L and stride I. One block per (o, i) row.
#include "ember.cuh"

// y (O, L, I) = softmax or log-softmax of x along L.
extern "C" __global__ void ember_softmax(const float* x, float* y, int outer, int length, int inner, int logarithm) {
    __shared__ float shared[EMBER_BLOCK];
    long long rows = (long long) outer * inner;
    for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
        long long base = (row / inner) * (long long) length * inner + row % inner;
        float m = -__int_as_float(0x7f800000);
        for (int j = threadIdx.x; j < length; j += EMBER_BLOCK) m = nan_max(m, x[base + (long long) j * inner]);
        m = block_max(m, shared);
        float s = 0.0f;
        for (int j = threadIdx.x; j < length; j += EMBER_BLOCK) s += expf(x[base + (long long) j * inner] - m);
        s = block_sum(s, shared);
        float logSum = logf(s);
        for (int j = threadIdx.x; j < length; j += EMBER_BLOCK) {
            long long at = base + (long long) j * inner;
            y[at] = logarithm ? x[at] - m - logSum : expf(x[at] - m) / s;
        }
    }
}

// loss (N) = logsumexp(logits[n, :]) - logits[n, label[n]] for logits (N, K), int32 labels (N).
// A label outside [0, K) gives NaN and records the first bad row in *bad (initialised to INT_MAX by the caller).
extern "C" __global__ void ember_cross_entropy_forward(const float* logits, const int* labels, float* loss, int n, int classes, int* bad) {
    __shared__ float shared[EMBER_BLOCK];
    for (int row = blockIdx.x; row < n; row += gridDim.x) {
        const float* x = logits + (long long) row * classes;
        float m = -__int_as_float(0x7f800000);
        for (int j = threadIdx.x; j < classes; j += EMBER_BLOCK) m = nan_max(m, x[j]);
        m = block_max(m, shared);
        float s = 0.0f;
        for (int j = threadIdx.x; j < classes; j += EMBER_BLOCK) s += expf(x[j] - m);
        s = block_sum(s, shared);
        if (threadIdx.x == 0) {
            int label = labels[row];
            if (label < 0 || label >= classes) {
                atomicMin(bad, row);
                loss[row] = __int_as_float(0x7fc00000);
            } else {
                loss[row] = m + logf(s) - x[label];
            }
        }
    }
}

// dlogits (N, K) = (softmax(logits) - onehot(label)) * dloss[n].
extern "C" __global__ void ember_cross_entropy_backward(const float* logits, const int* labels, const float* dloss, float* dlogits, int n, int classes) {
    __shared__ float shared[EMBER_BLOCK];
    for (int row = blockIdx.x; row < n; row += gridDim.x) {
        const float* x = logits + (long long) row * classes;
        float* dx = dlogits + (long long) row * classes;
        float m = -__int_as_float(0x7f800000);
        for (int j = threadIdx.x; j < classes; j += EMBER_BLOCK) m = nan_max(m, x[j]);
        m = block_max(m, shared);
        float s = 0.0f;
        for (int j = threadIdx.x; j < classes; j += EMBER_BLOCK) s += expf(x[j] - m);
        s = block_sum(s, shared);
        int label = labels[row];
        float g = dloss[row];
        for (int j = threadIdx.x; j < classes; j += EMBER_BLOCK) dx[j] = (expf(x[j] - m) / s - (j == label ? 1.0f : 0.0f)) * g;
    }
}

// y (N, K) = one-hot rows of labels (N) (int32, or int64 when wide); y must be zeroed by the caller.
// A label outside [0, K) records the smallest bad position in *bad (initialised to INT_MAX by the caller).
extern "C" __global__ void ember_one_hot(const void* labels, int wide, float* y, int n, int classes, int* bad) {
    GRID_STRIDE(i, n) {
        long long label = wide ? ((const long long*) labels)[i] : ((const int*) labels)[i];
        if (label < 0 || label >= classes) atomicMin(bad, (int) i);
        else y[i * classes + label] = 1.0f;
    }
}
