package dev.ember.kernels.cpu;

import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The pool runs every index exactly once, nested and concurrent calls included, and hands a chunk's failure to the caller. */
class ParallelTest {
    @Test void everyIndexRunsExactlyOnceInChunksOfTheGrain() {
        for (int n : new int[] {1, 2, 7, 1000}) {
            for (int grain : new int[] {1, 3, 64}) {
                AtomicIntegerArray seen = new AtomicIntegerArray(n);
                Parallel.forRange(n, grain, (lo, hi) -> {
                    assertEquals(0, lo % grain, "chunk start");
                    assertEquals(Math.min(n, lo + grain), hi, "chunk end");
                    for (int i = lo; i < hi; i++) seen.incrementAndGet(i);
                });
                for (int i = 0; i < n; i++) assertEquals(1, seen.get(i), "n " + n + ", grain " + grain + ", index " + i);
            }
        }
    }

    @Test void nestedCallsRunInline() {
        AtomicLong sum = new AtomicLong();
        Parallel.forRange(8, 1, (lo, hi) -> Parallel.forRange(100, 10, (lo2, hi2) -> {
            for (int i = lo2; i < hi2; i++) sum.addAndGet(i);
        }));
        assertEquals(8L * 4950, sum.get());
    }

    @Test void aChunkFailureReachesTheCallerAndThePoolStillWorks() {
        IllegalStateException boom = new IllegalStateException("chunk 3");
        IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> Parallel.forRange(10, 1, (lo, hi) -> {
            if (lo == 3) throw boom;
        }));
        assertSame(boom, thrown);
        AtomicIntegerArray seen = new AtomicIntegerArray(10);
        Parallel.forRange(10, 1, (lo, hi) -> seen.incrementAndGet(lo));
        for (int i = 0; i < 10; i++) assertEquals(1, seen.get(i), "index " + i + " after a failure");
    }

    @Test void concurrentCallersEachGetAllTheirWork() throws InterruptedException {
        int callers = 4, calls = 200, n = 50;
        AtomicLong total = new AtomicLong();
        Thread[] threads = new Thread[callers];
        for (int t = 0; t < callers; t++) {
            threads[t] = new Thread(() -> {
                for (int c = 0; c < calls; c++) Parallel.forRange(n, 4, (lo, hi) -> total.addAndGet(hi - lo));
            });
            threads[t].start();
        }
        for (Thread t : threads) t.join();
        assertEquals((long) callers * calls * n, total.get());
    }
}
