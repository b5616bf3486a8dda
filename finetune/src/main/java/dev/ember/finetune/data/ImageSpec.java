package dev.ember.finetune.data;

/**
 * The image layout a model wants: {@code channels} (1 gray or 3 RGB) and {@code height} x {@code width}.
 * Loaded images that differ are converted to it: RGB to gray by ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B,
 * as PIL's {@code convert("L")}), gray to RGB by copying the gray value into each channel, and a different size by
 * bilinear resampling with half-pixel centers (PyTorch's {@code interpolate(mode="bilinear", align_corners=False)},
 * no antialiasing). {@link #AS_FOUND} keeps the layout of the first image read (IDX: the file's) and converts the
 * others to it. CSV features ignore the spec.
 */
public record ImageSpec(int channels, int height, int width) {
    /** Keep the layout of the data (the first image of a folder sets it for the rest). */
    public static final ImageSpec AS_FOUND = new ImageSpec(0, 0, 0);

    public ImageSpec {
        boolean asFound = channels == 0 && height == 0 && width == 0;
        if (!asFound && (channels != 1 && channels != 3 || height < 1 || width < 1)) {
            throw new IllegalArgumentException("image spec must have 1 or 3 channels and a positive size, got " + channels + "x" + height + "x" + width);
        }
    }

    public static ImageSpec of(int channels, int height, int width) { return new ImageSpec(channels, height, width); }

    public boolean isAsFound() { return channels == 0; }

    @Override public String toString() { return isAsFound() ? "as found" : channels + "x" + height + "x" + width; }
}
