package dev.ember.benchmarks;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The PyTorch side of {@link GpuBenchmark}: runs {@code benchmarks/peers/pytorch_gpu_bench.py} with the configured
 * {@code python3} (on a GPU machine, whichever one has torch) at the same sizes and protocol, and reads its lines back.
 * The peer speaks tab-separated lines; every other line is passed through to the log:
 * <pre>
 *   peer         description (torch version, CUDA version, device name)
 *   sgemm        TFLOP/s   median ms        (torch.matmul, TF32 off)
 *   sgemm_tf32   TFLOP/s   median ms        (the same with TF32 on, for a note)
 *   resnet18     images/s  median ms
 *   unavailable  reason                     (no torch, or no CUDA in torch)
 * </pre>
 */
final class GpuBenchmarkPeer {
    /** One peer figure: a rate (TFLOP/s or images/s) and the median time it came from. */
    record Measurement(double value, double medianMs) {}

    /** What the peer reported: its description and figures by key, or why there are none. */
    record Result(String description, Map<String, Measurement> results, String reason) {
        boolean available() { return reason == null; }

        static Result unavailable(String reason) { return new Result(null, Map.of(), reason); }
    }

    private GpuBenchmarkPeer() {}

    /** Runs the peer for {@code o}'s device and sizes; never throws: a peer that cannot run is an unavailable result. */
    static Result run(GpuBenchmark.Options o, PrintStream log) {
        if (!Files.isRegularFile(o.peerScript())) return Result.unavailable("peer script " + o.peerScript() + " not found (run from the repository root)");
        List<String> command = List.of(o.python(), o.peerScript().toString(), "--device", o.cuda() ? "cuda" : "cpu",
                "--sgemm", String.valueOf(o.sgemm()), "--batch", String.valueOf(o.batch()), "--image", String.valueOf(o.image()),
                "--classes", String.valueOf(o.classes()), "--warmup", String.valueOf(o.warmup()), "--steps", String.valueOf(o.steps()));
        log.println("running the PyTorch peer: " + String.join(" ", command));
        List<String> lines = new ArrayList<>();
        int exit;
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    lines.add(line);
                    log.println("pytorch: " + line);
                }
            }
            exit = p.waitFor();
        } catch (IOException e) {
            return Result.unavailable(o.python() + " does not start: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Result.unavailable("interrupted while the peer ran");
        }
        return parse(lines, exit);
    }

    /** The peer's figures from its output lines; unavailable when it said so, or exited non-zero without figures. */
    static Result parse(List<String> lines, int exitCode) {
        String description = "PyTorch", lastOther = null;
        Map<String, Measurement> results = new LinkedHashMap<>();
        for (String line : lines) {
            String[] f = line.split("\t");
            switch (f[0]) {
                case "unavailable" -> {
                    return Result.unavailable(f.length > 1 ? f[1] : "the peer says it cannot run");
                }
                case "peer" -> description = f.length > 1 ? f[1] : description;
                case "sgemm", "sgemm_tf32", "resnet18" -> {
                    Measurement m = measurement(f);
                    if (m != null) results.put(f[0], m);
                }
                default -> lastOther = line;
            }
        }
        if (results.isEmpty()) {
            return Result.unavailable("the peer exited with status " + exitCode + " and reported nothing" + (lastOther != null ? ": " + lastOther : ""));
        }
        return new Result(description, results, null);
    }

    private static Measurement measurement(String[] f) {
        if (f.length != 3) return null;
        try {
            double value = Double.parseDouble(f[1]), ms = Double.parseDouble(f[2]);
            return value > 0 && ms > 0 ? new Measurement(value, ms) : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
