package dev.ember.benchmarks;

import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * C (M, N) = A (M, K) · B (K, N) in float32 through {@link Tensor#matmul} on the default (CPU) backend, all
 * threads ({@code -Dember.threads=N} in the forked JVM's arguments to change). Reports time per product and
 * prints GFLOP/s (2MNK / t) after each iteration. The shape is "MxKxN".
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
public class SgemmBenchmark {
    @Param({"256x256x256", "512x512x512", "1024x1024x1024", "2048x2048x2048", "512x768x3072"})
    public String shape;

    private Tensor a;
    private Tensor b;
    private double flops;
    private long calls;
    private long iterationStart;

    @Setup(Level.Trial)
    public void setUp() {
        String[] s = shape.split("x");
        int m = Integer.parseInt(s[0]), k = Integer.parseInt(s[1]), n = Integer.parseInt(s[2]);
        Rng rng = new Rng(1);
        a = Tensor.randn(rng, 1f, m, k);
        b = Tensor.randn(rng, 1f, k, n);
        flops = 2.0 * m * n * k;
    }

    @Setup(Level.Iteration)
    public void startIteration() {
        calls = 0;
        iterationStart = System.nanoTime();
    }

    @TearDown(Level.Iteration)
    public void printGflops() {
        double seconds = (System.nanoTime() - iterationStart) * 1e-9;
        System.out.printf("  [%s: %.1f GFLOP/s]%n", shape, flops * calls / seconds / 1e9);
    }

    @Benchmark
    public Tensor matmul() {
        calls++;
        return a.matmul(b);
    }
}
