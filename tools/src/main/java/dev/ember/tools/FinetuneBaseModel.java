package dev.ember.tools;

import dev.ember.engine.CpuStorage;
import dev.ember.engine.EmberException;
import dev.ember.engine.Rng;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import dev.ember.loaders.data.FashionMnist;
import dev.ember.loaders.data.LabeledData;
import dev.ember.loaders.onnx.OnnxModel;
import dev.ember.loaders.onnx.export.OnnxExport;
import dev.ember.loaders.onnx.train.OnnxModule;
import dev.ember.nn.Linear;
import dev.ember.nn.Sequential;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Builds the embedded demo of the {@code finetune} launcher (run by {@code tools/train-base-model}): trains the small CNN
 * of baselines.md with a 5-way head on Fashion-MNIST's training images of classes 0-4, writes it as ONNX, and writes the
 * bundled data sets of {@link FinetuneDemoBundle}: an imbalanced few-shot set of classes 5-9 from the training images
 * (which the base model never saw), and held-out sets of classes 5-9 and 0-4 from the test images. Same seed, same files.
 *
 * <p>By default the base model learns a 20-way task: each source image at 0, 90, 180 and 270 degrees, labelled with its
 * class and its rotation, and only the upright head is kept. Telling a rotated coat from a rotated trouser takes shape
 * features that a 5-way task on upright tops can do without, and those carry over to shoes and bags (the README's
 * few-shot table, from {@code tools/fewshot-experiment}, compares the two base models).
 */
