package dev.ember.finetune.report;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;

/** Escaping and number formatting for the report: every string from outside (class names, paths, settings) goes through {@link #esc}. */
final class Html {
    private Html() {}

    /** Text safe inside an element or a quoted attribute. */
    static String esc(String s) {
        if (s == null) return "";
        StringBuilder b = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> {
                    // control characters have no place in a page; show them as U+FFFD
                    if (c < 0x20 && c != '\n' && c != '\t') b.append('\uFFFD');
                    else b.append(c);
                }
            }
        }
        return b.toString();
    }

    /**
     * A relative link from the report's folder to {@code file} (each path segment percent-encoded, so a name with
     * {@code #}, {@code ?} or spaces still points at the file), or an absolute {@code file:} URI when it lies elsewhere.
     */
    static String href(Path reportDir, Path file) {
        Path abs = file.toAbsolutePath().normalize();
        Path dir = reportDir.toAbsolutePath().normalize();
        if (!abs.startsWith(dir)) return abs.toUri().toASCIIString();
        StringBuilder b = new StringBuilder();
        for (Path segment : dir.relativize(abs)) {
            if (!b.isEmpty()) b.append('/');
            b.append(URLEncoder.encode(segment.toString(), StandardCharsets.UTF_8).replace("+", "%20"));
        }
        return b.toString();
    }

    /** {@code 0.8731} as {@code 87.3%}; NaN as an em dash. */
    static String pct(double v) { return Double.isNaN(v) ? "\u2014" : String.format(Locale.ROOT, "%.1f%%", 100 * v); }

    /** A plain number with {@code digits} decimals; NaN as an em dash. */
    static String num(double v, int digits) { return Double.isNaN(v) ? "\u2014" : String.format(Locale.ROOT, "%." + digits + "f", v); }

    /** A signed difference in percentage points, e.g. {@code +12.4 pp}. */
    static String pp(double v) { return Double.isNaN(v) ? "\u2014" : String.format(Locale.ROOT, "%+.1f pp", 100 * v); }
}
