/**
 * The CPU backend, {@link dev.ember.kernels.cpu.CpuBackend} (provider {@code cpu}): Vector API kernels, one op family
 * per package-private class ({@code CpuCopy}, {@code CpuUnary}, {@code CpuBinary}, {@code CpuReduce},
 * {@code CpuSoftmax}, {@code CpuPool2d}, {@code CpuOneHot}, {@code CpuInPlace}, {@code CpuOptimizerSteps}, {@code CpuNorm} (fused batch/layer norm), matmul
 * and convolution over {@code Sgemm} (narrow products with a packed weight on {@code SgemmNarrow} and {@code SgemmOneVector},
 * several strips of the weight streaming at once, or, for one image's last stages, on {@code SgemmRows} with the weight in
 * row panels, lanes over its rows); 3x3 stride-1 convolutions as Winograd F(2x2, 3x3) in {@code Winograd3x3}
 * (inference's, and training's forward, backwardInput and backwardWeight in wide, large layers) and F(4x4, 3x3) in
 * {@code Winograd3x3F4} (inference's, where a product has tiles enough), both tested against the reference's
 * direct convolution; training's convolutions on small padded maps as one GEMM per kernel tap over only the positions
 * inside the input in {@code TapConv}; inference's strided convolutions of one image as a direct kernel with output
 * channels across the lanes in {@code DirectConv}, and resnet's stem reading its input in place in
 * {@code Stride2Conv} (a batch split between the threads by image); a batch of small maps (rows of at most 4 pixels)
 * without a column matrix, each pixel's images side by side and {@code Sgemm} packing its strips from them
 * ({@code Sgemm.BStrips}); a convolution then a 2x2/2 max pool ({@code conv2dMaxPool}) pooled in the kernel's registers
 * where {@code SingleChannelConv}, {@code Winograd3x3F4} or a stride-1 {@code DirectConv} runs the layer, and the stem's
 * 3x3/2 pool over a ring of {@code Stride2Conv}'s last three output rows), a residual block's conv, Add and Relu
 * ({@code conv2dAddRelu}) with the residual added in Winograd's output transform as it writes y, a downsampling
 * block's 3x3/2 conv and its 1x1/2 shortcut ({@code conv2dPair}) as more output blocks of one {@code DirectConv} pass, with
 * {@code StridedWalk} for strided and broadcast operands and
 * {@code CpuMath} for exp/erf. Work runs over one fixed-chunk thread pool ({@code Parallel}) and uses no
 * JIT-dependent rounding, so results are bit-identical run to run. Needs {@code --add-modules jdk.incubator.vector};
 * without it the provider reports itself unavailable. No incubator type appears in a public signature.
 */
package dev.ember.kernels.cpu;
