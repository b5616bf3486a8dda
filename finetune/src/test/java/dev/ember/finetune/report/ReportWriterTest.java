package dev.ember.finetune.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ember.finetune.train.ClassificationMetrics;
import dev.ember.finetune.train.EpochRecord;
import dev.ember.finetune.train.FineTuneResult;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportWriterTest {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final String HOSTILE = "<script>alert('x')</script>";

    /** A made-up run of 3 classes over 4 epochs; class names as a hostile folder tree might name them. */
    static FineTuneResult fakeResult(Path dir) {
        List<String> names = List.of(HOSTILE, "Tom & Jerry", "\"quoted\" <b>");
        List<EpochRecord> epochs = new ArrayList<>();
        for (int e = 1; e <= 4; e++) {
            ClassificationMetrics val = ClassificationMetrics.of(1.2 / e, new long[][] {{5 + e, 2, 1}, {1, 6 + e, 1}, {2, 1, 4 + e}});
            epochs.add(new EpochRecord(e, 1.5 / e, 0.5 + 0.1 * e, val, new double[] {1e-4, 1e-3}, List.of("head", "block " + e), 2.5));
        }
        ClassificationMetrics test = ClassificationMetrics.of(0.41, new long[][] {{40, 5, 5}, {3, 45, 2}, {10, 0, 40}});
        ClassificationMetrics scratch = ClassificationMetrics.of(0.9, new long[][] {{30, 10, 10}, {10, 30, 10}, {20, 0, 30}});
        Map<Double, Double> noise = new LinkedHashMap<>();
        noise.put(0.0, 0.83);
        noise.put(0.1, 0.70);
        noise.put(0.05, 0.80);
        Map<Double, Double> fgsm = Map.of(0.0, 0.83, 0.01, 0.6, 0.05, 0.2);
        Map<String, String> config = new LinkedHashMap<>();
        config.put("model", "/models/a<b>.onnx");
        config.put("epochs", "4");
        Map<String, Path> files = new LinkedHashMap<>();
        files.put("fine-tuned model", dir.resolve("model.onnx"));
        files.put("metrics", dir.resolve("metrics #1.jsonl"));
        return new FineTuneResult(names, epochs, 3, test, noise, fgsm, new double[] {0.3, 0.2, Double.NaN}, test.recall(),
                0.92, 0.90, Map.of("from scratch", scratch), List.of("folder data/: 150 samples in 3 classes", "unreadable, dropped: 1 (data/x/" + HOSTILE + ".txt)"),
                config, files);
    }

    @Test
    void everyOutsideStringIsEscaped(@TempDir Path dir) {
        String page = ReportWriter.html(fakeResult(dir), "Report of " + HOSTILE, dir);
        assertFalse(page.contains("<script"), "a raw <script> tag reached the page");
        assertFalse(page.contains("<b>"), "a raw <b> tag reached the page");
        assertTrue(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"), "class name not escaped as expected");
        assertTrue(page.contains("Tom &amp; Jerry"));
        assertTrue(page.contains("&quot;quoted&quot; &lt;b&gt;"));
        assertTrue(page.contains("/models/a&lt;b&gt;.onnx"));
    }

    @Test
    void pageIsSelfContainedWithEverySection(@TempDir Path dir) {
        String page = ReportWriter.html(fakeResult(dir), "Fine-tuning report", dir);
        assertFalse(page.contains("http://") || page.contains("https://"), "the page refers to the network");
        assertFalse(page.contains("src="), "the page loads an external resource");
        for (String section : List.of("Training curves", "Confusion matrix", "Per class", "Recall per class, before and after",
                "Accuracy under Gaussian noise", "Accuracy under FGSM attack", "Source task", "Comparison on the test set",
                "Epochs", "Data", "Configuration", "Files")) {
            assertTrue(page.contains(section), "missing section: " + section);
        }
        assertEquals(5, count(page, "<svg "), "loss, accuracy, recall bars, noise, FGSM");
        assertTrue(page.contains("gain over from scratch"));
        assertTrue(page.contains("+23.3 pp"), "fine-tuned 83.3% vs scratch 60.0%");
        assertTrue(page.contains("href='metrics%20%231.jsonl'"), "file links are relative and percent-encoded");
        assertTrue(page.contains("href='model.onnx'"));
        assertTrue(page.contains("92.0%") && page.contains("90.0%"), "source accuracy before/after");
    }

    @Test
    void robustnessPointsAreSortedByStrength(@TempDir Path dir) {
        String page = ReportWriter.html(fakeResult(dir), "r", dir);
        int s0 = page.indexOf("<td class='n'>0.000</td>"), s05 = page.indexOf("<td class='n'>0.050</td>"), s1 = page.indexOf("<td class='n'>0.100</td>");
        assertTrue(s0 >= 0 && s0 < s05 && s05 < s1, "noise rows out of order");
    }

    @Test
    void emptyRunStillRenders(@TempDir Path dir) {
        FineTuneResult empty = new FineTuneResult(List.of("a"), List.of(), 0, null, Map.of(), Map.of(), null, null,
                Double.NaN, Double.NaN, Map.of(), List.of(), Map.of(), Map.of());
        String page = ReportWriter.html(empty, "empty", dir);
        assertTrue(page.contains("no data"), "curves without epochs say so");
        assertFalse(page.contains("Source task"), "no source set, no section");
        assertTrue(page.endsWith("</html>\n"));
    }

    @Test
    void niceTicksCoverTheRange() {
        assertEquals(List.of(0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0), SvgChart.ticks(0, 1));
        List<Double> t = SvgChart.ticks(0.13, 2.71);
        assertTrue(t.getFirst() >= 0.13 && t.getLast() <= 2.71 && t.size() >= 4, t.toString());
    }

    @Test
    void writesAtomicallyAndRendersInHeadlessChromium(@TempDir Path dir) throws Exception {
        Path report = dir.resolve("report.html");
        ReportWriter.write(fakeResult(dir), "Fine-tuning report", report);
        assertTrue(Files.readString(report, StandardCharsets.UTF_8).startsWith("<!DOCTYPE html>"));
        try (var listing = Files.list(dir)) {
            assertEquals(1, listing.count(), "only report.html, no temporary file left");
        }
        assumeTrue(Files.isExecutable(CHROMIUM), "headless Chromium not installed at " + CHROMIUM + " (apt-get install chromium): skipping the render check");
        Path png = dir.resolve("report.png");
        BufferedImage image = screenshot(report, png, dir.resolve("chromium-profile"));
        assertTrue(nonWhiteShare(image) > 0.02, "the screenshot is (almost) blank");
    }

    /** Renders {@code html} with headless Chromium into {@code png} and reads it back. */
    static BufferedImage screenshot(Path html, Path png, Path profile) throws Exception {
        Process p = new ProcessBuilder(CHROMIUM.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                "--user-data-dir=" + profile, "--screenshot=" + png, "--window-size=1200,2400", html.toUri().toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "chromium did not finish in 120 s");
        assertTrue(Files.isRegularFile(png) && Files.size(png) > 0, "chromium wrote no screenshot (exit code " + p.exitValue() + ")");
        BufferedImage image = ImageIO.read(png.toFile());
        assertEquals(1200, image.getWidth());
        return image;
    }

    static double nonWhiteShare(BufferedImage image) {
        long nonWhite = 0;
        for (int y = 0; y < image.getHeight(); y += 2) {
            for (int x = 0; x < image.getWidth(); x += 2) {
                int rgb = image.getRGB(x, y);
                if (((rgb >> 16) & 0xFF) < 0xF0 || ((rgb >> 8) & 0xFF) < 0xF0 || (rgb & 0xFF) < 0xF0) nonWhite++;
            }
        }
        return nonWhite / ((image.getWidth() / 2.0) * (image.getHeight() / 2.0));
    }

    private static int count(String s, String needle) {
        Matcher m = Pattern.compile(Pattern.quote(needle)).matcher(s);
        int n = 0;
        while (m.find()) n++;
        return n;
    }
}
