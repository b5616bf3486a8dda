/**
 * JMH benchmarks of the CPU kernels: {@link dev.ember.benchmarks.SgemmBenchmark} (matrix products, with GFLOP/s
 * printed per iteration) and {@link dev.ember.benchmarks.Conv2dBenchmark} (resnet18 and small_cnn convolution
 * shapes, forward and both backwards), {@link dev.ember.benchmarks.NormBenchmark} (fused batch/layer norm). Build and run:
 * <pre>
 *   mvn -q -pl benchmarks -am package -DskipTests
 *   $JAVA_HOME/bin/java --add-modules jdk.incubator.vector -jar benchmarks/target/benchmarks.jar Sgemm
 * </pre>
 *
 * <p>The side-by-side harness, one command: {@code bin/bench [sgemm|inference|train]...}. Each comparison measures
 * ember and then a peer on the same machine, same inputs, same protocol, and prints a table of ratios against issue
 * 5's targets: {@link dev.ember.benchmarks.SgemmComparison} (NumPy/OpenBLAS), {@link dev.ember.benchmarks.InferenceComparison}
 * (ONNX Runtime Java, with an output check and each model's weights over the DRAM bandwidth that
 * {@link dev.ember.benchmarks.MemoryBandwidth} measures in the same run) and {@link dev.ember.benchmarks.TrainStepComparison} (PyTorch). Python
 * peers live in {@code benchmarks/peers} and run through {@link dev.ember.benchmarks.Peer};
 * {@link dev.ember.benchmarks.BenchmarksSection} writes the tables into BENCHMARKS.md between its markers.
 * Timing lives here only; unit tests assert no timings.
 */
package dev.ember.benchmarks;
