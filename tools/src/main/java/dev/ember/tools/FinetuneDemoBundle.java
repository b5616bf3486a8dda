package dev.ember.tools;

import dev.ember.engine.CpuStorage;
import dev.ember.engine.DType;
import dev.ember.engine.EmberException;
import dev.ember.engine.Tensor;
import dev.ember.finetune.data.SampleSet;
import dev.ember.loaders.checkpoint.AtomicFile;
import dev.ember.loaders.data.Idx;
import dev.ember.loaders.data.LabeledData;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;

/**
 * The embedded demo's files, shipped in the jar under {@value #RESOURCE_DIR} and written by
 * {@link FinetuneBaseModel} ({@code tools/train-base-model}):
 * <ul>
 *   <li>{@value #BASE_MODEL}: the small CNN of baselines.md with a 5-way head, trained on Fashion-MNIST's training
 *       images of classes 0-4 (each at four quarter turns with a joint class-and-rotation label; the upright head kept);</li>
 *   <li>{@value #FEW_SHOT}: an imbalanced few-shot set of classes 5-9 from the training images (labels 0-4 there);</li>
 *   <li>{@value #TEST}: held-out images of classes 5-9 from the test images (labels 0-4);</li>
 *   <li>{@value #SOURCE}: images of classes 0-4 from the test images, to measure what the model forgets.</li>
 * </ul>
 * Each set is two gzip IDX files, {@code NAME-images-idx3-ubyte.gz} (N, 28, 28) and {@code NAME-labels-idx1-ubyte.gz}
 * (N); pixels become float32 in [0, 1], shape (N, 1, 28, 28).
 */
final class FinetuneDemoBundle {
    static final String RESOURCE_DIR = "/dev/ember/tools/finetune-demo/";
    static final String BASE_MODEL = "base-model.onnx";
    static final String FEW_SHOT = "fewshot-5-9";
    static final String TEST = "test-5-9";
    static final String SOURCE = "source-0-4";

    /** Fashion-MNIST's class names of the source task (0-4) and of the demo's target task (5-9). */
    static final List<String> SOURCE_CLASSES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat");
    static final List<String> TARGET_CLASSES = List.of("Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");

    private FinetuneDemoBundle() {}

    /** Copies resource {@code name} of the bundle to {@code dir} and returns the file. */
    static Path extract(String name, Path dir) throws IOException {
        try (InputStream in = FinetuneDemoBundle.class.getResourceAsStream(RESOURCE_DIR + name)) {
            if (in == null) {
                throw new EmberException("the embedded demo file " + RESOURCE_DIR + name + " is missing from the jar; rebuild it with tools/train-base-model");
            }
            Path file = dir.resolve(name);
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            return file;
        }
    }

    /** Reads the bundled set {@code set} (one of {@link #FEW_SHOT}, {@link #TEST}, {@link #SOURCE}) via a scratch folder. */
    static SampleSet load(String set, List<String> classNames, Path scratch) throws IOException {
        Path images = extract(imagesFile(set), scratch);
        Path labels = extract(labelsFile(set), scratch);
        return read(images, labels, classNames, set);
    }

    /** Reads one image/label IDX pair as float32 (N, 1, H, W) in [0, 1]; source ids are {@code SET#index}. */
    static SampleSet read(Path images, Path labels, List<String> classNames, String set) {
        Tensor img = Idx.read(images);   // (N, H, W) uint8
        Tensor lab = Idx.read(labels);   // (N) uint8
        if (img.dtype() != DType.UINT8 || img.rank() != 3 || lab.dtype() != DType.UINT8 || lab.rank() != 1 || img.dim(0) != lab.dim(0)) {
            throw new EmberException("bundled set " + set + " is malformed: images " + img.dtype() + " " + img.shape()
                    + ", labels " + lab.dtype() + " " + lab.shape());
        }
        byte[] px = ((CpuStorage) img.storage()).bytes();
        float[] x = new float[px.length];
        for (int i = 0; i < px.length; i++) x[i] = (px[i] & 0xFF) / 255f;
        byte[] ly = ((CpuStorage) lab.storage()).bytes();
        long[] y = new long[ly.length];
        for (int i = 0; i < ly.length; i++) y[i] = ly[i] & 0xFF;
        int n = img.dim(0);
        List<String> ids = new ArrayList<>(n);
        for (int i = 0; i < n; i++) ids.add(set + "#" + i);
        LabeledData data = new LabeledData(Tensor.of(x, n, 1, img.dim(1), img.dim(2)), Tensor.ofLongs(y, n), classNames.size());
        return new SampleSet(data, classNames, ids);
    }

    static String imagesFile(String set) { return set + "-images-idx3-ubyte.gz"; }

    static String labelsFile(String set) { return set + "-labels-idx1-ubyte.gz"; }

    /** Writes a gzip IDX file of unsigned bytes with the given dims (big-endian sizes, row-major data), atomically. */
    static void writeIdx(Path file, byte[] data, int... dims) throws IOException {
        long n = 1;
        for (int d : dims) n *= d;
        if (n != data.length) throw new EmberException("IDX " + file + ": " + data.length + " bytes for dims " + java.util.Arrays.toString(dims));
        AtomicFile.write(file, out -> {
            GZIPOutputStream gz = new GZIPOutputStream(out);
            DataOutputStream d = new DataOutputStream(gz);
            d.writeByte(0);
            d.writeByte(0);
            d.writeByte(0x08);
            d.writeByte(dims.length);
            for (int dim : dims) d.writeInt(dim);
            d.write(data);
            d.flush();
            gz.finish();
        });
    }
}
