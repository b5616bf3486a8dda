package dev.ember.loaders.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ember.loaders.DataFormatException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class FashionMnistTest {
    @Test
    void loadsTheRealDataSet() {
        assumeTrue(FashionMnist.isInstalled(FashionMnist.DEFAULT_DIR),
                "Fashion-MNIST not installed at " + FashionMnist.DEFAULT_DIR + " (apt-get install dataset-fashion-mnist)");
        LabeledData test = FashionMnist.test(FashionMnist.DEFAULT_DIR);
        assertArrayEquals(new int[] {10000, 1, 28, 28}, test.inputs().dims());
        int[] counts = new int[10];
        for (long y : test.labels().toLongArray()) counts[(int) y]++;
        for (int c : counts) assertEquals(1000, c, "Fashion-MNIST's test set has 1000 images per class");
        float max = 0;
        for (float v : test.inputs().toFloatArray()) max = Math.max(max, v);
        assertEquals(1f, max, 0f);
    }

    @Test
    void missingFolderSaysWhatToInstall() {
        DataFormatException e = assertThrows(DataFormatException.class, () -> FashionMnist.train(Path.of("/nonexistent/fm")));
        assertTrue(e.getMessage().contains("dataset-fashion-mnist"), e.getMessage());
    }
}
