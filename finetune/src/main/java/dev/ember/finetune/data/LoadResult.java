package dev.ember.finetune.data;

/** What {@link DataSources#load} returns: the clean samples and the report of what was dropped or changed. */
public record LoadResult(SampleSet samples, DataReport report) {}
