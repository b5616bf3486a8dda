package dev.ember.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Element-wise closeness for float arrays: |a - b| <= abs + rel * |b|; NaN matches NaN, infinities match exactly. */
final class Close {
    private Close() {}

    static void assertClose(float[] expected, float[] actual, float rel, float abs, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            float e = expected[i], a = actual[i];
            if (Float.isNaN(e) && Float.isNaN(a)) continue;
            if (Float.isInfinite(e) || Float.isInfinite(a)) {
                if (e == a) continue;
                fail(what + ": element " + i + " expected " + e + " but was " + a);
            }
            if (!(Math.abs(e - a) <= abs + rel * Math.abs(e))) {
                fail(what + ": element " + i + " expected " + e + " but was " + a + " (|diff| " + Math.abs(e - a) + ")");
            }
        }
    }
}
