package dev.ember.finetune.train;

import java.util.List;

/**
 * One epoch of a fine-tuning run, as written to {@code metrics.jsonl} (one line each): training loss and accuracy,
 * validation metrics, the learning rate of each parameter group, which parameter groups were trainable, wall time.
 */
public record EpochRecord(int epoch, double trainLoss, double trainAccuracy, ClassificationMetrics validation,
                          double[] groupLrs, List<String> trainableGroups, double seconds) {}
