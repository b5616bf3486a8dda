package dev.ember.benchmarks;

import java.util.Locale;

/**
 * An issue-5 target on the ratio ember / peer: at most {@code bound} for times and memory (lower is better), at
 * least {@code bound} for throughput. {@link #NONE} where the issue sets none (e.g. SGEMM below 1024³).
 */
record Target(boolean atMost, double bound) {
    static final Target NONE = new Target(true, Double.NaN);

    static Target atMost(double bound) { return new Target(true, bound); }

    static Target atLeast(double bound) { return new Target(false, bound); }

    /** "≤ 0.90×", "≥ 1.00×" or "—". */
    String text() {
        if (Double.isNaN(bound)) return "—";
        return String.format(Locale.ROOT, "%s %.2f×", atMost ? "≤" : "≥", bound);
    }

    /** "met", "missed", "—" without a target, "n/a" without a ratio. */
    String judge(double ratio) {
        if (Double.isNaN(bound)) return "—";
        if (Double.isNaN(ratio)) return "n/a";
        return (atMost ? ratio <= bound : ratio >= bound) ? "met" : "**missed**";
    }
}
