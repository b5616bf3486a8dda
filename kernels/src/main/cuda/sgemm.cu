// Our own SGEMM, the fallback when cuBLAS is not installed: row-major, batched over blockIdx.z,
//   C (M, N) = alpha A (M, K) B (K, N) + beta C, with leading dimensions and per-batch strides in elements.
// Blocking: a 64x64 tile of C per block of 256 threads, each thread a 4x4 micro-tile; K walked in steps of 16
// through shared memory. Each C element sums k in increasing order with fmaf: deterministic.
#include "ember.cuh"

#define TILE 64
#define STEP 16

extern "C" __global__ void __launch_bounds__(256) ember_sgemm(int m, int n, int k,
        const float* a, int lda, long long strideA, const float* b, int ldb, long long strideB,
        float* c, int ldc, long long strideC, float alpha, float beta) {
    __shared__ float as[STEP][TILE];   // A tile transposed: as[kk][row]
    __shared__ float bs[STEP][TILE];   // bs[kk][col]
    a += blockIdx.z * strideA;
    b += blockIdx.z * strideB;
    c += blockIdx.z * strideC;
    int row0 = blockIdx.y * TILE, col0 = blockIdx.x * TILE;
    int tr = threadIdx.x / 16, tc = threadIdx.x % 16;   // this thread's 4x4 cells: rows tr*4.., cols tc*4..
    float acc[4][4] = {};
    for (int k0 = 0; k0 < k; k0 += STEP) {
        for (int e = threadIdx.x; e < TILE * STEP; e += 256) {
            int r = e / STEP, kk = e % STEP;   // A: 64 rows x 16 k
            int gr = row0 + r, gk = k0 + kk;
            as[kk][r] = (gr < m && gk < k) ? a[(long long) gr * lda + gk] : 0.0f;
            int kb = e / TILE, cc = e % TILE;   // B: 16 k x 64 cols
            int gkb = k0 + kb, gc = col0 + cc;
            bs[kb][cc] = (gkb < k && gc < n) ? b[(long long) gkb * ldb + gc] : 0.0f;
        }
        __syncthreads();
        for (int kk = 0; kk < STEP; kk++) {
            float av[4], bv[4];
            for (int i = 0; i < 4; i++) av[i] = as[kk][tr * 4 + i];
            for (int j = 0; j < 4; j++) bv[j] = bs[kk][tc * 4 + j];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
        }
        __syncthreads();
    }
    for (int i = 0; i < 4; i++) {
        int gr = row0 + tr * 4 + i;
        if (gr >= m) continue;
        for (int j = 0; j < 4; j++) {
            int gc = col0 + tc * 4 + j;
            if (gc >= n) continue;
            long long at = (long long) gr * ldc + gc;
            c[at] = beta == 0.0f ? alpha * acc[i][j] : fmaf(alpha, acc[i][j], beta * c[at]);
        }
    }
}
