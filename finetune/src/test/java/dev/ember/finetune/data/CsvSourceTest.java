package dev.ember.finetune.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.loaders.DataFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CsvSourceTest {
    @TempDir Path dir;

    private Path csv(String name, String... lines) throws IOException {
        return Files.writeString(dir.resolve(name), String.join("\n", lines) + "\n");
    }

    @Test
    void headerStringLabelsAndCleaning() throws IOException {
        Path file = csv("iris.csv",
                "length,width,species",     // 1 header
                "5.1,3.5,setosa",           // 2
                "7.0,3.2,versicolor",       // 3
                "6.3,x,virginica",          // 4 bad number
                "4.9,3.0,",                 // 5 empty label
                "",                         // 6 blank: skipped
                "5.1,3.5,setosa",           // 7 duplicate of 2
                "5.1,3.5,virginica",        // 8 conflicts with 2
                "1.0,2.0,3.0,setosa",       // 9 too many fields
                " \"6.4\" , 3.2 , versicolor");  // 10 quoted and spaced
        LoadResult r = DataSources.load(file, 0, ImageSpec.AS_FOUND);
        SampleSet s = r.samples();
        assertEquals(List.of("setosa", "versicolor", "virginica"), s.classNames());
        assertEquals(List.of("iris.csv:2", "iris.csv:3", "iris.csv:8", "iris.csv:10"), s.sourceIds());
        assertArrayEquals(new int[] {4, 2}, s.data().inputs().dims());
        assertArrayEquals(new float[] {5.1f, 3.5f, 7.0f, 3.2f, 5.1f, 3.5f, 6.4f, 3.2f}, s.data().inputs().toFloatArray());
        assertArrayEquals(new long[] {0, 1, 2, 1}, s.data().labels().toLongArray());
        DataReport report = r.report();
        assertEquals("CSV", report.kind());
        assertEquals(List.of("iris.csv:4 (column 'width': 'x' is not a number)", "iris.csv:9 (4 fields, expected 3)"), report.unreadable().examples());
        assertEquals(List.of("iris.csv:5 (empty label)"), report.unlabeled().examples());
        assertEquals(List.of("iris.csv:7 = iris.csv:2"), report.duplicates().examples());
        assertEquals(List.of("iris.csv:2 (setosa) = iris.csv:8 (virginica)"), report.conflicting().examples());
        assertEquals(4, report.dropped());
    }

    @Test
    void integerLabelsWithoutHeaderAndANamedLabelColumn() throws IOException {
        Path plain = csv("plain.csv", "0.5,1,3", "0.25,2,0");
        SampleSet s = DataSources.load(plain, 5, ImageSpec.AS_FOUND).samples();
        assertEquals(List.of("0", "1", "2", "3", "4"), s.classNames());
        assertArrayEquals(new long[] {3, 0}, s.data().labels().toLongArray());
        assertArrayEquals(new float[] {0.5f, 1, 0.25f, 2}, s.data().inputs().toFloatArray());

        Path named = csv("named.csv", "id,label,value", "1,b,10", "2,a,20");
        SampleSet n = DataSources.load(named, LoadOptions.of(0, null).withLabelColumn("label")).samples();
        assertEquals(List.of("a", "b"), n.classNames());
        assertArrayEquals(new long[] {1, 0}, n.data().labels().toLongArray());
        assertArrayEquals(new float[] {1, 10, 2, 20}, n.data().inputs().toFloatArray());
        assertEquals(named + ": has no label column 'target' in its header [id, label, value]",
                assertThrows(DataFormatException.class, () -> DataSources.load(named, LoadOptions.of(0, null).withLabelColumn("target"))).getMessage());
    }

    @Test
    void labelErrorsNameTheLine() throws IOException {
        Path file = csv("data.csv", "a,b,label", "1,2,3", "1,3,12", "2,2,1");
        assertEquals(file + ": label 12 at line 3 is outside --classes 10 (labels must be 0..9)",
                assertThrows(DataFormatException.class, () -> DataSources.load(file, 10, ImageSpec.AS_FOUND)).getMessage());
        Path names = csv("names.csv", "1,cat", "2,dog", "3,emu");
        assertEquals(names + ": has 3 distinct labels, more than --classes 2: label 'emu' at line 3 is class 2 of [cat, dog, emu]",
                assertThrows(DataFormatException.class, () -> DataSources.load(names, 2, ImageSpec.AS_FOUND)).getMessage());
        Path negative = csv("neg.csv", "1,0", "2,-1");
        assertTrue(assertThrows(DataFormatException.class, () -> DataSources.load(negative, 0, ImageSpec.AS_FOUND)).getMessage().contains("label -1 at line 2 is negative"));
        Path strict = csv("strict.csv", "a,b,label", "1,2,0", "1,oops,1");
        assertEquals(strict + ": line 3: column 'b': 'oops' is not a number",
                assertThrows(DataFormatException.class, () -> DataSources.load(strict, LoadOptions.of(0, null).withStrict(true))).getMessage());
        Path nothing = csv("nothing.csv", "a,b,label", "1,2,");
        assertEquals(nothing + ": has no usable rows (0 unreadable, 1 unlabeled)",
                assertThrows(DataFormatException.class, () -> DataSources.load(nothing, 0, ImageSpec.AS_FOUND)).getMessage());
    }
}
