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

    /** The driver check reads one module's ISA version (CudaDriver.ptxVersion): every module must have that one. */
    @Test void everyModuleHasTheIsaVersionTheDriverCheckReads() {
        String version = CudaDriver.ptxVersion();
        assertTrue(version.matches("\\d+\\.\\d+") && !version.equals("0.0"), version);
        for (Kernel k : Kernel.values()) {
            String text = new String(CudaContext.ptx(k), StandardCharsets.US_ASCII);
            assertTrue(text.contains("\n.version " + version + "\n"), k.resource() + " is not PTX ISA " + version);
        }
    }

    @Test void aDriverOlderThanThePtxIsRefusedWithTheVersionsNamed() {
        assertEquals(null, CudaDriver.tooOld(13000, "9.0"));
        assertEquals(null, CudaDriver.tooOld(13020, "9.0"));
        assertEquals("the NVIDIA driver supports CUDA 12.2, and ember's kernels (PTX ISA 9.0) need a driver for CUDA 13.0 or newer:"
                + " update the driver (R580 or later for CUDA 13)", CudaDriver.tooOld(12020, "9.0"));
        assertTrue(CudaDriver.tooOld(13000, "9.1").contains("CUDA 13.1"));
        assertEquals(null, CudaDriver.tooOld(12040, "8.4"));
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
