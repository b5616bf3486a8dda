package dev.ember.finetune.data;

import dev.ember.engine.Tensor;
import dev.ember.loaders.data.LabeledData;
import java.util.List;

/**
 * Samples as a reader produced them, before cleaning: one array per sample of shape {@code sampleDims}
 * ((C, H, W) or (F)), its label, its source id.
 */
record RawSamples(List<float[]> inputs, long[] labels, List<String> ids, int[] sampleDims, List<String> classNames) {
    int size() { return labels.length; }

    /** The samples at {@code keep}, in that order, as a {@link SampleSet}. */
    SampleSet toSampleSet(int[] keep) {
        int per = 1;
        for (int d : sampleDims) per *= d;
        float[] x = new float[keep.length * per];   // x (N, ...sampleDims)
        long[] y = new long[keep.length];
        String[] kept = new String[keep.length];
        for (int i = 0; i < keep.length; i++) {
            System.arraycopy(inputs.get(keep[i]), 0, x, i * per, per);
            y[i] = labels[keep[i]];
            kept[i] = ids.get(keep[i]);
        }
        int[] dims = new int[sampleDims.length + 1];
        dims[0] = keep.length;
        System.arraycopy(sampleDims, 0, dims, 1, sampleDims.length);
        LabeledData data = new LabeledData(Tensor.of(x, dims), Tensor.ofLongs(y, keep.length), classNames.size());
        return new SampleSet(data, classNames, List.of(kept));
    }
}
