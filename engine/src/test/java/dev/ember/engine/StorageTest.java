package dev.ember.engine;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Constant storage and the derived forms backends keep with it. */
class StorageTest {
    @Test void derivedFormsAreKeptOnlyForConstantStorage() {
        Storage s = CpuStorage.wrap(new float[] {1, 2, 3});
        assertFalse(s.isConstant());
        assertThrows(IllegalStateException.class, () -> s.derived("packed", Object::new));
        s.markConstant();
        assertTrue(s.isConstant());
        AtomicInteger made = new AtomicInteger();
        Object first = s.derived("packed", () -> new Object[] {made.incrementAndGet()});
        assertSame(first, s.derived("packed", () -> new Object[] {made.incrementAndGet()}), "made once, then kept");
        assertEquals(1, made.get());
        Object other = s.derived("another layout", () -> new Object[] {made.incrementAndGet()});
        assertEquals(2, made.get(), "a different key is a different form");
        assertTrue(other != first);
    }
}
