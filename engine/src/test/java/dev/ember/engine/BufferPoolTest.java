package dev.ember.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The pool behind inference sessions' buffer reuse: what it hands out, what it takes back, what it keeps. */
class BufferPoolTest {
    private static final int N = BufferPool.MIN_FLOATS * 2;

    @Test void withoutALeaseArraysAreNewAndZeroed() {
        float[] a = BufferPool.uninitialized(N);
        assertEquals(N, a.length);
        for (float v : a) assertEquals(0f, v);
        assertNotSame(a, BufferPool.uninitialized(N));
    }

    @Test void anArrayGivenBackIsHandedOutAgainForTheSameLength() {
        BufferPool pool = new BufferPool();
        try (BufferPool.Lease lease = pool.open()) {
            float[] a = BufferPool.uninitialized(N);
            assertTrue(lease.handedOut(a));
            assertTrue(lease.giveBack(a));
            assertFalse(lease.handedOut(a));
            assertFalse(lease.giveBack(a), "given back twice would hand one array to two values");
            assertNotSame(a, BufferPool.uninitialized(N + 1), "only an exact length is reused");
            assertSame(a, BufferPool.uninitialized(N));
            assertNotSame(a, BufferPool.uninitialized(N), "one array goes to one caller");
        }
        assertNotSame(BufferPool.uninitialized(N), BufferPool.uninitialized(N), "closed: no pool on this thread");
    }

    @Test void onlyArraysTheLeaseHandedOutAreTakenBack() {
        BufferPool pool = new BufferPool();
        try (BufferPool.Lease lease = pool.open()) {
            float[] foreign = new float[N];
            assertFalse(lease.giveBack(foreign), "a user's or a model's array never enters the pool");
            assertNotSame(foreign, BufferPool.uninitialized(N));
            float[] small = BufferPool.uninitialized(8);
            assertFalse(lease.giveBack(small), "small arrays are not pooled");
        }
        assertEquals(0, pool.pooledFloats());
    }

    @Test void poolKeepsALengthWhileOneOfTheLastRunsTookIt() {
        BufferPool pool = new BufferPool();
        float[] a, b;
        try (BufferPool.Lease lease = pool.open()) {
            a = BufferPool.uninitialized(N);
            b = BufferPool.uninitialized(2 * N);
            lease.giveBack(a);
            lease.giveBack(b);
        }
        assertEquals(3L * N, pool.pooledFloats());
        for (int run = 1; run <= BufferPool.KEEP_RUNS; run++) {   // runs that take only N, as full batches after a short one
            try (BufferPool.Lease lease = pool.open()) {
                float[] again = BufferPool.uninitialized(N);
                assertSame(a, again, "the next run reuses the last one's arrays");
                lease.giveBack(again);
            }
            if (run < BufferPool.KEEP_RUNS) assertEquals(3L * N, pool.pooledFloats(), "2N was taken " + run + " runs ago: kept");
        }
        assertEquals(N, pool.pooledFloats(), "a length no run took in the last " + BufferPool.KEEP_RUNS + " is let go");
        try (BufferPool.Lease lease = pool.open()) {
            assertNotSame(b, BufferPool.uninitialized(2 * N));
        }
    }

    @Test void leasesNestAndRestoreTheOuterOne() {
        BufferPool outer = new BufferPool(), inner = new BufferPool();
        try (BufferPool.Lease o = outer.open()) {
            float[] a = BufferPool.uninitialized(N);
            o.giveBack(a);
            try (BufferPool.Lease i = inner.open()) {
                assertNotSame(a, BufferPool.uninitialized(N), "the inner lease draws from its own pool");
            }
            assertSame(a, BufferPool.uninitialized(N), "the outer lease is current again");
        }
    }
}
