package dev.ember.kernels.cuda;

import dev.ember.engine.BackendException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The caching allocator's bookkeeping over a fake device with a fixed capacity: no GPU involved. */
class CudaAllocatorTest {
    /** A device of {@code capacity} bytes handing out increasing fake addresses. */
    static final class FakeDevice implements RawDeviceMemory {
        final long capacity;
        final Map<Long, Long> blocks = new HashMap<>();
        long used, next = 0x1000;
        int allocations, frees;

        FakeDevice(long capacity) { this.capacity = capacity; }

        @Override public long allocate(long bytes) {
            if (used + bytes > capacity) return 0;
            long at = next;
            next += bytes;
            blocks.put(at, bytes);
            used += bytes;
            allocations++;
            return at;
        }

        @Override public void free(long address) {
            Long bytes = blocks.remove(address);
            if (bytes == null) throw new AssertionError("fake device: double free at " + address);
            used -= bytes;
            frees++;
        }

        @Override public long freeBytes() { return capacity - used; }
    }

    @Test void sizeClassesArePowersOfTwoUpToOneMibThenWholeMib() {
        assertEquals(512, CudaAllocator.sizeClass(0));
        assertEquals(512, CudaAllocator.sizeClass(1));
        assertEquals(512, CudaAllocator.sizeClass(512));
        assertEquals(1024, CudaAllocator.sizeClass(513));
        assertEquals(4096, CudaAllocator.sizeClass(4000));
        assertEquals(1 << 20, CudaAllocator.sizeClass((1 << 19) + 1));
        assertEquals(1 << 20, CudaAllocator.sizeClass(1 << 20));
        assertEquals(2 << 20, CudaAllocator.sizeClass((1 << 20) + 1));
        assertEquals(5L << 20, CudaAllocator.sizeClass((4L << 20) + 7));
        assertThrows(BackendException.class, () -> CudaAllocator.sizeClass(-1));
    }

    @Test void aFreedBlockIsReusedForTheSameClassWithoutTouchingTheDevice() {
        FakeDevice dev = new FakeDevice(1 << 24);
        CudaAllocator a = new CudaAllocator(dev, null);
        CudaAllocator.Block first = a.allocate(1000);
        assertEquals(1024, first.sizeClass());
        assertEquals(1000, first.requested());
        a.free(first);
        CudaAllocator.Block again = a.allocate(700);   // same 1 KiB class
        assertEquals(first.address(), again.address());
        CudaAllocator.Block other = a.allocate(3000);  // 4 KiB class: a new block
        assertNotEquals(first.address(), other.address());
        assertEquals(2, dev.allocations);
        assertEquals(0, dev.frees);
        CudaAllocator.Stats s = a.stats();
        assertEquals(1, s.hits());
        assertEquals(2, s.misses());
        assertEquals(1024 + 4096, s.bytesInUse());
        assertEquals(0, s.bytesCached());
    }

    @Test void statsTrackInUseCachedAndPeak() {
        CudaAllocator a = new CudaAllocator(new FakeDevice(1 << 24), null);
        CudaAllocator.Block x = a.allocate(2 << 20), y = a.allocate(100);
        assertEquals((2 << 20) + 512, a.stats().bytesInUse());
        a.free(x);
        CudaAllocator.Stats s = a.stats();
        assertEquals(512, s.bytesInUse());
        assertEquals(2 << 20, s.bytesCached());
        assertEquals((2 << 20) + 512, s.peakBytesInUse());
        a.free(y);
        assertEquals(0, a.stats().bytesInUse());
        assertEquals((2 << 20) + 512, a.stats().bytesCached());
        assertEquals((2 << 20) + 512, a.releaseCached());
        assertEquals(0, a.stats().bytesCached());
        assertEquals(2, a.stats().releases());
    }

    @Test void freeingTwiceIsAnError() {
        CudaAllocator a = new CudaAllocator(new FakeDevice(1 << 20), null);
        CudaAllocator.Block b = a.allocate(10);
        a.free(b);
        BackendException e = assertThrows(BackendException.class, () -> a.free(b));
        assertTrue(e.getMessage().contains("freed twice"), e.getMessage());
    }

    @Test void cachedBlocksOfOtherClassesAreReleasedWhenTheDeviceIsFullThenTheRequestRetried() {
        FakeDevice dev = new FakeDevice(8192);
        CudaAllocator a = new CudaAllocator(dev, null);
        List<CudaAllocator.Block> small = new ArrayList<>();
        for (int i = 0; i < 8; i++) small.add(a.allocate(1024));   // fills the device with 1 KiB blocks
        for (CudaAllocator.Block b : small) a.free(b);              // all cached, device still full
        assertEquals(8192, a.stats().bytesCached());
        CudaAllocator.Block big = a.allocate(4096);                // needs the cache released
        assertEquals(4096, big.sizeClass());
        assertEquals(8, dev.frees);
        assertEquals(0, a.stats().bytesCached());
        assertEquals(4096, a.stats().bytesInUse());
    }

    @Test void thePressureHookRunsBeforeGivingUpAndItsFreedBlocksServeTheRetry() {
        FakeDevice dev = new FakeDevice(4096);
        List<CudaAllocator.Block> held = new ArrayList<>();
        CudaAllocator[] ref = new CudaAllocator[1];
        int[] hookRuns = {0};
        // the hook plays the GC + Cleaner: it returns the blocks of tensors nobody holds any more
        ref[0] = new CudaAllocator(dev, () -> {
            hookRuns[0]++;
            for (CudaAllocator.Block b : held) ref[0].free(b);
            held.clear();
        });
        CudaAllocator a = ref[0];
        for (int i = 0; i < 4; i++) held.add(a.allocate(1024));
        CudaAllocator.Block b = a.allocate(2048);
        assertEquals(1, hookRuns[0]);
        assertEquals(2048, b.sizeClass());
        assertEquals(2048, a.stats().bytesInUse());
    }

    @Test void outOfMemoryNamesTheSizeAskedAndTheFreeMemory() {
        FakeDevice dev = new FakeDevice(1 << 20);
        CudaAllocator a = new CudaAllocator(dev, () -> {});
        a.allocate(600_000);
        BackendException e = assertThrows(BackendException.class, () -> a.allocate(700_000));
        String m = e.getMessage();
        assertTrue(m.contains("out of device memory") && m.contains("700000 bytes") && m.contains(dev.freeBytes() + " bytes free"), m);
        assertEquals(1 << 20, a.stats().bytesInUse(), "the failed request holds nothing");
    }
}
