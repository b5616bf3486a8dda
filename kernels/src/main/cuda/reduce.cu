// Reductions: SUM / MAX / MIN over a set of axes, and argMax along one. The Java side (CudaReduce) passes the
// input as a view permuted so the kept axes come first and the reduced axes last: element (o, r) of the
// virtual (O, R) matrix is at strided_offset(x, o * R + r). Each output's R is cut into `splits` chunks of equal
// length (the last may be shorter); one block per (output, chunk), grid-stride over them, each thread folds
// r = r0 + tid, r0 + tid + 256, ... in order, then a fixed tree: the same result on every run. With splits > 1
// the Java side folds the (O, splits) partials in a second launch (splits 1), so few outputs over a long R
// (a bias gradient: 64 channels over N*H*W) still fill the GPU.
#include "ember.cuh"

enum ReduceCode { R_SUM, R_MAX, R_MIN };

// y (O, splits) = reduce over chunk s of r of x (O, R)
extern "C" __global__ void ember_reduce(int op, Strided x, const float* xs, float* y, int outer, int reduced, int splits) {
    __shared__ float shared[EMBER_BLOCK];
    int chunk = (reduced + splits - 1) / splits;
    long long blocks = (long long) outer * splits;
    for (long long b = blockIdx.x; b < blocks; b += gridDim.x) {
        long long o = b / splits;
        int r0 = (int) (b - o * splits) * chunk, r1 = min(reduced, r0 + chunk);
        long long base = o * reduced;
        if (op == R_SUM) {
            float acc = 0.0f;
            for (int r = r0 + threadIdx.x; r < r1; r += EMBER_BLOCK) acc += xs[strided_offset(x, base + r)];
            float total = block_sum(acc, shared);
            if (threadIdx.x == 0) y[b] = total;
        } else {
            float sign = op == R_MAX ? 1.0f : -1.0f;   // min is -max(-x)
            float acc = -__int_as_float(0x7f800000);
            for (int r = r0 + threadIdx.x; r < r1; r += EMBER_BLOCK) acc = nan_max(acc, sign * xs[strided_offset(x, base + r)]);
            float best = block_max(acc, shared);
            if (threadIdx.x == 0) y[b] = sign * best;
        }
    }
}

// idx (O) int64 = argmax_r x (O, R): the first maximum; a NaN beats any number and the first NaN stays.
__device__ __forceinline__ bool beats(float v, int i, float best, int bestIndex) {
    bool vNan = v != v, bestNan = best != best;
    if (vNan != bestNan) return vNan;
    if (!vNan && v != best) return v > best;
    return i < bestIndex;
}

extern "C" __global__ void ember_argmax(Strided x, const float* xs, long long* y, int outer, int reduced) {
    __shared__ float values[EMBER_BLOCK];
    __shared__ int indices[EMBER_BLOCK];
    for (int o = blockIdx.x; o < outer; o += gridDim.x) {
        long long base = (long long) o * reduced;
        float best = -__int_as_float(0x7f800000);
        int bestIndex = 0x7fffffff;
        for (int r = threadIdx.x; r < reduced; r += EMBER_BLOCK) {
            float v = xs[strided_offset(x, base + r)];
            if (beats(v, r, best, bestIndex)) { best = v; bestIndex = r; }
        }
        values[threadIdx.x] = best;
        indices[threadIdx.x] = bestIndex;
        __syncthreads();
        for (int half = EMBER_BLOCK / 2; half > 0; half >>= 1) {
            if (threadIdx.x < half && beats(values[threadIdx.x + half], indices[threadIdx.x + half], values[threadIdx.x], indices[threadIdx.x])) {
                values[threadIdx.x] = values[threadIdx.x + half];
                indices[threadIdx.x] = indices[threadIdx.x + half];
            }
            __syncthreads();
        }
        if (threadIdx.x == 0) y[o] = indices[0] == 0x7fffffff ? 0 : indices[0];
        __syncthreads();
    }
}
