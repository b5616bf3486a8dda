package dev.ember.finetune.report;

import static dev.ember.finetune.report.Html.esc;
import static dev.ember.finetune.report.Html.num;
import static dev.ember.finetune.report.Html.pct;
import static dev.ember.finetune.report.Html.pp;

import dev.ember.finetune.report.SvgChart.Series;
import dev.ember.finetune.train.ClassificationMetrics;
import dev.ember.finetune.train.EpochRecord;
import dev.ember.finetune.train.FineTuneResult;
import dev.ember.loaders.checkpoint.AtomicFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes a fine-tuning run's {@code report.html}: one self-contained page (inline CSS, inline SVG charts, no scripts,
 * no network) that opens from {@code file://}. It shows, in order: the headline numbers, the comparison with other runs
 * (e.g. the same network trained from scratch), loss and accuracy curves, the test confusion matrix as a heat map,
 * per-class precision/recall and recall before/after, robustness curves (accuracy under Gaussian noise and FGSM), the
 * source-task accuracy before/after, the epoch table, the data-cleaning lines, the configuration, and links to the
 * output files. Every string that comes from outside (class names are folder names) is escaped.
 */
public final class ReportWriter {
    private ReportWriter() {}

    /** Writes the page for {@code result} to {@code file} atomically; links to output files are relative to its folder. */
    public static void write(FineTuneResult result, String title, Path file) throws IOException {
        write(result, title, file, Map.of());
    }

    /** As {@link #write(FineTuneResult, String, Path)}, with more sections of plain lines (heading -> lines) after the data's. */
    public static void write(FineTuneResult result, String title, Path file, Map<String, List<String>> moreSections) throws IOException {
        byte[] page = html(result, title, file.toAbsolutePath().getParent(), moreSections).getBytes(StandardCharsets.UTF_8);
        AtomicFile.write(file, out -> out.write(page));
    }

    /** The page as a string; {@code reportDir} is where it will live (for relative links). */
    public static String html(FineTuneResult r, String title, Path reportDir) { return html(r, title, reportDir, Map.of()); }

    /** The page with more sections of plain lines (heading -> lines), shown after the data's. */
    public static String html(FineTuneResult r, String title, Path reportDir, Map<String, List<String>> moreSections) {
        StringBuilder b = new StringBuilder(64 * 1024);
        b.append("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>")
                .append("<meta name='viewport' content='width=device-width, initial-scale=1'>")
                .append("<title>").append(esc(title)).append("</title><style>").append(CSS).append("</style></head><body>\n");
        b.append("<h1>").append(esc(title)).append("</h1>\n");
        summary(b, r);
        comparisons(b, r);
        curves(b, r);
        confusion(b, r);
        perClass(b, r);
        robustness(b, r);
        source(b, r);
        epochTable(b, r);
        lines(b, "Data", r.dataReport());
        for (Map.Entry<String, List<String>> e : moreSections.entrySet()) lines(b, e.getKey(), e.getValue());
        config(b, r.config());
        files(b, r.files(), reportDir);
        b.append("<footer>Written by ember's finetune launcher. Self-contained: no scripts, no network.</footer>\n</body></html>\n");
        return b.toString();
    }

    private static void summary(StringBuilder b, FineTuneResult r) {
        ClassificationMetrics t = r.test();
        b.append("<div class='cards'>");
        card(b, "test accuracy", t == null ? "\u2014" : pct(t.accuracy()), t == null ? "" : t.samples() + " test samples");
        card(b, "test macro-F1", t == null ? "\u2014" : num(t.macroF1(), 3), "");
        int epochs = r.epochs() == null ? 0 : r.epochs().size();
        card(b, "best epoch", r.bestEpoch() >= 1 ? Integer.toString(r.bestEpoch()) : "\u2014", "of " + epochs + " epochs run");
        for (Map.Entry<String, ClassificationMetrics> c : entries(r.comparisons())) {
            if (t == null || c.getValue() == null) continue;
            card(b, "gain over " + c.getKey(), pp(t.accuracy() - c.getValue().accuracy()), pct(c.getValue().accuracy()) + " \u2192 " + pct(t.accuracy()));
        }
        if (Double.isFinite(r.sourceAccuracyBefore()) || Double.isFinite(r.sourceAccuracyAfter())) {
            card(b, "source-task accuracy", pct(r.sourceAccuracyAfter()), "was " + pct(r.sourceAccuracyBefore()) + " (" + pp(r.sourceAccuracyAfter() - r.sourceAccuracyBefore()) + ")");
        }
        b.append("</div>\n");
    }

    private static void card(StringBuilder b, String label, String value, String note) {
        b.append("<div class='card'><div class='label'>").append(esc(label)).append("</div><div class='value'>").append(esc(value))
                .append("</div><div class='note'>").append(esc(note)).append("</div></div>");
    }

    private static void comparisons(StringBuilder b, FineTuneResult r) {
        if (r.comparisons() == null || r.comparisons().isEmpty() || r.test() == null) return;
        b.append("<h2>Comparison on the test set</h2>\n<table><tr><th>run</th><th>accuracy</th><th>macro-F1</th><th>loss</th><th>accuracy vs. this run</th></tr>");
        row(b, "fine-tuned (this run)", r.test(), Double.NaN);
        for (Map.Entry<String, ClassificationMetrics> c : entries(r.comparisons())) {
            if (c.getValue() != null) row(b, c.getKey(), c.getValue(), c.getValue().accuracy() - r.test().accuracy());
        }
        b.append("</table>\n");
    }

    private static void row(StringBuilder b, String name, ClassificationMetrics m, double delta) {
        b.append("<tr><td>").append(esc(name)).append("</td><td class='n'>").append(pct(m.accuracy())).append("</td><td class='n'>")
                .append(num(m.macroF1(), 3)).append("</td><td class='n'>").append(num(m.loss(), 4)).append("</td><td class='n'>")
                .append(Double.isNaN(delta) ? "" : pp(delta)).append("</td></tr>");
    }

    private static void curves(StringBuilder b, FineTuneResult r) {
        List<EpochRecord> es = r.epochs() == null ? List.of() : r.epochs();
        int n = es.size();
        double[] x = new double[n], trainLoss = new double[n], valLoss = new double[n], trainAcc = new double[n], valAcc = new double[n];
        for (int i = 0; i < n; i++) {
            EpochRecord e = es.get(i);
            x[i] = e.epoch();
            trainLoss[i] = e.trainLoss();
            trainAcc[i] = e.trainAccuracy();
            valLoss[i] = e.validation() == null ? Double.NaN : e.validation().loss();
            valAcc[i] = e.validation() == null ? Double.NaN : e.validation().accuracy();
        }
        b.append("<h2>Training curves</h2>\n<div class='charts'>");
        b.append(SvgChart.line("Loss", "epoch", "loss", List.of(
                new Series("train", SvgChart.BLUE, x, trainLoss), new Series("validation", SvgChart.ORANGE, x, valLoss)), 0, Double.NaN));
        b.append(SvgChart.line("Accuracy", "epoch", "accuracy", List.of(
                new Series("train", SvgChart.BLUE, x, trainAcc), new Series("validation", SvgChart.ORANGE, x, valAcc)), 0, 1));
        b.append("</div>\n");
        if (r.bestEpoch() >= 1) b.append("<p class='note'>The best epoch by the validation metric, ").append(r.bestEpoch()).append(", is the model kept and tested.</p>\n");
    }

    private static void confusion(StringBuilder b, FineTuneResult r) {
        if (r.test() == null || r.test().confusion() == null) return;
        long[][] cm = r.test().confusion();
        List<String> names = r.classNames();
        b.append("<h2>Confusion matrix (test set)</h2>\n<p class='note'>Rows: true class; columns: predicted class. ")
                .append("Shade: share of the row's samples.</p>\n<table class='cm'><tr><th>true \\ predicted</th>");
        for (int p = 0; p < cm.length; p++) b.append("<th class='rot'><span>").append(esc(name(names, p))).append("</span></th>");
        b.append("<th>total</th></tr>");
        for (int t = 0; t < cm.length; t++) {
            long total = 0;
            for (long v : cm[t]) total += v;
            b.append("<tr><th>").append(esc(name(names, t))).append("</th>");
            for (int p = 0; p < cm[t].length; p++) {
                double share = total == 0 ? 0 : (double) cm[t][p] / total;
                String bg = String.format(Locale.ROOT, "rgba(%s,%.3f)", t == p ? "31,119,180" : "214,39,40", share);
                String fg = share > 0.55 ? "#fff" : "#222";
                b.append("<td style='background:").append(bg).append(";color:").append(fg).append("' title='")
                        .append(esc(name(names, t) + " as " + name(names, p) + ": " + cm[t][p])).append("'>").append(cm[t][p]).append("</td>");
            }
            b.append("<td class='n'>").append(total).append("</td></tr>");
        }
        b.append("</table>\n");
    }

    private static void perClass(StringBuilder b, FineTuneResult r) {
        ClassificationMetrics t = r.test();
        if (t == null) return;
        int c = t.confusion() == null ? 0 : t.confusion().length;
        b.append("<h2>Per class (test set)</h2>\n<table><tr><th>class</th><th>samples</th><th>precision</th><th>recall before</th>")
                .append("<th>recall after</th><th>change</th></tr>");
        for (int k = 0; k < c; k++) {
            long total = 0;
            for (long v : t.confusion()[k]) total += v;
            double before = at(r.recallBefore(), k), after = at(r.recallAfter(), k);
            if (Double.isNaN(after)) after = at(t.recall(), k);
            b.append("<tr><td>").append(esc(name(r.classNames(), k))).append("</td><td class='n'>").append(total).append("</td><td class='n'>")
                    .append(pct(at(t.precision(), k))).append("</td><td class='n'>").append(pct(before)).append("</td><td class='n'>")
                    .append(pct(after)).append("</td><td class='n'>").append(pp(after - before)).append("</td></tr>");
        }
        b.append("</table>\n");
        if (r.recallBefore() != null || r.recallAfter() != null) {
            List<String> groups = new ArrayList<>();
            for (int k = 0; k < c; k++) groups.add(name(r.classNames(), k));
            List<Series> series = new ArrayList<>();
            if (r.recallBefore() != null) series.add(new Series("before fine-tuning", SvgChart.GRAY, new double[0], r.recallBefore()));
            if (r.recallAfter() != null) series.add(new Series("after", SvgChart.BLUE, new double[0], r.recallAfter()));
            b.append("<div class='charts'>").append(SvgChart.bars("Recall per class, before and after", "recall", groups, series)).append("</div>\n");
            b.append("<p class='note'>\u201cBefore\u201d is the model as given with its new head, before any training.</p>\n");
        }
    }

    private static void robustness(StringBuilder b, FineTuneResult r) {
        boolean noise = r.noiseAccuracy() != null && !r.noiseAccuracy().isEmpty();
        boolean fgsm = r.fgsmAccuracy() != null && !r.fgsmAccuracy().isEmpty();
        if (!noise && !fgsm) return;
        b.append("<h2>Robustness (test set)</h2>\n<div class='charts'>");
        if (noise) b.append(SvgChart.line("Accuracy under Gaussian noise", "noise \u03c3 (input units)", "accuracy", List.of(curve("accuracy", SvgChart.GREEN, r.noiseAccuracy())), 0, 1));
        if (fgsm) b.append(SvgChart.line("Accuracy under FGSM attack", "FGSM \u03b5 (input units)", "accuracy", List.of(curve("accuracy", SvgChart.RED, r.fgsmAccuracy())), 0, 1));
        b.append("</div>\n<table><tr><th>perturbation</th><th>strength</th><th>accuracy</th></tr>");
        if (noise) for (Map.Entry<Double, Double> e : sorted(r.noiseAccuracy())) strengthRow(b, "Gaussian noise \u03c3", e);
        if (fgsm) for (Map.Entry<Double, Double> e : sorted(r.fgsmAccuracy())) strengthRow(b, "FGSM \u03b5", e);
        b.append("</table>\n");
    }

    private static void strengthRow(StringBuilder b, String what, Map.Entry<Double, Double> e) {
        b.append("<tr><td>").append(esc(what)).append("</td><td class='n'>").append(num(e.getKey(), 3)).append("</td><td class='n'>")
                .append(pct(e.getValue())).append("</td></tr>");
    }

    private static Series curve(String name, String color, Map<Double, Double> points) {
        List<Map.Entry<Double, Double>> es = sorted(points);
        double[] x = new double[es.size()], y = new double[es.size()];
        for (int i = 0; i < es.size(); i++) {
            x[i] = es.get(i).getKey();
            y[i] = es.get(i).getValue();
        }
        return new Series(name, color, x, y);
    }

    private static void source(StringBuilder b, FineTuneResult r) {
        double before = r.sourceAccuracyBefore(), after = r.sourceAccuracyAfter();
        if (Double.isNaN(before) && Double.isNaN(after)) return;
        b.append("<h2>Source task (catastrophic forgetting)</h2>\n<p class='note'>Accuracy on the source task's evaluation set, ")
                .append("with the original head, before and after fine-tuning.</p>\n<table class='bars'>");
        sourceBar(b, "before fine-tuning", before, SvgChart.GRAY);
        sourceBar(b, "after fine-tuning", after, SvgChart.BLUE);
        b.append("<tr><td>change</td><td class='n'>").append(pp(after - before)).append("</td><td></td></tr></table>\n");
    }

    private static void sourceBar(StringBuilder b, String label, double v, String color) {
        double w = Double.isFinite(v) ? Math.max(0, Math.min(1, v)) * 100 : 0;
        b.append("<tr><td>").append(esc(label)).append("</td><td class='n'>").append(pct(v)).append("</td><td class='bar'><div style='width:")
                .append(String.format(Locale.ROOT, "%.1f", w)).append("%;background:").append(color).append("'></div></td></tr>");
    }

    private static void epochTable(StringBuilder b, FineTuneResult r) {
        if (r.epochs() == null || r.epochs().isEmpty()) return;
        b.append("<h2>Epochs</h2>\n<table><tr><th>epoch</th><th>train loss</th><th>train acc.</th><th>val. loss</th><th>val. acc.</th>")
                .append("<th>val. macro-F1</th><th>learning rates</th><th>trainable</th><th>seconds</th></tr>");
        for (EpochRecord e : r.epochs()) {
            ClassificationMetrics v = e.validation();
            b.append(e.epoch() == r.bestEpoch() ? "<tr class='best'>" : "<tr>").append("<td class='n'>").append(e.epoch()).append("</td><td class='n'>")
                    .append(num(e.trainLoss(), 4)).append("</td><td class='n'>").append(pct(e.trainAccuracy())).append("</td><td class='n'>")
                    .append(v == null ? "\u2014" : num(v.loss(), 4)).append("</td><td class='n'>").append(v == null ? "\u2014" : pct(v.accuracy()))
                    .append("</td><td class='n'>").append(v == null ? "\u2014" : num(v.macroF1(), 3)).append("</td><td>");
            if (e.groupLrs() != null) {
                List<String> lrs = new ArrayList<>();
                for (double lr : e.groupLrs()) lrs.add(String.format(Locale.ROOT, "%.3g", lr));
                b.append(esc(String.join(" ", lrs)));
            }
            b.append("</td><td>").append(esc(e.trainableGroups() == null ? "" : String.join(", ", e.trainableGroups())))
                    .append("</td><td class='n'>").append(num(e.seconds(), 1)).append("</td></tr>");
        }
        b.append("</table>\n");
    }

    private static void lines(StringBuilder b, String heading, List<String> lines) {
        if (lines == null || lines.isEmpty()) return;
        b.append("<h2>").append(esc(heading)).append("</h2>\n<ul class='lines'>");
        for (String l : lines) b.append("<li>").append(esc(l)).append("</li>");
        b.append("</ul>\n");
    }

    private static void config(StringBuilder b, Map<String, String> config) {
        if (config == null || config.isEmpty()) return;
        b.append("<h2>Configuration</h2>\n<table>");
        for (Map.Entry<String, String> e : config.entrySet()) {
            b.append("<tr><th>").append(esc(e.getKey())).append("</th><td><code>").append(esc(e.getValue())).append("</code></td></tr>");
        }
        b.append("</table>\n");
    }

    private static void files(StringBuilder b, Map<String, Path> files, Path reportDir) {
        if (files == null || files.isEmpty()) return;
        b.append("<h2>Files</h2>\n<ul class='lines'>");
        for (Map.Entry<String, Path> e : files.entrySet()) {
            String href = Html.href(reportDir, e.getValue());
            b.append("<li>").append(esc(e.getKey())).append(": <a href='").append(esc(href)).append("'>")
                    .append(esc(href.startsWith("file:") ? e.getValue().toString() : relativeText(reportDir, e.getValue())))
                    .append("</a></li>");
        }
        b.append("</ul>\n");
    }

    private static String relativeText(Path dir, Path file) {
        return dir.toAbsolutePath().normalize().relativize(file.toAbsolutePath().normalize()).toString();
    }

    private static <K, V> List<Map.Entry<K, V>> entries(Map<K, V> m) { return m == null ? List.of() : new ArrayList<>(m.entrySet()); }

    private static List<Map.Entry<Double, Double>> sorted(Map<Double, Double> m) {
        List<Map.Entry<Double, Double>> es = new ArrayList<>(m.entrySet());
        es.sort(Map.Entry.comparingByKey());
        return es;
    }

    private static double at(double[] a, int i) { return a == null || i >= a.length ? Double.NaN : a[i]; }

    private static String name(List<String> names, int k) { return names != null && k < names.size() ? names.get(k) : "class " + k; }

    private static final String CSS = """
            body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#222;max-width:1160px;margin:24px auto;padding:0 16px;background:#fff}
            h1{font-size:24px;margin:0 0 12px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
            .cards{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:150px;background:#fafafa}
            .card .label{color:#666;font-size:12px;text-transform:uppercase;letter-spacing:.03em}.card .value{font-size:24px;font-weight:600}
            .card .note,.note{color:#666;font-size:12px}
            .charts{display:flex;flex-wrap:wrap;gap:16px}.chart{border:1px solid #eee;border-radius:6px;background:#fff;font-size:11px}
            .chart text{fill:#333}.chart .chart-title{font-size:13px;font-weight:600}
            table{border-collapse:collapse;margin:6px 0}th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
            th{background:#f4f4f4;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}tr.best td{background:#eef6ff}
            table.cm td{text-align:center;min-width:44px;font-variant-numeric:tabular-nums}
            table.cm th.rot{height:110px;white-space:nowrap;vertical-align:bottom;padding:4px 2px}
            table.cm th.rot span{display:inline-block;writing-mode:vertical-rl;transform:rotate(180deg)}
            table.bars td.bar{width:320px}table.bars td.bar div{height:14px;border-radius:2px}
            ul.lines{padding-left:20px}ul.lines li{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px;word-break:break-all}
            code{font-size:12.5px}a{color:#1f5fa8}footer{margin:32px 0 8px;color:#888;font-size:12px}
            """;
}
