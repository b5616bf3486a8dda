package dev.ember.loaders.data;

import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * Mini-batches over a {@link LabeledData}. With shuffling, each call to {@link #iterator()} draws a new
 * permutation from the loader's {@link Rng}, so a seed fixes the order of every epoch.
 */
public final class DataLoader implements Iterable<DataLoader.Batch> {
    /** inputs (B, ...) float32, labels (B) int64. */
    public record Batch(Tensor inputs, Tensor labels) {
        public int size() { return labels.dim(0); }
    }

    private final LabeledData data;
    private final int batchSize;
    private final boolean dropLast;
    private final Rng rng;

    /** {@code rng} null means no shuffling (evaluation order). */
    public DataLoader(LabeledData data, int batchSize, boolean dropLast, Rng rng) {
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        this.data = data;
        this.batchSize = batchSize;
        this.dropLast = dropLast;
        this.rng = rng;
    }

    public int batchCount() {
        return dropLast ? data.size() / batchSize : (data.size() + batchSize - 1) / batchSize;
    }

    @Override public Iterator<Batch> iterator() {
        int n = data.size();
        int[] order = rng != null ? rng.permutation(n) : identity(n);
        int batches = batchCount();
        return new Iterator<>() {
            int next = 0;

            @Override public boolean hasNext() { return next < batches; }

            @Override public Batch next() {
                if (!hasNext()) throw new NoSuchElementException();
                int lo = next * batchSize, hi = Math.min(n, lo + batchSize);
                next++;
                int[] idx = java.util.Arrays.copyOfRange(order, lo, hi);
                LabeledData b = data.select(idx);
                return new Batch(b.inputs(), b.labels());
            }
        };
    }

    private static int[] identity(int n) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) a[i] = i;
        return a;
    }
}
