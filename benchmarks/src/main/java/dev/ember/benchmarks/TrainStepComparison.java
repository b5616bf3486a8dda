package dev.ember.benchmarks;

import dev.ember.autograd.Loss;
import dev.ember.autograd.Variable;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.nn.Module;
import dev.ember.optim.Sgd;
import dev.ember.tools.FashionMnistModels;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Side-by-side training-step time of the MLP and CNN of baselines.md: ours, then PyTorch's
 * ({@code benchmarks/peers/pytorch_train_step.py} through Debian's python3-torch, when installed) on the same
 * machine in the same sitting, same shapes, same protocol (one fixed synthetic batch, SGD lr 0.01 momentum 0.9,
 * 20 warm-up steps, median of 100). Prints a Markdown table with the ratio ours / PyTorch.
 *
 * <p>Run: {@code bin/bench-train-steps} (builds, then runs this with 2 threads).
 */
public final class TrainStepComparison {
    record Row(String model, int batch, double medianMs, double peakRssMiB) {}

    public static void main(String[] args) throws Exception {
        int warmup = 20, steps = 100;
        List<Row> ours = new ArrayList<>();
        ours.add(measure("mlp", FashionMnistModels.mlp(new Rng(0)), 128, warmup, steps));
        ours.add(measure("cnn", FashionMnistModels.cnn(new Rng(0)), 64, warmup, steps));
        Map<String, Row> peer = pytorch();
        System.out.println();
        System.out.println("| model | batch | ember median ms/step | PyTorch median ms/step | ratio (ember / PyTorch) | ember peak RSS MiB | PyTorch peak RSS MiB |");
        System.out.println("|---|---|---|---|---|---|---|");
        for (Row r : ours) {
            Row p = peer.get(r.model());
            System.out.printf(Locale.ROOT, "| %s | %d | %.2f | %s | %s | %.0f | %s |%n", r.model(), r.batch(), r.medianMs(),
                    p == null ? "n/a" : String.format(Locale.ROOT, "%.2f", p.medianMs()),
                    p == null ? "n/a" : String.format(Locale.ROOT, "%.2f", r.medianMs() / p.medianMs()),
                    r.peakRssMiB(), p == null ? "n/a" : String.format(Locale.ROOT, "%.0f", p.peakRssMiB()));
        }
    }

    static Row measure(String name, Module model, int batch, int warmup, int steps) {
        Rng rng = new Rng(1);
        Tensor x = Tensor.randn(rng, 1f, batch, 1, 28, 28);
        long[] labels = new long[batch];
        for (int i = 0; i < batch; i++) labels[i] = rng.nextInt(10);
        Tensor y = Tensor.ofLongs(labels, batch);
        Sgd opt = new Sgd(model.parameters(), Sgd.options(0.01f).momentum(0.9f));
        double[] ms = new double[steps];
        for (int i = 0; i < warmup + steps; i++) {
            long t0 = System.nanoTime();
            opt.zeroGrad();
            Variable loss = Loss.crossEntropy(model.forward(Variable.of(x)), y);
            loss.backward();
            opt.step();
            loss.item();
            long t1 = System.nanoTime();
            if (i >= warmup) ms[i - warmup] = (t1 - t0) / 1e6;
        }
        Arrays.sort(ms);
        Row r = new Row(name, batch, ms[steps / 2], peakRssMiB());
        System.out.printf(Locale.ROOT, "ember\t%s\t%d\t%.3f ms\t%.0f MiB%n", name, batch, r.medianMs(), r.peakRssMiB());
        return r;
    }

    /** VmHWM of this process (Linux), or NaN. */
    static double peakRssMiB() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0;
            }
        } catch (IOException | NumberFormatException e) {
            return Double.NaN;
        }
        return Double.NaN;
    }

    /** Runs the PyTorch peer when /usr/bin/python3 has torch; an empty map otherwise. */
    static Map<String, Row> pytorch() throws InterruptedException {
        Map<String, Row> out = new LinkedHashMap<>();
        Path script = Path.of("benchmarks/peers/pytorch_train_step.py");
        if (!Files.isRegularFile(script) || !Files.isExecutable(Path.of("/usr/bin/python3"))) {
            System.out.println("PyTorch peer skipped: needs /usr/bin/python3 and " + script + " (run from the repository root)");
            return out;
        }
        ProcessBuilder pb = new ProcessBuilder("/usr/bin/python3", script.toString()).redirectErrorStream(true);
        // OpenBLAS's default kernel pick on this CPU is SSE3 at 1/5 speed; baselines.md measures the AVX-512 one.
        pb.environment().put("OPENBLAS_CORETYPE", "SkylakeX");
        pb.environment().remove("OPENBLAS_L2_SIZE");
        try {
            Process p = pb.start();
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream()))) {
                for (String line; (line = r.readLine()) != null; ) {
                    String[] f = line.split("\t");
                    if (f.length == 4 && (f[0].equals("mlp") || f[0].equals("cnn"))) {
                        out.put(f[0], new Row(f[0], Integer.parseInt(f[1]), Double.parseDouble(f[2]), Double.parseDouble(f[3])));
                        System.out.println("pytorch\t" + line);
                    } else {
                        System.out.println("pytorch: " + line);
                    }
                }
            }
            p.waitFor();
        } catch (IOException e) {
            System.out.println("PyTorch peer skipped: " + e.getMessage());
        }
        return out;
    }
}
