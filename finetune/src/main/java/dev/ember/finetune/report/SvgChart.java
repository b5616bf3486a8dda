package dev.ember.finetune.report;

import static dev.ember.finetune.report.Html.esc;

import java.util.List;
import java.util.Locale;
import java.util.TreeSet;

/**
 * The report's charts as inline SVG, drawn here: a line chart (curves over epochs, accuracy over noise strength) and
 * a grouped bar chart (per-class recall before/after). Plain shapes and text only, so a page opens anywhere without
 * scripts; each point and bar carries a {@code <title>} that a browser shows on hover. Non-finite values are left out
 * (a line breaks there).
 */
final class SvgChart {
    /** One named line or bar series; {@code x} is ignored by bar charts. */
    record Series(String name, String color, double[] x, double[] y) {}

    static final String BLUE = "#1f77b4", ORANGE = "#ff7f0e", GREEN = "#2ca02c", RED = "#d62728", GRAY = "#7f7f7f";

    private static final int WIDTH = 560, HEIGHT = 300;
    private static final int LEFT = 60, RIGHT = 16, TOP = 40, BOTTOM = 56;
    private static final int PLOT_W = WIDTH - LEFT - RIGHT, PLOT_H = HEIGHT - TOP - BOTTOM;

    private SvgChart() {}

    /**
     * A line chart of {@code series}; the y axis spans [{@code yMin}, {@code yMax}], each NaN bound taken from the data.
     * The x ticks are the data's x values when there are at most 12 of them (epochs, noise strengths), else even steps.
     */
    static String line(String title, String xLabel, String yLabel, List<Series> series, double yMin, double yMax) {
        double xlo = Double.POSITIVE_INFINITY, xhi = Double.NEGATIVE_INFINITY, ylo = Double.POSITIVE_INFINITY, yhi = Double.NEGATIVE_INFINITY;
        TreeSet<Double> xs = new TreeSet<>();
        for (Series s : series) {
            for (int i = 0; i < s.y().length; i++) {
                if (!Double.isFinite(s.x()[i]) || !Double.isFinite(s.y()[i])) continue;
                xlo = Math.min(xlo, s.x()[i]);
                xhi = Math.max(xhi, s.x()[i]);
                ylo = Math.min(ylo, s.y()[i]);
                yhi = Math.max(yhi, s.y()[i]);
                xs.add(s.x()[i]);
            }
        }
        StringBuilder b = open(title);
        if (xs.isEmpty()) return noData(b);
        if (!Double.isNaN(yMin)) ylo = yMin;
        if (!Double.isNaN(yMax)) yhi = yMax;
        if (yhi <= ylo) {
            double pad = Math.max(Math.abs(ylo) * 0.1, 0.5);
            ylo -= pad;
            yhi += pad;
        }
        if (xhi <= xlo) {
            xlo -= 1;
            xhi += 1;
        }
        Axis x = new Axis(xlo, xhi, LEFT, LEFT + PLOT_W);
        Axis y = new Axis(ylo, yhi, TOP + PLOT_H, TOP);
        for (double t : ticks(ylo, yhi)) {
            double py = y.map(t);
            b.append(fmt("<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='#e5e5e5'/>", LEFT, py, LEFT + PLOT_W, py));
            b.append(fmt("<text x='%d' y='%.1f' text-anchor='end' dominant-baseline='middle'>%s</text>", LEFT - 6, py, tickLabel(t)));
        }
        Iterable<Double> xTicks = xs.size() <= 12 ? xs : ticks(xlo, xhi);
        for (double t : xTicks) {
            double px = x.map(t);
            b.append(fmt("<line x1='%.1f' y1='%d' x2='%.1f' y2='%d' stroke='#999'/>", px, TOP + PLOT_H, px, TOP + PLOT_H + 4));
            b.append(fmt("<text x='%.1f' y='%d' text-anchor='middle'>%s</text>", px, TOP + PLOT_H + 16, tickLabel(t)));
        }
        frame(b, xLabel, yLabel);
        for (Series s : series) {
            StringBuilder path = new StringBuilder();
            boolean penDown = false;
            for (int i = 0; i < s.y().length; i++) {
                if (!Double.isFinite(s.x()[i]) || !Double.isFinite(s.y()[i])) {
                    penDown = false;
                    continue;
                }
                path.append(fmt("%s%.1f %.1f ", penDown ? "L" : "M", x.map(s.x()[i]), y.map(s.y()[i])));
                penDown = true;
            }
            b.append(fmt("<path d='%s' fill='none' stroke='%s' stroke-width='2'/>", path.toString().trim(), s.color()));
            for (int i = 0; i < s.y().length; i++) {
                if (!Double.isFinite(s.x()[i]) || !Double.isFinite(s.y()[i])) continue;
                b.append(fmt("<circle cx='%.1f' cy='%.1f' r='3' fill='%s'><title>%s: %s at %s</title></circle>",
                        x.map(s.x()[i]), y.map(s.y()[i]), s.color(), esc(s.name()), tickLabel(s.y()[i]), tickLabel(s.x()[i])));
            }
        }
        legend(b, series);
        return b.append("</svg>").toString();
    }

