package dev.ember.benchmarks;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The Markdown the comparisons print and hand to {@link BenchmarksSection}: tables, numbers, one block per group. */
final class Markdown {
    private Markdown() {}

    /** A pipe table; every row has the header's number of cells. */
    static String table(List<String> header, List<List<String>> rows) {
        StringBuilder b = new StringBuilder();
        b.append("| ").append(String.join(" | ", header)).append(" |\n|");
        b.append("---|".repeat(header.size())).append('\n');
        for (List<String> row : rows) {
            if (row.size() != header.size()) throw new IllegalArgumentException("row " + row + " has " + row.size() + " cells, the header " + header.size());
            b.append("| ").append(String.join(" | ", row)).append(" |\n");
        }
        return b.toString();
    }

    /** {@code v} with {@code decimals} decimals, or "n/a" for NaN. */
    static String num(double v, int decimals) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    /** A ratio to two decimals with a ×, or "n/a". */
    static String ratio(double r) { return Double.isNaN(r) ? "n/a" : String.format(Locale.ROOT, "%.2f×", r); }

    /** Writes a group's block for {@code bin/bench} to splice into BENCHMARKS.md; no-op when {@code file} is null. */
    static void writeBlock(Path file, String block) {
        if (file == null) return;
        try {
            if (file.getParent() != null) Files.createDirectories(file.getParent());
            Files.writeString(file, block, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    /** The value of {@code --md FILE} in {@code args}, or null. */
    static Path mdOption(List<String> args) {
        int i = args.indexOf("--md");
        if (i < 0) return null;
        if (i + 1 >= args.size()) throw new IllegalArgumentException("--md needs a file");
        return Path.of(args.get(i + 1));
    }

    /** {@code args} without {@code --md FILE}. */
    static List<String> withoutMdOption(List<String> args) { return without(args, "--md"); }

    /** {@code --rounds N} (N >= 1), default 1: how many times a comparison repeats both sides, one after the other. */
    static int roundsOption(List<String> args) { return countOption(args, "--rounds"); }

    /** {@code option N} in args (N >= 1), default 1. */
    static int countOption(List<String> args, String option) {
        int i = args.indexOf(option);
        if (i < 0) return 1;
        if (i + 1 >= args.size()) throw new IllegalArgumentException(option + " needs a number");
        try {
            int count = Integer.parseInt(args.get(i + 1));
            if (count < 1) throw new IllegalArgumentException(option + " must be at least 1, got " + count);
            return count;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " needs a number, got '" + args.get(i + 1) + "'");
        }
    }

    /** {@code args} without {@code --rounds N}. */
    static List<String> withoutRoundsOption(List<String> args) { return without(args, "--rounds"); }

    /** {@code args} without {@code option} and the value after it. */
    static List<String> without(List<String> args, String option) {
        int i = args.indexOf(option);
        if (i < 0) return args;
        List<String> rest = new ArrayList<>(args);
        rest.subList(i, Math.min(i + 2, rest.size())).clear();
        return rest;
    }
}
