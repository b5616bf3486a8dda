package dev.ember.kernels.cuda;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every kernel's PTX resource is on the class path, reads as PTX text and declares the kernel's entry; one PTX per .cu. */
class PtxResourcesTest {
    @Test void everyKernelEntryIsDeclaredInItsPtxResource() {
        for (Kernel k : Kernel.values()) {
            byte[] z = CudaContext.ptx(k);
            assertEquals(0, z[z.length - 1], k + ": PTX handed to the driver must end in NUL");
            String text = new String(z, 0, z.length - 1, StandardCharsets.US_ASCII);
            assertTrue(text.contains(".version ") && text.contains(".target sm_80"), k.resource() + " is not compute_80 PTX text");
            assertTrue(text.contains(".visible .entry " + k.entry + "("), k.resource() + " does not declare .entry " + k.entry);
        }
    }

    @Test void oneCommittedPtxPerCudaSourceAndNoEntryUnlisted() throws IOException {
        Set<String> sources = names(Path.of("src/main/cuda"), ".cu"), ptx = names(Path.of("src/main/resources/dev/ember/kernels/cuda"), ".ptx");
        assertEquals(sources, ptx, "each src/main/cuda/NAME.cu needs a committed NAME.ptx (run src/main/cuda/build-ptx.sh)");
        Set<String> listed = new TreeSet<>(), declared = new TreeSet<>();
        for (Kernel k : Kernel.values()) listed.add(k.entry);
        for (String module : ptx) {
            for (String line : Files.readAllLines(Path.of("src/main/resources/dev/ember/kernels/cuda", module + ".ptx"))) {
                if (line.startsWith(".visible .entry ")) declared.add(line.substring(".visible .entry ".length(), line.indexOf('(')));
            }
        }
        assertEquals(declared, listed, "the Kernel enum must list exactly the PTX entry points");
    }

    private static Set<String> names(Path dir, String suffix) throws IOException {
        Set<String> out = new TreeSet<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(suffix)).forEach(n -> out.add(n.substring(0, n.length() - suffix.length())));
        }
        return out;
    }
}
