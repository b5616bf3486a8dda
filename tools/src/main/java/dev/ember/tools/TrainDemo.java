package dev.ember.tools;

import dev.ember.engine.BufferPool;
import dev.ember.engine.EmberException;
import dev.ember.engine.Rng;
import dev.ember.loaders.data.DataLoader;
import dev.ember.loaders.data.FashionMnist;
import dev.ember.loaders.data.LabeledData;
import dev.ember.nn.Module;
import dev.ember.nn.StateFile;
import dev.ember.optim.CosineWarmup;
import dev.ember.optim.LrSchedule;
import dev.ember.optim.Sgd;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The training demo (the main job until the {@code finetune} launcher lands): trains the MLP or the small CNN
 * of baselines.md on Fashion-MNIST with SGD + momentum and reports test accuracy after each epoch.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Trains a classifier on Fashion-MNIST with the ember engine and reports test accuracy.",
                "Same seed, same numbers: data order, initialization and kernels are deterministic."})
public final class TrainDemo implements Callable<Integer> {
    @Option(names = "--model", description = "mlp (784-512-256-10) or cnn (2 conv + 2 fc). Default: ${DEFAULT-VALUE}")
    String model = "mlp";

    @Option(names = "--epochs", description = "Passes over the training set. Default: ${DEFAULT-VALUE}")
    int epochs = 2;

    @Option(names = "--batch", description = "Batch size. Default: 128 (mlp), 64 (cnn)")
    Integer batch;

    @Option(names = "--lr", description = "Learning rate. Default: ${DEFAULT-VALUE}")
    float lr = 0.05f;

    @Option(names = "--momentum", description = "SGD momentum. Default: ${DEFAULT-VALUE}")
    float momentum = 0.9f;

    @Option(names = "--schedule", description = "Learning-rate schedule: cosine (decay to 0 over the run) or constant. Default: ${DEFAULT-VALUE}")
    String schedule = "cosine";

    @Option(names = "--seed", description = "Seed for initialization and data order. Default: ${DEFAULT-VALUE}")
    long seed = 42;

    @Option(names = "--train-limit", description = "Use only the first N training images (0 = all). Default: ${DEFAULT-VALUE}")
    int trainLimit = 0;

    @Option(names = "--data", description = "Folder with the four Fashion-MNIST IDX files. Default: ${DEFAULT-VALUE}")
    Path data = FashionMnist.DEFAULT_DIR;

    @Option(names = "--save", description = "Write the trained weights to this file (atomically).")
    Path save;

    /** What a run produced: every step's loss and the test accuracy after each epoch. */
    public record Result(List<Float> losses, double[] testAccuracy) {}

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The parser with our error handling: a typed error becomes one line on stderr and exit code 2. */
    static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new TrainDemo());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof EmberException || e instanceof java.io.IOException) {
                cmd.getErr().println("error: " + e.getMessage());
                return 2;
            }
            throw e;
        });
        return cli;
    }

    @Override public Integer call() throws Exception {
        if (!model.equals("mlp") && !model.equals("cnn")) throw new EmberException("--model must be mlp or cnn, got '" + model + "'");
        if (epochs < 1) throw new EmberException("--epochs must be >= 1, got " + epochs);
        if (!schedule.equals("cosine") && !schedule.equals("constant")) throw new EmberException("--schedule must be cosine or constant, got '" + schedule + "'");
        int b = batch != null ? batch : model.equals("mlp") ? 128 : 64;
        LabeledData train = FashionMnist.train(data);
        LabeledData test = FashionMnist.test(data);
        if (trainLimit > 0) train = train.head(trainLimit);
        System.out.printf(Locale.ROOT, "Fashion-MNIST: %d train / %d test images; model %s, batch %d, SGD lr %g momentum %g (%s), seed %d%n",
                train.size(), test.size(), model, b, lr, momentum, schedule, seed);
        Rng rng = new Rng(seed);
        Module net = model.equals("mlp") ? FashionMnistModels.mlp(rng.split()) : FashionMnistModels.cnn(rng.split());
        Result r = train(net, train, test, b, epochs, lr, momentum, schedule.equals("cosine"), rng.split(), true);
        if (save != null) {
            StateFile.write(save, net.stateDict());
            System.out.println("weights written to " + save);
        }
        System.out.printf(Locale.ROOT, "final test accuracy: %.2f%%%n", 100 * r.testAccuracy()[epochs - 1]);
        return 0;
    }

    /**
     * Trains {@code net} with SGD + momentum, the learning rate decaying by a cosine to 0 over the run when
     * {@code cosine}; {@code dataRng} fixes the shuffling. Evaluates on {@code test} (may be null) after each epoch.
     */
    public static Result train(Module net, LabeledData train, LabeledData test, int batch, int epochs, float lr, float momentum,
                               boolean cosine, Rng dataRng, boolean verbose) {
        Sgd opt = new Sgd(net.parameters(), Sgd.options(lr).momentum(momentum));
        DataLoader loader = new DataLoader(train, batch, true, dataRng);
        long totalSteps = (long) loader.batchCount() * epochs;
        LrSchedule sched = cosine ? new CosineWarmup(0, totalSteps, 0) : null;
        List<Float> losses = new java.util.ArrayList<>();
        double[] acc = new double[epochs];
        BufferPool testPool = new BufferPool();   // the test batches' arrays, kept from epoch to epoch
        for (int e = 0; e < epochs; e++) {
            long t0 = System.nanoTime();
            List<Float> epochLosses = ClassifierTraining.trainEpoch(net, loader, opt, sched, losses.size(), null);
            double secs = (System.nanoTime() - t0) / 1e9;
            losses.addAll(epochLosses);
            acc[e] = test == null ? Double.NaN : ClassifierTraining.accuracy(net, test, 500, testPool);
            if (verbose) {
                double mean = epochLosses.stream().mapToDouble(Float::doubleValue).average().orElse(Double.NaN);
                System.out.printf(Locale.ROOT, "epoch %d/%d  train loss %.4f  test accuracy %.2f%%  %.1f s (%.0f images/s, %.2f ms/step)%n",
                        e + 1, epochs, mean, 100 * acc[e], secs, train.size() / secs, 1000 * secs / Math.max(1, epochLosses.size()));
            }
        }
        return new Result(losses, acc);
    }
}
