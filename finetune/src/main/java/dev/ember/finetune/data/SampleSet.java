package dev.ember.finetune.data;

import dev.ember.loaders.data.LabeledData;
import java.util.List;

/**
 * Labeled samples ready for training, with what a report needs to name them: {@code data} (inputs (N, C, H, W)
 * float32 in [0, 1] for images or (N, F) for CSV features; labels int64 in [0, classes)), the class names (index =
 * label) and, per sample, where it came from (a file path, "file.idx#123" or "file.csv:line").
 */
public record SampleSet(LabeledData data, List<String> classNames, List<String> sourceIds) {
    public SampleSet {
        classNames = List.copyOf(classNames);
        sourceIds = List.copyOf(sourceIds);
        if (classNames.size() != data.classes()) {
            throw new IllegalArgumentException(classNames.size() + " class names for " + data.classes() + " classes");
        }
        if (sourceIds.size() != data.size()) {
            throw new IllegalArgumentException(sourceIds.size() + " source ids for " + data.size() + " samples");
        }
    }

    public int size() { return data.size(); }

    /** The samples at {@code indices}, in that order. */
    public SampleSet select(int[] indices) {
        String[] ids = new String[indices.length];
        for (int i = 0; i < indices.length; i++) ids[i] = sourceIds.get(indices[i]);
        return new SampleSet(data.select(indices), classNames, List.of(ids));
    }

    /** Samples per class. */
    public long[] classCounts() {
        long[] c = new long[data.classes()];
        for (long y : data.labels().toLongArray()) c[(int) y]++;
        return c;
    }
}
