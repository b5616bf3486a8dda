package dev.ember.tools;

import dev.ember.autograd.NoGrad;
import dev.ember.autograd.Variable;
import dev.ember.engine.Backends;
import dev.ember.engine.Device;
import dev.ember.engine.EmberException;
import dev.ember.engine.Rng;
import dev.ember.finetune.data.Augmentation;
import dev.ember.finetune.data.DataReport;
import dev.ember.finetune.data.DataSources;
import dev.ember.finetune.data.ImageSpec;
import dev.ember.finetune.data.LoadOptions;
import dev.ember.finetune.data.LoadResult;
import dev.ember.finetune.data.SampleSet;
import dev.ember.finetune.data.Splits;
import dev.ember.finetune.report.ReportWriter;
import dev.ember.finetune.train.Balance;
import dev.ember.finetune.train.ClassificationMetrics;
import dev.ember.finetune.train.FineTuneConfig;
import dev.ember.finetune.train.FineTuneResult;
import dev.ember.finetune.train.FineTuner;
import dev.ember.finetune.train.HyperSearch;
import dev.ember.finetune.train.TunableModel;
import dev.ember.kernels.cuda.DeviceSelection;
import dev.ember.loaders.onnx.OnnxModel;
import dev.ember.loaders.onnx.OnnxValueInfo;
import dev.ember.loaders.onnx.train.OnnxModule;
import dev.ember.loaders.onnx.train.OnnxModuleExport;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code finetune} launcher: takes a pretrained ONNX classifier and labeled data, replaces the head, fine-tunes
 * with the recipe of {@link FineTuner}, and writes the output folder: {@code model.onnx} (the fine-tuned model),
 * {@code best.safetensors}, {@code checkpoint.safetensors} (for {@code --resume}), {@code metrics.jsonl} and
 * {@code report.html}. With no {@code --model} and no {@code --data} it runs the embedded demo ({@link FinetuneDemoBundle}).
 *
 * <p>Order of work: every input is checked (options, model, data, shapes, output folder) before anything is written; the
 * run then works in {@code OUT.partial} and renames it to {@code OUT} at the end ({@link FinetuneOutput}). A bad input
 * is one line on stderr ({@code error: ...}) and exit code 2.
 */
@Command(name = "finetune", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true, usageHelpWidth = 110,
        version = "ember finetune 0.1.0",
        description = {
            "Fine-tunes a pretrained ONNX classifier on your labeled data: replaces its head with a --classes-way layer, trains with gradual unfreezing, augmentation and class balancing, keeps the best epoch by validation, and writes OUT/model.onnx, OUT/best.safetensors, OUT/metrics.jsonl and OUT/report.html.",
            "",
            "With no --model and no --data it runs the embedded demo (well under a minute on 2 cores): a small CNN pretrained on Fashion-MNIST classes 0-4 is fine-tuned on 150 images of classes 5-9 (50/40/30/20/10 per class); the report compares it with the same network trained from scratch and shows the source-task accuracy kept. The demo's settings, where not given: --epochs 40 --batch 16 --lr 2e-3 --unfreeze gradual:2 --lr-factor 0.3 --patience 10.",
            ""},
        footerHeading = "%nExamples:%n",
        footer = {
            "  finetune                                   # the embedded demo; open finetune-out/report.html",
            "  finetune --model resnet18.onnx --data photos/ --out photos-run   # photos/CLASS/*.png|jpg",
            "  finetune --model m.onnx --data train.csv --classes 3 --unfreeze all --balance weighted --epochs 20",
            "  finetune --model m.onnx --data /usr/share/datasets/fashion-mnist --augment flip,rotate:10,noise:0.05",
            "  finetune --model m.onnx --data photos/ --search random --trials 6 --epochs 5",
            "  finetune --model m.onnx --data photos/ --out run1 --resume        # continue a killed run",
            "",
            "Exit codes: 0 done, 2 bad input (one line on stderr naming the problem), 1 internal error."})
public final class Finetune implements Callable<Integer> {
    // ---- what to train ----
    @Option(names = "--model", paramLabel = "FILE", description = "The pretrained classifier, an ONNX file. Default: the embedded demo model.")
    Path model;

    @Option(names = "--data", paramLabel = "PATH", description = "Labeled training data: a folder with one sub-folder of images per class, a .csv file (numeric features, label in the last column or --label-column), or an IDX pair (a folder, a prefix or either file). Duplicates, unreadable and unlabeled samples are removed and listed in the report. Default: the demo data.")
    Path data;

