package dev.ember.finetune.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.loaders.DataFormatException;
import dev.ember.loaders.data.FashionMnist;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxSourceTest {
    @TempDir Path dir;

    /** Writes an IDX ubyte file of {@code dims} holding {@code data}, gzip-compressed when the name ends in .gz. */
    static void idx(Path file, byte[] data, int... dims) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.write(new byte[] {0, 0, 0x08, (byte) dims.length});
        for (int d : dims) out.writeInt(d);
        out.write(data);
        try (OutputStream os = file.toString().endsWith(".gz") ? new GZIPOutputStream(Files.newOutputStream(file)) : Files.newOutputStream(file)) {
            os.write(bytes.toByteArray());
        }
    }

    /** Pair PREFIX: n images 2x2, image i all pixels 10 * i except image 3 = image 1; labels given. */
    private void pair(String prefix, byte[] labels) throws IOException {
        int n = labels.length;
        byte[] px = new byte[n * 4];
        for (int i = 0; i < n; i++) for (int j = 0; j < 4; j++) px[i * 4 + j] = (byte) (10 * (i == 3 ? 1 : i) + j);
        idx(dir.resolve(prefix + "-images-idx3-ubyte"), px, n, 2, 2);
        idx(dir.resolve(prefix + "-labels-idx1-ubyte.gz"), labels, n);
    }

    @Test
    void foldersPrefixesAndFilesNameAPair() throws IOException {
        pair("train", new byte[] {0, 1, 2, 1, 0});
        pair("t10k", new byte[] {2, 2, 1});
        LoadResult train = DataSources.load(dir, 0, ImageSpec.AS_FOUND);
        SampleSet s = train.samples();
        // image 3 equals image 1 with the same label: removed
        assertEquals(List.of("train-images-idx3-ubyte#0", "train-images-idx3-ubyte#1", "train-images-idx3-ubyte#2", "train-images-idx3-ubyte#4"), s.sourceIds());
        assertEquals(List.of("train-images-idx3-ubyte#3 = train-images-idx3-ubyte#1"), train.report().duplicates().examples());
        assertEquals(List.of("0", "1", "2"), s.classNames());
        assertArrayEquals(new int[] {4, 1, 2, 2}, s.data().inputs().dims());
        assertEquals(13 / 255f, s.data().inputs().get(1, 0, 1, 1), 1e-7f);
        assertEquals("IDX", train.report().kind());

        assertEquals(3, DataSources.load(dir.resolve("t10k"), 3, ImageSpec.AS_FOUND).samples().size());
        assertEquals(3, DataSources.load(dir.resolve("t10k-labels-idx1-ubyte.gz"), 3, ImageSpec.AS_FOUND).samples().size());
        SampleSet rgb = DataSources.load(dir.resolve("t10k-images-idx3-ubyte"), 3, ImageSpec.of(3, 4, 4)).samples();
        assertArrayEquals(new int[] {3, 3, 4, 4}, rgb.data().inputs().dims());
        // upscaled 2x2 -> 4x4 with half-pixel centers: the corners keep the corner pixels
        assertEquals(3 / 255f, rgb.data().inputs().get(0, 2, 3, 3), 1e-7f);
        assertEquals(10 / 255f, rgb.data().inputs().get(1, 1, 0, 0), 1e-7f);
    }

    @Test
    void errorsNameThePairAndTheLabel() throws IOException {
        pair("train", new byte[] {0, 1, 12});
        assertEquals(dir.resolve("train-labels-idx1-ubyte.gz") + ": label 12 of sample 2 is outside --classes 10 (labels must be 0..9)",
                assertThrows(DataFormatException.class, () -> DataSources.load(dir, 10, ImageSpec.AS_FOUND)).getMessage());
        Files.delete(dir.resolve("train-labels-idx1-ubyte.gz"));
        assertTrue(assertThrows(DataFormatException.class, () -> DataSources.load(dir, 10, ImageSpec.AS_FOUND)).getMessage()
                .endsWith("train-labels-idx1-ubyte: missing: the labels file of the IDX pair 'train' (plain or .gz)"));
        pair("a", new byte[] {0});
        pair("b", new byte[] {0});
        Files.delete(dir.resolve("train-images-idx3-ubyte"));
        assertTrue(assertThrows(DataFormatException.class, () -> DataSources.load(dir, 0, ImageSpec.AS_FOUND)).getMessage()
                .contains("holds several IDX pairs [a, b] and none is 'train'"));
    }

    @Test
    void realFashionMnistTestSet() {
        Assumptions.assumeTrue(FashionMnist.isInstalled(FashionMnist.DEFAULT_DIR),
                "Fashion-MNIST not installed at " + FashionMnist.DEFAULT_DIR + " (apt-get install dataset-fashion-mnist); skipping");
        IdxSource.Pair chosen = IdxSource.find(FashionMnist.DEFAULT_DIR);
        assertNotNull(chosen);
        assertTrue(chosen.images().getFileName().toString().startsWith("train-images"));
        LoadResult r = DataSources.load(FashionMnist.DEFAULT_DIR.resolve("t10k"), 10, ImageSpec.AS_FOUND);
        DataReport report = r.report();
        assertEquals(10_000, r.samples().size() + report.duplicates().count());
        assertEquals(0, report.unreadable().count() + report.unlabeled().count());
        assertArrayEquals(new int[] {r.samples().size(), 1, 28, 28}, r.samples().data().inputs().dims());
        assertEquals(List.of(FashionMnist.CLASS_NAMES), r.samples().classNames());
        long total = 0;
        for (long c : r.samples().classCounts()) {
            assertTrue(c > 990 && c <= 1000, "about 1000 per class, got " + c);
            total += c;
        }
        assertEquals(r.samples().size(), total);
        System.out.println(String.join("\n", report.lines()));
    }
}
