package dev.ember.benchmarks;

import dev.ember.engine.BackendException;
import dev.ember.engine.Backends;
import dev.ember.engine.Device;
import dev.ember.engine.EmberException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The GPU benchmark's logic, run in its CPU mode at tiny sizes: every row is measured (resnet18 skipped with a
 * message where ../shared is absent), the table holds the rows with numbers and is written to the file, the PyTorch
 * peer's output is read back, and bad options are clear errors. No timing is asserted.
 */
class GpuBenchmarkTest {
    /** An ember cell: a number and its median time, e.g. {@code 0.0123 (2.61 ms)}. */
    private static final Pattern MEASURED = Pattern.compile("\\| [0-9.]+ \\([0-9.]+ ms\\) \\|");

    @TempDir Path dir;

    private static GpuBenchmark.Report run(String... args) {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        GpuBenchmark.Report r = GpuBenchmark.run(GpuBenchmark.parse(args), new PrintStream(log, true, StandardCharsets.UTF_8));
        System.out.print(log.toString(StandardCharsets.UTF_8));
        return r;
    }

    private static String line(String markdown, String start) {
        return markdown.lines().filter(l -> l.startsWith(start)).findFirst().orElseThrow(() -> new AssertionError("no line starting '" + start + "' in\n" + markdown));
    }

    @Test void cpuModeMeasuresEveryRowAndWritesTheTable() throws Exception {
        Path out = dir.resolve("sub/gpu-check.md");
        GpuBenchmark.Report r = run("--device", "cpu", "--no-peer", "--out", out.toString());
        assertTrue(r.ok(), r.markdown());
        assertEquals(List.of("sgemm", "sgemm-own", "resnet18"), r.rows().stream().map(GpuBenchmark.Row::key).toList());
        for (GpuBenchmark.Row row : r.rows().subList(0, 2)) {
            assertTrue(row.measured() && row.value() > 0 && Double.isFinite(row.value()) && row.medianMs() > 0, row.toString());
            assertTrue(MEASURED.matcher(line(r.markdown(), "| " + row.label())).find(), r.markdown());
        }
        assertTrue(line(r.markdown(), "| SGEMM 256³ fp32, cpu backend").contains("| TFLOP/s |"), r.markdown());
        assertTrue(line(r.markdown(), "| SGEMM 256³ fp32, reference backend").contains("| n/a (peer not run (--no-peer)) | n/a |"), r.markdown());
        GpuBenchmark.Row resnet = r.rows().get(2);
        String resnetLine = line(r.markdown(), "| resnet18 training step, batch 2, 3x64x64, 10-class head, Adam | images/s |");
        if (Files.isRegularFile(GpuBenchmark.parse("--device", "cpu").model())) {
            assertTrue(resnet.measured() && resnet.value() > 0, resnet.toString());
            assertTrue(MEASURED.matcher(resnetLine).find(), resnetLine);
        } else {
            assertTrue(resnet.note().startsWith("skipped: ") && resnetLine.contains("skipped: "), resnetLine);
        }
        assertTrue(r.markdown().startsWith("### GPU benchmark logic on the CPU"), r.markdown());
        assertTrue(r.markdown().contains("- reference backend / cpu backend (GEMM): "), r.markdown());
        assertEquals(r.markdown(), Files.readString(out));
    }

    @Test void aMissingModelSkipsTheResnetRowAndStillSucceeds() {
        GpuBenchmark.Report r = run("--device", "cpu", "--sgemm", "16", "--steps", "1", "--warmup", "0", "--no-peer",
                "--model", dir.resolve("absent.onnx").toString(), "--out", dir.resolve("t.md").toString());
        assertTrue(r.ok(), r.markdown());
        GpuBenchmark.Row resnet = r.rows().get(2);
        assertFalse(resnet.measured());
        assertTrue(resnet.note().startsWith("skipped: ") && resnet.note().contains("absent.onnx not found"), resnet.note());
        assertTrue(line(r.markdown(), "| resnet18").contains("| skipped: "), r.markdown());
    }

