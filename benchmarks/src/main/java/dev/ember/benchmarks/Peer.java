package dev.ember.benchmarks;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A peer measurement run as a child process of Debian's {@code /usr/bin/python3} (the pyenv python3 on PATH does
 * not see Debian's python3-torch / python3-numpy), with 2 BLAS threads and OpenBLAS's AVX-512 kernels picked by
 * hand: its default pick on these CPUs is SSE3 at a fifth of the speed (baselines.md). The script prints
 * tab-separated lines: results, {@code version <TAB> text}, or {@code n/a <TAB> reason} when it cannot run (its
 * library is not installed); anything else is echoed as a log line.
 *
 * @param lines       the result lines, split at tabs
 * @param version     what the script said it measured with, or "" when unknown
 * @param unavailable why there are no results ("python3-torch not installed"), or null when it ran
 */
record Peer(List<String[]> lines, String version, String unavailable) {
    static final Path PYTHON = Path.of("/usr/bin/python3");

    /** Runs {@code script} (a path from the repository root) with {@code args}. */
    static Peer run(String script, String... args) {
        Path file = Path.of(script);
        if (!Files.isExecutable(PYTHON)) return new Peer(List.of(), "", PYTHON + " not found");
        if (!Files.isRegularFile(file)) return new Peer(List.of(), "", script + " not found (run from the repository root)");
        List<String> command = new ArrayList<>(List.of(PYTHON.toString(), script));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("OPENBLAS_CORETYPE", "SkylakeX");
        pb.environment().put("OPENBLAS_NUM_THREADS", "2");
        pb.environment().remove("OPENBLAS_L2_SIZE");
        List<String[]> lines = new ArrayList<>();
        String version = "", unavailable = null, last = "";
        try {
            Process p = pb.start();
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    String[] f = line.split("\t");
                    if (f.length == 2 && f[0].equals("n/a")) unavailable = f[1];
                    else if (f.length == 2 && f[0].equals("version")) version = f[1];
                    else if (f.length > 2) lines.add(f);
                    else System.out.println("  peer: " + line);
                    if (!line.isBlank()) last = line;
                }
            }
            int exit = p.waitFor();
            if (exit != 0 && unavailable == null) unavailable = script + " failed (exit " + exit + "): " + last;
        } catch (IOException e) {
            unavailable = script + " could not start: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            unavailable = script + " interrupted";
        }
        for (String[] f : lines) System.out.println("  peer: " + String.join("\t", f));
        return new Peer(List.copyOf(lines), version, unavailable);
    }

    /** The first result line whose first field is {@code key}, or null. */
    String[] find(String key) {
        for (String[] f : lines) if (f[0].equals(key)) return f;
        return null;
    }
}
