package dev.ember.benchmarks;

import dev.ember.engine.Backend;
import dev.ember.engine.Conv2dParams;
import dev.ember.engine.Pool2dParams;
import dev.ember.engine.Rng;
import dev.ember.engine.Shape;
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
 * conv2d forward, backwardInput and backwardWeight on the default (CPU) backend for resnet18 layers at batch 1
 * (224x224 input), its 4x4 and 2x2 layers as the training step runs them (16x3x64x64 input: TapConv's shapes; run
 * with {@code -jvmArgsAppend -Dember.tapConv=false} for im2col + GEMM), and the small_cnn layers (Fashion-MNIST,
 * 28x28) at the training batch of 64, and the forward an
 * inference session runs ({@code inferenceForward}: a constant weight, packed once, Winograd F(2x2, 3x3) or F(4x4, 3x3)
 * for the 3x3 stride-1 layers it takes, and DirectConv for layer2's 3x3/2 and 1x1/2; {@code inferenceConvThenPool} and
 * {@code inferenceConvPool}: the same with a 2x2/2 max pool after it, two kernels or one op). Prints GFLOP/s (2 * N*OC*OH*OW * C/groups*KH*KW per pass, the direct convolution's
 * count also for Winograd) after each iteration.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
public class Conv2dBenchmark {
    /** name: N, C, H, W, OC, K, stride, padding. */
    @Param({
        "resnet18.conv1:1,3,224,224,64,7,2,3",
        "resnet18.layer1:1,64,56,56,64,3,1,1",
        "resnet18.layer2.down:1,64,56,56,128,3,2,1",
        "resnet18.layer2.1x1:1,64,56,56,128,1,2,0",
        "resnet18.layer2:1,128,28,28,128,3,1,1",
        "resnet18.layer3:1,256,14,14,256,3,1,1",
        "resnet18.layer4:1,512,7,7,512,3,1,1",
        "resnet18.layer4.1x1:1,256,14,14,512,1,2,0",
        "small_cnn.conv1:64,1,28,28,32,3,1,0",
        "small_cnn.conv1.infer:32,1,28,28,32,3,1,0",
        "small_cnn.conv2:64,32,13,13,64,3,1,0",
        "resnet18.train.layer3:16,256,4,4,256,3,1,1",
        "resnet18.train.layer4:16,512,2,2,512,3,1,1",
    })
    public String layer;

    private Backend backend;
    private Tensor x;
    private Tensor w;
    /** w as an inference session holds it: constant, so that the backend keeps its packed or transformed forms. */
    private Tensor constantW;
    private Tensor dy;
    private Conv2dParams p;
    private double flops;
    private long calls;
    private long iterationStart;

    @Setup(Level.Trial)
    public void setUp() {
        String[] v = layer.substring(layer.indexOf(':') + 1).split(",");
        int[] d = new int[v.length];
        for (int i = 0; i < v.length; i++) d[i] = Integer.parseInt(v[i]);
        Rng rng = new Rng(1);
        x = Tensor.randn(rng, 1f, d[0], d[1], d[2], d[3]);
        w = Tensor.randn(rng, 0.1f, d[4], d[1], d[5], d[5]);
        p = Conv2dParams.of(d[6], d[7]);
        constantW = Tensor.of(w.toFloatArray(), w.dims());
        constantW.storage().markConstant();
        Shape ys = p.outputShape(x.shape(), w.shape());
        dy = Tensor.randn(rng, 1f, ys.dims());
        backend = x.backend();
        flops = 2.0 * ys.numel() * d[1] * d[5] * d[5];
    }

    @Setup(Level.Iteration)
    public void startIteration() {
        calls = 0;
        iterationStart = System.nanoTime();
    }

    @TearDown(Level.Iteration)
    public void printGflops() {
        double seconds = (System.nanoTime() - iterationStart) * 1e-9;
        System.out.printf("  [%s: %.1f GFLOP/s]%n", layer, flops * calls / seconds / 1e9);
    }

    @Benchmark
    public Tensor forward() {
        calls++;
        return backend.conv2d(x, w, p);
    }

    @Benchmark
    public Tensor inferenceForward() {
        calls++;
        return backend.conv2d(x, constantW, p);
    }

    /** Inference's conv + ReLU then a 2x2/2 max pool, two kernels (what a session ran before it fused them). */
    @Benchmark
    public Tensor inferenceConvThenPool() {
        calls++;
        return backend.maxPool2dValues(backend.conv2dBiasRelu(x, constantW, null, true, p), POOL);
    }

    /** The same as one op (conv2dMaxPool): a one-channel layer's output is never written (small_cnn.conv1). */
    @Benchmark
    public Tensor inferenceConvPool() {
        calls++;
        return backend.conv2dMaxPool(x, constantW, null, true, p, POOL);
    }

    private static final Pool2dParams POOL = Pool2dParams.of(2);

    @Benchmark
    public Tensor backwardInput() {
        calls++;
        return backend.conv2dBackwardInput(dy, w, x.shape(), p);
    }

    @Benchmark
    public Tensor backwardWeight() {
        calls++;
        return backend.conv2dBackwardWeight(dy, x, w.shape(), p);
    }
}
