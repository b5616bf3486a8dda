/**
 * The CPU backend, {@link dev.ember.kernels.cpu.CpuBackend} (provider {@code cpu}): Vector API kernels, one op family
 * per package-private class ({@code CpuCopy}, {@code CpuUnary}, {@code CpuBinary}, {@code CpuReduce},
 * {@code CpuSoftmax}, {@code CpuPool2d}, {@code CpuOneHot}, {@code CpuInPlace}, {@code CpuOptimizerSteps}, {@code CpuNorm} (fused batch/layer norm), matmul
 * and convolution over {@code Sgemm}), with {@code StridedWalk} for strided and broadcast operands and
 * {@code CpuMath} for exp/erf. Work runs over one fixed-chunk thread pool ({@code Parallel}) and uses no
 * JIT-dependent rounding, so results are bit-identical run to run. Needs {@code --add-modules jdk.incubator.vector};
 * without it the provider reports itself unavailable. No incubator type appears in a public signature.
 */
package dev.ember.kernels.cpu;
