package dev.ember.finetune.data;

import dev.ember.loaders.DataFormatException;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/**
 * An image folder: one sub-folder per class (files inside it, at any depth, belong to the class), images read
 * through {@code javax.imageio} (PNG, JPEG, BMP, GIF). Classes are the sub-folders sorted by name, label = index;
 * when every sub-folder name is a whole number ("0", "7", "12") that number is the label instead.
 *
 * <p>Files whose names start with '.' are ignored (with a note). A file without an image extension, or one that
 * does not decode, is unreadable; an image at the root belongs to no class and is unlabeled; both are dropped and
 * reported, or an error in strict mode. A class folder left with no image is an error (an empty class).
 */
final class ImageFolderSource {
    private static final List<String> EXTENSIONS = List.of("png", "jpg", "jpeg", "bmp", "gif");

    private ImageFolderSource() {}

    static RawSamples read(Path root, LoadOptions options, ReportBuilder report) {
        List<Path> classDirs = new ArrayList<>();
        int hidden = 0, otherRootFiles = 0;
        String otherRootExample = null;
        for (Path p : sortedChildren(root)) {
            String name = p.getFileName().toString();
            if (name.startsWith(".")) {
                hidden++;
            } else if (Files.isDirectory(p)) {
                classDirs.add(p);
            } else if (isImageName(name)) {
                unlabeled(p, "an image at the folder root belongs to no class; put it in a class sub-folder", options, report);
            } else {
                otherRootFiles++;
                if (otherRootExample == null) otherRootExample = name;
            }
        }
        if (classDirs.isEmpty()) {
            throw new DataFormatException(root, report.unlabeled.count == 0 ? "has no class sub-folders (expected one sub-folder of images per class)"
                    : "has no class sub-folders (expected one per class); its " + report.unlabeled.count + " images at the root have no label");
        }
        if (otherRootFiles > 0) report.notes.add("ignored " + otherRootFiles + " non-image file(s) at the root, e.g. " + otherRootExample);

        List<String> names = classDirs.stream().map(p -> p.getFileName().toString()).toList();
        int[] labelOf = labels(root, names, options.expectedClasses());
        int classes = options.expectedClasses() > 0 ? options.expectedClasses() : max(labelOf) + 1;
        List<String> classNames = new ArrayList<>();
        for (int c = 0; c < classes; c++) classNames.add(Integer.toString(c));
        for (int k = 0; k < names.size(); k++) classNames.set(labelOf[k], names.get(k));

        List<float[]> inputs = new ArrayList<>();
        List<Long> labels = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        ImageSpec spec = options.spec();
        int converted = 0, resized = 0;
        String resizedFrom = null;
        for (int k = 0; k < classDirs.size(); k++) {
            int before = inputs.size();
            for (Path file : filesUnder(classDirs.get(k))) {
                String name = file.getFileName().toString();
                if (hiddenUnder(classDirs.get(k), file)) {
                    hidden++;
                    continue;
                }
                if (!isImageName(name)) {
                    unreadable(file, "not an image file (expected .png, .jpg, .jpeg, .bmp or .gif)", options, report);
                    continue;
                }
                BufferedImage img = decode(file);
                if (img == null) {
                    unreadable(file, "cannot be decoded as an image", options, report);
                    continue;
                }
                int c = grayLike(img) ? 1 : 3, h = img.getHeight(), w = img.getWidth();
                if (spec.isAsFound()) spec = ImageSpec.of(c, h, w);
                float[] x = planes(img, c);   // x (C, H, W)
                if (c != spec.channels()) {
                    x = ImageOps.convertChannels(x, c, h, w, spec.channels());
                    converted++;
                }
                if (h != spec.height() || w != spec.width()) {
                    x = ImageOps.resize(x, spec.channels(), h, w, spec.height(), spec.width());
                    if (resized++ == 0) resizedFrom = h + "x" + w;
                }
                inputs.add(x);
                labels.add((long) labelOf[k]);
                ids.add(root.relativize(file).toString());
            }
            if (inputs.size() == before) {
                throw new DataFormatException(classDirs.get(k), "class '" + names.get(k) + "' has no readable images (an empty class)");
            }
        }
        if (hidden > 0) report.notes.add("ignored " + hidden + " hidden file(s) or folder(s) (names starting with '.')");
        if (converted > 0) report.notes.add("converted " + converted + " image(s) to " + (spec.channels() == 1 ? "gray" : "RGB"));
        if (resized > 0) report.notes.add("resized " + resized + " image(s) to " + spec.height() + "x" + spec.width() + " (bilinear), e.g. from " + resizedFrom);
        long[] y = labels.stream().mapToLong(Long::longValue).toArray();
        return new RawSamples(inputs, y, ids, new int[] {spec.channels(), spec.height(), spec.width()}, classNames);
    }

