package dev.ember.finetune.data;

import dev.ember.engine.EmberException;
import dev.ember.engine.Tensor;

/**
 * Per-class loss weights (C) float32 for {@code Loss.CrossEntropyOptions} or focal-loss alpha, from the training
 * set's class counts. A class with no samples gets weight 0 (it never appears as a target, and 1/0 has no
 * meaning); "present" below means count &gt; 0.
 */
public final class ClassWeights {
    private ClassWeights() {}

    /**
     * Inverse frequency, sklearn's {@code class_weight="balanced"}: w_c = N / (K * n_c) with N the sample count and
     * K the classes present. Scaled so the weighted sample count equals N (sum_c n_c w_c = N, i.e. the mean weight
     * per sample is 1); equal counts give all 1.
     */
    public static Tensor inverseFrequency(long[] counts) {
        long total = 0;
        int present = 0;
        for (long n : check(counts)) {
            total += n;
            if (n > 0) present++;
        }
        float[] w = new float[counts.length];
        for (int c = 0; c < counts.length; c++) w[c] = counts[c] > 0 ? (float) ((double) total / ((double) present * counts[c])) : 0f;
        return Tensor.of(w, w.length);
    }

    /**
     * Effective number of samples (Cui et al., CVPR 2019, "Class-Balanced Loss"): w_c = (1 - beta) / (1 - beta^n_c),
     * normalized so the weights of the classes present sum to K (with all classes present, to C as in the paper).
     * beta in [0, 1): 0 gives all 1, toward 1 approaches inverse frequency (0.9, 0.99, 0.999 are the paper's choices).
     */
    public static Tensor effectiveNumber(long[] counts, double beta) {
        if (!(beta >= 0 && beta < 1)) throw new EmberException("effective-number beta must be in [0, 1), got " + beta);
        double[] raw = new double[check(counts).length];
        double sum = 0;
        int present = 0;
        for (int c = 0; c < counts.length; c++) {
            if (counts[c] == 0) continue;
            // 1 - beta^n computed as -expm1(n log beta) keeps precision when beta is close to 1
            double effective = beta == 0 ? 1 : -Math.expm1(counts[c] * Math.log(beta));
            raw[c] = (1 - beta) / effective;
            sum += raw[c];
            present++;
        }
        float[] w = new float[counts.length];
        for (int c = 0; c < counts.length; c++) w[c] = (float) (raw[c] * present / sum);
        return Tensor.of(w, w.length);
    }

    private static long[] check(long[] counts) {
        boolean any = false;
        for (int c = 0; c < counts.length; c++) {
            if (counts[c] < 0) throw new EmberException("class count " + c + " is negative: " + counts[c]);
            any |= counts[c] > 0;
        }
        if (!any) throw new EmberException("class weights need at least one sample, all " + counts.length + " class counts are 0");
        return counts;
    }
}