    @Option(names = "--classes", paramLabel = "N", description = "Classes of the new head; a label outside [0, N) is an error. 0 = as many as the data has. Default: ${DEFAULT-VALUE}")
    int classes = 0;

    @Option(names = "--test", paramLabel = "PATH", description = "A separate test set (same layout as --data). Default: --test-fraction of --data, held out.")
    Path test;

    @Option(names = "--source-data", paramLabel = "PATH", description = "The pretrained task's evaluation set, labeled for the original head: its accuracy before and after shows what fine-tuning forgot.")
    Path sourceData;

    @Option(names = "--label-column", paramLabel = "NAME", description = "CSV only: the label column's header. Default: the last column.")
    String labelColumn;

    @Option(names = "--no-resize", description = "Refuse images whose size or channels differ from the model's input instead of converting them (bilinear resize, gray<->RGB).")
    boolean noResize;

    // ---- the recipe ----
    @Option(names = "--epochs", paramLabel = "N", description = "Most epochs to train (early stopping may end sooner). Default: ${DEFAULT-VALUE}")
    int epochs = 10;

    @Option(names = "--batch", paramLabel = "N", description = "Batch size. Default: ${DEFAULT-VALUE}")
    int batch = 32;

    @Option(names = "--lr", paramLabel = "X", description = "Learning rate of the head (earlier groups get less, see --lr-factor). Default: ${DEFAULT-VALUE}")
    float lr = 1e-3f;

    @Option(names = "--optimizer", paramLabel = "NAME", description = "adamw, adam or sgd (momentum 0.9). Default: ${DEFAULT-VALUE}")
    String optimizer = "adamw";

    @Option(names = "--weight-decay", paramLabel = "X", description = "Weight decay. Default: ${DEFAULT-VALUE}")
    float weightDecay = 1e-4f;

    @Option(names = "--unfreeze", paramLabel = "MODE", description = "head (train only the new head), all (everything from the start) or gradual[:K] (one more block group every K epochs, last block first). Default: ${DEFAULT-VALUE}")
    String unfreeze = "gradual:1";

    @Option(names = "--lr-factor", paramLabel = "X", description = "Discriminative learning rates: each block group below the head trains at this factor of the one above. 1 = one rate. Default: ${DEFAULT-VALUE}")
    float lrFactor = 0.5f;

    @Option(names = "--patience", paramLabel = "N", description = "Stop after N epochs without a better validation score (see --stop-metric). Default: ${DEFAULT-VALUE}")
    int patience = 4;

    @Option(names = "--stop-metric", paramLabel = "NAME", description = "The validation score that picks the best epoch and drives early stopping: macro-f1, accuracy or loss (less noisy on a small validation set). Default: ${DEFAULT-VALUE}")
    String stopMetric = "macro-f1";

    @Option(names = "--augment", paramLabel = "SPEC", description = "On-the-fly augmentation, comma-separated: flip[:P], rotate:DEG, crop:PX (random shift), noise:SIGMA, brightness:D, contrast:D, normalize:MEAN,STD or normalize:imagenet. Default: none")
    String augment = "";

    @Option(names = "--balance", paramLabel = "MODE", description = "Class imbalance: none, weighted (inverse frequency), effective[:BETA] (effective number, 0.999), focal[:GAMMA] (focal loss, 2), oversample or undersample. Default: ${DEFAULT-VALUE}")
    String balance = "none";

    @Option(names = "--val-fraction", paramLabel = "X", description = "Share of each class held out for validation. Default: ${DEFAULT-VALUE}")
    double valFraction = 0.2;

    @Option(names = "--test-fraction", paramLabel = "X", description = "Share of each class held out for the test, when there is no --test. Default: ${DEFAULT-VALUE}")
    double testFraction = 0.2;

    @Option(names = "--scratch", negatable = true, description = "Also train the same network from random weights on the same data and compare. Default: on for the demo, off otherwise.")
    Boolean scratch;

    // ---- hyperparameter search ----
    @Option(names = "--search", paramLabel = "KIND", description = "grid or random search over --search-lr, --search-wd and --search-unfreeze on the validation set; the best is retrained and tested once.")
    String search;

    @Option(names = "--trials", paramLabel = "N", description = "Random search: number of trials. Default: ${DEFAULT-VALUE}")
    int trials = 8;