    /** Label per class folder: its index in name order, or its number when every name is a whole number. */
    private static int[] labels(Path root, List<String> names, int expected) {
        int[] out = new int[names.size()];
        boolean numeric = names.stream().allMatch(n -> n.matches("[0-9]{1,9}"));
        for (int k = 0; k < names.size(); k++) out[k] = numeric ? Integer.parseInt(names.get(k)) : k;
        if (numeric) {
            List<Integer> seen = new ArrayList<>();
            for (int k = 0; k < names.size(); k++) {
                if (seen.contains(out[k])) throw new DataFormatException(root, "class folders '" + names.get(seen.indexOf(out[k])) + "' and '" + names.get(k) + "' are both class " + out[k]);
                seen.add(out[k]);
                if (expected > 0 && out[k] >= expected) {
                    throw new DataFormatException(root.resolve(names.get(k)), "class folder '" + names.get(k) + "' is label " + out[k] + ", outside --classes " + expected + " (labels must be 0.." + (expected - 1) + ")");
                }
            }
        } else if (expected > 0 && names.size() != expected) {
            throw new DataFormatException(root, "has " + names.size() + " class folders " + names + " but --classes is " + expected);
        }
        return out;
    }

    private static int max(int[] a) {
        int m = 0;
        for (int v : a) m = Math.max(m, v);
        return m;
    }

    private static boolean isImageName(String name) {
        int dot = name.lastIndexOf('.');
        return dot > 0 && EXTENSIONS.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT));
    }

    private static boolean hiddenUnder(Path classDir, Path file) {
        for (Path part : classDir.relativize(file)) {
            if (part.toString().startsWith(".")) return true;
        }
        return false;
    }

    /** The decoded image, or null when no reader accepts the file or decoding fails. */
    private static BufferedImage decode(Path file) {
        try {
            return ImageIO.read(file.toFile());
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** One color component and no palette: read as gray from the raster (getRGB would apply a gamma to it). */
    private static boolean grayLike(BufferedImage img) {
        return img.getColorModel().getNumColorComponents() == 1 && !(img.getColorModel() instanceof IndexColorModel);
    }

    /** The image as planes (C, H, W) in [0, 1]; alpha is ignored. */
    private static float[] planes(BufferedImage img, int c) {
        int h = img.getHeight(), w = img.getWidth();
        float[] x = new float[c * h * w];
        if (c == 1) {
            Raster r = img.getRaster();
            float max = (1 << r.getSampleModel().getSampleSize(0)) - 1;
            for (int y = 0; y < h; y++) {
                for (int i = 0; i < w; i++) x[y * w + i] = r.getSample(i, y, 0) / max;
            }
        } else {
            for (int y = 0; y < h; y++) {
                for (int i = 0; i < w; i++) {
                    int rgb = img.getRGB(i, y);
                    x[y * w + i] = ((rgb >> 16) & 0xFF) / 255f;
                    x[h * w + y * w + i] = ((rgb >> 8) & 0xFF) / 255f;
                    x[2 * h * w + y * w + i] = (rgb & 0xFF) / 255f;
                }
            }
        }
        return x;
    }

    private static void unreadable(Path file, String why, LoadOptions options, ReportBuilder report) {
        if (options.strict()) throw new DataFormatException(file, why);
        report.unreadable.add(file + " (" + why.split(" \\(")[0] + ")");
    }

    private static void unlabeled(Path file, String why, LoadOptions options, ReportBuilder report) {
        if (options.strict()) throw new DataFormatException(file, why);
        report.unlabeled.add(file.toString());
    }

    private static List<Path> sortedChildren(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        } catch (IOException e) {
            throw new DataFormatException(dir, "cannot list the folder: " + e.getMessage(), e);
        }
    }

    private static List<Path> filesUnder(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).sorted().toList();
        } catch (IOException e) {
            throw new DataFormatException(dir, "cannot list the folder: " + e.getMessage(), e);
        }
    }
}
