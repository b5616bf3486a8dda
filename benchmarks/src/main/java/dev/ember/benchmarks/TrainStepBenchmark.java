package dev.ember.benchmarks;

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
import org.openjdk.jmh.annotations.Warmup;

/**
 * One training step end to end, JMH's way: forward, cross-entropy, backward and the optimizer's update on
 * {@link TrainStepComparison}'s cases (baselines.md's MLP batch 128 and CNN batch 64 with SGD + momentum, resnet18 at
 * 16x3x64x64 with Adam), one fixed seeded batch, each step in a {@code TensorScope} as {@code finetune} runs it. The
 * launchers' JVM flags; warm-up 20 s, since ember's resnet18 step settles only after 40-50 steps (~10 s). PyTorch's
 * side and the peak RSS are {@code bin/bench train}'s (a Python process and a fresh JVM per model). resnet18 is read
 * from {@code -Dember.shared} (default {@code ../shared}) {@code /models}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 10, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-XX:+UseSerialGC", "-Xms16m", "-XX:MaxNewSize=8m", "-XX:-ShrinkHeapInSteps"})
public class TrainStepBenchmark {
    @Param({"mlp", "cnn", "resnet18"})
    public String model;

    private TrainStepComparison.Training training;

    @Setup(Level.Trial)
    public void setUp() {
        training = TrainStepComparison.Training.of(TrainStepComparison.find(model), InferenceComparison.models());
    }

    /** The step's loss: a float JMH consumes, and proof the step ran. */
    @Benchmark
    public float step() {
        return training.step();
    }
}
