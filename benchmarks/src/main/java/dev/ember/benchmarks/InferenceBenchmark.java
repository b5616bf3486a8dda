package dev.ember.benchmarks;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxModel;
import dev.ember.loaders.onnx.OnnxSession;
import dev.ember.loaders.onnx.ops.OnnxOps;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.Blackhole;

/**
 * One inference call end to end, JMH's way: {@link #ember} runs an {@link OnnxSession} on {@link InferenceComparison}'s
 * cases (the shared models, the same seeded input), {@link #onnxRuntime} ONNX Runtime Java on the same file and input
 * with the comparison's options (intra-op 2 threads, all graph optimizations). Each method runs in its own fork with
 * the launchers' JVM flags, so the two sides never share a JVM or a moment: for the ratio measured in one run, use
 * {@code bin/bench inference}, which alternates them. Warm-up is 20 s: ember's resnet18 call reaches its steady state
 * only after C2 has compiled every layer's kernels (15-20 s at 1x3x224x224). The models come from {@code -Dember.shared}
 * (default {@code ../shared}) {@code /models}; without them setup fails naming the missing file.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 10, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-XX:+UseSerialGC", "-Xms16m", "-XX:MaxNewSize=8m", "-XX:-ShrinkHeapInSteps"})
public class InferenceBenchmark {
    /** {@link InferenceComparison.Case#label}: model and input shape. */
    @Param({"small_cnn:1x1x28x28", "small_cnn:32x1x28x28", "resnet18:1x3x224x224", "resnet18:1x3x64x64", "resnet18:32x3x64x64"})
    public String input;

    private OnnxSession ember;
    private Map<String, Tensor> emberFeed;
    private OrtSession ort;
    private OnnxTensor ortInput;
    private Map<String, OnnxTensor> ortFeed;

    /** Opens only the side the running method measures (an ORT session of resnet18 holds ~100 MB). */
    @Setup(Level.Trial)
    public void setUp(BenchmarkParams params) throws OrtException {
        setUp(params.getBenchmark().endsWith(".onnxRuntime"));
    }

    void setUp(boolean onnxRuntime) throws OrtException {
        InferenceComparison.Case c = InferenceComparison.find(input);
        Path file = InferenceComparison.models().resolve(c.model() + ".onnx");
        if (!Files.isRegularFile(file)) {
            throw new IllegalStateException(file.toAbsolutePath() + " not found: the shared models are needed (-Dember.shared=DIR)");
        }
        Tensor x = c.x();
        if (onnxRuntime) {
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            try (OrtSession.SessionOptions options = InferenceComparison.ortOptions()) {
                ort = env.createSession(file.toString(), options);
            }
            ortInput = OnnxTensor.createTensor(env, FloatBuffer.wrap(x.toFloatArray()), Arrays.stream(c.dims()).asLongStream().toArray());
            ortFeed = Map.of(ort.getInputNames().iterator().next(), ortInput);
        } else {
            ember = new OnnxSession(OnnxModel.read(file), OnnxOps.resolver());
            emberFeed = Map.of(ember.model().graph().inputs().get(0).name(), x);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws OrtException {
        if (ortInput != null) ortInput.close();
        if (ort != null) ort.close();
    }

    @Benchmark
    public Map<String, Tensor> ember() {
        return ember.run(emberFeed);
    }

    @Benchmark
    public void onnxRuntime(Blackhole bh) throws OrtException {
        try (OrtSession.Result r = ort.run(ortFeed)) {
            bh.consume(r.get(0));
        }
    }
}
