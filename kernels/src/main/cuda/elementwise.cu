// Elementwise family: unary and broadcast binary ops over strided views, dtype-converting copy, fused
// bias + activation, and the in-place fill / scale / axpy. Outputs are contiguous unless a Strided says otherwise.
// Op codes are the ordinals the Java side (CudaElementwise) passes; keep both lists in the same order.
#include "ember.cuh"

// ---- unary: y (n) = op(x) ----

enum UnaryCode { U_NEG, U_ABS, U_SQUARE, U_SQRT, U_RECIPROCAL, U_EXP, U_LOG, U_RELU, U_STEP, U_SIGN,
                 U_SIGMOID, U_TANH, U_ERF, U_GELU, U_GELU_GRAD };

__device__ __forceinline__ float normal_cdf(float v) { return 0.5f * (1.0f + erff(v * 0.70710678118654752f)); }

__device__ float unary_op(int op, float v) {
    switch (op) {
        case U_NEG: return -v;
        case U_ABS: return fabsf(v);
        case U_SQUARE: return v * v;
        case U_SQRT: return sqrtf(v);
        case U_RECIPROCAL: return 1.0f / v;
        case U_EXP: return expf(v);
        case U_LOG: return logf(v);
        case U_RELU: return v > 0.0f ? v : (v != v ? v : 0.0f);
        case U_STEP: return v > 0.0f ? 1.0f : 0.0f;
        case U_SIGN: return v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : v);   // keeps NaN and the sign of zero
        case U_SIGMOID: return 1.0f / (1.0f + expf(-v));
        case U_TANH: return tanhf(v);
        case U_ERF: return erff(v);
        case U_GELU: return v * normal_cdf(v);
        case U_GELU_GRAD: return normal_cdf(v) + v * expf(v * v * -0.5f) * 0.39894228040143268f;
        default: return __int_as_float(0x7fc00000);   // unknown op: NaN, never silently a number
    }
}

extern "C" __global__ void ember_unary(int op, Strided x, const float* xs, float* y, long long n) {
    GRID_STRIDE(i, n) y[i] = unary_op(op, xs[strided_offset(x, i)]);
}

// ---- binary: y (out) = op(a, b); a and b are views already expanded to the output's dims (stride 0 broadcasts) ----

// B_RELU_GRAD is no BinaryOp: dy * [x > 0] in one pass (Backend.reluBackward), the same product as dy * STEP(x)
enum BinaryCode { B_ADD, B_SUB, B_MUL, B_DIV, B_POW, B_MAX, B_MIN, B_EQ, B_LT, B_GT, B_RELU_GRAD };

__device__ float binary_op(int op, float a, float b) {
    switch (op) {
        case B_ADD: return a + b;
        case B_SUB: return a - b;
        case B_MUL: return a * b;
        case B_DIV: return a / b;
        case B_POW: return (float) pow((double) a, (double) b);   // Math.pow in double, as the CPU backend
        case B_MAX: return nan_max(a, b);
        case B_MIN: return nan_min(a, b);
        case B_EQ: return a == b ? 1.0f : 0.0f;
        case B_LT: return a < b ? 1.0f : 0.0f;
        case B_GT: return a > b ? 1.0f : 0.0f;
        case B_RELU_GRAD: return a * (b > 0.0f ? 1.0f : 0.0f);
        default: return __int_as_float(0x7fc00000);
    }
}

extern "C" __global__ void ember_binary(int op, Strided a, const float* as, Strided b, const float* bs, float* y, long long n) {
    GRID_STRIDE(i, n) y[i] = binary_op(op, as[strided_offset(a, i)], bs[strided_offset(b, i)]);
}

// ---- copy with dtype conversion: dst view = src view; dtype codes are DType ordinals ----

enum DTypeCode { T_FLOAT32, T_INT32, T_INT64, T_UINT8, T_BOOL };

__device__ double load_as_double(const void* p, int type, long long at) {
    switch (type) {
        case T_FLOAT32: return ((const float*) p)[at];
        case T_INT32: return ((const int*) p)[at];
        case T_INT64: return (double) ((const long long*) p)[at];
        case T_UINT8: return ((const unsigned char*) p)[at];
        default: return ((const unsigned char*) p)[at];
    }
}

// Java's narrowing rules: float to integer truncates toward zero and saturates (NaN is 0), uint8 wraps, bool is v != 0.
__device__ long long to_long(double v) {
    if (v != v) return 0;
    if (v >= 9.2233720368547758e18) return 0x7fffffffffffffffLL;
    if (v <= -9.2233720368547758e18) return (long long) 0x8000000000000000ULL;
    return (long long) v;
}

__device__ void store_from_double(void* p, int type, long long at, double v) {
    switch (type) {
        case T_FLOAT32: ((float*) p)[at] = (float) v; break;
        case T_INT32: {
            int r = v != v ? 0 : (v >= 2147483647.0 ? 2147483647 : (v <= -2147483648.0 ? (-2147483647 - 1) : (int) v));
            ((int*) p)[at] = r;
            break;
        }
        case T_INT64: ((long long*) p)[at] = to_long(v); break;
        case T_UINT8: ((unsigned char*) p)[at] = (unsigned char) to_long(v); break;
        default: ((unsigned char*) p)[at] = v != 0.0 ? 1 : 0; break;
    }
}

extern "C" __global__ void ember_copy(Strided src, const void* s, int srcType, Strided dst, void* d, int dstType, long long n) {
    GRID_STRIDE(i, n) store_from_double(d, dstType, strided_offset(dst, i), load_as_double(s, srcType, strided_offset(src, i)));
}

// ---- fused bias + activation: y (N, C, S) = act(x + bias[c]); act is a unary code (U_RELU, U_GELU, ...) or -1 for none ----

// x and y may be the same array (each element is read, then written, by one thread): the convolution's epilogue.
extern "C" __global__ void ember_bias_activation(const float* x, const float* bias, float* y, int channels, int inner, int act, long long n) {
    GRID_STRIDE(i, n) {
        int c = i <= 0xffffffffLL ? (int) (((unsigned int) i / (unsigned int) inner) % (unsigned int) channels) : (int) ((i / inner) % channels);
        float v = x[i] + bias[c];
        y[i] = act < 0 ? v : unary_op(act, v);
    }
}

// ---- in place on contiguous float32 (the pointer already points at the tensor's first element) ----

extern "C" __global__ void ember_fill(float* y, float value, long long n) {
    GRID_STRIDE(i, n) y[i] = value;
}

extern "C" __global__ void ember_scale(float* y, float alpha, long long n) {
    GRID_STRIDE(i, n) y[i] *= alpha;
}

// y += alpha * x; x any view.
extern "C" __global__ void ember_axpy(float alpha, Strided x, const float* xs, float* y, long long n) {
    GRID_STRIDE(i, n) y[i] = fmaf(alpha, xs[strided_offset(x, i)], y[i]);
}
