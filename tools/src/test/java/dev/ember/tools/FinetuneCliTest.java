package dev.ember.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.engine.Rng;
import dev.ember.loaders.onnx.OnnxModel;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The launcher's contract: each bad input is one line on stderr naming the problem, exit code 2, and no output folder
 * (nor its {@code .partial} work folder) left behind; {@code --help} documents every option; a short end-to-end run of
 * the embedded demo and of a user image folder writes the whole output folder.
 */
class FinetuneCliTest {
    @TempDir static Path shared;
    private static Path model;   // the demo's base model: input (N, 1, 28, 28), 5 classes

    @BeforeAll
    static void extractModel() throws IOException {
        model = FinetuneDemoBundle.extract(FinetuneDemoBundle.BASE_MODEL, shared);
    }

    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cli = Finetune.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return new Run(cli.execute(args), out.toString(), err.toString());
    }

    /** Exit code 2, exactly one line "error: ..." containing {@code expected}, and nothing written at {@code outDir}. */
    private static void assertBadInput(Run r, Path outDir, String... expected) {
        assertEquals(2, r.code(), "exit code; stderr: " + r.err());
        List<String> lines = r.err().strip().lines().toList();
        assertEquals(1, lines.size(), "one line on stderr, got: " + r.err());
        assertTrue(lines.get(0).startsWith("error: "), lines.get(0));
        for (String e : expected) assertTrue(lines.get(0).contains(e), "'" + e + "' missing from: " + lines.get(0));
        assertFalse(Files.exists(outDir), "output folder was created");
        assertFalse(Files.exists(outDir.resolveSibling(outDir.getFileName() + ".partial")), "work folder was left behind");
    }

    /** {@code count} distinct 28x28 gray PNGs (or {@code size} x {@code size}) in {@code dir}. */
    private static void pngs(Path dir, int count, int size, Rng rng) throws IOException {
        Files.createDirectories(dir);
        for (int i = 0; i < count; i++) {
            BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_BYTE_GRAY);
            for (int y = 0; y < size; y++) for (int x = 0; x < size; x++) img.getRaster().setSample(x, y, 0, rng.nextInt(256));
            ImageIO.write(img, "png", dir.resolve("img" + i + ".png").toFile());
        }
    }

    @Test
    void helpDocumentsEveryOptionWithExamples() {
        Run r = run("--help");
        assertEquals(0, r.code());
        for (CommandLine.Model.OptionSpec o : Finetune.commandLine().getCommandSpec().options()) {
            String name = o.longestName().substring(2);   // a negatable option shows as --[no-]NAME
            assertTrue(r.out().contains("--" + name) || r.out().contains("--[no-]" + name), "--help does not mention " + o.longestName());
            assertFalse(o.description().length == 0 || o.description()[0].isBlank(), o.longestName() + " has no description");
        }
        assertTrue(r.out().contains("Examples:") && r.out().contains("Exit codes"), r.out());
        assertTrue(r.out().contains("Default: gradual:1"), "defaults are shown");
    }

    @Test
    void missingDataFolder(@TempDir Path dir) {
        Path out = dir.resolve("out");
        assertBadInput(run("--model", model.toString(), "--data", dir.resolve("no-such-folder").toString(), "--out", out.toString()), out, "no-such-folder");
    }

    @Test
    void missingModelFile(@TempDir Path dir) throws IOException {
        pngs(dir.resolve("data/a"), 3, 28, new Rng(1));
        Path out = dir.resolve("out");
        assertBadInput(run("--model", dir.resolve("nope.onnx").toString(), "--data", dir.resolve("data").toString(), "--out", out.toString()), out, "nope.onnx");
    }

    @Test
    void emptyClassFolder(@TempDir Path dir) throws IOException {
        pngs(dir.resolve("data/shoes"), 4, 28, new Rng(1));
        Files.createDirectories(dir.resolve("data/bags"));
        Path out = dir.resolve("out");
        assertBadInput(run("--model", model.toString(), "--data", dir.resolve("data").toString(), "--out", out.toString()), out, "bags");
    }

    @Test
    void classFolderWithOnlyANonImageFile(@TempDir Path dir) throws IOException {
        pngs(dir.resolve("data/shoes"), 4, 28, new Rng(1));
        Files.createDirectories(dir.resolve("data/bags"));
        Files.writeString(dir.resolve("data/bags/notes.txt"), "not an image");
        Path out = dir.resolve("out");
        assertBadInput(run("--model", model.toString(), "--data", dir.resolve("data").toString(), "--out", out.toString()), out, "bags");
    }

    @Test
    void labelOutsideClasses(@TempDir Path dir) throws IOException {
        byte[] pixels = new byte[3 * 28 * 28];
        for (int i = 0; i < pixels.length; i++) pixels[i] = (byte) (i * 7);
        FinetuneDemoBundle.writeIdx(dir.resolve("set-images-idx3-ubyte.gz"), pixels, 3, 28, 28);
        FinetuneDemoBundle.writeIdx(dir.resolve("set-labels-idx1-ubyte.gz"), new byte[] {0, 1, 7}, 3);
        Path out = dir.resolve("out");
        assertBadInput(run("--model", model.toString(), "--data", dir.resolve("set").toString(), "--classes", "5", "--out", out.toString()), out, "7");
    }

    @Test
    void imagesThatDoNotFitTheModelWithNoResize(@TempDir Path dir) throws IOException {
        Rng rng = new Rng(2);
        pngs(dir.resolve("data/a"), 5, 32, rng);
        pngs(dir.resolve("data/b"), 5, 32, rng);
        Path out = dir.resolve("out");
        assertBadInput(run("--model", model.toString(), "--data", dir.resolve("data").toString(), "--no-resize", "--out", out.toString()), out,
                "(N, 1, 28, 28)", "(N, 1, 32, 32)");
    }

    @Test
    void featureRowsForAnImageModel(@TempDir Path dir) throws IOException {
        StringBuilder csv = new StringBuilder("f1,f2,f3,label\n");
        for (int i = 0; i < 20; i++) csv.append(i).append(',').append(i * 2).append(',').append(i % 3).append(',').append(i % 2).append('\n');
        Files.writeString(dir.resolve("rows.csv"), csv);
        Path out = dir.resolve("out");
        assertBadInput(run("--model", model.toString(), "--data", dir.resolve("rows.csv").toString(), "--out", out.toString()), out, "rank 4", "feature rows");
    }

    @Test
    void cudaWithoutABackend(@TempDir Path dir) {
        Path out = dir.resolve("out");
        assertBadInput(run("--device", "cuda", "--out", out.toString()), out, "--device cuda", "CUDA");
    }

    @Test
    void badOptionValuesNameTheOption(@TempDir Path dir) {
        Path out = dir.resolve("out");
        assertBadInput(run("--unfreeze", "sometimes", "--out", out.toString()), out, "--unfreeze");
        assertBadInput(run("--balance", "magic", "--out", out.toString()), out, "--balance");
        assertBadInput(run("--model", model.toString(), "--out", out.toString()), out, "--data");
    }

    @Test
    void refusesANonEmptyOutputFolder(@TempDir Path dir) throws IOException {
        Path out = Files.createDirectories(dir.resolve("out"));
        Files.writeString(out.resolve("keep.txt"), "mine");
        Run r = run("--out", out.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().strip().lines().count() == 1 && r.err().contains("not empty"), r.err());
        assertEquals("mine", Files.readString(out.resolve("keep.txt")));
        try (var files = Files.list(out)) {
            assertEquals(1, files.count(), "the folder was touched");
        }
    }

    @Test
    void embeddedDemoEndToEndInOneEpoch(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("demo");
        Run r = run("--epochs", "1", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        for (String f : List.of("model.onnx", "best.safetensors", "checkpoint.safetensors", "metrics.jsonl", "report.html", "scratch/metrics.jsonl")) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f + " missing");
        }
        assertFalse(Files.exists(dir.resolve("demo.partial")));
        assertEquals(1, Files.readAllLines(out.resolve("metrics.jsonl")).size(), "one line per epoch");
        OnnxModel tuned = OnnxModel.read(out.resolve("model.onnx"));
        assertEquals(5, tuned.graph().outputs().get(0).shape().getLast().value(), "the exported model has the new 5-way head");
        String report = Files.readString(out.resolve("report.html"));
        assertTrue(report.contains("gain over from scratch") && report.contains("Source task") && report.contains("Sandal"), "report sections");
        assertTrue(r.out().contains("source task: accuracy 92.5% before"), r.out());   // the bundled base model on its 1,000 held-out 0-4 images
    }

    @Test
    void userImageFolderRunReportsTheNonImageFileAndWritesEverything(@TempDir Path dir) throws IOException {
        Rng rng = new Rng(3);
        for (String c : List.of("a", "b", "c")) pngs(dir.resolve("data/" + c), 10, 28, rng);
        Files.writeString(dir.resolve("data/a/readme.txt"), "not an image");
        Path out = dir.resolve("run");
        Run r = run("--model", model.toString(), "--data", dir.resolve("data").toString(), "--epochs", "1", "--batch", "8", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        String report = Files.readString(out.resolve("report.html"));
        assertTrue(report.contains("readme.txt"), "the dropped non-image file is named in the report's data lines");
        assertTrue(Files.isRegularFile(out.resolve("model.onnx")));
        assertEquals(3, OnnxModel.read(out.resolve("model.onnx")).graph().outputs().get(0).shape().getLast().value());
    }

    @Test
    void progressDurationsReadLikeAClock() {
        assertEquals("0:07", FinetuneProgress.duration(7.2));
        assertEquals("2:05", FinetuneProgress.duration(125));
        assertEquals("1:00:00", FinetuneProgress.duration(3600));
    }
}
