package dev.ember.finetune.data;

import dev.ember.loaders.DataFormatException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Loads labeled data for fine-tuning from whatever {@code --data} names, cleans it, and reports what it did.
 *
 * <p>The kind is told from the path:
 * <ol>
 *   <li>an IDX pair ({@code PREFIX-images-idx3-ubyte[.gz]} + {@code PREFIX-labels-idx1-ubyte[.gz]}): a folder that
 *       holds one (its "train" pair when it has several, e.g. {@code /usr/share/datasets/fashion-mnist}), a prefix
 *       ({@code /usr/share/datasets/fashion-mnist/t10k}) or either file of the pair;</li>
 *   <li>a file ending in {@code .csv}: numeric features and a label column ({@link LoadOptions#labelColumn()});</li>
 *   <li>any other folder: an image folder, one sub-folder per class.</li>
 * </ol>
 * Then exact duplicates are removed (see {@link DataReport} for the rules) and the samples become a
 * {@link SampleSet}: images (N, C, H, W) in [0, 1] in the {@link ImageSpec}'s layout, CSV features (N, F).
 *
 * <p>Errors are {@link DataFormatException}s, one line naming the path (and line or class) and what was expected:
 * a missing path, an empty folder, a class folder with no readable image, a label outside {@code --classes},
 * no samples at all, and in strict mode any sample that would otherwise be dropped.
 */
public final class DataSources {
    private DataSources() {}

    /** {@link #load(Path, LoadOptions)} with the defaults: last CSV column as label, bad samples reported. */
    public static LoadResult load(Path source, int expectedClasses, ImageSpec spec) {
        return load(source, LoadOptions.of(expectedClasses, spec));
    }

    public static LoadResult load(Path source, LoadOptions options) {
        ReportBuilder report = new ReportBuilder();
        IdxSource.Pair idx = IdxSource.find(source);
        RawSamples raw;
        String kind;
        if (idx != null) {
            kind = "IDX";
            raw = IdxSource.read(idx, options, report);
        } else if (!Files.exists(source)) {
            throw new DataFormatException(source, "no such file or folder (expected an image folder, a .csv file or an IDX pair)");
        } else if (Files.isRegularFile(source)) {
            if (!source.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".csv")) {
                throw new DataFormatException(source, "is not a data file we read: expected a folder of class sub-folders, a .csv file or an IDX pair (*-images-idx3-ubyte[.gz])");
            }
            kind = "CSV";
            raw = CsvSource.read(source, options, report);
        } else {
            if (isEmpty(source)) throw new DataFormatException(source, "is an empty folder (expected one sub-folder of images per class)");
            kind = "image folder";
            raw = ImageFolderSource.read(source, options, report);
        }
        if (raw.size() == 0) throw new DataFormatException(source, "holds no samples");
        SampleSet samples = raw.toSampleSet(Deduplicate.keep(raw, report));
        return new LoadResult(samples, report.build(source.toString(), kind, samples));
    }

    private static boolean isEmpty(Path dir) {
        try (var entries = Files.list(dir)) {
            return entries.findAny().isEmpty();
        } catch (java.io.IOException e) {
            throw new DataFormatException(dir, "cannot list the folder: " + e.getMessage(), e);
        }
    }
}
