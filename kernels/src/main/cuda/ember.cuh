// Shared by every ember .cu file: the strided-view struct the Java side passes by value, and index helpers.
// Axis legend: N batch, C channels, H/W height/width, O outputs (kept axes), R reduced axes.
// Every entry point is extern "C" (stable PTX names) and launch-free: the Java side (CudaContext) launches
// it through the driver API, grid-stride loops make any grid size correct, and no kernel uses atomics on
// floats, so results are identical run to run.
#pragma once

#define EMBER_MAX_RANK 8

// A view (dims, strides in elements, offset) of up to EMBER_MAX_RANK axes; unused axes have dim 1, stride 0.
struct Strided {
    int rank;
    int offset;
    int dims[EMBER_MAX_RANK];
    int strides[EMBER_MAX_RANK];
};

// Element offset of the i-th element (row-major over dims) of view s. The Java side merges axes that step as one,
// so a contiguous view has rank 1 (no division at all); below 2^32 elements the divisions are 32-bit unsigned ones,
// several times cheaper than 64-bit ones. The loops over axes are unrolled with constant indices: indexing the
// struct's arrays with a run-time axis made every thread copy both views (144 bytes) to local memory first, which
// held elementwise kernels to ~10% of the memory bandwidth on an H200.
__device__ __forceinline__ long long strided_offset(const Strided& s, long long i) {
    if (s.rank == 1) return s.offset + i * s.strides[0];
    long long at = s.offset;
    if (i <= 0xffffffffLL) {
        unsigned int j = (unsigned int) i;
#pragma unroll
        for (int a = EMBER_MAX_RANK - 1; a >= 0; a--) {
            if (a < s.rank) {
                unsigned int d = (unsigned int) s.dims[a];
                at += (long long) (j % d) * s.strides[a];
                j /= d;
            }
        }
        return at;
    }
#pragma unroll
    for (int a = EMBER_MAX_RANK - 1; a >= 0; a--) {
        if (a < s.rank) {
            long long d = s.dims[a];
            at += (i % d) * s.strides[a];
            i /= d;
        }
    }
    return at;
}

#define GRID_STRIDE(i, n) \
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long) gridDim.x * blockDim.x)

// Block-wide tree reductions for blockDim.x == EMBER_BLOCK (a power of two); the tree order is fixed.
#define EMBER_BLOCK 256

__device__ __forceinline__ float block_sum(float v, float* shared) {
    shared[threadIdx.x] = v;
    __syncthreads();
    for (int half = EMBER_BLOCK / 2; half > 0; half >>= 1) {
        if (threadIdx.x < half) shared[threadIdx.x] += shared[threadIdx.x + half];
        __syncthreads();
    }
    float r = shared[0];
    __syncthreads();
    return r;
}

// NaN-propagating max (a NaN wins, as Java's Math.max).
__device__ __forceinline__ float nan_max(float a, float b) { return (a != a || a > b) ? a : (b != b ? b : fmaxf(a, b)); }
__device__ __forceinline__ float nan_min(float a, float b) { return (a != a || a < b) ? a : (b != b ? b : fminf(a, b)); }

__device__ __forceinline__ float block_max(float v, float* shared) {
    shared[threadIdx.x] = v;
    __syncthreads();
    for (int half = EMBER_BLOCK / 2; half > 0; half >>= 1) {
        if (threadIdx.x < half) shared[threadIdx.x] = nan_max(shared[threadIdx.x], shared[threadIdx.x + half]);
        __syncthreads();
    }
    float r = shared[0];
    __syncthreads();
    return r;
}
