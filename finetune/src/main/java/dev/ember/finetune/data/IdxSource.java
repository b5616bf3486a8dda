package dev.ember.finetune.data;

import dev.ember.engine.CpuStorage;
import dev.ember.engine.DType;
import dev.ember.engine.Tensor;
import dev.ember.loaders.DataFormatException;
import dev.ember.loaders.data.FashionMnist;
import dev.ember.loaders.data.Idx;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * An IDX pair {@code PREFIX-images-idx3-ubyte[.gz]} + {@code PREFIX-labels-idx1-ubyte[.gz]}, named by a folder
 * (the "train" pair when there is one, else the only pair), a prefix path ({@code .../fashion-mnist/t10k}) or
 * either file. Images (N, H, W) uint8 become (N, 1, H, W) in [0, 1], then the {@link ImageSpec}'s layout.
 * Class names are Fashion-MNIST's when the path mentions "fashion" and there are 10 classes, else "0", "1", ...
 */
final class IdxSource {
    static final String IMAGES = "-images-idx3-ubyte";
    static final String LABELS = "-labels-idx1-ubyte";

    /** The images and labels files of one pair. */
    record Pair(Path images, Path labels) {}

    private IdxSource() {}

    /** The pair {@code source} names, or null when it names none. */
    static Pair find(Path source) {
        if (Files.isDirectory(source)) {
            TreeSet<String> prefixes = prefixes(source);
            if (prefixes.isEmpty()) return null;
            String prefix = prefixes.contains("train") ? "train" : prefixes.size() == 1 ? prefixes.first() : null;
            if (prefix == null) throw new DataFormatException(source, "holds several IDX pairs " + prefixes + " and none is 'train': name one, e.g. " + source.resolve(prefixes.first()));
            return pair(source, prefix);
        }
        String name = source.getFileName() == null ? "" : source.getFileName().toString();
        Path dir = source.toAbsolutePath().getParent();
        for (String part : new String[] {IMAGES, LABELS}) {
            int at = name.indexOf(part);
            if (at > 0 && Files.isRegularFile(source)) return pair(dir, name.substring(0, at));
        }
        if (!Files.exists(source) && dir != null && file(dir, name + IMAGES) != null) return pair(dir, name);
        return null;
    }

    private static Pair pair(Path dir, String prefix) {
        Path images = file(dir, prefix + IMAGES), labels = file(dir, prefix + LABELS);
        if (images == null) throw new DataFormatException(dir.resolve(prefix + IMAGES), "missing: the images file of the IDX pair '" + prefix + "' (plain or .gz)");
        if (labels == null) throw new DataFormatException(dir.resolve(prefix + LABELS), "missing: the labels file of the IDX pair '" + prefix + "' (plain or .gz)");
        return new Pair(images, labels);
    }

    private static Path file(Path dir, String stem) {
        for (String name : new String[] {stem, stem + ".gz"}) {
            Path p = dir.resolve(name);
            if (Files.isRegularFile(p)) return p;
        }
        return null;
    }

    private static TreeSet<String> prefixes(Path dir) {
        TreeSet<String> out = new TreeSet<>();
        try (Stream<Path> files = Files.list(dir)) {
            files.map(p -> p.getFileName().toString()).filter(n -> n.contains(IMAGES)).forEach(n -> out.add(n.substring(0, n.indexOf(IMAGES))));
        } catch (IOException e) {
            throw new DataFormatException(dir, "cannot list the folder: " + e.getMessage(), e);
        }
        return out;
    }

    static RawSamples read(Pair pair, LoadOptions options, ReportBuilder report) {
        Tensor img = Idx.read(pair.images());
        Tensor lab = Idx.read(pair.labels());
        if (img.dtype() != DType.UINT8 || img.rank() != 3) throw new DataFormatException(pair.images(), "expected uint8 images (N, H, W), got " + img.dtype() + " " + img.shape());
        if (lab.dtype() != DType.UINT8 || lab.rank() != 1) throw new DataFormatException(pair.labels(), "expected uint8 labels (N), got " + lab.dtype() + " " + lab.shape());
        int n = img.dim(0), h = img.dim(1), w = img.dim(2);
        if (lab.dim(0) != n) throw new DataFormatException(pair.labels(), lab.dim(0) + " labels for " + n + " images in " + pair.images().getFileName());
        if (n == 0) throw new DataFormatException(pair.images(), "holds no samples");
        byte[] ly = ((CpuStorage) lab.storage()).bytes();
        long[] labels = new long[n];
        int classes = options.expectedClasses();
        long maxLabel = 0;
        for (int i = 0; i < n; i++) {
            labels[i] = ly[i] & 0xFF;
            if (classes > 0 && labels[i] >= classes) {
                throw new DataFormatException(pair.labels(), "label " + labels[i] + " of sample " + i + " is outside --classes " + classes + " (labels must be 0.." + (classes - 1) + ")");
            }
            maxLabel = Math.max(maxLabel, labels[i]);
        }
        if (classes == 0) classes = (int) maxLabel + 1;

        ImageSpec spec = options.spec().isAsFound() ? ImageSpec.of(1, h, w) : options.spec();
        byte[] px = ((CpuStorage) img.storage()).bytes();
        List<float[]> inputs = new ArrayList<>(n);
        List<String> ids = new ArrayList<>(n);
        String file = pair.images().getFileName().toString();
        for (int i = 0; i < n; i++) {
            float[] x = new float[h * w];   // x (1, H, W)
            for (int j = 0; j < x.length; j++) x[j] = (px[i * h * w + j] & 0xFF) / 255f;
            x = ImageOps.convertChannels(x, 1, h, w, spec.channels());
            if (spec.height() != h || spec.width() != w) x = ImageOps.resize(x, spec.channels(), h, w, spec.height(), spec.width());
            inputs.add(x);
            ids.add(file + "#" + i);
        }
        if (spec.channels() != 1) report.notes.add("converted " + n + " gray images to " + spec.channels() + " channels");
        if (spec.height() != h || spec.width() != w) report.notes.add("resized " + n + " images from " + h + "x" + w + " to " + spec.height() + "x" + spec.width() + " (bilinear)");
        return new RawSamples(inputs, labels, ids, new int[] {spec.channels(), spec.height(), spec.width()}, classNames(pair, classes));
    }

    private static List<String> classNames(Pair pair, int classes) {
        boolean fashion = pair.images().toAbsolutePath().toString().toLowerCase(Locale.ROOT).contains("fashion");
        List<String> names = new ArrayList<>();
        for (int c = 0; c < classes; c++) names.add(fashion && classes == FashionMnist.CLASS_NAMES.length ? FashionMnist.CLASS_NAMES[c] : Integer.toString(c));
        return names;
    }
}
