package dev.ember.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/** Step scopes: what they release, what they keep, and that a released tensor is an error, never stale values. */
class TensorScopeTest {
    private static final int N = BufferPool.MIN_FLOATS * 2;

    private static float[] array(Tensor t) { return ((CpuStorage) t.storage()).floats(); }

    @Test void aTensorMadeInAScopeIsReleasedWhenItClosesAndUsingItIsATypedError() {
        BufferPool pool = new BufferPool();
        Tensor t, view;
        try (TensorScope scope = TensorScope.open(pool)) {
            t = Tensor.zeros(DType.FLOAT32, Shape.of(2, N / 2));
            view = t.reshape(N);
            assertEquals(1, scope.trackedStorages());
            assertEquals(0f, t.toFloatArray()[0]);
        }
        assertTrue(((CpuStorage) t.storage()).isReleased());
        ReleasedTensorException e = assertThrows(ReleasedTensorException.class, t::toFloatArray);
        assertTrue(e.getMessage().contains(N + " FLOAT32 elements") && e.getMessage().contains("TensorScope.detach"), e.getMessage());
        assertThrows(ReleasedTensorException.class, view::toFloatArray, "a view shares its storage's fate");
        assertThrows(ReleasedTensorException.class, () -> ((CpuStorage) t.storage()).setDouble(0, 1));
        assertEquals("Tensor[2, " + N / 2 + "] float32 (released)", t.toString(), "printing one in a log does not throw");
    }

    /** A device storage as a backend makes one (a CUDA tensor's): it asks to be tracked and counts its releases. */
    private static final class DeviceStorage extends Storage {
        int released;

        DeviceStorage() {
            super(DType.FLOAT32);
            trackInScope();
        }

        @Override protected void releaseDeviceMemory() { released++; }
        @Override public Device device() { return Device.cuda(0); }
        @Override public int size() { return 4; }
    }

    private static Tensor onDevice() { return Tensor.of(new DeviceStorage(), Shape.of(4)); }

    private static DeviceStorage storage(Tensor t) { return (DeviceStorage) t.storage(); }

    @Test void deviceMemoryMadeInAScopeIsReleasedOnceWhenItClosesUnlessDetached() {
        Tensor before = onDevice(), made, kept, freedEarly;
        try (TensorScope scope = TensorScope.open(new BufferPool())) {
            int mark = TensorScope.mark();
            made = onDevice();
            kept = TensorScope.detach(onDevice());
            freedEarly = onDevice();
            assertEquals(3, scope.trackedStorages());
            assertTrue(TensorScope.madeSince(made, mark) && !TensorScope.madeSince(before, mark) && !TensorScope.madeSince(kept, mark));
            assertTrue(TensorScope.releaseIfMadeSince(freedEarly, mark), "a backward pass may free a gradient before the scope closes");
            assertTrue(storage(freedEarly).isReleased());
            assertFalse(TensorScope.madeSince(freedEarly, mark), "a released storage is no longer live");
        }
        assertEquals(1, storage(made).released);
        assertTrue(storage(made).isReleased());
        assertEquals(1, storage(freedEarly).released, "released once, not again when the scope closes");
        assertEquals(0, storage(kept).released);
        assertFalse(storage(kept).isReleased());
        assertEquals(0, storage(before).released, "made before the scope: not the scope's");
        assertEquals(0, storage(onDevice()).released, "no scope open: not tracked");
    }

    @Test void anArrayReleasedEarlyGoesBackToTheLeaseThatHandedItOut() {
        BufferPool caller = new BufferPool(), session = new BufferPool();
        try (TensorScope scope = TensorScope.open(caller)) {
            int mark = TensorScope.mark();
            try (BufferPool.Lease run = session.open()) {   // an OnnxSession run inside the caller's scope
                Tensor y = Tensor.of(CpuStorage.wrap(BufferPool.uninitialized(N)), Shape.of(N));
                float[] a = array(y);
                assertTrue(run.handedOut(a) && TensorScope.madeSince(y, mark));
                assertTrue(TensorScope.releaseIfMadeSince(y, mark));
                assertTrue(a == BufferPool.uninitialized(N), "the run's next request of that size takes it back");
            }
            Tensor z = Tensor.of(CpuStorage.wrap(BufferPool.uninitialized(N)), Shape.of(N));   // the scope's own lease again
            float[] b = array(z);
            assertTrue(TensorScope.releaseIfMadeSince(z, mark));
            assertTrue(b == BufferPool.uninitialized(N), "an array the scope's pool handed out goes back there");
        }
    }

    @Test void tensorsMadeBeforeTheScopeAreNotTouched() {
        Tensor before = Tensor.of(new float[N], N);
        try (TensorScope scope = TensorScope.open(new BufferPool())) {
            ((CpuStorage) before.storage()).setDouble(3, 7);   // updated in place inside the scope, as a parameter is
            assertEquals(0, scope.trackedStorages());
        }
        assertEquals(7f, before.toFloatArray()[3]);
    }

