package dev.ember.finetune.data;

/**
 * How {@link DataSources#load(java.nio.file.Path, LoadOptions)} reads a source.
 *
 * @param expectedClasses the model's class count ({@code --classes}); 0 infers it from the data
 * @param spec            the image layout the model wants ({@link ImageSpec#AS_FOUND} keeps the data's)
 * @param labelColumn     CSV only: the label column's header name; null means the last column
 * @param strict          true turns every sample that would be dropped as unreadable or unlabeled (a non-image file,
 *                        a corrupt image, a CSV row with a bad number, an empty label, an image at the folder root)
 *                        into an error naming it; false (the default) drops it with a line in the {@link DataReport}
 */
public record LoadOptions(int expectedClasses, ImageSpec spec, String labelColumn, boolean strict) {
    public LoadOptions {
        if (expectedClasses < 0) throw new IllegalArgumentException("expected classes must be >= 0 (0 = infer), got " + expectedClasses);
        if (spec == null) spec = ImageSpec.AS_FOUND;
    }

    public static LoadOptions of(int expectedClasses, ImageSpec spec) { return new LoadOptions(expectedClasses, spec, null, false); }

    public LoadOptions withLabelColumn(String name) { return new LoadOptions(expectedClasses, spec, name, strict); }

    public LoadOptions withStrict(boolean strict) { return new LoadOptions(expectedClasses, spec, labelColumn, strict); }
}
