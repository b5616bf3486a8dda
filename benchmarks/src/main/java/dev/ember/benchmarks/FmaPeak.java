package dev.ember.benchmarks;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The machine's FMA throughput as the JVM reaches it: every thread runs twelve independent chains of vector fma on
 * registers (no memory), enough to cover the FMA latency on any current core, so the figure is the issue rate of
 * the FMA units. It is the "measured FMA peak" that SGEMM's efficiency is given against.
 */
final class FmaPeak {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int CHAINS = 12;

    private FmaPeak() {}

    /** GFLOP/s of {@code threads} threads each running {@code iterations} rounds of the chains (2 flops per lane). */
    static double gflops(int threads, long iterations) throws InterruptedException {
        for (int i = 0; i < 50; i++) chains(100_000, i);   // compiled (not only on-stack-replaced) before it is timed
        Thread[] workers = new Thread[threads];
        float[] sink = new float[threads];
        long t0 = System.nanoTime();
        for (int t = 0; t < threads; t++) {
            int id = t;
            workers[t] = new Thread(() -> sink[id] = chains(iterations, id));
            workers[t].start();
        }
        for (Thread w : workers) w.join();
        double seconds = (System.nanoTime() - t0) / 1e9;
        return threads * iterations * (double) CHAINS * SPECIES.length() * 2 / seconds / 1e9;
    }

    private static float chains(long iterations, float seed) {
        FloatVector b = FloatVector.broadcast(SPECIES, 0.999f), c = FloatVector.broadcast(SPECIES, 0.001f);
        FloatVector a0 = FloatVector.broadcast(SPECIES, seed), a1 = a0.add(1), a2 = a0.add(2), a3 = a0.add(3), a4 = a0.add(4),
                a5 = a0.add(5), a6 = a0.add(6), a7 = a0.add(7), a8 = a0.add(8), a9 = a0.add(9), a10 = a0.add(10), a11 = a0.add(11);
        for (long i = 0; i < iterations; i++) {
            a0 = a0.fma(b, c); a1 = a1.fma(b, c); a2 = a2.fma(b, c); a3 = a3.fma(b, c); a4 = a4.fma(b, c); a5 = a5.fma(b, c);
            a6 = a6.fma(b, c); a7 = a7.fma(b, c); a8 = a8.fma(b, c); a9 = a9.fma(b, c); a10 = a10.fma(b, c); a11 = a11.fma(b, c);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(VectorOperators.ADD);
    }
}
