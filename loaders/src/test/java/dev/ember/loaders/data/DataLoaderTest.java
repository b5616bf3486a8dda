package dev.ember.loaders.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ember.engine.Rng;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class DataLoaderTest {
    private static LabeledData data(int n) {
        float[] x = new float[n * 2];
        long[] y = new long[n];
        for (int i = 0; i < n; i++) {
            x[2 * i] = i;
            x[2 * i + 1] = -i;
            y[i] = i % 3;
        }
        return new LabeledData(Tensor.of(x, n, 2), Tensor.ofLongs(y, n), 3);
    }

    private static List<Float> order(DataLoader loader) {
        List<Float> seen = new ArrayList<>();
        for (DataLoader.Batch b : loader) for (float v : b.inputs().slice(1, 0, 1).toFloatArray()) seen.add(v);
        return seen;
    }

    @Test
    void batchesKeepSamplesAndLabelsTogether() {
        DataLoader loader = new DataLoader(data(10), 4, false, new Rng(1));
        assertEquals(3, loader.batchCount());
        int total = 0;
        for (DataLoader.Batch b : loader) {
            float[] x = b.inputs().toFloatArray();
            long[] y = b.labels().toLongArray();
            for (int i = 0; i < y.length; i++) {
                assertEquals(-x[2 * i], x[2 * i + 1], 0f);
                assertEquals(((int) x[2 * i]) % 3, y[i]);
            }
            total += b.size();
        }
        assertEquals(10, total);
        assertEquals(2, new DataLoader(data(10), 4, true, null).batchCount());
    }

    @Test
    void sameSeedSameOrderAndEpochsDiffer() {
        List<Float> a1 = new ArrayList<>(), b1 = new ArrayList<>();
        DataLoader a = new DataLoader(data(50), 8, false, new Rng(7));
        DataLoader b = new DataLoader(data(50), 8, false, new Rng(7));
        a1.addAll(order(a));
        b1.addAll(order(b));
        assertEquals(a1, b1);
        assertNotEquals(a1, order(a), "a second epoch reshuffles");
        assertEquals(List.of(0f, 1f, 2f), order(new DataLoader(data(3), 2, false, null)), "no rng: data order");
    }

    @Test
    void labelsOutsideClassesAreRefused() {
        ShapeException e = assertThrows(ShapeException.class,
                () -> new LabeledData(Tensor.zeros(2, 3), Tensor.ofLongs(new long[] {0, 5}, 2), 3));
        assertEquals(true, e.getMessage().contains("label 5 of sample 1"), e.getMessage());
    }
}
