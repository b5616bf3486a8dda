package dev.ember.loaders.data;

import dev.ember.engine.CpuStorage;
import dev.ember.engine.DType;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;

/**
 * A labeled data set held in memory: {@code inputs} (N, ...) float32 and {@code labels} (N) int64 in
 * [0, classes). Checked on construction so a bad label is caught at load time, not mid-training.
 */
public record LabeledData(Tensor inputs, Tensor labels, int classes) {
    public LabeledData {
        if (inputs.dtype() != DType.FLOAT32) throw new ShapeException("inputs must be float32, got " + inputs.dtype());
        if (labels.dtype() != DType.INT64 || labels.rank() != 1) throw new ShapeException("labels must be int64 (N), got " + labels.dtype() + " " + labels.shape());
        if (inputs.rank() < 1 || inputs.dim(0) != labels.dim(0)) {
            throw new ShapeException("inputs " + inputs.shape() + " and labels " + labels.shape() + " disagree on the sample count");
        }
        inputs = inputs.contiguous();
        labels = labels.contiguous();
        long[] y = labels.toLongArray();
        for (int i = 0; i < y.length; i++) {
            if (y[i] < 0 || y[i] >= classes) throw new ShapeException("label " + y[i] + " of sample " + i + " is outside [0, " + classes + ")");
        }
    }

    public int size() { return labels.dim(0); }

    /** Elements per sample. */
    public int sampleSize() { return size() == 0 ? 0 : inputs.numel() / size(); }

    /** The samples at {@code indices}, in that order, copied into new contiguous tensors. */
    public LabeledData select(int[] indices) {
        int per = inputs.numel() / Math.max(1, size());
        float[] src = ((CpuStorage) inputs.storage()).floats();
        int off = inputs.offset();
        long[] ys = labels.toLongArray();
        float[] x = new float[indices.length * per];
        long[] y = new long[indices.length];
        for (int i = 0; i < indices.length; i++) {
            int s = indices[i];
            if (s < 0 || s >= size()) throw new ShapeException("sample index " + s + " is outside [0, " + size() + ")");
            System.arraycopy(src, off + s * per, x, i * per, per);
            y[i] = ys[s];
        }
        int[] dims = inputs.dims();
        dims[0] = indices.length;
        return new LabeledData(Tensor.of(x, dims), Tensor.ofLongs(y, indices.length), classes);
    }

    /** The first {@code n} samples (all when fewer). */
    public LabeledData head(int n) {
        int m = Math.min(n, size());
        int[] idx = new int[m];
        for (int i = 0; i < m; i++) idx[i] = i;
        return select(idx);
    }
}
