package dev.ember.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ShapeTest {
    @Test
    void contiguousStridesAreRowMajor() {
        assertArrayEquals(new int[] {12, 4, 1}, Shape.of(2, 3, 4).contiguousStrides());
        assertEquals(24, Shape.of(2, 3, 4).numel());
        assertEquals(1, Shape.SCALAR.numel());
    }

    @Test
    void broadcastFollowsNumpy() {
        assertEquals(Shape.of(5, 3, 4), Shape.broadcast(Shape.of(5, 1, 4), Shape.of(3, 1)));
        assertEquals(Shape.of(2, 3), Shape.broadcast(Shape.SCALAR, Shape.of(2, 3)));
        assertEquals(Shape.of(0, 3), Shape.broadcast(Shape.of(0, 1), Shape.of(3)));
    }

    @Test
    void broadcastMismatchNamesBothShapes() {
        ShapeException e = assertThrows(ShapeException.class, () -> Shape.broadcast(Shape.of(2, 3), Shape.of(4)));
        assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("[4]"), e.getMessage());
    }

    @Test
    void refusesOverflowAndNegativeSizes() {
        assertThrows(ShapeException.class, () -> Shape.of(1 << 16, 1 << 16));
        assertThrows(ShapeException.class, () -> Shape.of(3, -1));
        assertThrows(ShapeException.class, () -> Shape.ofLongs(1L << 40));
    }

    @Test
    void axisAcceptsNegativeAndRejectsOutOfRange() {
        assertEquals(2, Shape.of(2, 3, 4).axis(-1));
        ShapeException e = assertThrows(ShapeException.class, () -> Shape.of(2, 3).axis(2));
        assertTrue(e.getMessage().contains("[2, 3]"));
    }
}
