package dev.ember.benchmarks;

import dev.ember.autograd.Loss;
import dev.ember.autograd.Variable;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.engine.TensorScope;
import dev.ember.loaders.onnx.OnnxModel;
import dev.ember.loaders.onnx.train.OnnxModule;
import dev.ember.nn.Module;
import dev.ember.optim.Adam;
import dev.ember.optim.Optimizer;
import dev.ember.optim.Sgd;
import dev.ember.tools.FashionMnistModels;
import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Side-by-side training-step time and peak memory of the baselines.md models: ours, then PyTorch's
 * ({@code benchmarks/peers/pytorch_train_step.py} and {@code pytorch_resnet18_train_step.py} through Debian's
 * python3-torch, when installed) on the same machine in the same sitting, same shapes, same protocol: one fixed
 * synthetic batch, forward + cross-entropy + backward + optimizer step, the first step timed alone, then warm-up (at
 * least the given steps and at least {@link #WARMUP_SECONDS} after the first step, on both sides: the JVM's compiler
 * needs a few seconds before the vector kernels run compiled, and 20 MLP steps take 0.1 s), then the median.
 * <ul>
 *   <li>mlp, batch 128, and cnn, batch 64 (1x28x28): SGD lr 0.01 momentum 0.9, 20 warm-up steps, median of
 *       {@link #MLP_STEPS} (MLP) or 100 (CNN);</li>
 *   <li>resnet18, batch 16 (3x64x64), 10 classes, train mode, Adam lr 1e-3, 60 warm-up steps, median of 20. Ours is
 *       {@code resnet18.onnx} imported as an {@link OnnxModule} with a new 10-class head, every parameter trained; that
 *       file is torch's export with BatchNorm folded into the convs, so PyTorch runs twice: the same folded network
 *       (the same arithmetic) and torchvision's resnet18 with BatchNorm (baselines.md's row).</li>
 * </ul>
 * Each model runs in a fresh JVM (and a fresh Python), so each peak RSS (VmHWM) is that model's alone.
 *
 * <p>Run: {@code bin/bench train} or {@code bin/bench-train-steps [mlp|cnn|resnet18]...}. {@code --md FILE} writes
 * the BENCHMARKS.md block.
 */
public final class TrainStepComparison {
    record Case(String model, int batch, String optimizer, int warmup, int steps) {}

    /**
     * Warm-up steps of resnet18, on both sides (pytorch_resnet18_train_step.py takes the same). ember's step reaches its
     * steady state only after 40-50 steps, about 10 s: C2 compiles each layer's kernel paths as their call counts grow,
     * and one step calls many of them only once or twice. Measured step by step in one JVM with the launchers' flags:
     * 130-150 ms for steps 8-40, 84-92 ms from step 50 on. With 5 steps and 3 s the median of the next 20 was a
     * mid-warm-up figure (119-133 ms).
     */
    static final int RESNET_WARMUP_STEPS = 60;
    /**
     * Measured MLP steps, on both sides (pytorch_train_step.py takes the same). 100 steps of 2 ms last 0.2 s, and a
     * moment of the shared machine's slowness moved a round's median: rounds of one run spread 0.46-0.88x and 0.57-1.07x
     * while, step by step in six fresh JVMs, ember's step settled at 2.0-2.1 ms in each.
     */
    static final int MLP_STEPS = 500;
    static final List<Case> CASES = List.of(
            new Case("mlp", 128, "SGD lr 0.01 momentum 0.9", 20, MLP_STEPS),
            new Case("cnn", 64, "SGD lr 0.01 momentum 0.9", 20, 100),
            new Case("resnet18", 16, "Adam lr 1e-3", RESNET_WARMUP_STEPS, 20));
    /** Least warm-up time, on both sides (the peers' scripts take it as their last argument). */
    static final double WARMUP_SECONDS = 3;
    /** Issue 5: at most 0.8 of PyTorch's step time and 0.5 of its peak RSS. */
    static final Target TIME = Target.atMost(0.8), MEMORY = Target.atMost(0.5);

    /** Median ms per step and peak RSS in MiB; NaN where not measured. */
    /** Median step after warm-up, the very first step (model and JIT cold), peak RSS. */
    record Measured(double medianMs, double firstMs, double peakRssMiB) {
        static final Measured NONE = new Measured(Double.NaN, Double.NaN, Double.NaN);
    }

    /** One table row: our figures beside one peer's; {@code note} says why a side is n/a. */
    /** One table row: medians over the rounds, and the lowest and highest of the rounds' step-time ratios. */
    record Row(String model, Case c, Measured ember, Measured peer, String note, int rounds, double lowestRatio, double highestRatio) {
        Row(String model, Case c, Measured ember, Measured peer, String note) {
            this(model, c, ember, peer, note, 1, ember.medianMs() / peer.medianMs(), ember.medianMs() / peer.medianMs());
        }
    }

    /**
     * Rounds' measurements of one row (ember's and the peer's, each a fresh process, one after the other) into medians
     * of each figure; the spread of the per-round ratios is kept, since the shared machine's speed changes over seconds.
     */
    static Row aggregate(String model, Case c, List<Measured> ember, List<Measured> peer, String note) {
        double[] ratios = new double[Math.min(ember.size(), peer.size())];
        for (int r = 0; r < ratios.length; r++) ratios[r] = ember.get(r).medianMs() / peer.get(r).medianMs();
        double[] spread = Timing.range(ratios);
        return new Row(model, c, medianOf(ember), medianOf(peer), note, ember.size(), spread[0], spread[1]);
    }

    private static Measured medianOf(List<Measured> ms) {
        return new Measured(medianOf(ms, Measured::medianMs), medianOf(ms, Measured::firstMs), medianOf(ms, Measured::peakRssMiB));
    }

    private static double medianOf(List<Measured> ms, java.util.function.ToDoubleFunction<Measured> figure) {
        return Timing.medianOfNumbers(ms.stream().mapToDouble(figure).toArray());
    }

    public static void main(String[] args) throws IOException, InterruptedException {
        List<String> argv = List.of(args);
        if (argv.size() == 2 && argv.get(0).equals("--one")) {
            Measured m = measure(find(argv.get(1)), InferenceComparison.models());
            System.out.printf(Locale.ROOT, "result\t%.4f\t%.1f\t%.3f%n", m.medianMs(), m.peakRssMiB(), m.firstMs());
            return;
        }
        Path md = Markdown.mdOption(argv);
        int rounds = Markdown.roundsOption(Markdown.withoutMdOption(argv));
        List<Case> cases = new ArrayList<>();
        for (String name : Markdown.withoutRoundsOption(Markdown.withoutMdOption(argv))) cases.add(find(name));
        if (cases.isEmpty()) cases = CASES;

        List<Row> rows = new ArrayList<>();
        String version = "";
        for (Case c : cases) {
            String ours = null;
            List<String[]> peers = c.model().equals("resnet18")
                    ? List.of(new String[] {"resnet18-folded", "PyTorch, same folded network"}, new String[] {"resnet18-bn", "PyTorch, torchvision's (BatchNorm)"})
                    : List.<String[]>of(new String[] {c.model(), "PyTorch"});
            List<Measured> ember = new ArrayList<>();
            List<List<Measured>> theirs = new ArrayList<>();
            String[] peerNote = new String[peers.size()];
            for (int i = 0; i < peers.size(); i++) theirs.add(new ArrayList<>());
            // rounds of (ember, each peer), one after the other, so that a slow spell of the machine meets both sides
            for (int round = 1; round <= rounds; round++) {
                if (rounds > 1) System.out.printf(Locale.ROOT, "%s: round %d of %d%n", c.model(), round, rounds);
                Measured ours1 = Measured.NONE;
                if (c.model().equals("resnet18") && !Files.isRegularFile(InferenceComparison.models().resolve("resnet18.onnx"))) {
                    ours = "ember: " + InferenceComparison.models().resolve("resnet18.onnx") + " not found";
                } else {
                    ours1 = inFreshJvm(c);
                    if (Double.isNaN(ours1.medianMs())) ours = "ember: the measuring JVM failed (see the log above)";
                }
                ember.add(ours1);
                System.out.printf(Locale.ROOT, "ember\t%s\t%d\t%.3f ms\t%.0f MiB%n", c.model(), c.batch(), ours1.medianMs(), ours1.peakRssMiB());
                for (int i = 0; i < peers.size(); i++) {
                    String[] p = peers.get(i);
                    Peer peer = c.model().equals("resnet18")
                            ? Peer.run("benchmarks/peers/pytorch_resnet18_train_step.py", p[0].substring("resnet18-".length()))
                            : Peer.run("benchmarks/peers/pytorch_train_step.py", c.model());
                    if (!peer.version().isEmpty()) version = peer.version();
                    if (peer.unavailable() != null) peerNote[i] = "PyTorch n/a: " + peer.unavailable();
                    String[] f = peer.find(p[0]);
                    theirs.get(i).add(f == null ? Measured.NONE
                            : new Measured(Double.parseDouble(f[2]), f.length > 4 ? Double.parseDouble(f[4]) : Double.NaN, Double.parseDouble(f[3])));
                }
            }
            for (int i = 0; i < peers.size(); i++) {
                String note = ours != null ? ours : peerNote[i];
                rows.add(aggregate(c.model() + (peers.size() > 1 ? " vs " + peers.get(i)[1] : ""), c, ember, theirs.get(i), note));
            }
        }
        String block = block(rows, version);
        System.out.println();
        System.out.println(block);
        Markdown.writeBlock(md, block);
    }

    static Case find(String model) {
        for (Case c : CASES) if (c.model().equals(model)) return c;
        throw new IllegalArgumentException("unknown model '" + model + "': one of mlp, cnn, resnet18");
    }


    /** {@link #measure} in a child JVM with this one's flags and class path, so its peak RSS is the model's alone. */
    static Measured inFreshJvm(Case c) throws IOException, InterruptedException {
        Measured[] m = {Measured.NONE};
        int exit = ChildJvm.run(TrainStepComparison.class, List.of("--one", c.model()), line -> {
            String[] f = line.split("\t");
            if (f.length == 4 && f[0].equals("result")) m[0] = new Measured(Double.parseDouble(f[1]), Double.parseDouble(f[3]), Double.parseDouble(f[2]));
            else if (!line.startsWith("WARNING: Using incubator modules")) System.out.println("  ember: " + line);
        });
        return exit == 0 ? m[0] : Measured.NONE;
    }

    /** A case's model in train mode, its optimizer and its one fixed batch (x, labels): what every step trains on. */
    record Training(Module model, Optimizer opt, Tensor x, Tensor y) {
        /** Builds {@code c}'s model (resnet18 read from {@code models}), seeded: the same weights and batch every run. */
        static Training of(Case c, Path models) {
            Rng rng = new Rng(1);
            Module model;
            Optimizer opt;
            Tensor x;
            switch (c.model()) {
                case "mlp", "cnn" -> {
                    model = c.model().equals("mlp") ? FashionMnistModels.mlp(new Rng(0)) : FashionMnistModels.cnn(new Rng(0));
                    x = Tensor.randn(rng, 1f, c.batch(), 1, 28, 28);
                    opt = new Sgd(model.parameters(), Sgd.options(0.01f).momentum(0.9f));
                }
                case "resnet18" -> {
                    OnnxModule resnet = new OnnxModule(OnnxModel.read(models.resolve("resnet18.onnx")));
                    resnet.replaceHead(10, new Rng(7));
                    model = resnet;
                    x = Tensor.randn(rng, 1f, c.batch(), 3, 64, 64);
                    opt = new Adam(model.parameters(), Adam.options(1e-3f));
                }
                default -> throw new IllegalArgumentException("unknown model '" + c.model() + "'");
            }
            long[] labels = new long[c.batch()];
            for (int i = 0; i < labels.length; i++) labels[i] = rng.nextInt(10);
            model.train();
            return new Training(model, opt, x, Tensor.ofLongs(labels, c.batch()));
        }

        /** One training step in a {@link TensorScope}, as {@code finetune} runs it; the step's loss. */
        float step() {
            try (TensorScope scope = TensorScope.open()) {
                opt.zeroGrad();
                Variable loss = Loss.crossEntropy(model.forward(Variable.of(x)), y);
                opt.backwardAndStep(loss);   // each parameter updated once its gradient is whole: no step holds them all
                return loss.item();
            }
        }
    }

    /** Trains {@code c}'s model on one fixed batch in this JVM: the median step time and this process's peak RSS. */
    static Measured measure(Case c, Path models) {
        Training t = Training.of(c, models);
        System.gc();   // as FineTuner.run does before its first step: loading's garbage does not stay under the step's arrays
        long firstStart = System.nanoTime();
        t.step();
        double firstMs = (System.nanoTime() - firstStart) / 1e6;
        // the warm-up's time counts from the second step: ember's first CNN step alone takes ~1.9 s (everything
        // interpreted), so with the first step counted the 100 measured steps began ~70 steps into the warm-up,
        // mid-way down from 33 to 12 ms (a median of ~15 ms against ~12 from the sixth second on)
        long warmStart = System.nanoTime();
        for (int i = 1; i < c.warmup() || System.nanoTime() - warmStart < WARMUP_SECONDS * 1e9; i++) t.step();
        double[] ms = new double[c.steps()];
        for (int i = 0; i < c.steps(); i++) {
            long t0 = System.nanoTime();
            t.step();
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        return new Measured(Timing.median(ms), firstMs, peakRssMiB());
    }

    /** VmHWM of this process (Linux), or NaN. */
    static double peakRssMiB() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0;
            }
        } catch (IOException | NumberFormatException e) {
            return Double.NaN;
        }
        return Double.NaN;
    }

    static String block(List<Row> rows, String version) {
        int rounds = rows.isEmpty() ? 1 : rows.get(0).rounds();
        List<List<String>> cells = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        for (Row r : rows) {
            double time = r.ember().medianMs() / r.peer().medianMs(), rss = r.ember().peakRssMiB() / r.peer().peakRssMiB();
            List<String> row = new ArrayList<>(List.of(r.model(), Integer.toString(r.c().batch()), r.c().optimizer(),
                    Markdown.num(r.ember().firstMs(), 1), Markdown.num(r.peer().firstMs(), 1),
                    Markdown.num(r.ember().medianMs(), 2), Markdown.num(r.peer().medianMs(), 2), Markdown.ratio(time)));
            if (rounds > 1) row.add(Markdown.ratio(r.lowestRatio()) + " – " + Markdown.ratio(r.highestRatio()));
            row.addAll(List.of(TIME.text(), TIME.judge(time),
                    Markdown.num(r.ember().peakRssMiB(), 0), Markdown.num(r.peer().peakRssMiB(), 0), Markdown.ratio(rss), MEMORY.text(), MEMORY.judge(rss)));
            cells.add(row);
            if (r.note() != null && !notes.contains("- " + r.model() + ": " + r.note())) notes.add("- " + r.model() + ": " + r.note());
        }
        return "### Training step: ember vs PyTorch\n\n"
                + "Measured " + Machine.describe() + ". Peer: " + (version.isEmpty() ? "PyTorch" : version)
                + " (Debian python3-torch, OPENBLAS_CORETYPE=SkylakeX), 2 threads. Both sides: one fixed synthetic batch, "
                + "forward + cross-entropy + backward + optimizer step; after the first step, warm-up of at least " + Markdown.num(WARMUP_SECONDS, 0)
                + " s (and at least 20 steps, resnet18 " + RESNET_WARMUP_STEPS + ") on both sides, since ember's vector kernels run "
                + "compiled only after about a second of JIT work, and its resnet18 step reaches its steady state only after "
                + "40–50 steps (~10 s: C2 compiles each layer's paths as their call counts grow); then the median of 100 steps (MLP " + MLP_STEPS + ", resnet18 20). First step: the very first, "
                + "with everything cold (ember: interpreted and JIT-compiling). MLP batch 128, CNN batch 64, resnet18 3×64×64, "
                + "10 classes, train mode. Peak RSS: VmHWM of a process that ran only that "
                + "model (ember: a fresh JVM with the launchers' flags, " + collector() + " collector, " + heapFlags() + "; each step "
                + "in a `TensorScope`, as `finetune` runs it). ember's resnet18 is `resnet18.onnx` (BatchNorm folded "
                + "into the convs by torch's export) with a new 10-class head, every parameter trained; PyTorch runs the "
                + "same folded network and, for reference, torchvision's resnet18 with BatchNorm (baselines.md's row).\n\n"
                + (rounds > 1 ? "Every figure is the median over " + rounds + " rounds, each a fresh ember JVM then a fresh "
                        + "PyTorch process for that model, one after the other (the shared machine's speed changes over "
                        + "seconds); ratio = ember / PyTorch of those medians, with the lowest and highest round's ratio.\n\n" : "")
                + Markdown.table(header(rounds), cells)
                + (notes.isEmpty() ? "" : "\n" + String.join("\n", notes) + "\n");
    }

    /** The heap-sizing flags this JVM runs with (its children get the same), or "default heap sizing". */
    static String heapFlags() {
        List<String> flags = ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("-Xms") || a.startsWith("-Xmx") || a.startsWith("-Xmn") || a.contains("NewSize")
                        || a.contains("ShrinkHeapInSteps") || a.contains("HeapFreeRatio"))
                .map(a -> "`" + a + "`").toList();
        return flags.isEmpty() ? "default heap sizing" : String.join(" ", flags);
    }

    /** The JVM's garbage collector, by its own name for it (Serial's young collector is "Copy"). */
    static String collector() {
        List<String> names = new ArrayList<>();
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) names.add(gc.getName());
        if (names.contains("Copy")) return "Serial";
        if (names.stream().anyMatch(n -> n.startsWith("G1"))) return "G1";
        return String.join("/", names);
    }

    private static List<String> header(int rounds) {
        List<String> header = new ArrayList<>(List.of("model", "batch", "optimizer", "ember first step ms", "PyTorch first step ms",
                "ember ms/step", "PyTorch ms/step", "ratio"));
        if (rounds > 1) header.add("ratio, lowest – highest round");
        header.addAll(List.of("target", "met?", "ember peak RSS MiB", "PyTorch peak RSS MiB", "ratio", "target", "met?"));
        return header;
    }
}
