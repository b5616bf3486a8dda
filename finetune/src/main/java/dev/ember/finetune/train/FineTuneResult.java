package dev.ember.finetune.train;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Everything a fine-tuning run produced, for the report: the per-epoch history, the best epoch (by the validation
 * metric), test metrics of the best model, robustness curves (accuracy by Gaussian-noise sigma and by FGSM epsilon),
 * per-class recall before (the model as given, new head) and after, source-task accuracy before/after (NaN when no
 * source set was given), optional comparison runs (e.g. "from scratch" → its test metrics), the cleaning report
 * lines, the configuration as text, and the files written.
 */
public record FineTuneResult(List<String> classNames, List<EpochRecord> epochs, int bestEpoch, ClassificationMetrics test,
                             Map<Double, Double> noiseAccuracy, Map<Double, Double> fgsmAccuracy,
                             double[] recallBefore, double[] recallAfter, double sourceAccuracyBefore,
                             double sourceAccuracyAfter, Map<String, ClassificationMetrics> comparisons,
                             List<String> dataReport, Map<String, String> config, Map<String, Path> files) {}
