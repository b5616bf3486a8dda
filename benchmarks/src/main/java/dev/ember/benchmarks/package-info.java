/**
 * JMH benchmarks of the CPU kernels: {@link dev.ember.benchmarks.SgemmBenchmark} (matrix products, with GFLOP/s
 * printed per iteration) and {@link dev.ember.benchmarks.Conv2dBenchmark} (resnet18 and small_cnn convolution
 * shapes, forward and both backwards), {@link dev.ember.benchmarks.NormBenchmark} (fused batch/layer norm) and
 * {@link dev.ember.benchmarks.TrainStepComparison} (training steps beside PyTorch, {@code bin/bench-train-steps}). Build and run:
 * <pre>
 *   mvn -q -pl benchmarks -am package -DskipTests
 *   $JAVA_HOME/bin/java --add-modules jdk.incubator.vector -jar benchmarks/target/benchmarks.jar Sgemm
 * </pre>
 * Timing lives here only; unit tests assert no timings.
 */
package dev.ember.benchmarks;
