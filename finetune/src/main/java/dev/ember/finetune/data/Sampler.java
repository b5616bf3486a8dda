package dev.ember.finetune.data;

import dev.ember.engine.EmberException;
import dev.ember.engine.Rng;
import java.util.ArrayList;
import java.util.List;

/**
 * The order of samples in one epoch, as indices into the training set. Seeded: the same {@link Rng} state gives
 * the same order.
 *
 * <ul>
 *   <li>{@link #SHUFFLE}: every sample once, in random order.</li>
 *   <li>{@link #OVERSAMPLE}: every class brought up to the largest class count: all of its samples once, plus
 *       random draws with replacement from the class for the rest (imbalanced-learn's RandomOverSampler); the
 *       epoch has K * max samples for K classes present.</li>
 *   <li>{@link #UNDERSAMPLE}: every class cut down to the smallest present class count by drawing without
 *       replacement; the epoch has K * min samples.</li>
 * </ul>
 * The result is always shuffled as a whole, so classes are mixed within batches.
 */
public enum Sampler {
    SHUFFLE, OVERSAMPLE, UNDERSAMPLE;

    public static Sampler shuffle() { return SHUFFLE; }

    public static Sampler oversample() { return OVERSAMPLE; }

    public static Sampler undersample() { return UNDERSAMPLE; }

    /** Indices into {@code labels} (N) for one epoch. */
    public int[] epochOrder(long[] labels, Rng rng) {
        if (labels.length == 0) throw new EmberException("cannot sample an epoch from an empty training set");
        if (this == SHUFFLE) return rng.permutation(labels.length);
        List<List<Integer>> byClass = byClass(labels);
        int max = 0, min = Integer.MAX_VALUE;
        for (List<Integer> members : byClass) {
            if (members.isEmpty()) continue;
            max = Math.max(max, members.size());
            min = Math.min(min, members.size());
        }
        List<Integer> chosen = new ArrayList<>();
        for (List<Integer> members : byClass) {
            int n = members.size();
            if (n == 0) continue;
            if (this == OVERSAMPLE) {
                chosen.addAll(members);
                for (int i = n; i < max; i++) chosen.add(members.get(rng.nextInt(n)));
            } else {
                int[] perm = rng.permutation(n);
                for (int i = 0; i < min; i++) chosen.add(members.get(perm[i]));
            }
        }
        int[] perm = rng.permutation(chosen.size());
        int[] order = new int[chosen.size()];
        for (int i = 0; i < order.length; i++) order[i] = chosen.get(perm[i]);
        return order;
    }

    private static List<List<Integer>> byClass(long[] labels) {
        long maxLabel = -1;
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0) throw new EmberException("label " + labels[i] + " of sample " + i + " is negative");
            maxLabel = Math.max(maxLabel, labels[i]);
        }
        List<List<Integer>> byClass = new ArrayList<>();
        for (long c = 0; c <= maxLabel; c++) byClass.add(new ArrayList<>());
        for (int i = 0; i < labels.length; i++) byClass.get((int) labels[i]).add(i);
        return byClass;
    }
}