    @Test void cpuDefaultsAreTinyAndBadOptionsAreClearErrors() {
        GpuBenchmark.Options o = GpuBenchmark.parse("--device", "cpu");
        assertEquals(List.of(256, 2, 64, 10, 1, 2), List.of(o.sgemm(), o.batch(), o.image(), o.classes(), o.warmup(), o.steps()));
        assertEquals(Path.of("target/gpu-check.md"), o.out());
        EmberException steps = assertThrows(EmberException.class, () -> GpuBenchmark.parse("--device", "cpu", "--steps", "0"));
        assertTrue(steps.getMessage().contains("--steps needs an integer >= 1, got '0'"), steps.getMessage());
        EmberException unknown = assertThrows(EmberException.class, () -> GpuBenchmark.parse("--devcie", "cpu"));
        assertTrue(unknown.getMessage().startsWith("unknown option --devcie; options: --device"), unknown.getMessage());
        assertThrows(EmberException.class, () -> GpuBenchmark.parse("--device", "cpu", "--batch"));
    }

    @Test void withoutAGpuCudaIsAClearError() {
        assumeTrue(!Backends.isAvailable(Device.Kind.CUDA), "a CUDA device is present here");
        BackendException e = assertThrows(BackendException.class, () -> GpuBenchmark.parse("--device", "cuda"));
        assertTrue(e.getMessage().startsWith("device cuda:0 requested but "), e.getMessage());
    }

    @Test void aWrongProductIsCaught() {
        int n = 3;
        float[] a = {1, 2, 3, 4, 5, 6, 7, 8, 9}, b = {1, 0, 0, 0, 1, 0, 0, 0, 1};
        assertNull(GpuBenchmark.checkProduct(a, b, a.clone(), n));
        float[] c = a.clone();
        c[n * n - 1] += 0.5f;
        assertEquals("C[2,2] = 9.5, expected 9.0", GpuBenchmark.checkProduct(a, b, c, n));
    }

    @Test void numbersHaveThreeSignificantDigitsAndMediansAreMiddles() {
        assertEquals("48.1", GpuBenchmark.num(48.123));
        assertEquals("0.0123", GpuBenchmark.num(0.012345));
        assertEquals("2310", GpuBenchmark.num(2312.7));
        assertEquals(2.0, GpuBenchmark.median(new double[] {3, 1, 2}));
        assertEquals(2.5, GpuBenchmark.median(new double[] {4, 1, 3, 2}));
    }

