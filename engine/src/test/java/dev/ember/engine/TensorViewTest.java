package dev.ember.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Views are pure index arithmetic: these tests need no backend. */
class TensorViewTest {
    private static Tensor arange(int... dims) {
        float[] a = new float[Shape.of(dims).numel()];
        for (int i = 0; i < a.length; i++) a[i] = i;
        return Tensor.of(a, dims);
    }

    @Test
    void reshapeOfContiguousSharesStorage() {
        Tensor t = arange(2, 3, 4);
        Tensor r = t.reshape(6, -1);
        assertSame(t.storage(), r.storage());
        assertArrayEquals(new int[] {6, 4}, r.dims());
        assertEquals(9f, r.get(2, 1));
        assertThrows(ShapeException.class, () -> t.reshape(5, -1));
        assertThrows(ShapeException.class, () -> t.reshape(-1, -1));
    }

    @Test
    void permuteAndTransposeSwapStrides() {
        Tensor t = arange(2, 3, 4);
        Tensor p = t.permute(2, 0, 1);
        assertArrayEquals(new int[] {4, 2, 3}, p.dims());
        assertArrayEquals(new int[] {1, 12, 4}, p.strides());
        assertEquals(t.get(1, 2, 3), p.get(3, 1, 2));
        assertFalse(p.isContiguous());
        Tensor tr = t.transpose(0, 2);
        assertEquals(t.get(1, 0, 3), tr.get(3, 0, 1));
        assertThrows(ShapeException.class, () -> t.permute(0, 0, 1));
    }

    @Test
    void sliceWithStepAndNegativeBounds() {
        Tensor t = arange(10);
        Tensor s = t.slice(0, 1, -1, 3);
        assertArrayEquals(new int[] {3}, s.dims());
        assertEquals(1f, s.get(0));
        assertEquals(4f, s.get(1));
        assertEquals(7f, s.get(2));
        assertEquals(0, t.slice(0, 8, 2).numel());
        Tensor m = arange(3, 4).slice(1, 1, 3);
        assertEquals(6f, m.get(1, 1));
    }

    @Test
    void expandUsesZeroStrides() {
        Tensor col = arange(3, 1);
        Tensor e = col.expand(2, 3, 4);
        assertArrayEquals(new int[] {0, 1, 0}, e.strides());
        assertEquals(2f, e.get(1, 2, 3));
        assertThrows(ShapeException.class, () -> arange(3, 2).expand(3, 4));
    }

    @Test
    void squeezeAndUnsqueeze() {
        Tensor t = arange(1, 3, 1);
        assertArrayEquals(new int[] {3}, t.squeeze().dims());
        assertArrayEquals(new int[] {3, 1}, t.squeeze(0).dims());
        assertThrows(ShapeException.class, () -> t.squeeze(1));
        Tensor u = arange(2, 3).unsqueeze(1);
        assertArrayEquals(new int[] {2, 1, 3}, u.dims());
        assertEquals(4f, u.get(1, 0, 1));
        assertArrayEquals(new int[] {2, 3, 1}, arange(2, 3).unsqueeze(-1).dims());
    }

    @Test
    void contiguityIgnoresSizeOneAxes() {
        assertTrue(arange(2, 1, 3).permute(1, 0, 2).isContiguous());
        assertTrue(arange(4, 5).slice(0, 1, 3).isContiguous());
        assertFalse(arange(4, 5).slice(1, 1, 3).isContiguous());
    }

    @Test
    void viewOutsideStorageIsRefused() {
        assertThrows(ShapeException.class, () -> Tensor.view(CpuStorage.allocate(DType.FLOAT32, 5), Shape.of(2, 3), new int[] {3, 1}, 0));
    }

    @Test
    void elementAccessChecksBounds() {
        Tensor t = arange(2, 2);
        t.set(9f, 1, 0);
        assertEquals(9f, t.get(1, 0));
        assertThrows(ShapeException.class, () -> t.get(2, 0));
        assertThrows(ShapeException.class, () -> t.get(0));
    }

    @Test
    void deviceParsing() {
        assertEquals(Device.CPU, Device.parse("cpu"));
        assertEquals(Device.cuda(1), Device.parse("cuda:1"));
        assertThrows(BackendException.class, () -> Device.parse("tpu"));
        assertTrue(assertThrows(BackendException.class, () -> Device.parse("cuda:-1")).getMessage().contains("'cuda:-1'"), "a negative index is the same typed error");
    }

    @Test
    void convAndPoolGeometry() {
        Conv2dParams p = new Conv2dParams(2, 2, 1, 1, 1, 1, 1);
        assertEquals(Shape.of(1, 8, 4, 4), p.outputShape(Shape.of(1, 3, 8, 8), Shape.of(8, 3, 3, 3)));
        assertThrows(ShapeException.class, () -> p.outputShape(Shape.of(1, 4, 8, 8), Shape.of(8, 3, 3, 3)));
        assertEquals(Shape.of(1, 1, 3, 3), new Pool2dParams(2, 2, 2, 2, 0, 0, true, true).outputShape(Shape.of(1, 1, 5, 5)));
        assertEquals(Shape.of(1, 1, 2, 2), Pool2dParams.of(2).outputShape(Shape.of(1, 1, 5, 5)));
    }
}
