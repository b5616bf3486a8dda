package dev.ember.benchmarks;

import dev.ember.autograd.F;
import dev.ember.autograd.Variable;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * One training step's worth of normalization through autograd on the default (CPU) backend: forward, then backward
 * from a fixed random seed gradient into x, gamma and beta. {@code batchNorm2d}: a ResNet-style activation
 * (16, 64, 32, 32) with batch statistics and running-statistic updates; {@code layerNorm}: a transformer
 * activation (64, 128, 768) normalized over its last axis.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
public class NormBenchmark {
    // batch norm: x (16, 64, 32, 32), gamma/beta (64), running statistics (64)
    private Variable bnX;
    private Variable bnGamma;
    private Variable bnBeta;
    private Tensor bnRunningMean;
    private Tensor bnRunningVar;
    private Tensor bnSeed;
    // layer norm: x (64, 128, 768), gamma/beta (768)
    private Variable lnX;
    private Variable lnGamma;
    private Variable lnBeta;
    private Tensor lnSeed;

    @Setup
    public void setUp() {
        Rng rng = new Rng(1);
        bnX = Variable.param(Tensor.randn(rng, 1f, 16, 64, 32, 32));
        bnGamma = Variable.param(Tensor.rand(rng, 0.5f, 1.5f, 64));
        bnBeta = Variable.param(Tensor.randn(rng, 0.1f, 64));
        bnRunningMean = Tensor.zeros(64);
        bnRunningVar = Tensor.ones(64);
        bnSeed = Tensor.randn(rng, 1f, 16, 64, 32, 32);
        lnX = Variable.param(Tensor.randn(rng, 1f, 64, 128, 768));
        lnGamma = Variable.param(Tensor.rand(rng, 0.5f, 1.5f, 768));
        lnBeta = Variable.param(Tensor.randn(rng, 0.1f, 768));
        lnSeed = Tensor.randn(rng, 1f, 64, 128, 768);
    }

    @Benchmark
    public Tensor batchNorm2dTrainForwardBackward() {
        Variable y = F.batchNorm2d(bnX, bnRunningMean, bnRunningVar, bnGamma, bnBeta, true, 0.1f, 1e-5f);
        y.backward(bnSeed);
        Tensor dx = bnX.grad();
        zeroGrads(bnX, bnGamma, bnBeta);
        return dx;
    }

    @Benchmark
    public Tensor layerNormForwardBackward() {
        Variable y = F.layerNorm(lnX, 1, lnGamma, lnBeta, 1e-5f);
        y.backward(lnSeed);
        Tensor dx = lnX.grad();
        zeroGrads(lnX, lnGamma, lnBeta);
        return dx;
    }

    private static void zeroGrads(Variable... vs) {
        for (Variable v : vs) v.zeroGrad();
    }
}
