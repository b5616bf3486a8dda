package dev.ember.loaders.data;

import dev.ember.engine.CpuStorage;
import dev.ember.engine.DType;
import dev.ember.engine.Tensor;
import dev.ember.loaders.DataFormatException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Fashion-MNIST (and MNIST) from its four IDX files, as Debian's {@code dataset-fashion-mnist} installs them.
 * Images become float32 (N, 1, 28, 28) scaled to [0, 1]; labels int64.
 */
public final class FashionMnist {
    /** Where {@code apt-get install dataset-fashion-mnist} puts the files. */
    public static final Path DEFAULT_DIR = Path.of("/usr/share/datasets/fashion-mnist");

    public static final String[] CLASS_NAMES = {
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"
    };

    private FashionMnist() {}

    public static boolean isInstalled(Path dir) {
        return find(dir, "train-images-idx3-ubyte") != null && find(dir, "t10k-labels-idx1-ubyte") != null;
    }

    public static LabeledData train(Path dir) { return load(dir, "train"); }

    public static LabeledData test(Path dir) { return load(dir, "t10k"); }

    private static LabeledData load(Path dir, String prefix) {
        Path images = require(dir, prefix + "-images-idx3-ubyte");
        Path labels = require(dir, prefix + "-labels-idx1-ubyte");
        Tensor img = Idx.read(images);
        Tensor lab = Idx.read(labels);
        if (img.dtype() != DType.UINT8 || img.rank() != 3) throw new DataFormatException(images, "expected uint8 images (N, H, W), got " + img.dtype() + " " + img.shape());
        if (lab.dtype() != DType.UINT8 || lab.rank() != 1) throw new DataFormatException(labels, "expected uint8 labels (N), got " + lab.dtype() + " " + lab.shape());
        if (img.dim(0) != lab.dim(0)) throw new DataFormatException(labels, lab.dim(0) + " labels for " + img.dim(0) + " images in " + images.getFileName());
        byte[] px = ((CpuStorage) img.storage()).bytes();
        float[] x = new float[px.length];
        for (int i = 0; i < px.length; i++) x[i] = (px[i] & 0xFF) / 255f;
        byte[] ly = ((CpuStorage) lab.storage()).bytes();
        long[] y = new long[ly.length];
        for (int i = 0; i < ly.length; i++) {
            y[i] = ly[i] & 0xFF;
            if (y[i] >= 10) throw new DataFormatException(labels, "label " + y[i] + " of sample " + i + " is outside 0..9");
        }
        return new LabeledData(Tensor.of(x, img.dim(0), 1, img.dim(1), img.dim(2)), Tensor.ofLongs(y, y.length), 10);
    }

    private static Path require(Path dir, String stem) {
        Path p = find(dir, stem);
        if (p == null) {
            throw new DataFormatException(dir.resolve(stem), "missing (looked for " + stem + " and " + stem + ".gz in " + dir
                    + "; on Debian: apt-get install dataset-fashion-mnist)");
        }
        return p;
    }

    private static Path find(Path dir, String stem) {
        for (String name : new String[] {stem, stem + ".gz"}) {
            Path p = dir.resolve(name);
            if (Files.isRegularFile(p)) return p;
        }
        return null;
    }
}