    /** Grouped bars on a [0, 1] axis: one group per entry of {@code groups}, one bar per series in each. */
    static String bars(String title, String yLabel, List<String> groups, List<Series> series) {
        StringBuilder b = open(title);
        if (groups.isEmpty() || series.isEmpty()) return noData(b);
        Axis y = new Axis(0, 1, TOP + PLOT_H, TOP);
        for (double t : ticks(0, 1)) {
            double py = y.map(t);
            b.append(fmt("<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='#e5e5e5'/>", LEFT, py, LEFT + PLOT_W, py));
            b.append(fmt("<text x='%d' y='%.1f' text-anchor='end' dominant-baseline='middle'>%s</text>", LEFT - 6, py, tickLabel(t)));
        }
        double groupW = (double) PLOT_W / groups.size();
        double barW = groupW * 0.8 / series.size();
        boolean slanted = groups.size() > 6 || groups.stream().anyMatch(g -> g.length() > 10);
        for (int g = 0; g < groups.size(); g++) {
            double gx = LEFT + g * groupW;
            for (int s = 0; s < series.size(); s++) {
                Series ser = series.get(s);
                double v = g < ser.y().length ? ser.y()[g] : Double.NaN;
                if (!Double.isFinite(v)) continue;
                double top = y.map(Math.max(0, Math.min(1, v)));
                b.append(fmt("<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='%s'><title>%s, %s: %s</title></rect>",
                        gx + groupW * 0.1 + s * barW, top, Math.max(barW - 1, 1), TOP + PLOT_H - top, ser.color(),
                        esc(groups.get(g)), esc(ser.name()), Html.pct(v)));
            }
            String label = esc(shorten(groups.get(g), 18));
            double cx = gx + groupW / 2;
            if (slanted) {
                b.append(fmt("<text x='%.1f' y='%d' text-anchor='end' transform='rotate(-30 %.1f %d)'>%s</text>", cx, TOP + PLOT_H + 14, cx, TOP + PLOT_H + 14, label));
            } else {
                b.append(fmt("<text x='%.1f' y='%d' text-anchor='middle'>%s</text>", cx, TOP + PLOT_H + 16, label));
            }
        }
        frame(b, "", yLabel);
        legend(b, series);
        return b.append("</svg>").toString();
    }

    /** Maps data values in [lo, hi] to pixels in [from, to]. */
    private record Axis(double lo, double hi, double from, double to) {
        double map(double v) { return from + (v - lo) / (hi - lo) * (to - from); }
    }

    private static StringBuilder open(String title) {
        StringBuilder b = new StringBuilder();
        b.append(fmt("<svg class='chart' viewBox='0 0 %d %d' width='%d' height='%d' role='img' aria-label='%s'>", WIDTH, HEIGHT, WIDTH, HEIGHT, esc(title)));
        b.append(fmt("<text x='%d' y='18' class='chart-title'>%s</text>", LEFT, esc(title)));
        return b;
    }

    private static String noData(StringBuilder b) {
        b.append(fmt("<text x='%d' y='%d' text-anchor='middle' fill='#888'>no data</text>", WIDTH / 2, HEIGHT / 2));
        return b.append("</svg>").toString();
    }

    private static void frame(StringBuilder b, String xLabel, String yLabel) {
        b.append(fmt("<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='#333'/>", LEFT, TOP + PLOT_H, LEFT + PLOT_W, TOP + PLOT_H));
        b.append(fmt("<line x1='%d' y1='%d' x2='%d' y2='%d' stroke='#333'/>", LEFT, TOP, LEFT, TOP + PLOT_H));
        if (!xLabel.isEmpty()) b.append(fmt("<text x='%d' y='%d' text-anchor='middle'>%s</text>", LEFT + PLOT_W / 2, HEIGHT - 8, esc(xLabel)));
        b.append(fmt("<text x='14' y='%d' text-anchor='middle' transform='rotate(-90 14 %d)'>%s</text>", TOP + PLOT_H / 2, TOP + PLOT_H / 2, esc(yLabel)));
    }

    /** Legend entries right-aligned in the title row. */
    private static void legend(StringBuilder b, List<Series> series) {
        int x = WIDTH - RIGHT;
        for (int i = series.size() - 1; i >= 0; i--) {
            Series s = series.get(i);
            String name = shorten(s.name(), 24);
            x -= 7 * name.length() + 22;
            b.append(fmt("<rect x='%d' y='26' width='12' height='4' fill='%s'/>", x, s.color()));
            b.append(fmt("<text x='%d' y='31'>%s</text>", x + 16, esc(name)));
        }
    }

    /** About five round steps covering [lo, hi]. */
    static List<Double> ticks(double lo, double hi) {
        double raw = (hi - lo) / 5;
        double mag = Math.pow(10, Math.floor(Math.log10(raw)));
        double step = raw / mag < 1.5 ? mag : raw / mag < 3 ? 2 * mag : raw / mag < 7 ? 5 * mag : 10 * mag;
        java.util.ArrayList<Double> out = new java.util.ArrayList<>();
        for (double t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) out.add(Math.abs(t) < step * 1e-9 ? 0 : t);
        return out;
    }

    private static String tickLabel(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e6) return Long.toString((long) v);
        String s = String.format(Locale.ROOT, "%.3f", v);
        return s.replaceAll("0+$", "").replaceAll("\\.$", "");
    }

    private static String shorten(String s, int max) { return s.length() <= max ? s : s.substring(0, max - 1) + "\u2026"; }

    private static String fmt(String f, Object... args) { return String.format(Locale.ROOT, f, args); }
}
