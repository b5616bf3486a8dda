// Augmentation on device: horizontal flip per image and additive Gaussian noise from a counter-based RNG
// (Philox-4x32-10), so the noise at element i depends only on (seed, counter, i): reproducible for any launch shape.
#include "ember.cuh"

// y (N, C, H, W) = x with image n mirrored along W where flip[n] != 0.
extern "C" __global__ void ember_flip_horizontal(const float* x, float* y, const int* flip, int n, int c, int h, int w) {
    long long total = (long long) n * c * h * w;
    GRID_STRIDE(at, total) {
        int s = (int) (at % w);
        long long image = at / ((long long) c * h * w);
        y[at] = flip[image] ? x[at - s + (w - 1 - s)] : x[at];
    }
}

// Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"): 10 rounds of a keyed bijection.
struct Philox { unsigned int v[4]; };

__device__ Philox philox(unsigned long long counter, unsigned long long index, unsigned long long seed) {
    unsigned int c0 = (unsigned int) index, c1 = (unsigned int) (index >> 32), c2 = (unsigned int) counter, c3 = (unsigned int) (counter >> 32);
    unsigned int k0 = (unsigned int) seed, k1 = (unsigned int) (seed >> 32);
    for (int round = 0; round < 10; round++) {
        unsigned int hi0 = __umulhi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
        unsigned int hi1 = __umulhi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
        unsigned int n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    Philox r;
    r.v[0] = c0; r.v[1] = c1; r.v[2] = c2; r.v[3] = c3;
    return r;
}

// Uniform in (0, 1]: never 0, so log() below is finite.
__device__ __forceinline__ float uniform_open_closed(unsigned int bits) { return ((bits >> 8) + 1) * (1.0f / 16777216.0f); }

// y (n) += std * N(0, 1), by Box-Muller over the first two Philox words of element i.
extern "C" __global__ void ember_add_gaussian_noise(float* y, float std, unsigned long long seed, unsigned long long counter, long long n) {
    GRID_STRIDE(i, n) {
        Philox r = philox(counter, (unsigned long long) i, seed);
        float u1 = uniform_open_closed(r.v[0]), u2 = uniform_open_closed(r.v[1]);
        float z = sqrtf(-2.0f * logf(u1)) * cospif(2.0f * u2);
        y[i] = fmaf(std, z, y[i]);
    }
}
