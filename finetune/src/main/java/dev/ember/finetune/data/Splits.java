package dev.ember.finetune.data;

import dev.ember.engine.EmberException;
import dev.ember.engine.Rng;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Stratified train / validation / test splits: each class is split on its own, in proportion, so a rare class
 * reaches every part when it can. Deterministic for a seed: one {@link Rng#permutation} per class, classes in
 * label order.
 *
 * <p>Per class of n samples: test gets round(n * testFraction), validation round(n * valFraction), train the rest,
 * with these rules for tiny classes, applied in order:
 * <ol>
 *   <li>n &ge; 2 and valFraction &gt; 0: validation gets at least 1;</li>
 *   <li>n &ge; 3 and testFraction &gt; 0: test gets at least 1;</li>
 *   <li>train keeps at least 1 (taken back from test first, then validation), so a class of 1 goes to train
 *       and a class of 2 to train and validation.</li>
 * </ol>
 * Within each part samples keep their original order (the sampler shuffles per epoch).
 */
public final class Splits {
    /** The three parts; {@code test} may be empty when testFraction is 0. */
    public record Split(SampleSet train, SampleSet val, SampleSet test) {}

    private Splits() {}

    public static Split stratified(SampleSet samples, double valFraction, double testFraction, Rng rng) {
        checkFractions(valFraction, testFraction);
        int classes = samples.data().classes();
        List<List<Integer>> byClass = indicesByClass(samples, classes);
        List<Integer> train = new ArrayList<>(), val = new ArrayList<>(), test = new ArrayList<>();
        for (int c = 0; c < classes; c++) {
            List<Integer> members = byClass.get(c);
            int n = members.size();
            int[] perm = rng.permutation(n);
            int[] sizes = partSizes(n, valFraction, testFraction);
            int at = 0;
            for (int i = 0; i < sizes[2]; i++) test.add(members.get(perm[at++]));
            for (int i = 0; i < sizes[1]; i++) val.add(members.get(perm[at++]));
            while (at < n) train.add(members.get(perm[at++]));
        }
        return new Split(samples.select(sorted(train)), samples.select(sorted(val)), samples.select(sorted(test)));
    }

    /** Train and validation from {@code trainVal} (stratified as above), with a given {@code test} set. */
    public static Split withTestSet(SampleSet trainVal, SampleSet test, double valFraction, Rng rng) {
        if (!trainVal.classNames().equals(test.classNames())) {
            throw new EmberException("the test set's classes " + test.classNames() + " differ from the training data's " + trainVal.classNames());
        }
        int[] a = trainVal.data().inputs().dims(), b = test.data().inputs().dims();
        a[0] = b[0] = -1;
        if (!Arrays.equals(a, b)) {
            throw new EmberException("the test set's samples " + test.data().inputs().shape() + " do not match the training data's " + trainVal.data().inputs().shape() + " beyond the sample count");
        }
        Split s = stratified(trainVal, valFraction, 0, rng);
        return new Split(s.train(), s.val(), test);
    }

    /** {train, val, test} sizes for a class of n samples, by the rules in the class comment. */
    static int[] partSizes(int n, double valFraction, double testFraction) {
        int nTest = (int) Math.round(n * testFraction);
        int nVal = (int) Math.round(n * valFraction);
        if (n >= 2 && valFraction > 0) nVal = Math.max(nVal, 1);
        if (n >= 3 && testFraction > 0) nTest = Math.max(nTest, 1);
        while (n - nTest - nVal < 1 && n > 0) {
            if (nTest > 0) nTest--;
            else nVal--;
        }
        return new int[] {n - nVal - nTest, nVal, nTest};
    }

    private static void checkFractions(double val, double test) {
        if (!(val >= 0 && test >= 0 && val + test < 1)) {
            throw new EmberException("split fractions must be >= 0 with validation + test < 1, got validation " + val + ", test " + test);
        }
    }

    private static List<List<Integer>> indicesByClass(SampleSet samples, int classes) {
        List<List<Integer>> byClass = new ArrayList<>();
        for (int c = 0; c < classes; c++) byClass.add(new ArrayList<>());
        long[] labels = samples.data().labels().toLongArray();
        for (int i = 0; i < labels.length; i++) byClass.get((int) labels[i]).add(i);
        return byClass;
    }

    private static int[] sorted(List<Integer> indices) {
        int[] a = indices.stream().mapToInt(Integer::intValue).toArray();
        Arrays.sort(a);
        return a;
    }
}
