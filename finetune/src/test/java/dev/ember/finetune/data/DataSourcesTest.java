package dev.ember.finetune.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.loaders.DataFormatException;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Image folders and error messages; CSV and IDX sources have their own tests. */
class DataSourcesTest {
    @TempDir Path dir;

    /** A gray image h x w whose pixel (y, x) is (seed + y * w + x) mod 256. */
    static Path gray(Path file, int h, int w, int seed) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.getRaster().setSample(x, y, 0, (seed + y * w + x) % 256);
        return write(img, file);
    }

    /** A uniform RGB image. */
    static Path rgb(Path file, int h, int w, int r, int g, int b) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, (r << 16) | (g << 8) | b);
        return write(img, file);
    }

    private static Path write(BufferedImage img, Path file) throws IOException {
        Files.createDirectories(file.getParent());
        String name = file.getFileName().toString();
        assertTrue(ImageIO.write(img, name.substring(name.lastIndexOf('.') + 1), file.toFile()));
        return file;
    }

    /** cat: two gray 8x8 PNGs; dog: an RGB 16x16 PNG, a BMP, a text file and a corrupt PNG; one PNG at the root. */
    private Path folder() throws IOException {
        Path root = dir.resolve("pets");
        gray(root.resolve("cat/a.png"), 8, 8, 0);
        gray(root.resolve("cat/sub/b.png"), 8, 8, 100);
        rgb(root.resolve("dog/c.png"), 16, 16, 200, 100, 50);
        rgb(root.resolve("dog/d.bmp"), 8, 8, 10, 20, 30);
        Files.writeString(root.resolve("dog/notes.txt"), "not an image");
        Files.write(root.resolve("dog/broken.png"), new byte[] {1, 2, 3, 4});
        Files.writeString(root.resolve("dog/.DS_Store"), "hidden");
        gray(root.resolve("stray.png"), 8, 8, 7);
        Files.writeString(root.resolve("README.md"), "about the data");
        return root;
    }

    @Test
    void imageFolderConvertsResizesAndReports() throws IOException {
        LoadResult r = DataSources.load(folder(), 2, ImageSpec.of(1, 8, 8));
        SampleSet s = r.samples();
        assertEquals(List.of("cat", "dog"), s.classNames());
        assertEquals(List.of("cat/a.png", "cat/sub/b.png", "dog/c.png", "dog/d.bmp"), s.sourceIds());
        assertArrayEquals(new int[] {4, 1, 8, 8}, s.data().inputs().dims());
        assertArrayEquals(new long[] {0, 0, 1, 1}, s.data().labels().toLongArray());
        // gray read exactly from the raster
        assertEquals(9 / 255f, s.data().inputs().get(0, 0, 1, 1), 1e-7f);
        assertEquals((100 + 63) / 255f, s.data().inputs().get(1, 0, 7, 7), 1e-7f);
        // RGB to gray by BT.601 luma; a uniform 16x16 image resized to 8x8 stays uniform
        float luma = (0.299f * 200 + 0.587f * 100 + 0.114f * 50) / 255f;
        assertEquals(luma, s.data().inputs().get(2, 0, 0, 0), 1e-5f);
        assertEquals(luma, s.data().inputs().get(2, 0, 7, 3), 1e-5f);

        DataReport report = r.report();
        assertEquals("image folder", report.kind());
        assertEquals(2, report.unreadable().count());
        assertTrue(report.unreadable().examples().get(0).contains("broken.png (cannot be decoded as an image)"), report.unreadable().examples().toString());
        assertTrue(report.unreadable().examples().get(1).contains("notes.txt (not an image file)"));
        assertEquals(1, report.unlabeled().count());
        assertTrue(report.unlabeled().examples().getFirst().endsWith("stray.png"));
        assertEquals(3, report.dropped());
        String text = String.join("\n", report.lines());
        assertTrue(text.contains("4 samples in 2 classes"), text);
        assertTrue(text.contains("per class: cat 2, dog 2"), text);
        assertTrue(text.contains("unreadable, dropped: 2"), text);
        assertTrue(text.contains("converted 2 image(s) to gray"), text);
        assertTrue(text.contains("resized 1 image(s) to 8x8 (bilinear), e.g. from 16x16"), text);
        assertTrue(text.contains("ignored 1 hidden file"), text);
        assertTrue(text.contains("ignored 1 non-image file(s) at the root, e.g. README.md"), text);
    }

    @Test
    void asFoundTakesTheFirstImageAndGrayBecomesRgb() throws IOException {
        Path root = folder();
        SampleSet found = DataSources.load(root, 0, ImageSpec.AS_FOUND).samples();
        assertArrayEquals(new int[] {4, 1, 8, 8}, found.data().inputs().dims());
        SampleSet rgb = DataSources.load(root, 0, ImageSpec.of(3, 4, 4)).samples();
        assertArrayEquals(new int[] {4, 3, 4, 4}, rgb.data().inputs().dims());
        for (int c = 0; c < 3; c++) assertEquals(rgb.data().inputs().get(0, 0, 2, 2), rgb.data().inputs().get(0, c, 2, 2));
        assertEquals(200 / 255f, rgb.data().inputs().get(2, 0, 1, 1), 1e-6f);
        assertEquals(50 / 255f, rgb.data().inputs().get(2, 2, 1, 1), 1e-6f);
    }

    @Test
    void duplicatesAreRemovedAndConflictsKept() throws IOException {
        Path root = dir.resolve("dups");
        gray(root.resolve("a/1.png"), 4, 4, 0);
        gray(root.resolve("a/2.png"), 4, 4, 0);    // same as a/1: removed
        gray(root.resolve("a/3.png"), 4, 4, 50);
        gray(root.resolve("b/4.png"), 4, 4, 50);   // same as a/3 with another label: both kept
        gray(root.resolve("b/5.png"), 4, 4, 90);
        LoadResult r = DataSources.load(root, 0, ImageSpec.AS_FOUND);
        assertEquals(List.of("a/1.png", "a/3.png", "b/4.png", "b/5.png"), r.samples().sourceIds());
        assertEquals(new DataReport.Issue(1, List.of("a/2.png = a/1.png")), r.report().duplicates());
        assertEquals(new DataReport.Issue(1, List.of("a/3.png (a) = b/4.png (b)")), r.report().conflicting());
        assertTrue(String.join("\n", r.report().lines()).contains("conflicting labels (same content, different labels; all kept): 1 (a/3.png (a) = b/4.png (b))"));
    }

    @Test
    void numericClassFoldersAreTheirLabels() throws IOException {
        Path root = dir.resolve("digits");
        gray(root.resolve("2/x.png"), 4, 4, 1);
        gray(root.resolve("10/y.png"), 4, 4, 2);
        SampleSet s = DataSources.load(root, 12, ImageSpec.AS_FOUND).samples();
        assertEquals(12, s.data().classes());
        assertArrayEquals(new long[] {0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0}, s.classCounts());
        assertEquals("10", s.classNames().get(10));
        assertEquals(root.resolve("10") + ": class folder '10' is label 10, outside --classes 10 (labels must be 0..9)",
                assertThrows(DataFormatException.class, () -> DataSources.load(root, 10, ImageSpec.AS_FOUND)).getMessage());
    }

    @Test
    void badInputErrorsNameTheProblem() throws IOException {
        Path missing = dir.resolve("nope");
        assertEquals(missing + ": no such file or folder (expected an image folder, a .csv file or an IDX pair)",
                assertThrows(DataFormatException.class, () -> DataSources.load(missing, 0, ImageSpec.AS_FOUND)).getMessage());
        Path empty = Files.createDirectories(dir.resolve("empty"));
        assertTrue(assertThrows(DataFormatException.class, () -> DataSources.load(empty, 0, ImageSpec.AS_FOUND)).getMessage().endsWith("empty: is an empty folder (expected one sub-folder of images per class)"));

        Path root = dir.resolve("withEmptyClass");
        gray(root.resolve("full/a.png"), 4, 4, 0);
        Files.createDirectories(root.resolve("hollow"));
        Files.writeString(root.resolve("hollow/readme.txt"), "no images here");
        assertEquals(root.resolve("hollow") + ": class 'hollow' has no readable images (an empty class)",
                assertThrows(DataFormatException.class, () -> DataSources.load(root, 0, ImageSpec.AS_FOUND)).getMessage());

        Path two = dir.resolve("two");
        gray(two.resolve("x/a.png"), 4, 4, 0);
        gray(two.resolve("y/a.png"), 4, 4, 1);
        assertEquals(two + ": has 2 class folders [x, y] but --classes is 3",
                assertThrows(DataFormatException.class, () -> DataSources.load(two, 3, ImageSpec.AS_FOUND)).getMessage());

        Path flat = dir.resolve("flat");
        gray(flat.resolve("a.png"), 4, 4, 0);
        assertTrue(assertThrows(DataFormatException.class, () -> DataSources.load(flat, 0, ImageSpec.AS_FOUND)).getMessage().contains("has no class sub-folders"));

        Path text = Files.writeString(dir.resolve("data.json"), "{}");
        assertTrue(assertThrows(DataFormatException.class, () -> DataSources.load(text, 0, ImageSpec.AS_FOUND)).getMessage().contains("is not a data file we read"));
    }

    @Test
    void strictModeFailsOnTheFirstBadFile() throws IOException {
        Path root = folder();
        LoadOptions strict = LoadOptions.of(2, ImageSpec.AS_FOUND).withStrict(true);
        String message = assertThrows(DataFormatException.class, () -> DataSources.load(root, strict)).getMessage();
        assertEquals(root.resolve("stray.png") + ": an image at the folder root belongs to no class; put it in a class sub-folder", message);
        Files.delete(root.resolve("stray.png"));
        message = assertThrows(DataFormatException.class, () -> DataSources.load(root, strict)).getMessage();
        assertEquals(root.resolve("dog/broken.png") + ": cannot be decoded as an image", message);
        Files.delete(root.resolve("dog/broken.png"));
        message = assertThrows(DataFormatException.class, () -> DataSources.load(root, strict)).getMessage();
        assertEquals(root.resolve("dog/notes.txt") + ": not an image file (expected .png, .jpg, .jpeg, .bmp or .gif)", message);
    }
}
