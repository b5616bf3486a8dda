package dev.ember.finetune.train;

/**
 * Evaluation of a classifier on one labeled set: mean loss, accuracy, macro-F1, per-class precision and recall
 * (NaN where a class has no prediction / no sample) and the confusion matrix ({@code confusion[true][predicted]}).
 */
public record ClassificationMetrics(double loss, double accuracy, double macroF1, double[] precision, double[] recall,
                                    long[][] confusion) {

    /**
     * The metrics of confusion matrix {@code confusion[true][predicted]} (C, C) with the given mean loss:
     * <pre>
     *   precision_c = TP_c / (TP_c + FP_c)      NaN when nothing was predicted as c
     *   recall_c    = TP_c / (TP_c + FN_c)      NaN when no sample is of class c
     *   F1_c        = 2 TP_c / (2 TP_c + FP_c + FN_c)
     *   macro-F1    = mean of F1_c over the classes that occur as a label or a prediction (as scikit-learn)
     * </pre>
     * Accuracy is NaN for an empty set.
     */
    public static ClassificationMetrics of(double loss, long[][] confusion) {
        int c = confusion.length;
        long[] truePerClass = new long[c], predictedPerClass = new long[c];
        long correct = 0, total = 0;
        for (int t = 0; t < c; t++) {
            if (confusion[t].length != c) throw new IllegalArgumentException("confusion matrix must be square, row " + t + " has " + confusion[t].length + " of " + c);
            for (int p = 0; p < c; p++) {
                truePerClass[t] += confusion[t][p];
                predictedPerClass[p] += confusion[t][p];
                total += confusion[t][p];
            }
            correct += confusion[t][t];
        }
        double[] precision = new double[c], recall = new double[c];
        double f1Sum = 0;
        int present = 0;
        for (int k = 0; k < c; k++) {
            long tp = confusion[k][k];
            precision[k] = predictedPerClass[k] == 0 ? Double.NaN : (double) tp / predictedPerClass[k];
            recall[k] = truePerClass[k] == 0 ? Double.NaN : (double) tp / truePerClass[k];
            long denominator = truePerClass[k] + predictedPerClass[k];   // 2 TP + FP + FN
            if (denominator > 0) {
                f1Sum += 2.0 * tp / denominator;
                present++;
            }
        }
        long[][] copy = new long[c][];
        for (int t = 0; t < c; t++) copy[t] = confusion[t].clone();
        double accuracy = total == 0 ? Double.NaN : (double) correct / total;
        return new ClassificationMetrics(loss, accuracy, present == 0 ? Double.NaN : f1Sum / present, precision, recall, copy);
    }

    /** Number of classes. */
    public int classes() { return confusion.length; }

    /** Number of samples evaluated. */
    public long samples() {
        long n = 0;
        for (long[] row : confusion) for (long v : row) n += v;
        return n;
    }
}