    @Test void thePeersLinesAreReadAndTheRatiosComputed() {
        GpuBenchmarkPeer.Result p = GpuBenchmarkPeer.parse(List.of("peer\tPyTorch 2.5.1, CUDA 12.4, NVIDIA H100", "some warning",
                "sgemm\t50\t2.75", "sgemm_tf32\t200\t0.69", "resnet18\t2000\t32"), 0);
        assertTrue(p.available());
        assertEquals("PyTorch 2.5.1, CUDA 12.4, NVIDIA H100", p.description());
        assertEquals(Map.of("sgemm", new GpuBenchmarkPeer.Measurement(50, 2.75), "sgemm_tf32", new GpuBenchmarkPeer.Measurement(200, 0.69),
                "resnet18", new GpuBenchmarkPeer.Measurement(2000, 32)), p.results());

        GpuBenchmark.Options gpu = new GpuBenchmark.Options(Device.cuda(0), "", 4096, 64, 224, 10, 3, 10, Path.of("m.onnx"), "python3",
                Path.of("peer.py"), true, Path.of("o.md"));
        List<GpuBenchmark.Row> rows = List.of(new GpuBenchmark.Row("sgemm", "SGEMM 4096³ fp32, cuBLAS", "TFLOP/s", 45, 3.05, ""),
                new GpuBenchmark.Row("sgemm-own", "SGEMM 4096³ fp32, own tiled kernel (sgemm.cu)", "TFLOP/s", 10, 13.7, ""),
                new GpuBenchmark.Row("resnet18", "resnet18 training step", "images/s", 500, 128, ""));
        String md = GpuBenchmark.table(gpu, "NVIDIA H100 (cuda:0)", "engine", rows, p);
        assertTrue(md.startsWith("### GPU benchmark: NVIDIA H100 (cuda:0), "), md);
        assertEquals("| SGEMM 4096³ fp32, cuBLAS | TFLOP/s | 45 (3.05 ms) | 50 (2.75 ms) | 0.9 |", line(md, "| SGEMM 4096³ fp32, cuBLAS"));
        assertEquals("| SGEMM 4096³ fp32, own tiled kernel (sgemm.cu) | TFLOP/s | 10 (13.7 ms) | 50 (2.75 ms) | 0.2 |", line(md, "| SGEMM 4096³ fp32, own"));
        assertEquals("| resnet18 training step | images/s | 500 (128 ms) | 2000 (32 ms) | 0.25 |", line(md, "| resnet18"));
        assertTrue(md.contains("- own GEMM kernel / cuBLAS: 0.222\n") && md.contains("TF32 on (not comparable: 10-bit mantissa): 200 TFLOP/s"), md);

        String none = GpuBenchmark.table(gpu, "NVIDIA H100 (cuda:0)", "engine", rows, GpuBenchmarkPeer.parse(List.of("unavailable\tno torch with CUDA"), 0));
        assertEquals(3, none.lines().filter(l -> l.contains("| n/a (no torch with CUDA) | n/a |")).count(), none);
    }

    @Test void aPeerThatCannotRunIsUnavailableWithTheReason() {
        GpuBenchmarkPeer.Result crashed = GpuBenchmarkPeer.parse(List.of("Traceback (most recent call last):", "RuntimeError: CUDA out of memory"), 1);
        assertFalse(crashed.available());
        assertEquals("the peer exited with status 1 and reported nothing: RuntimeError: CUDA out of memory", crashed.reason());
        GpuBenchmark.Options o = GpuBenchmark.parse("--device", "cpu", "--python", dir.resolve("no-python3").toString(), "--peer-script", "peers/pytorch_gpu_bench.py");
        GpuBenchmarkPeer.Result noPython = GpuBenchmarkPeer.run(o, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        assertTrue(!noPython.available() && noPython.reason().contains("no-python3 does not start"), noPython.reason());
    }

    /** Where Debian's python3-torch is installed (the build machine), the real peer runs in its CPU mode. */
    @Test void thePeerScriptRunsWhereTorchIs() {
        Path python = Path.of("/usr/bin/python3");
        assumeTrue(Files.isExecutable(python), "no /usr/bin/python3");
        GpuBenchmark.Options o = GpuBenchmark.parse("--device", "cpu", "--sgemm", "64", "--batch", "2", "--image", "32", "--warmup", "0", "--steps", "1",
                "--python", python.toString(), "--peer-script", "peers/pytorch_gpu_bench.py");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        GpuBenchmarkPeer.Result p = GpuBenchmarkPeer.run(o, new PrintStream(log, true, StandardCharsets.UTF_8));
        assumeTrue(p.available() || !p.reason().equals("no torch"), "no torch in /usr/bin/python3");
        assertTrue(p.available(), p.reason() + "\n" + log.toString(StandardCharsets.UTF_8));
        assertTrue(p.description().startsWith("PyTorch ") && p.description().endsWith(", CPU"), p.description());
        assertNotNull(p.results().get("sgemm"));
        assertNotNull(p.results().get("resnet18"));
        assertNull(p.results().get("sgemm_tf32"), "TF32 is a CUDA-only note");
    }
}