    @Option(names = "--search-lr", paramLabel = "LIST", split = ",", description = "Learning rates to search (random: log-uniform between the extremes). Default: 1e-4,3e-4,1e-3,3e-3")
    List<Float> searchLr = new ArrayList<>(List.of(1e-4f, 3e-4f, 1e-3f, 3e-3f));

    @Option(names = "--search-wd", paramLabel = "LIST", split = ",", description = "Weight decays to search. Default: 0,1e-4,1e-3")
    List<Float> searchWd = new ArrayList<>(List.of(0f, 1e-4f, 1e-3f));

    @Option(names = "--search-unfreeze", paramLabel = "LIST", split = ",", description = "Unfreeze schedules to search. Default: head,gradual:1,all")
    List<String> searchUnfreeze = new ArrayList<>(List.of("head", "gradual:1", "all"));

    // ---- where and how ----
    @Option(names = "--device", paramLabel = "DEV", description = "cpu, cuda[:N] or auto (cuda:0 when the CUDA driver loads and shows a device, else cpu; says which). Default: ${DEFAULT-VALUE}")
    String device = "auto";

    @Option(names = "--out", paramLabel = "DIR", description = "Output folder; it must not exist or be empty (see --overwrite). Written as DIR.partial, renamed at the end. Default: ${DEFAULT-VALUE} (the demo replaces its own earlier run there)")
    Path out = Path.of("finetune-out");

    @Option(names = "--overwrite", description = "Replace an existing non-empty --out folder (only once the new run has finished).")
    boolean overwrite;

    @Option(names = "--resume", description = "Continue a killed run from the checkpoint in DIR.partial; ends as the uninterrupted run would.")
    boolean resume;

    @Option(names = "--seed", paramLabel = "S", description = "Seed for the split, initialization, data order, augmentation and dropout. Default: ${DEFAULT-VALUE}")
    long seed = 42;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /**
     * The demo's settings, used for each option the user did not give: 150 images need small batches, more epochs and
     * a slower unfreeze than the general defaults (chosen on the demo's validation split, not its test set).
     */
    static final Map<String, String> DEMO_PRESET = Map.of("--epochs", "40", "--batch", "16", "--lr", "2e-3",
            "--unfreeze", "gradual:2", "--lr-factor", "0.3", "--patience", "10");

