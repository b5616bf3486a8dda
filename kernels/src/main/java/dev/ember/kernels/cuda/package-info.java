/**
 * The CUDA backend, {@link dev.ember.kernels.cuda.CudaBackend} (provider {@code cuda}), and
 * {@link dev.ember.kernels.cuda.DeviceSelection} for the launcher's {@code --device auto|cpu|cuda[:N]}.
 *
 * <p>Layers, bottom up: {@code CudaDriver} guards the first JCuda touch (no driver is a message, never a crash);
 * {@code CudaContext} holds one GPU's primary context, loads the PTX resources compiled from
 * {@code src/main/cuda/*.cu} (one per op family; {@code Kernel} lists every entry point) and launches with every
 * driver call checked; {@code CudaAllocator} caches device blocks by size class over {@code RawDeviceMemory};
 * {@code CudaStorage} is a tensor's block; {@code LibraryFinder}, {@code Cublas} and {@code Cudnn} find and bind
 * cuBLAS / cuDNN through {@code java.lang.foreign}; one class per op family ({@code CudaElementwise},
 * {@code CudaReduce}, {@code CudaSoftmax}, {@code CudaLinalg}, {@code CudaPool2d}, {@code CudaNorm},
 * {@code CudaOptimizerSteps}) launches the kernels; {@code CudaBackend} only dispatches.
 *
 * <p>Determinism: no kernel adds floats with atomics, reductions use fixed trees, and cuDNN is limited to its
 * deterministic algorithms, chosen by its heuristics rather than by timing, so a GPU gives the same result run to run
 * (checked on an H200: the finetune demo wrote the same bits on every run; {@code -Dember.cudnn.search=true} trades
 * that for the fastest algorithm of a timed search).
 */
package dev.ember.kernels.cuda;
