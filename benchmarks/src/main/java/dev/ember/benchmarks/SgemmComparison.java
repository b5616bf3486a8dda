package dev.ember.benchmarks;

import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.engine.TensorScope;
import dev.ember.loaders.data.Npy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Side-by-side SGEMM: C (M, N) = A (M, K) · B (K, N) in float32 through ember's {@link Tensor#matmul} on the CPU
 * backend, then through NumPy ({@code benchmarks/peers/numpy_sgemm.py}, Debian's OpenBLAS with its AVX-512 kernels)
 * with the same protocol ({@link Timing#DEFAULT}-like: warm-up, then the median of calls over 1.5 s). GFLOP/s is
 * 2MNK / median. One shape is also checked: ember's product of NumPy's very inputs against NumPy's result.
 *
 * <p>Run: {@code bin/bench sgemm} (2 threads on both sides). {@code --md FILE} writes the BENCHMARKS.md block.
 */
public final class SgemmComparison {
    /** Shapes as MxKxN (baselines.md's order). */
    static final List<String> SHAPES = List.of("256x256x256", "512x512x512", "1024x1024x1024", "2048x2048x2048", "512x768x3072");
    static final String CHECK_SHAPE = "512x768x3072";
    /** max |ember - numpy| / max |numpy|: float32 sums of 768 products in a different order stay far below this. */
    static final double CHECK_TOLERANCE = 1e-5;
    /** Issue 5: at least NumPy's throughput from 1024³ (2·1024³ flops) up. */
    static final double TARGET_FROM_FLOPS = 2.0 * 1024 * 1024 * 1024;
    static final Timing TIMING = new Timing(3, 0.5, 10, 1.5, 5000);

    /** Medians over the rounds, and the lowest and highest round's ratio. */
    record Row(String shape, double flops, double emberGflops, double peerGflops, double lowestRatio, double highestRatio) {
        Row(String shape, double flops, double emberGflops, double peerGflops) {
            this(shape, flops, emberGflops, peerGflops, emberGflops / peerGflops, emberGflops / peerGflops);
        }

        double ratio() { return emberGflops / peerGflops; }

        Target target() { return flops >= TARGET_FROM_FLOPS ? Target.atLeast(1.0) : Target.NONE; }
    }

    public static void main(String[] args) throws IOException, InterruptedException {
        List<String> argv = List.of(args);
        Path md = Markdown.mdOption(argv);
        int rounds = Markdown.roundsOption(Markdown.withoutMdOption(argv));
        List<String> rest = Markdown.withoutRoundsOption(Markdown.withoutMdOption(argv));
        List<String> shapes = rest.isEmpty() ? SHAPES : rest;

        double[][] ours = new double[shapes.size()][rounds], theirs = new double[shapes.size()][rounds];   // GFLOP/s
        double peak = 0;   // the highest of one measurement per round: a peak, and the machine has slow spells
        Peer peer = null;
        String check = null;
        // rounds of (ember, NumPy), one after the other, so that a slow spell of the shared machine meets both sides
        for (int round = 0; round < rounds; round++) {
            if (rounds > 1) System.out.printf(Locale.ROOT, "round %d of %d%n", round + 1, rounds);
            peak = Math.max(peak, FmaPeak.gflops(threads(), 100_000_000L));
            for (int i = 0; i < shapes.size(); i++) {
                int[] mkn = parse(shapes.get(i));
                Rng rng = new Rng(1);
                Tensor a = Tensor.randn(rng, 1f, mkn[0], mkn[1]);
                Tensor b = Tensor.randn(rng, 1f, mkn[1], mkn[2]);
                // each call in a TensorScope, so that C's array is reused as NumPy's allocator reuses its memory: unscoped,
                // every C is new garbage, and under the launchers' small young generation it fills the old generation
                double ms = TIMING.medianMs(() -> {
                    try (TensorScope scope = TensorScope.open()) {
                        a.matmul(b);
                    }
                });
                ours[i][round] = flops(shapes.get(i)) / ms / 1e6;
                System.out.printf(Locale.ROOT, "ember\t%s\t%.4f ms\t%.1f GFLOP/s%n", shapes.get(i), ms, ours[i][round]);
            }
            List<String> peerArgs = new ArrayList<>();
            Path dir = null;
            if (round == 0) {
                dir = Files.createTempDirectory("ember-sgemm-check");
                peerArgs.addAll(List.of("--check", dir.toString(), CHECK_SHAPE));
            }
            peerArgs.addAll(shapes);
            peer = Peer.run("benchmarks/peers/numpy_sgemm.py", peerArgs.toArray(String[]::new));
            if (dir != null) {
                check = check(dir);
                deleteTree(dir);
            }
            for (int i = 0; i < shapes.size(); i++) {
                String[] p = findShape(peer, shapes.get(i));
                theirs[i][round] = p == null ? Double.NaN : Double.parseDouble(p[3]);
            }
        }

        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < shapes.size(); i++) rows.add(aggregate(shapes.get(i), ours[i], theirs[i]));
        System.out.printf(Locale.ROOT, "FMA peak\t%.1f GFLOP/s (%d threads)%n", peak, threads());
        String block = block(rows, peer, check, rounds, peak);
        System.out.println();
        System.out.println(block);
        Markdown.writeBlock(md, block);
    }

    static double flops(String shape) {
        int[] mkn = parse(shape);
        return 2.0 * mkn[0] * mkn[1] * mkn[2];
    }

    /** One shape's rounds (GFLOP/s per round on each side) into medians and the spread of the per-round ratios. */
    static Row aggregate(String shape, double[] ours, double[] theirs) {
        double[] ratios = new double[Math.min(ours.length, theirs.length)];
        for (int r = 0; r < ratios.length; r++) ratios[r] = ours[r] / theirs[r];
        double[] spread = Timing.range(ratios);
        return new Row(shape, flops(shape), Timing.medianOfNumbers(ours), Timing.medianOfNumbers(theirs), spread[0], spread[1]);
    }

    /** ember's product of the peer's inputs against the peer's product; "n/a" when the peer wrote none. */
    static String check(Path dir) {
        if (!Files.isRegularFile(dir.resolve("c.npy"))) return "n/a (no NumPy result to compare with)";
        Tensor a = Npy.read(dir.resolve("a.npy")), b = Npy.read(dir.resolve("b.npy")), want = Npy.read(dir.resolve("c.npy"));
        float[] got = a.matmul(b).toFloatArray(), ref = want.toFloatArray();
        double worst = 0, scale = 0;
        for (int i = 0; i < ref.length; i++) {
            worst = Math.max(worst, Math.abs((double) got[i] - ref[i]));
            scale = Math.max(scale, Math.abs((double) ref[i]));
        }
        double rel = got.length == ref.length ? worst / scale : Double.NaN;
        String verdict = rel <= CHECK_TOLERANCE ? "PASS" : "FAIL";
        System.out.printf(Locale.ROOT, "check %s: max|ember - numpy| / max|numpy| = %.2e  %s%n", CHECK_SHAPE, rel, verdict);
        return String.format(Locale.ROOT, "%s at %s: max |ember − NumPy| / max |NumPy| = %.1e (tolerance %.0e)", verdict, CHECK_SHAPE, rel, CHECK_TOLERANCE);
    }

    /** The CPU backend's thread count, as it sizes itself. */
    static int threads() { return Math.max(1, Integer.getInteger("ember.threads", Runtime.getRuntime().availableProcessors())); }

    /** Issue 5: SGEMM at 2048³ reaches at least this share of the measured FMA peak. */
    static final double PEAK_SHARE_TARGET = 0.9;

    static String block(List<Row> rows, Peer peer, String check) { return block(rows, peer, check, 1, Double.NaN); }

    static String block(List<Row> rows, Peer peer, String check, int rounds, double peak) {
        List<List<String>> cells = new ArrayList<>();
        for (Row r : rows) {
            List<String> row = new ArrayList<>(List.of(r.shape().replace("x", "×"), Markdown.num(r.emberGflops(), 1),
                    Markdown.num(r.peerGflops(), 1), Markdown.ratio(r.ratio())));
            if (rounds > 1) row.add(Markdown.ratio(r.lowestRatio()) + " – " + Markdown.ratio(r.highestRatio()));
            row.addAll(List.of(r.target().text(), r.target().judge(r.ratio())));
            if (!Double.isNaN(peak)) row.add(Markdown.num(100 * r.emberGflops() / peak, 0) + "%");
            cells.add(row);
        }
        List<String> header = new ArrayList<>(List.of("shape (M×K×N)", "ember GFLOP/s", "NumPy GFLOP/s", "ratio"));
        if (rounds > 1) header.add("ratio, lowest – highest round");
        header.addAll(List.of("target", "met?"));
        if (!Double.isNaN(peak)) header.add("ember, share of FMA peak");
        String peakText = "";
        if (!Double.isNaN(peak)) {
            double big = Double.NaN;
            for (Row r : rows) if (r.shape().equals("2048x2048x2048")) big = r.emberGflops() / peak;
            peakText = String.format(Locale.ROOT, "FMA peak: %.0f GFLOP/s, the highest of one measurement per round in the same JVM "
                    + "by %d threads of register-only vector fma chains (`FmaPeak`); issue 5 asks for ≥ %.0f%% of it at 2048³%s. ", peak, threads(), 100 * PEAK_SHARE_TARGET,
                    Double.isNaN(big) ? "" : String.format(Locale.ROOT, ": %.0f%%, %s", 100 * big, big >= PEAK_SHARE_TARGET ? "met" : "**missed**"));
        }
        String peerName = peer.unavailable() != null ? "n/a: " + peer.unavailable() : peer.version() + " (OpenBLAS, OPENBLAS_CORETYPE=SkylakeX)";
        return "### SGEMM: ember vs NumPy\n\n"
                + "Measured " + Machine.describe() + ". Peer: " + peerName + ", 2 threads. C = A·B float32 row-major, "
                + "GFLOP/s = 2MNK / median time (warm-up, then calls for 1.5 s; ember's each in a `TensorScope`, so that C's array is reused). Ratio = ember / NumPy throughput; the "
                + "target holds from 1024³ up by flop count, so 512×768×3072 too. "
                + (rounds > 1 ? "Every figure is the median over " + rounds + " rounds, each ember's shapes then NumPy's "
                        + "(a fresh process), one after the other; beside the ratio, the lowest and highest round's. " : "")
                + peakText
                + "Correctness: " + check + ".\n\n"
                + Markdown.table(header, cells);
    }

    private static String[] findShape(Peer peer, String shape) {
        for (String[] f : peer.lines()) if (f[0].equals("sgemm") && f[1].equals(shape)) return f;
        return null;
    }

    static int[] parse(String shape) {
        String[] s = shape.split("x");
        if (s.length != 3) throw new IllegalArgumentException("shape '" + shape + "' is not MxKxN");
        return new int[] {Integer.parseInt(s[0]), Integer.parseInt(s[1]), Integer.parseInt(s[2])};
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
