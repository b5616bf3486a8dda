package dev.ember.benchmarks;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The machine's read bandwidth from memory as the JVM reaches it: each thread sums its own contiguous part of an array
 * far larger than any cache, with vector loads and four independent accumulators, so the figure is how fast DRAM
 * delivers a stream. It is the "measured DRAM bandwidth" that inference's weight-reading floor is given against: a
 * model whose weights exceed the last-level cache reads them from DRAM on every call, on any engine.
 */
final class MemoryBandwidth {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int L = SPECIES.length();

    private MemoryBandwidth() {}

    /**
     * GB/s (1e9 bytes) of {@code threads} threads reading a {@code megabytes} MB array once per round: the best of
     * {@code rounds} rounds, after one untimed round (so the loop runs compiled and the pages are mapped).
     */
    static double readGBs(int threads, int megabytes, int rounds) throws InterruptedException {
        if (threads < 1 || megabytes < 1 || rounds < 1) {
            throw new IllegalArgumentException("threads, megabytes and rounds must be positive, got " + threads + ", " + megabytes + ", " + rounds);
        }
        int floats = Math.multiplyExact(megabytes, 1 << 18) / (4 * L * threads) * (4 * L * threads);
        float[] data = new float[floats];
        java.util.Arrays.fill(data, 1f);
        for (int i = 0; i < 2000; i++) sum(data, 0, Math.min(floats, 1 << 16));   // C2-compiled before the first timed round
        double best = 0;
        for (int round = 0; round <= rounds; round++) {
            double seconds = timedRound(data, threads);
            if (round > 0) best = Math.max(best, floats * 4.0 / seconds / 1e9);
        }
        return best;
    }

    private static double timedRound(float[] data, int threads) throws InterruptedException {
        Thread[] readers = new Thread[threads];
        float[] sink = new float[threads];
        int part = data.length / threads;
        long t0 = System.nanoTime();
        for (int t = 0; t < threads; t++) {
            int id = t;
            readers[t] = new Thread(() -> sink[id] = sum(data, id * part, (id + 1) * part));
            readers[t].start();
        }
        for (Thread r : readers) r.join();
        double seconds = (System.nanoTime() - t0) / 1e9;
        for (float s : sink) if (s != part) throw new IllegalStateException("read " + s + " ones, expected " + part);
        return seconds;
    }

    /** The sum of data[lo, hi), hi - lo a multiple of 4L (of ones: exact while each lane's share stays below 2^24). */
    static float sum(float[] data, int lo, int hi) {
        FloatVector a = FloatVector.zero(SPECIES), b = a, c = a, d = a;
        for (int i = lo; i < hi; i += 4 * L) {
            a = FloatVector.fromArray(SPECIES, data, i).add(a);
            b = FloatVector.fromArray(SPECIES, data, i + L).add(b);
            c = FloatVector.fromArray(SPECIES, data, i + 2 * L).add(c);
            d = FloatVector.fromArray(SPECIES, data, i + 3 * L).add(d);
        }
        return a.add(b).add(c).add(d).reduceLanes(VectorOperators.ADD);
    }
}
