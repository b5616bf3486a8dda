package dev.ember.finetune.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.engine.EmberException;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.loaders.data.LabeledData;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SplitsTest {
    /** Class c has counts[c] samples; sample i's single feature is i, its id "s" + i. */
    static SampleSet samples(int... counts) {
        List<Long> y = new ArrayList<>();
        for (int c = 0; c < counts.length; c++) for (int i = 0; i < counts[c]; i++) y.add((long) c);
        int n = y.size();
        float[] x = new float[n];
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            x[i] = i;
            ids.add("s" + i);
        }
        List<String> names = new ArrayList<>();
        for (int c = 0; c < counts.length; c++) names.add("c" + c);
        return new SampleSet(new LabeledData(Tensor.of(x, n, 1), Tensor.ofLongs(y.stream().mapToLong(Long::longValue).toArray(), n), counts.length), names, ids);
    }

    @Test
    void eachClassSplitsInProportion() {
        Splits.Split s = Splits.stratified(samples(100, 40, 20), 0.1, 0.2, new Rng(7));
        assertArrayEquals(new long[] {70, 28, 14}, s.train().classCounts());
        assertArrayEquals(new long[] {10, 4, 2}, s.val().classCounts());
        assertArrayEquals(new long[] {20, 8, 4}, s.test().classCounts());
        // the parts are disjoint and cover everything
        Set<String> all = new HashSet<>();
        all.addAll(s.train().sourceIds());
        all.addAll(s.val().sourceIds());
        all.addAll(s.test().sourceIds());
        assertEquals(160, all.size());
    }

    @Test
    void tinyClassesFollowTheRules() {
        // class of 1 -> train; of 2 -> train + val; of 3 -> 1 each
        Splits.Split s = Splits.stratified(samples(1, 2, 3), 0.1, 0.1, new Rng(1));
        assertArrayEquals(new long[] {1, 1, 1}, s.train().classCounts());
        assertArrayEquals(new long[] {0, 1, 1}, s.val().classCounts());
        assertArrayEquals(new long[] {0, 0, 1}, s.test().classCounts());
        assertArrayEquals(new int[] {1, 0, 0}, Splits.partSizes(1, 0.5, 0.5));
        assertArrayEquals(new int[] {10, 0, 0}, Splits.partSizes(10, 0, 0));
    }

    @Test
    void deterministicForASeed() {
        SampleSet data = samples(30, 30);
        Splits.Split a = Splits.stratified(data, 0.2, 0.2, new Rng(5));
        Splits.Split b = Splits.stratified(data, 0.2, 0.2, new Rng(5));
        Splits.Split c = Splits.stratified(data, 0.2, 0.2, new Rng(6));
        assertEquals(a.val().sourceIds(), b.val().sourceIds());
        assertEquals(a.test().sourceIds(), b.test().sourceIds());
        assertTrue(!a.val().sourceIds().equals(c.val().sourceIds()), "another seed, another split");
    }

    @Test
    void givenTestSetIsKept() {
        SampleSet test = samples(3, 3);
        Splits.Split s = Splits.withTestSet(samples(10, 20), test, 0.2, new Rng(3));
        assertEquals(test, s.test());
        assertArrayEquals(new long[] {2, 4}, s.val().classCounts());
        assertArrayEquals(new long[] {8, 16}, s.train().classCounts());
        assertTrue(assertThrows(EmberException.class, () -> Splits.withTestSet(samples(10, 20), samples(3, 3, 3), 0.2, new Rng(3)))
                .getMessage().contains("test set's classes"));
        assertTrue(assertThrows(EmberException.class, () -> Splits.stratified(test, 0.6, 0.4, new Rng(3))).getMessage().contains("validation + test < 1"));
    }
}