@Command(name = "train-base-model", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Trains the finetune demo's base model (small CNN, Fashion-MNIST classes 0-4) and writes it with the bundled data subsets."})
public final class FinetuneBaseModel implements Callable<Integer> {
    /** Few-shot training images per target class 5, 6, 7, 8, 9: deliberately imbalanced. */
    static final int[] FEW_SHOT_PER_CLASS = {50, 40, 30, 20, 10};

    @Option(names = "--data", description = "Folder with the four Fashion-MNIST IDX files. Default: ${DEFAULT-VALUE}")
    Path data = FashionMnist.DEFAULT_DIR;

    @Option(names = "--out", description = "Where the demo files go (the jar's resources). Default: ${DEFAULT-VALUE}")
    Path out = Path.of("tools/src/main/resources/dev/ember/tools/finetune-demo");

    @Option(names = "--epochs", description = "Training epochs of the base model. Default: ${DEFAULT-VALUE}")
    int epochs = 6;

    @Option(names = "--lr", description = "SGD learning rate (momentum 0.9, cosine decay). Default: ${DEFAULT-VALUE}")
    float lr = 0.05f;

    @Option(names = "--held-out-per-class", description = "Test images per class in the target and source evaluation sets. Default: ${DEFAULT-VALUE}")
    int heldOutPerClass = 200;

    @Option(names = "--seed", description = "Seed for initialization, data order and the subsets. Default: ${DEFAULT-VALUE}")
    long seed = 42;

    @Option(names = "--few-shot", split = ",", description = "Training images of classes 5..9 in the few-shot set. Default: 50,40,30,20,10")
    int[] fewShot = FEW_SHOT_PER_CLASS;

    @Option(names = "--rotation-labels", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = {"Train on each image at 0, 90, 180 and 270 degrees with a joint (class, rotation) label, 20 ways,",
                    "then keep the upright head: features that transfer further. --no-rotation-labels: 5 ways, upright only. Default: ${DEFAULT-VALUE}"})
    boolean rotationLabels = true;

    @Option(names = "--subsets-only", description = "Write only the data subsets, not the base model (for experiments beside the bundled model).")
    boolean subsetsOnly;

    public static void main(String[] args) {
        System.exit(new CommandLine(new FinetuneBaseModel()).execute(args));
    }

    @Override public Integer call() throws IOException {
        LabeledData train = FashionMnist.train(data);
        LabeledData test = FashionMnist.test(data);
        Files.createDirectories(out);
        Rng rng = new Rng(seed);
        if (fewShot.length != 5) throw new EmberException("--few-shot needs 5 counts (classes 5..9), got " + fewShot.length);
        if (subsetsOnly) {
            for (int i = 0; i < 4; i++) rng.split();   // the draws the base model takes, so default subsets match a full run's
            writeSubsets(train, test, rng);
            return 0;
        }

        LabeledData sourceTrain = relabel(train, 0, allOf(train, 0, 5, rng.split()));
        LabeledData sourceTest = relabel(test, 0, allOf(test, 0, 5, rng.split()));
        System.out.printf(Locale.ROOT, "base model: small CNN, 5 classes (Fashion-MNIST 0-4), %d training images, %d epochs%n",
                sourceTrain.size(), epochs);
        int ways = rotationLabels ? 5 * ROTATIONS : 5;
        Sequential net = FashionMnistModels.cnn(ways, rng.split());
        TrainDemo.Result r = rotationLabels
                ? TrainDemo.train(net, withRotations(sourceTrain), withRotations(sourceTest), 64, epochs, lr, 0.9f, true, rng.split(), true)
                : TrainDemo.train(net, sourceTrain, sourceTest, 64, epochs, lr, 0.9f, true, rng.split(), true);
        if (rotationLabels) keepUprightHead(net);
        Path model = out.resolve(FinetuneDemoBundle.BASE_MODEL);
        OnnxExport.write(net, Shape.of(1, 1, 28, 28), model);
        double reread = ClassifierTraining.accuracy(new OnnxModule(OnnxModel.read(model)), sourceTest, 500);
        if (rotationLabels) {
            System.out.printf(Locale.ROOT, "wrote %s: test accuracy on classes 0-4 %.2f%% (re-read from ONNX; 20-way class x rotation: %.2f%%)%n",
                    model, 100 * reread, 100 * r.testAccuracy()[epochs - 1]);
        } else {
            System.out.printf(Locale.ROOT, "wrote %s: test accuracy on classes 0-4 %.2f%% (re-read from ONNX: %.2f%%)%n",
                    model, 100 * r.testAccuracy()[epochs - 1], 100 * reread);
        }

        writeSubsets(train, test, rng);
        return 0;
    }

    private void writeSubsets(LabeledData train, LabeledData test, Rng rng) throws IOException {
        write(FinetuneDemoBundle.FEW_SHOT, train, 5, perClass(train, 5, fewShot, rng.split()));
        write(FinetuneDemoBundle.TEST, test, 5, perClass(test, 5, uniform(heldOutPerClass), rng.split()));
        write(FinetuneDemoBundle.SOURCE, test, 0, perClass(test, 0, uniform(heldOutPerClass), rng.split()));
    }

    static final int ROTATIONS = 4;

    /**
     * Each image at 0, 90, 180 and 270 degrees, labelled {@code class + 5 * quarterTurns}: one 20-way task whose
     * classes can only be told apart by shape and orientation (Lee et al., "Self-supervised label augmentation", 2020).
     */
    static LabeledData withRotations(LabeledData d) {
        int n = d.size(), side = 28, px = side * side;
        float[] x = d.inputs().toFloatArray();
        long[] y = d.labels().toLongArray();
        float[] rx = new float[ROTATIONS * n * px];
        long[] ry = new long[ROTATIONS * n];
        for (int k = 0; k < ROTATIONS; k++) {
            for (int i = 0; i < n; i++) {
                int src = i * px, dst = (k * n + i) * px;
                for (int r = 0; r < side; r++) {
                    for (int c = 0; c < side; c++) {
                        // (r, c) of the image turned k quarter turns counter-clockwise
                        int sr = r, sc = c;
                        for (int t = 0; t < k; t++) { int tmp = sr; sr = sc; sc = side - 1 - tmp; }
                        rx[dst + r * side + c] = x[src + sr * side + sc];
                    }
                }
                ry[k * n + i] = y[i] + 5L * k;
            }
        }
        return new LabeledData(Tensor.of(rx, ROTATIONS * n, 1, side, side), Tensor.ofLongs(ry, ROTATIONS * n), 5 * ROTATIONS);
    }

    /** Replaces the 20-way last layer with its 5 upright rows: the base model is a plain 5-way classifier again. */
    static void keepUprightHead(Sequential net) {
        int last = net.size() - 1;
        Linear wide = (Linear) net.get(last);
        Linear upright = new Linear(wide.inFeatures(), 5, new Rng(0));
        float[] w = wide.weight().data().toFloatArray(), b = wide.bias().data().toFloatArray();
        System.arraycopy(w, 0, ((CpuStorage) upright.weight().data().storage()).floats(), 0, 5 * wide.inFeatures());
        System.arraycopy(b, 0, ((CpuStorage) upright.bias().data().storage()).floats(), 0, 5);
        net.set(last, upright);
    }

    private static int[] uniform(int n) { return new int[] {n, n, n, n, n}; }

    /** Indices of every sample with a label in [first, first + count), in a seeded random order. */
    private static int[] allOf(LabeledData d, int first, int count, Rng rng) {
        long[] y = d.labels().toLongArray();
        return java.util.Arrays.stream(rng.permutation(d.size())).filter(i -> y[i] >= first && y[i] < first + count).toArray();
    }

    /** The first {@code counts[c]} samples of label {@code first + c} in a seeded random order, grouped by class. */
    private static int[] perClass(LabeledData d, int first, int[] counts, Rng rng) {
        long[] y = d.labels().toLongArray();
        int[] order = rng.permutation(d.size());
        int[] out = new int[java.util.Arrays.stream(counts).sum()];
        int k = 0;
        for (int c = 0; c < counts.length; c++) {
            int taken = 0;
            for (int i = 0; i < order.length && taken < counts[c]; i++) {
                if (y[order[i]] == first + c) {
                    out[k++] = order[i];
                    taken++;
                }
            }
            if (taken < counts[c]) throw new EmberException("only " + taken + " images of class " + (first + c) + ", wanted " + counts[c]);
        }
        return out;
    }

    /** The samples at {@code indices} with labels shifted down by {@code first}. */
    private static LabeledData relabel(LabeledData d, int first, int[] indices) {
        LabeledData s = d.select(indices);
        long[] y = s.labels().toLongArray();
        for (int i = 0; i < y.length; i++) y[i] -= first;
        return new LabeledData(s.inputs(), Tensor.ofLongs(y, y.length), 5);
    }

    private void write(String set, LabeledData d, int first, int[] indices) throws IOException {
        LabeledData s = relabel(d, first, indices);
        float[] x = ((CpuStorage) s.inputs().storage()).floats();
        byte[] px = new byte[x.length];
        for (int i = 0; i < x.length; i++) px[i] = (byte) Math.round(x[i] * 255f);
        long[] y = s.labels().toLongArray();
        byte[] ly = new byte[y.length];
        for (int i = 0; i < y.length; i++) ly[i] = (byte) y[i];
        FinetuneDemoBundle.writeIdx(out.resolve(FinetuneDemoBundle.imagesFile(set)), px, s.size(), 28, 28);
        FinetuneDemoBundle.writeIdx(out.resolve(FinetuneDemoBundle.labelsFile(set)), ly, s.size());
        long[] counts = new long[5];
        for (long v : y) counts[(int) v]++;
        System.out.printf(Locale.ROOT, "wrote %s: %d images of classes %d-%d, per class %s%n", set, s.size(), first, first + 4, java.util.Arrays.toString(counts));
    }
}
