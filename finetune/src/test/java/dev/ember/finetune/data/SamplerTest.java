package dev.ember.finetune.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.ember.engine.Rng;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SamplerTest {
    // 10 of class 0, 3 of class 1, none of class 2, 5 of class 3
    private static final long[] LABELS = labels(10, 3, 0, 5);

    private static long[] labels(int... counts) {
        long[] y = new long[Arrays.stream(counts).sum()];
        int at = 0;
        for (int c = 0; c < counts.length; c++) for (int i = 0; i < counts[c]; i++) y[at++] = c;
        return y;
    }

    private static long[] classCounts(int[] order) {
        long[] counts = new long[4];
        for (int i : order) counts[(int) LABELS[i]]++;
        return counts;
    }

    @Test
    void shuffleIsAPermutation() {
        int[] order = Sampler.shuffle().epochOrder(LABELS, new Rng(1));
        int[] sorted = order.clone();
        Arrays.sort(sorted);
        for (int i = 0; i < sorted.length; i++) assertEquals(i, sorted[i]);
        assertFalse(Arrays.equals(order, sorted), "a shuffle of 18 should not be the identity");
    }

    @Test
    void oversampleBringsEveryClassToTheLargest() {
        int[] order = Sampler.oversample().epochOrder(LABELS, new Rng(2));
        assertArrayEquals(new long[] {10, 10, 0, 10}, classCounts(order));
        // every original sample appears at least once
        Set<Integer> seen = new HashSet<>();
        for (int i : order) seen.add(i);
        assertEquals(LABELS.length, seen.size());
    }

    @Test
    void undersampleCutsEveryClassToTheSmallest() {
        int[] order = Sampler.undersample().epochOrder(LABELS, new Rng(3));
        assertArrayEquals(new long[] {3, 3, 0, 3}, classCounts(order));
        assertEquals(9, Arrays.stream(order).distinct().count(), "no sample twice");
    }

    @Test
    void sameSeedSameOrder() {
        for (Sampler s : Sampler.values()) {
            assertArrayEquals(s.epochOrder(LABELS, new Rng(42)), s.epochOrder(LABELS, new Rng(42)), s.name());
            assertFalse(Arrays.equals(s.epochOrder(LABELS, new Rng(42)), s.epochOrder(LABELS, new Rng(43))), s.name());
        }
    }
}
