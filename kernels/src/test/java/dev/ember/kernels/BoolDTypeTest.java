package dev.ember.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ember.engine.Backend;
import dev.ember.engine.Backends;
import dev.ember.engine.CpuStorage;
import dev.ember.engine.DType;
import dev.ember.engine.DTypeException;
import dev.ember.engine.Device;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import org.junit.jupiter.api.Test;

/** bool tensors: one byte, 0 or 1; conversions to and from every dtype on both CPU backends. */
class BoolDTypeTest {
    @Test
    void conversionsFollowNonZeroIsTrue() {
        for (String name : new String[] {"cpu", "reference"}) {
            Backend b = Backends.named(name, Device.CPU);
            Tensor f = Tensor.of(new float[] {0f, -2.5f, 0.1f, Float.NaN}, 4);
            Tensor bools = b.zeros(DType.BOOL, Shape.of(4));
            b.copyInto(f, bools);
            assertArrayEquals(new byte[] {0, 1, 1, 1}, ((CpuStorage) bools.storage()).bytes(), name);
            Tensor back = b.zeros(DType.FLOAT32, Shape.of(4));
            b.copyInto(bools, back);
            assertArrayEquals(new float[] {0, 1, 1, 1}, back.toFloatArray(), name);
            Tensor longs = b.zeros(DType.INT64, Shape.of(4));
            b.copyInto(bools, longs);
            assertArrayEquals(new long[] {0, 1, 1, 1}, longs.toLongArray(), name);
            Tensor fromInts = b.zeros(DType.BOOL, Shape.of(3));
            b.copyInto(Tensor.ofLongs(new long[] {0, 7, -1}, 3), fromInts);
            assertArrayEquals(new byte[] {0, 1, 1}, ((CpuStorage) fromInts.storage()).bytes(), name);
        }
    }

    @Test
    void wrappedBytesMustBeZeroOrOne() {
        assertThrows(DTypeException.class, () -> CpuStorage.wrapBool(new byte[] {0, 2}));
        Tensor t = Tensor.of(CpuStorage.wrapBool(new byte[] {1, 0}), Shape.of(2));
        assertEquals(DType.BOOL, t.dtype());
        assertEquals(1f, t.get(0));
        t.set(0f, 0);
        assertEquals(0f, t.get(0));
    }
}
