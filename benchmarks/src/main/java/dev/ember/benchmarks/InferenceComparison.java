package dev.ember.benchmarks;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.ember.engine.EmberException;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxModel;
import dev.ember.loaders.onnx.OnnxSession;
import dev.ember.loaders.onnx.ops.OnnxOps;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Side-by-side inference latency: ember's {@link OnnxSession} against ONNX Runtime Java (intra-op 2 threads, all
 * graph optimizations) on the shared models, the same seeded N(0, 1) input on both sides. Per case: the first call
 * of a fresh session (reported apart: ember's first case also pays the JIT's warm-up), then the median of warm calls
 * ({@link Timing}), the ratio ember / ORT, and a correctness check on the first call's outputs: the largest
 * {@code |ember - ORT| / max(1, |ORT|)} over all output elements must be at most {@link #TOLERANCE}.
 *
 * <p>Run: {@code bin/bench inference}. {@code --md FILE} writes the BENCHMARKS.md block. {@code --forks N} measures
 * everything in N fresh JVMs, one after the other, and reports each figure's median over them with the lowest and
 * highest fork's ratio: a JVM run can settle in a slow mode for its whole length (see BENCHMARKS.md), so one JVM's
 * figures are not to be trusted alone. The models are read from {@code -Dember.shared} (default {@code ../shared})
 * {@code /models}.
 *
 * <p>Beside each row, the floor a call's reading of its weights sets ({@link Floor}): the model's weights over the
 * DRAM read bandwidth measured in the same run ({@link MemoryBandwidth}).
 */
public final class InferenceComparison {
    /** Absolute below 1, relative above: logits of a few hundred are compared at float32 precision. */
    static final double TOLERANCE = 1e-4;
    /** Issue 5: at most 0.9 of ONNX Runtime's latency. */
    static final Target TARGET = Target.atMost(0.9);

    /** A model file (without .onnx) and an input shape; both models declare batch, height and width as named dims. */
    record Case(String model, int... dims) {
        String input() { return Arrays.stream(dims).mapToObj(Integer::toString).collect(Collectors.joining("×")); }

        /** "model:NxCxHxW", as {@link InferenceBenchmark}'s parameter names a case. */
        String label() { return model + ":" + Arrays.stream(dims).mapToObj(Integer::toString).collect(Collectors.joining("x")); }

        /** The seeded N(0, 1) input both sides run on. */
        Tensor x() { return Tensor.randn(new Rng(42), 1f, dims); }
    }

    /** The case with this {@link Case#label}. */
    static Case find(String label) {
        for (Case c : CASES) if (c.label().equals(label)) return c;
        throw new IllegalArgumentException("unknown case '" + label + "': one of "
                + CASES.stream().map(Case::label).collect(Collectors.joining(", ")));
    }

    /** Where the shared models are: {@code -Dember.shared} (default {@code ../shared}) /models. */
    static Path models() { return Path.of(System.getProperty("ember.shared", "../shared"), "models"); }

    /** ONNX Runtime's side: intra-op 2 threads, all graph optimizations. */
    static OrtSession.SessionOptions ortOptions() throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(2);
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        return options;
    }

    static final List<Case> CASES = List.of(
            new Case("small_cnn", 1, 1, 28, 28), new Case("small_cnn", 32, 1, 28, 28),
            new Case("resnet18", 1, 3, 224, 224), new Case("resnet18", 1, 3, 64, 64), new Case("resnet18", 32, 3, 64, 64));

    /**
     * One case's figures; NaN where a side could not run, and {@code problem} says why.
     *
     * @param declared the model's input as the file declares it (named dims are free), or "" when not read
     * @param maxDiff  max |ember - ORT| / max(1, |ORT|) over the outputs, NaN when not compared
     */
    record Row(Case c, String declared, double emberFirstMs, double ortFirstMs, double emberMs, double ortMs, double maxDiff, String problem,
               double lowestRatio, double highestRatio, int forks) {
        /** One JVM's figures. */
        Row(Case c, String declared, double emberFirstMs, double ortFirstMs, double emberMs, double ortMs, double maxDiff, String problem) {
            this(c, declared, emberFirstMs, ortFirstMs, emberMs, ortMs, maxDiff, problem, Double.NaN, Double.NaN, 1);
        }

        double ratio() { return emberMs / ortMs; }

        boolean passes() { return maxDiff <= TOLERANCE; }

        String check() {
            if (Double.isNaN(maxDiff)) return "n/a";
            return String.format(Locale.ROOT, "%s (%.1e)", passes() ? "PASS" : "**FAIL**", maxDiff);
        }
    }

    /**
     * What reading the weights costs a call at least: each model's weights (bytes of its initializers) over the DRAM
     * read bandwidth measured in the same run. Weights larger than the last-level cache come from DRAM on every call, on
     * either side; smaller ones may stay cached between calls, and the figure is then no floor.
     */
    record Floor(double dramGBs, int threads, int arrayMegabytes, Map<String, Long> weightBytes) {
        /** Milliseconds to read {@code model}'s weights at the measured bandwidth; NaN when either is unknown. */
        double ms(String model) {
            Long bytes = weightBytes.get(model);
            return bytes == null || !(dramGBs > 0) ? Double.NaN : bytes / (dramGBs * 1e6);
        }

        /** MB (1e6 bytes) of {@code model}'s weights; NaN when unknown. */
        double megabytes(String model) {
            Long bytes = weightBytes.get(model);
            return bytes == null ? Double.NaN : bytes / 1e6;
        }

        /**
         * The bandwidth (best of 15 reads of a 256 MB array, or a quarter of a smaller heap, by {@code threads} threads)
         * and each case's model's weights.
         */
        static Floor measure(Path modelsDir, int threads) throws InterruptedException {
            Map<String, Long> bytes = new LinkedHashMap<>();
            for (Case c : CASES) {
                Path file = modelsDir.resolve(c.model() + ".onnx");
                if (bytes.containsKey(c.model()) || !Files.isRegularFile(file)) continue;
                try {
                    bytes.put(c.model(), weightBytes(OnnxModel.read(file)));
                } catch (EmberException e) {
                    // the case's own row reports the file's problem
                }
            }
            // far past any cache, and at most a quarter of the heap (a small machine's default heap is a quarter of its RAM)
            int megabytes = (int) Math.max(16, Math.min(256, Runtime.getRuntime().maxMemory() / (4L << 20)));
            return new Floor(MemoryBandwidth.readGBs(threads, megabytes, 15), threads, megabytes, bytes);
        }

        static long weightBytes(OnnxModel model) {
            long sum = 0;
            for (Tensor t : model.graph().initializers().values()) sum += (long) t.numel() * t.dtype().byteSize();
            return sum;
        }
    }

    public static void main(String[] args) throws OrtException, IOException, InterruptedException {
        List<String> argv = List.of(args);
        Path models = models();
        if (argv.equals(List.of("--fork"))) {   // one fork of a --forks run: rows as tab-separated lines
            for (int i = 0; i < CASES.size(); i++) System.out.println(forkLine(i, compare(models, CASES.get(i), Timing.DEFAULT)));
            return;
        }
        Path md = Markdown.mdOption(argv);
        int forks = forksOption(Markdown.withoutMdOption(argv));
        List<Row> rows = new ArrayList<>();
        if (forks == 1) {
            for (Case c : CASES) rows.add(compare(models, c, Timing.DEFAULT));
        } else {
            List<List<Row>> byCase = new ArrayList<>();
            for (Case c : CASES) byCase.add(new ArrayList<>());
            for (int f = 1; f <= forks; f++) {
                System.out.printf(Locale.ROOT, "fork %d of %d%n", f, forks);
                inFreshJvm(byCase);
            }
            for (int i = 0; i < CASES.size(); i++) rows.add(aggregate(CASES.get(i), byCase.get(i)));
        }
        for (Row r : rows) {
            System.out.printf(Locale.ROOT, "%s %s: first call ember %.2f ms, ORT %.2f ms; median ember %.3f ms, ORT %.3f ms; ratio %.2f%s; check %s%s%n",
                    r.c().model(), r.c().input(), r.emberFirstMs(), r.ortFirstMs(), r.emberMs(), r.ortMs(), r.ratio(),
                    r.forks() > 1 ? String.format(Locale.ROOT, " (forks %.2f-%.2f)", r.lowestRatio(), r.highestRatio()) : "",
                    r.check(), r.problem() == null ? "" : "; " + r.problem());
        }
        Floor floor = Floor.measure(models, SgemmComparison.threads());
        System.out.printf(Locale.ROOT, "DRAM read bandwidth %.1f GB/s (%d threads)%n", floor.dramGBs(), floor.threads());
        String block = block(rows, OrtEnvironment.getEnvironment().getVersion(), floor);
        System.out.println();
        System.out.println(block);
        Markdown.writeBlock(md, block);
    }

    /** Runs one case on both sides with {@code timing}; a side that cannot run leaves NaNs and a reason. */
    static Row compare(Path modelsDir, Case c, Timing timing) {
        Path file = modelsDir.resolve(c.model() + ".onnx");
        if (!Files.isRegularFile(file)) return failed(c, file + " not found");
        Tensor x = c.x();

        // ember
        OnnxSession ember;
        String inputName, declared;
        Tensor[] emberOut = new Tensor[1];
        Map<String, Tensor> emberFeed;
        double emberFirst;
        try {
            ember = new OnnxSession(OnnxModel.read(file), OnnxOps.resolver());
            inputName = ember.model().graph().inputs().get(0).name();
            declared = ember.model().graph().inputs().get(0).describe();
            emberFeed = Map.of(inputName, x);
            emberFirst = Timing.onceMs(() -> emberOut[0] = ember.run(emberFeed).values().iterator().next());
        } catch (EmberException e) {
            return failed(c, "ember: " + e.getMessage());
        }

        // ONNX Runtime
        long[] shape = Arrays.stream(c.dims()).asLongStream().toArray();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = ortOptions()) {
            try (OrtSession ort = env.createSession(file.toString(), options);
                 OnnxTensor input = OnnxTensor.createTensor(env, FloatBuffer.wrap(x.toFloatArray()), shape)) {
                Map<String, OnnxTensor> feed = Map.of(inputName, input);
                long t0 = System.nanoTime();
                OrtSession.Result first = ort.run(feed);
                double ortFirst = (System.nanoTime() - t0) / 1e6;
                double diff;
                try (first) {
                    diff = maxRelativeDiff(emberOut[0], (OnnxTensor) first.get(0));
                }
                double[] medians = timing.alternatingMediansMs(() -> ember.run(emberFeed), () -> runOrt(ort, feed));
                return new Row(c, declared, emberFirst, ortFirst, medians[0], medians[1], diff, null);
            }
        } catch (OrtException | IllegalStateException e) {
            double emberMs = timing.medianMs(() -> ember.run(emberFeed));
            return new Row(c, declared, emberFirst, Double.NaN, emberMs, Double.NaN, Double.NaN, "ONNX Runtime: " + e.getMessage());
        }
    }

    /** max |ours - ORT| / max(1, |ORT|) over all elements; NaN anywhere or a shape mismatch gives NaN. */
    static double maxRelativeDiff(Tensor ours, OnnxTensor ort) throws OrtException {
        long[] dims = ort.getInfo().getShape();
        if (!Arrays.equals(Arrays.stream(ours.dims()).asLongStream().toArray(), dims)) return Double.NaN;
        FloatBuffer fb = ort.getFloatBuffer();
        float[] want = new float[fb.remaining()];
        fb.get(want);
        float[] got = ours.toFloatArray();
        double worst = 0;
        for (int i = 0; i < want.length; i++) {
            double d = Math.abs((double) got[i] - want[i]) / Math.max(1.0, Math.abs((double) want[i]));
            if (Double.isNaN(d)) return Double.NaN;
            worst = Math.max(worst, d);
        }
        return worst;
    }

    private static final String FORK_ROW = "fork-row";

    /** {@code --forks N} (N >= 1), default 1: everything measured in this JVM. */
    static int forksOption(List<String> argv) {
        List<String> rest = Markdown.without(argv, "--forks");
        if (!rest.isEmpty()) throw new IllegalArgumentException("unknown argument '" + rest.get(0) + "': --md FILE, --forks N");
        return Markdown.countOption(argv, "--forks");
    }

    /** One fork: this class with {@code --fork} in a fresh JVM with this one's flags; its rows added per case. */
    private static void inFreshJvm(List<List<Row>> byCase) throws IOException, InterruptedException {
        boolean[] seen = new boolean[CASES.size()];
        int exit = ChildJvm.run(InferenceComparison.class, List.of("--fork"), line -> {
            Row row = parseForkLine(line);
            if (row == null) {
                System.out.println("  " + line);
                return;
            }
            int i = CASES.indexOf(row.c());
            byCase.get(i).add(row);
            seen[i] = true;
        });
        for (int i = 0; i < CASES.size(); i++) {
            if (!seen[i]) byCase.get(i).add(failed(CASES.get(i), "a measuring JVM exited with " + exit + " before this case"));
        }
    }

    /** A fork's row for case {@code i} as one tab-separated line of its output. */
    static String forkLine(int i, Row r) {
        return String.join("\t", FORK_ROW, Integer.toString(i), r.declared(), Double.toString(r.emberFirstMs()),
                Double.toString(r.ortFirstMs()), Double.toString(r.emberMs()), Double.toString(r.ortMs()),
                Double.toString(r.maxDiff()), r.problem() == null ? "" : r.problem().replace('\t', ' ').replace('\n', ' '));
    }

    /** The row of a {@link #forkLine}, or null for any other line of a fork's output. */
    static Row parseForkLine(String line) {
        String[] f = line.split("\t", -1);
        if (f.length != 9 || !f[0].equals(FORK_ROW)) return null;
        Case c = CASES.get(Integer.parseInt(f[1]));
        return new Row(c, f[2], Double.parseDouble(f[3]), Double.parseDouble(f[4]), Double.parseDouble(f[5]),
                Double.parseDouble(f[6]), Double.parseDouble(f[7]), f[8].isEmpty() ? null : f[8]);
    }

    /**
     * Forks' rows of one case as one: each time the median over the forks that measured it, the check the worst
     * fork's, the ratio's spread the lowest and highest fork's. A fork that could not run a side leaves a problem.
     */
    static Row aggregate(Case c, List<Row> forks) {
        String declared = "", problem = null;
        double maxDiff = 0;
        for (Row r : forks) {
            if (declared.isEmpty()) declared = r.declared();
            if (problem == null) problem = r.problem();
            maxDiff = Double.isNaN(r.maxDiff()) || Double.isNaN(maxDiff) ? Double.NaN : Math.max(maxDiff, r.maxDiff());
        }
        double[] spread = Timing.range(forks.stream().mapToDouble(Row::ratio).toArray());
        return new Row(c, declared, medianOf(forks, Row::emberFirstMs), medianOf(forks, Row::ortFirstMs), medianOf(forks, Row::emberMs),
                medianOf(forks, Row::ortMs), forks.isEmpty() ? Double.NaN : maxDiff, problem, spread[0], spread[1], forks.size());
    }

    private static double medianOf(List<Row> rows, java.util.function.ToDoubleFunction<Row> field) {
        return Timing.medianOfNumbers(rows.stream().mapToDouble(field).toArray());
    }

    /** One ORT call whose result is checked for outputs and closed. */
    static void runOrt(OrtSession ort, Map<String, OnnxTensor> feed) {
        try (OrtSession.Result r = ort.run(feed)) {
            if (r.size() == 0) throw new IllegalStateException("no outputs");
        } catch (OrtException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    private static Row failed(Case c, String why) {
        return new Row(c, "", Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, why);
    }

    static String block(List<Row> rows, String ortVersion) { return block(rows, ortVersion, null); }

    /** The BENCHMARKS.md block; with the weights' read floor where {@code floor} is not null. */
    static String block(List<Row> rows, String ortVersion, Floor floor) {
        List<List<String>> cells = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        Map<String, String> declared = new LinkedHashMap<>();
        int forks = rows.stream().mapToInt(Row::forks).max().orElse(1);
        for (Row r : rows) {
            if (!r.declared().isEmpty()) declared.putIfAbsent(r.c().model(), r.c().model() + " `" + r.declared() + "`");
            List<String> row = new ArrayList<>(List.of(r.c().model(), r.c().input(), Markdown.num(r.emberFirstMs(), 2),
                    Markdown.num(r.ortFirstMs(), 2), Markdown.num(r.emberMs(), 3), Markdown.num(r.ortMs(), 3), Markdown.ratio(r.ratio())));
            if (forks > 1) row.add(Markdown.ratio(r.lowestRatio()) + " – " + Markdown.ratio(r.highestRatio()));
            if (floor != null) row.addAll(List.of(Markdown.num(floor.megabytes(r.c().model()), 1), Markdown.num(floor.ms(r.c().model()), 3)));
            row.addAll(List.of(TARGET.text(), TARGET.judge(r.ratio()), r.check()));
            cells.add(row);
            if (r.problem() != null) problems.add("- " + r.c().model() + " " + r.c().input() + ": n/a, " + r.problem());
        }
        List<String> header = new ArrayList<>(List.of("model", "input", "ember first call ms", "ORT first call ms", "ember median ms",
                "ORT median ms", "ratio"));
        if (forks > 1) header.add("ratio, lowest – highest fork");
        if (floor != null) header.addAll(List.of("weights MB", "weights ÷ DRAM bandwidth ms"));
        header.addAll(List.of("target", "met?", "check"));
        String how = forks > 1
                ? "Every figure is the median over " + forks + " fresh JVMs (forks) run one after the other, each measuring "
                  + "both sides: first call, the first run of a fresh session (it also pays the JIT's warm-up in the first "
                  + "rows); median, after each side's warm-up to its steady state (≥ 3 s, then on in windows of 1.5 s until two "
                  + "in a row no longer beat the best window's median by 2%, at most 25 s: ember's JIT compiles resnet18's "
                  + "per-call code for 15-20 s), over 3 s of calls per side in alternating blocks of "
                  + "0.1 s (ember, ORT, ember, ...), so that a change in the shared machine's speed falls on both sides "
                  + "alike. The check is the worst fork's. "
                : "First call: the first run of a fresh session (ember's first row also pays the JIT's warm-up). Median: "
                  + "after each side's warm-up to its steady state (≥ 3 s, then 1.5 s windows until two in a row no longer beat "
                  + "the best by 2%, at most 25 s), over 3 s of calls per side in alternating blocks of 0.1 s. ";
        return "### Inference latency: ember vs ONNX Runtime\n\n"
                + "Measured " + Machine.describe() + ". Peer: ONNX Runtime Java " + ortVersion + " (intra-op 2 threads, "
                + "ALL_OPT) in the same JVM, the same seeded N(0, 1) input. " + how
                + "Ratio = ember / ORT latency. Check: max over the output of |ember − ORT| / max(1, |ORT|) ≤ "
                + String.format(Locale.ROOT, "%.0e", TOLERANCE) + ". Inputs as the files declare them (named dims are free): "
                + String.join(", ", declared.values()) + "."
                + (floor == null ? "" : String.format(Locale.ROOT, " Weights ÷ DRAM bandwidth: the model's weights (its initializers) "
                  + "over the read bandwidth from memory measured in this run, %.1f GB/s by %d threads (`MemoryBandwidth`, the best "
                  + "of 15 reads of a %d MB array): where the weights are larger than the last-level cache they come from DRAM "
                  + "on every call, on either side, and no call can be faster; smaller weights may stay cached between calls, "
                  + "and the figure is then no floor.", floor.dramGBs(), floor.threads(), floor.arrayMegabytes()))
                + "\n\n"
                + Markdown.table(header, cells)
                + (problems.isEmpty() ? "" : "\n" + String.join("\n", problems) + "\n");
    }
}
