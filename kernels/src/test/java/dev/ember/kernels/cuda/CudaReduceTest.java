package dev.ember.kernels.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How CudaReduce cuts a long reduction into chunks (its kernels run in CudaVsCpuTest, on a GPU). */
class CudaReduceTest {
    @Test void fewOutputsOverALongAxisAreCutIntoChunks() {
        assertEquals(16, CudaReduce.splits(64, 64 * 112 * 112));   // resnet18's stem bias gradient at batch 64: 1024 blocks
        assertEquals(3, CudaReduce.splits(1, 15_300));             // a whole-tensor sum: chunks of at least 4096
        assertEquals(1, CudaReduce.splits(512, 64 * 7 * 7));       // enough outputs: one pass
        assertEquals(1, CudaReduce.splits(10, 64));                // short: one pass
        assertEquals(1, CudaReduce.splits(1, 8191));
    }

    @Test void noChunkIsEmptyAndTheyCoverTheAxis() {
        for (int outer : new int[] {1, 2, 3, 7, 64, 255}) {
            for (int count : new int[] {8192, 8193, 10_000, 65_537, 200_704, 1 << 24}) {
                int s = CudaReduce.splits(outer, count), chunk = Math.ceilDiv(count, s);
                assertTrue(s >= 1 && (long) s * chunk >= count && (long) (s - 1) * chunk < count, outer + " x " + count + ": " + s);
                assertTrue(s == 1 || chunk >= 4096, outer + " x " + count + ": chunk " + chunk);
            }
        }
    }
}