    @Test void theNextScopeReusesTheReleasedArraysZeroed() {
        BufferPool pool = new BufferPool();
        float[] first;
        try (TensorScope scope = TensorScope.open(pool)) {
            Tensor t = Tensor.zeros(DType.FLOAT32, Shape.of(N));
            first = array(t);
            Arrays.fill(first, 5f);
        }
        assertEquals(N, pool.pooledFloats());
        try (TensorScope scope = TensorScope.open(pool)) {
            Tensor again = Tensor.zeros(DType.FLOAT32, Shape.of(N));
            assertSame(first, array(again), "the step's second run allocates nothing");
            for (float v : again.toFloatArray()) assertEquals(0f, v, "zeros is zeros, whoever used the array before");
            float[] raw = BufferPool.uninitialized(N);
            assertNotSame(first, raw, "one array goes to one tensor");
        }
    }

    @Test void aDetachedTensorOutlivesTheScopeAndItsArrayIsNeverReused() {
        BufferPool pool = new BufferPool();
        Tensor kept;
        try (TensorScope scope = TensorScope.open(pool)) {
            kept = TensorScope.detach(Tensor.zeros(DType.FLOAT32, Shape.of(N)));
            Arrays.fill(array(kept), 2f);
        }
        assertEquals(0, pool.pooledFloats());
        try (TensorScope scope = TensorScope.open(pool)) {
            Tensor other = Tensor.zeros(DType.FLOAT32, Shape.of(N));
            assertNotSame(array(kept), array(other));
        }
        for (float v : kept.toFloatArray()) assertEquals(2f, v);
    }

    @Test void anArrayTheCallerHandedInIsNeverReused() {
        BufferPool pool = new BufferPool();
        float[] mine = new float[N];
        Arrays.fill(mine, 3f);
        Tensor wrapped;
        try (TensorScope scope = TensorScope.open(pool)) {
            wrapped = Tensor.of(mine, N);
        }
        assertThrows(ReleasedTensorException.class, wrapped::toFloatArray, "the tensor was made in the scope");
        assertEquals(0, pool.pooledFloats(), "but the array is the caller's");
        try (TensorScope scope = TensorScope.open(pool)) {
            assertNotSame(mine, array(Tensor.zeros(DType.FLOAT32, Shape.of(N))));
        }
        for (float v : mine) assertEquals(3f, v);
    }

    @Test void intArraysArePooledToo() {
        BufferPool pool = new BufferPool();
        int[] first;
        try (TensorScope scope = TensorScope.open(pool)) {
            first = BufferPool.zeroedInts(N);
            Arrays.fill(first, 9);
            Tensor.of(CpuStorage.wrap(first), Shape.of(N));
        }
        try (TensorScope scope = TensorScope.open(pool)) {
            int[] again = BufferPool.zeroedInts(N);
            assertSame(first, again);
            assertArrayEquals(new int[N], again);
        }
    }

    @Test void recycledScratchIsHandedOutAgain() {
        try (TensorScope scope = TensorScope.open(new BufferPool())) {
            float[] scratch = BufferPool.uninitialized(N);
            BufferPool.recycle(scratch);
            assertSame(scratch, BufferPool.uninitialized(N));
            BufferPool.recycle(new float[N]);   // not handed out: ignored
            assertNotSame(scratch, BufferPool.uninitialized(N));
        }
    }

    @Test void scopesNestAndCloseInReverseOrder() {
        BufferPool pool = new BufferPool();
        Tensor outerT, innerT;
        try (TensorScope outer = TensorScope.open(pool)) {
            outerT = Tensor.zeros(DType.FLOAT32, Shape.of(N));
            TensorScope inner = TensorScope.open(pool);
            innerT = Tensor.zeros(DType.FLOAT32, Shape.of(N));
            IllegalStateException e = assertThrows(IllegalStateException.class, outer::close);
            assertTrue(e.getMessage().contains("reverse order"), e.getMessage());
            inner.close();
            assertThrows(ReleasedTensorException.class, innerT::toFloatArray);
            assertEquals(0f, outerT.toFloatArray()[0], "the outer scope's tensors live until it closes");
        }
        assertThrows(ReleasedTensorException.class, outerT::toFloatArray);
    }

    @Test void aScopeClosesOnlyOnItsOwnThread() throws InterruptedException {
        try (TensorScope scope = TensorScope.open(new BufferPool())) {
            ExecutionException e = assertThrows(ExecutionException.class, () -> CompletableFuture.runAsync(scope::close).get());
            assertTrue(e.getCause() instanceof IllegalStateException, e.toString());
        }
    }

    @Test void storageMadeOnAnotherThreadIsNotTracked() throws Exception {
        try (TensorScope scope = TensorScope.open(new BufferPool())) {
            Tensor elsewhere = CompletableFuture.supplyAsync(() -> Tensor.zeros(DType.FLOAT32, Shape.of(N))).get();
            scope.close();
            assertFalse(((CpuStorage) elsewhere.storage()).isReleased());
        }
    }
}
