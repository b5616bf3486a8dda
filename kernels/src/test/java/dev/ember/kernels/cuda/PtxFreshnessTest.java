package dev.ember.kernels.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Where nvcc exists: recompiling src/main/cuda/*.cu with build-ptx.sh (warnings as errors, ptxas-checked for sm_80 and
 * sm_90) succeeds and gives exactly the committed PTX, i.e. the committed PTX is not stale. Skips without nvcc, or when
 * this nvcc is another release than the one that made the committed PTX (its text would differ for no fault).
 */
class PtxFreshnessTest {
    private static final Path SOURCES = Path.of("src/main/cuda"), COMMITTED = Path.of("src/main/resources/dev/ember/kernels/cuda");

    @Test void committedPtxMatchesItsSource(@TempDir Path out) throws Exception {
        Path nvcc = findNvcc();
        assumeTrue(nvcc != null, "nvcc not found (looked on PATH, /usr/local/bin, /usr/local/cuda/bin): PTX freshness not checked");
        String release = releaseLine(run(List.of(nvcc.toString(), "--version")));
        String committedRelease = releaseLine(Files.readString(COMMITTED.resolve("elementwise.ptx")));
        assumeTrue(release.equals(committedRelease), "nvcc is '" + release + "' but the committed PTX was made by '" + committedRelease + "'");

        ProcessBuilder pb = new ProcessBuilder("bash", SOURCES.resolve("build-ptx.sh").toString(), out.toString());
        pb.environment().put("NVCC", nvcc.toString());
        String log = run(pb);
        List<String> stale = new ArrayList<>();
        try (Stream<Path> s = Files.list(out)) {
            for (Path fresh : s.sorted().toList()) {
                Path committed = COMMITTED.resolve(fresh.getFileName());
                if (!Files.exists(committed) || Files.mismatch(fresh, committed) != -1) stale.add(fresh.getFileName().toString());
            }
        }
        long sources;
        try (Stream<Path> s = Files.list(SOURCES)) {
            sources = s.filter(p -> p.toString().endsWith(".cu")).count();
        }
        try (Stream<Path> s = Files.list(out)) {
            assertEquals(sources, s.count(), "build-ptx.sh made one PTX per .cu: " + log);
        }
        assertTrue(stale.isEmpty(), "committed PTX is stale against its .cu source: " + stale + "; run kernels/src/main/cuda/build-ptx.sh "
                + COMMITTED + " (or mvn install where nvcc is) and commit the result");
    }

    private static Path findNvcc() {
        List<Path> candidates = new ArrayList<>();
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) if (!dir.isBlank()) candidates.add(Path.of(dir, "nvcc"));
        candidates.add(Path.of("/usr/local/bin/nvcc"));
        candidates.add(Path.of("/usr/local/cuda/bin/nvcc"));
        for (Path p : candidates) if (Files.isExecutable(p)) return p;
        return null;
    }

    private static String releaseLine(String text) {
        for (String line : text.split("\n")) {
            int at = line.indexOf("Cuda compilation tools");
            if (at >= 0) return line.substring(at).trim();
        }
        return "(no release line)";
    }

    private static String run(List<String> command) throws IOException, InterruptedException { return run(new ProcessBuilder(command)); }

    private static String run(ProcessBuilder pb) throws IOException, InterruptedException {
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "timed out: " + pb.command());
        assertEquals(0, p.exitValue(), pb.command() + " failed:\n" + output);
        return output;
    }
}