    private PrintWriter stdout;
    private PrintWriter stderr;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The parser with our error handling: a typed error or an I/O error becomes one line on stderr and exit code 2. */
    static CommandLine commandLine() {
        Finetune command = new Finetune();
        CommandLine cli = new CommandLine(command);
        cli.setOverwrittenOptionsAllowed(true);   // the last of a repeated option wins, so scripts can append overrides
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof EmberException || e instanceof IOException || e instanceof IllegalArgumentException) {
                cmd.getErr().println("error: " + oneLine(e));
                return 2;
            }
            throw e;
        });
        return cli;
    }

    static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        if (e instanceof java.nio.file.NoSuchFileException) m = "no such file or folder: " + m;
        else if (e instanceof java.nio.file.AccessDeniedException) m = "permission denied: " + m;
        return m.replaceAll("\\s*[\\r\\n]+\\s*", " ").trim();
    }

    @Override public Integer call() throws IOException {
        stdout = spec.commandLine().getOut();
        stderr = spec.commandLine().getErr();
        boolean demo = model == null && data == null;
        if (model == null && data != null) throw new EmberException("--data needs --model (the pretrained ONNX file); run with neither for the embedded demo");
        if (model != null && data == null) throw new EmberException("--model needs --data (the labeled training data); run with neither for the embedded demo");
        if (demo) applyDemoPreset();
        FineTuneConfig config = config();
        Augmentation.parse(config.augment());
        DeviceSelection.Choice chosen = resolveDevice();
        List<FineTuneConfig> candidates = searchCandidates(config);
        // The demo may replace its own earlier output in the default folder (re-running it should just work);
        // any other folder, or one that does not hold a finished run, is refused as for a user's run.
        boolean replaceOldDemo = demo && !spec.commandLine().getParseResult().hasMatchedOption("--out")
                && Files.isRegularFile(out.resolve("report.html")) && Files.isRegularFile(out.resolve("metrics.jsonl"));
        FinetuneOutput output = FinetuneOutput.check(out, overwrite || replaceOldDemo);

        Path scratchDir = demo ? Files.createTempDirectory("ember-finetune-demo") : null;
        try {
            Inputs in = demo ? demoInputs(scratchDir) : userInputs();
            return run(in, config, candidates, output, scratch != null ? scratch : demo, chosen);
        } finally {
            if (scratchDir != null) FinetuneOutput.deleteTree(scratchDir);
        }
    }

    /** Everything a run needs, loaded and checked. */
    private record Inputs(String title, Path modelFile, OnnxModel model, SampleSet train, SampleSet val, SampleSet test, SampleSet source,
                          List<String> dataReport, Map<String, String> described) {}

    private Integer run(Inputs in, FineTuneConfig config, List<FineTuneConfig> candidates, FinetuneOutput output, boolean compareScratch,
                        DeviceSelection.Choice chosen) throws IOException {
        boolean terminal = FinetuneProgress.stderrIsTerminal();
        // a source model only where a source task will be scored: it is a copy of every weight
        Supplier<TunableModel> models = () -> TunableModel.replaceHead(in.model(), in.train().data().classes(), new Rng(config.seed()).split(),
                in.source() != null);
        TunableModel first = models.get();
        checkFits(first, in);

        stderr.println(chosen.message());
        boolean resuming = output.open(resume);
        Path work = output.work();
        if (resume && !resuming) stderr.println("note: nothing to resume in " + work + "; starting a new run");
        try {
            stderr.printf(Locale.ROOT, "%s: %d training, %d validation, %d test samples in %d classes%n", in.title(), in.train().size(),
                    in.val().size(), in.test().size(), in.train().data().classes());
            FinetuneProgress bar = new FinetuneProgress("fine-tuning", stderr, terminal);
            List<String> searchLines = new ArrayList<>();
            FineTuneResult tuned;
            TunableModel tunedModel;
            if (candidates.isEmpty()) {
                tunedModel = first;
                tuned = new FineTuner(config).device(chosen.device()).progress(bar).sourceTask(in.source()).resume(resuming).run(first, in.train(), in.val(), in.test(), work);
            } else {
                List<TunableModel> made = new ArrayList<>();
                Supplier<TunableModel> tracked = () -> {
                    TunableModel m = made.isEmpty() ? first : models.get();
                    made.add(m);
                    return m;
                };
                HyperSearch.Result r = HyperSearch.search(candidates, tracked, in.train(), in.val(), in.test(), work,
                        t -> t.device(chosen.device()).progress(bar).sourceTask(in.source()).resume(resuming));
                tunedModel = made.getLast();
                tuned = r.result();
                for (HyperSearch.Trial t : r.trials()) {
                    searchLines.add(String.format(Locale.ROOT, "trial %d: %s -> best epoch %d, validation %s %.4f%s", t.index(), t.settings(),
                            t.bestEpoch(), config.stopMetric().name().toLowerCase(Locale.ROOT), t.score(), t == r.best() ? "  (chosen)" : ""));
                }
            }
            bar.finish();

            Map<String, ClassificationMetrics> comparisons = new LinkedHashMap<>();
            Map<String, Path> files = new LinkedHashMap<>();
            Path onnx = work.resolve("model.onnx");
            OnnxModuleExport.write((OnnxModule) tunedModel.model(), onnx);
            files.put("fine-tuned model (ONNX)", onnx);
            files.put("best checkpoint (safetensors)", work.resolve(FineTuner.BEST_FILE));
            files.put("metrics, one JSON line per epoch", work.resolve(FineTuner.METRICS_FILE));
            files.put("training checkpoint (for --resume)", work.resolve(FineTuner.CHECKPOINT_FILE));
            if (compareScratch) {
                FineTuneConfig scratchConfig = tuned.epochs().isEmpty() ? config : configOf(tuned, config);
                scratchConfig = scratchConfig.unfreeze(FineTuneConfig.Unfreeze.ALL).lrFactor(1f);
                OnnxModule fresh = new OnnxModule(in.model());
                fresh.replaceHead(in.train().data().classes(), new Rng(config.seed()).split());
                FinetuneScratch.reinitialize(fresh, new Rng(config.seed() + 1));
                FinetuneProgress scratchBar = new FinetuneProgress("from scratch", stderr, terminal);
                Path dir = work.resolve("scratch");
                FineTuneResult s = new FineTuner(scratchConfig).device(chosen.device()).progress(scratchBar).resume(resuming)
                        .run(TunableModel.of(fresh), in.train(), in.val(), in.test(), dir);
                scratchBar.finish();
                comparisons.put("from scratch", s.test());
                files.put("from-scratch run's metrics", dir.resolve(FineTuner.METRICS_FILE));
            }
            Path report = work.resolve("report.html");
            Map<String, String> described = new LinkedHashMap<>(in.described());
            described.putAll(tuned.config());
            described.put("device", chosen.device().toString());
            FineTuneResult result = new FineTuneResult(tuned.classNames(), tuned.epochs(), tuned.bestEpoch(), tuned.test(), tuned.noiseAccuracy(),
                    tuned.fgsmAccuracy(), tuned.recallBefore(), tuned.recallAfter(), tuned.sourceAccuracyBefore(), tuned.sourceAccuracyAfter(),
                    comparisons, in.dataReport(), described, files);
            Map<String, List<String>> more = searchLines.isEmpty() ? Map.of() : Map.of("Hyperparameter search (validation set only)", searchLines);
            ReportWriter.write(result, in.title(), report, more);
            output.commit();
            summary(result, output.target());
            return 0;
        } catch (IOException | RuntimeException | Error e) {
            output.discard();
            throw e;
        }
    }

    /** The settings the search chose (lr, weight decay, schedule), so the from-scratch run gets the same budget. */
    private static FineTuneConfig configOf(FineTuneResult r, FineTuneConfig base) {
        Map<String, String> c = r.config();
        FineTuneConfig out = base;
        if (c.containsKey("lr")) out = out.lr(Float.parseFloat(c.get("lr")));
        if (c.containsKey("weight_decay")) out = out.weightDecay(Float.parseFloat(c.get("weight_decay")));
        return out;
    }

    private void summary(FineTuneResult r, Path dir) {
        stdout.printf(Locale.ROOT, "test accuracy %.1f%%, macro-F1 %.3f (best epoch %d of %d)%n", 100 * r.test().accuracy(), r.test().macroF1(),
                r.bestEpoch(), r.epochs().size());
        for (Map.Entry<String, ClassificationMetrics> c : r.comparisons().entrySet()) {
            stdout.printf(Locale.ROOT, "%s: test accuracy %.1f%% (fine-tuning gains %+.1f points)%n", c.getKey(), 100 * c.getValue().accuracy(),
                    100 * (r.test().accuracy() - c.getValue().accuracy()));
        }
        if (!Double.isNaN(r.sourceAccuracyBefore())) {
            stdout.printf(Locale.ROOT, "source task: accuracy %.1f%% before, %.1f%% after fine-tuning%n", 100 * r.sourceAccuracyBefore(), 100 * r.sourceAccuracyAfter());
        }
        stdout.println("wrote " + dir + "/ (model.onnx, best.safetensors, metrics.jsonl, report.html)");
        stdout.println("open " + dir.resolve("report.html").toUri() + " in a browser");
    }

    // ---- inputs ----

    private Inputs demoInputs(Path scratchDir) throws IOException {
        Path modelFile = FinetuneDemoBundle.extract(FinetuneDemoBundle.BASE_MODEL, scratchDir);
        OnnxModel onnx = OnnxModel.read(modelFile);
        SampleSet fewShot = FinetuneDemoBundle.load(FinetuneDemoBundle.FEW_SHOT, FinetuneDemoBundle.TARGET_CLASSES, scratchDir);
        SampleSet test = FinetuneDemoBundle.load(FinetuneDemoBundle.TEST, FinetuneDemoBundle.TARGET_CLASSES, scratchDir);
        SampleSet source = FinetuneDemoBundle.load(FinetuneDemoBundle.SOURCE, FinetuneDemoBundle.SOURCE_CLASSES, scratchDir);
        if (classes != 0 && classes != fewShot.data().classes()) throw new EmberException("the demo has 5 classes; --classes " + classes + " does not fit it");
        Splits.Split split = Splits.withTestSet(fewShot, test, valFraction, new Rng(seed));
        List<String> lines = new ArrayList<>();
        lines.add("embedded demo: base model = small CNN trained by ember on Fashion-MNIST classes 0-4 (" + String.join(", ", FinetuneDemoBundle.SOURCE_CLASSES) + ")");
        lines.add("few-shot training data: " + fewShot.size() + " Fashion-MNIST training images of classes 5-9, per class " + counts(fewShot) + " (deliberately imbalanced)");
        lines.add("split: " + split.train().size() + " train " + counts(split.train()) + ", " + split.val().size() + " validation " + counts(split.val()));
        lines.add("test: " + test.size() + " held-out Fashion-MNIST test images of classes 5-9, per class " + counts(test));
        lines.add("source-task evaluation: " + source.size() + " Fashion-MNIST test images of classes 0-4, scored with the original head");
        Map<String, String> described = new LinkedHashMap<>();
        described.put("model", "embedded demo base model (" + FinetuneDemoBundle.RESOURCE_DIR + FinetuneDemoBundle.BASE_MODEL + ")");
        described.put("data", "embedded few-shot Fashion-MNIST 5-9");
        described.put("classes", String.join(", ", fewShot.classNames()));
        return new Inputs("Fine-tuning demo: Fashion-MNIST 0-4 \u2192 5-9 (few-shot)", modelFile, onnx, split.train(), split.val(), split.test(), source, lines, described);
    }

    private Inputs userInputs() {
        if (!Files.exists(model)) throw new EmberException("--model " + model + ": no such file");
        OnnxModel onnx;
        try {
            onnx = OnnxModel.read(model);
        } catch (EmberException e) {
            throw new EmberException("--model " + model + " is not a readable ONNX model: " + oneLine(e), e);
        }
        long[] wanted = modelInput(onnx);   // (N, C, H, W) or (N, F); -1 where dynamic
        ImageSpec spec = wanted.length == 4 && wanted[1] > 0 && wanted[2] > 0 && wanted[3] > 0 && !noResize
                ? ImageSpec.of((int) wanted[1], (int) wanted[2], (int) wanted[3]) : ImageSpec.AS_FOUND;
        LoadOptions options = new LoadOptions(classes, spec, labelColumn, false);
        LoadResult train = DataSources.load(data, options);
        int[] found = train.samples().data().inputs().dims();
        if (spec.isAsFound() && !noResize && wanted.length == 4 && found.length == 4 && wanted[1] > 0 && wanted[1] != found[1]) {
            // A model with a fixed channel count but free height and width (torchvision's resnet18): convert gray <-> RGB
            // and keep the data's own size.
            spec = ImageSpec.of((int) wanted[1], found[2], found[3]);
            train = DataSources.load(data, new LoadOptions(classes, spec, labelColumn, false));
        }
        checkLayout(wanted, train.samples(), data);
        List<String> lines = new ArrayList<>(train.report().lines());
        Rng rng = new Rng(seed);
        Splits.Split split;
        if (test != null) {
            LoadResult t = DataSources.load(test, new LoadOptions(train.samples().data().classes(), spec, labelColumn, false));
            checkLayout(wanted, t.samples(), test);
            lines.addAll(t.report().lines());
            split = Splits.withTestSet(train.samples(), t.samples(), valFraction, rng);
        } else {
            split = Splits.stratified(train.samples(), valFraction, testFraction, rng);
        }
        if (split.test().size() == 0) throw new EmberException("--data " + data + " is too small to hold out a test set; add --test or raise --test-fraction");
        lines.add("split (seed " + seed + "): " + split.train().size() + " train " + counts(split.train()) + ", " + split.val().size() + " validation "
                + counts(split.val()) + ", " + split.test().size() + " test " + counts(split.test()));
        SampleSet source = null;
        if (sourceData != null) {
            int sourceClasses = (int) outputClasses(onnx);
            LoadResult s = DataSources.load(sourceData, new LoadOptions(sourceClasses, spec, labelColumn, false));
            checkLayout(wanted, s.samples(), sourceData);
            lines.add("source-task evaluation set: " + s.samples().size() + " samples (" + sourceData + ")");
            source = s.samples();
        }
        Map<String, String> described = new LinkedHashMap<>();
        described.put("model", model.toString());
        described.put("data", data.toString());
        if (test != null) described.put("test data", test.toString());
        if (sourceData != null) described.put("source data", sourceData.toString());
        described.put("classes", String.join(", ", split.train().classNames()));
        described.put("model input", Arrays.toString(wanted).replace("-1", "?") + (spec.isAsFound() ? "" : ", images converted to " + spec));
        return new Inputs("Fine-tuning report: " + model.getFileName(), model, onnx, split.train(), split.val(), split.test(), source, lines, described);
    }

    /** The model's input dims, -1 where dynamic; the graph must have one float input. */
    private long[] modelInput(OnnxModel onnx) {
        List<OnnxValueInfo> ins = onnx.graph().inputs();
        if (ins.size() != 1) throw new EmberException("--model " + model + " has " + ins.size() + " inputs; the launcher needs a classifier with exactly one");
        OnnxValueInfo in = ins.get(0);
        if (!in.hasShape()) return new long[0];
        long[] dims = new long[in.shape().size()];
        for (int i = 0; i < dims.length; i++) dims[i] = in.shape().get(i).isFixed() ? in.shape().get(i).value() : -1;
        return dims;
    }

    /** The original head's class count (the output's last dim), for the source-task set's labels. */
    private long outputClasses(OnnxModel onnx) {
        List<OnnxValueInfo> outs = onnx.graph().outputs();
        if (outs.size() == 1 && outs.get(0).hasShape() && !outs.get(0).shape().isEmpty() && outs.get(0).shape().getLast().isFixed()) {
            return outs.get(0).shape().getLast().value();
        }
        throw new EmberException("--source-data needs the model's class count, but " + model + " does not declare its output size");
    }

    /** The data's sample layout must be what the model's fixed input dims say (checked before training). */
    private void checkLayout(long[] wanted, SampleSet s, Path source) {
        int[] got = s.data().inputs().dims();   // (N, C, H, W) or (N, F)
        if (wanted.length == 0) return;
        if (wanted.length != got.length) {
            throw new EmberException("--model " + model + " takes inputs of rank " + wanted.length + " " + describe(wanted) + ", but " + source
                    + " holds samples of shape " + describe(got) + (got.length == 2 ? " (feature rows)" : " (images)"));
        }
        for (int i = 1; i < wanted.length; i++) {
            if (wanted[i] > 0 && wanted[i] != got[i]) {
                throw new EmberException("--model " + model + " wants inputs " + describe(wanted) + ", but " + source + " holds samples of shape "
                        + describe(got) + (noResize && got.length == 4 ? " (drop --no-resize to convert the images)" : ""));
            }
        }
    }

    /** One sample through the new model, before any folder is written: a shape the graph cannot take fails here. */
    private void checkFits(TunableModel m, Inputs in) {
        SampleSet one = in.train().select(new int[] {0});
        try (NoGrad g = NoGrad.enter()) {
            m.model().eval();
            Variable y = m.model().forward(Variable.of(one.data().inputs()));
            if (y.data().rank() != 2 || y.data().dim(1) != in.train().data().classes()) {
                throw new EmberException("the model with its new head gives outputs of shape " + y.data().shape() + " for one sample, expected (1, "
                        + in.train().data().classes() + ")");
            }
        } catch (EmberException e) {
            throw new EmberException("model " + in.modelFile().getFileName() + " cannot take the data's samples of shape "
                    + one.data().inputs().shape() + ": " + oneLine(e), e);
        } finally {
            m.model().train();
        }
    }

    private static String describe(long[] dims) {
        StringBuilder b = new StringBuilder("(");
        for (int i = 0; i < dims.length; i++) b.append(i == 0 ? "" : ", ").append(i == 0 ? "N" : dims[i] < 0 ? "?" : Long.toString(dims[i]));
        return b.append(")").toString();
    }

    private static String describe(int[] dims) {
        long[] l = new long[dims.length];
        for (int i = 0; i < dims.length; i++) l[i] = dims[i];
        return describe(l);
    }

    private static String counts(SampleSet s) { return Arrays.toString(s.classCounts()); }

    // ---- options ----

    private void applyDemoPreset() {
        CommandLine.ParseResult given = spec.commandLine().getParseResult();
        for (Map.Entry<String, String> e : DEMO_PRESET.entrySet()) {
            if (!given.hasMatchedOption(e.getKey())) spec.findOption(e.getKey()).setValue(spec.findOption(e.getKey()).typeInfo().getType() == String.class
                    ? e.getValue() : convert(spec.findOption(e.getKey()).typeInfo().getType(), e.getValue()));
        }
    }

    private static Object convert(Class<?> type, String value) {
        if (type == int.class) return Integer.parseInt(value);
        if (type == float.class) return Float.parseFloat(value);
        throw new IllegalStateException("no conversion to " + type);
    }

    private FineTuneConfig config() {
        if (valFraction <= 0 || valFraction >= 1) throw new EmberException("--val-fraction must be in (0, 1), got " + valFraction);
        if (testFraction < 0 || testFraction >= 1 || valFraction + testFraction >= 1) {
            throw new EmberException("--test-fraction must be in [0, 1) and leave room for training (--val-fraction + --test-fraction < 1), got " + testFraction);
        }
        if (classes < 0) throw new EmberException("--classes must be >= 0 (0 = from the data), got " + classes);
        HyperSearch.Schedule schedule = schedule(unfreeze, "--unfreeze");
        FineTuneConfig.OptimizerKind opt = switch (optimizer.toLowerCase(Locale.ROOT)) {
            case "adamw" -> FineTuneConfig.OptimizerKind.ADAMW;
            case "adam" -> FineTuneConfig.OptimizerKind.ADAM;
            case "sgd" -> FineTuneConfig.OptimizerKind.SGD;
            default -> throw new EmberException("--optimizer must be adamw, adam or sgd, got '" + optimizer + "'");
        };
        require(epochs >= 1, "--epochs must be >= 1, got " + epochs);
        require(batch >= 1, "--batch must be >= 1, got " + batch);
        require(lr > 0 && Float.isFinite(lr), "--lr must be > 0, got " + lr);
        require(weightDecay >= 0, "--weight-decay must be >= 0, got " + weightDecay);
        require(lrFactor > 0 && lrFactor <= 1, "--lr-factor must be in (0, 1], got " + lrFactor);
        require(patience >= 1, "--patience must be >= 1, got " + patience);
        require(trials >= 1, "--trials must be >= 1, got " + trials);
        FineTuneConfig.StopMetric stop = switch (stopMetric.toLowerCase(Locale.ROOT)) {
            case "macro-f1" -> FineTuneConfig.StopMetric.MACRO_F1;
            case "accuracy" -> FineTuneConfig.StopMetric.ACCURACY;
            case "loss" -> FineTuneConfig.StopMetric.LOSS;
            default -> throw new EmberException("--stop-metric must be macro-f1, accuracy or loss, got '" + stopMetric + "'");
        };
        return FineTuneConfig.defaults().stopMetric(stop).epochs(epochs).batchSize(batch).optimizer(opt).lr(lr).weightDecay(weightDecay)
                .unfreeze(schedule.mode(), schedule.every()).lrFactor(lrFactor).patience(patience).balance(balanceSpec(balance))
                .augment(augment).seed(seed);
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new EmberException(message);
    }

    /** Our --balance names to the recipe's spec: {@code effective[:B]} is {@code weighted-effective[:B]}. */
    static String balanceSpec(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        String spec = t.equals("effective") || t.startsWith("effective:") ? "weighted-" + t : t;
        try {
            Balance.parse(spec);
        } catch (RuntimeException e) {
            throw new EmberException("--balance must be none, weighted, effective[:BETA], focal[:GAMMA], oversample or undersample, got '" + s + "'", e);
        }
        return spec;
    }

    private static HyperSearch.Schedule schedule(String s, String option) {
        try {
            HyperSearch.Schedule sc = HyperSearch.Schedule.parse(s);
            if (sc.every() < 1) throw new IllegalArgumentException("K < 1");
            return sc;
        } catch (RuntimeException e) {
            throw new EmberException(option + " must be head, all or gradual[:K] with K >= 1, got '" + s + "'", e);
        }
    }

    private List<FineTuneConfig> searchCandidates(FineTuneConfig base) {
        if (search == null) return List.of();
        List<HyperSearch.Schedule> schedules = new ArrayList<>();
        for (String s : searchUnfreeze) schedules.add(schedule(s, "--search-unfreeze"));
        HyperSearch.Space space = new HyperSearch.Space(searchLr, searchWd, schedules);
        return switch (search.toLowerCase(Locale.ROOT)) {
            case "grid" -> space.grid(base);
            case "random" -> space.random(base, trials, seed);
            default -> throw new EmberException("--search must be grid or random, got '" + search + "'");
        };
    }

    /**
     * cpu, cuda[:N] or auto (cuda:0 when the driver loads and shows a device, else the CPU), as
     * {@link DeviceSelection}; a CUDA device that is not there is an error naming the option and saying why.
     */
    private DeviceSelection.Choice resolveDevice() {
        try {
            return DeviceSelection.resolve(device);
        } catch (EmberException e) {
            throw new EmberException("--device " + device + ": " + e.getMessage());
        }
    }
}
