package dev.ember.benchmarks;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Runs a benchmark's main class in a fresh JVM with this JVM's flags and class path: for a process whose peak RSS is
 * one model's alone, or for figures that do not depend on one JVM's luck with the JIT and the heap.
 */
final class ChildJvm {
    private ChildJvm() {}

    /** Runs {@code main} with {@code args}, hands each line of its output (stderr merged) to {@code lines}; its exit code. */
    static int run(Class<?> main, List<String> args, Consumer<String> lines) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> command = new ArrayList<>(List.of(java));
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        command.addAll(args);
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) lines.accept(line);
        }
        return p.waitFor();
    }
}
