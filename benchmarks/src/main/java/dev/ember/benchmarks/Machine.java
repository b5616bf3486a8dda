package dev.ember.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;

/** Where and when a side-by-side run happened, for the line above each generated table. */
final class Machine {
    private Machine() {}

    /** e.g. "2026-11-25, AMD EPYC 9R14, 2 cores, JDK 25.0.3+9-LTS, ember.threads=2". */
    static String describe() {
        return LocalDate.now() + ", " + cpuModel() + ", " + Runtime.getRuntime().availableProcessors() + " cores, JDK "
                + Runtime.version() + ", ember.threads=" + System.getProperty("ember.threads", "all cores");
    }

    /** The first "model name" of /proc/cpuinfo (Linux), else the architecture. */
    static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).trim();
            }
        } catch (IOException e) {
            // not Linux: fall through
        }
        return System.getProperty("os.arch");
    }
}
