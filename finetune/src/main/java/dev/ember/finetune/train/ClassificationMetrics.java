package dev.ember.finetune.train;

/**
 * Evaluation of a classifier on one labeled set: mean loss, accuracy, macro-F1, per-class precision and recall
 * (NaN where a class has no prediction / no sample) and the confusion matrix ({@code confusion[true][predicted]}).
 */
public record ClassificationMetrics(double loss, double accuracy, double macroF1, double[] precision, double[] recall,
                                    long[][] confusion) {}
