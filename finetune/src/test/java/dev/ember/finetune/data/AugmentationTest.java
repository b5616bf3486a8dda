package dev.ember.finetune.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.engine.EmberException;
import dev.ember.engine.Rng;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;
import org.junit.jupiter.api.Test;

class AugmentationTest {
    /** A batch (B, C, H, W) with distinct values in [0, 1). */
    private static Tensor ramp(int b, int c, int h, int w) {
        float[] x = new float[b * c * h * w];
        for (int i = 0; i < x.length; i++) x[i] = (i % 97) / 97f;
        return Tensor.of(x, b, c, h, w);
    }

    @Test
    void flipAlwaysIsAnExactMirror() {
        Tensor in = ramp(2, 3, 4, 5);
        Tensor out = Augmentation.parse("flip:1").apply(in, new Rng(1));
        for (int b = 0; b < 2; b++)
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 4; y++)
                    for (int x = 0; x < 5; x++) assertEquals(in.get(b, c, y, x), out.get(b, c, y, 4 - x));
        // p = 0.5: over many samples, about half are flipped
        Tensor many = ramp(400, 1, 2, 3);
        float[] a = many.toFloatArray(), f = Augmentation.parse("flip").apply(many, new Rng(2)).toFloatArray();
        int flipped = 0;
        for (int i = 0; i < 400; i++) if (f[i * 6] != a[i * 6]) flipped++;
        assertTrue(flipped > 150 && flipped < 250, "flipped " + flipped + " of 400");
    }

    @Test
    void rotateZeroIsIdentityAndTheInputStaysUntouched() {
        Tensor in = ramp(3, 1, 6, 6);
        float[] before = in.toFloatArray();
        Tensor out = Augmentation.parse("rotate:0").apply(in, new Rng(3));
        assertArrayEquals(before, out.toFloatArray());
        assertArrayEquals(before, in.toFloatArray());
        // any rotation leaves the input as it was and changes the output
        Tensor r = Augmentation.parse("rotate:30").apply(in, new Rng(3));
        assertArrayEquals(before, in.toFloatArray());
        assertFalse(java.util.Arrays.equals(before, r.toFloatArray()));
    }

    @Test
    void rotateBy180IsADoubleMirrorAnd90TurnsCounterclockwise() {
        int h = 5, w = 7;
        float[] src = ramp(1, 1, h, w).toFloatArray(), dst = new float[h * w];
        ImageOps.rotate(src, dst, 1, h, w, Math.PI);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) assertEquals(src[(h - 1 - y) * w + (w - 1 - x)], dst[y * w + x], 1e-5f);
        // a bright pixel right of the center moves above it
        float[] dot = new float[25], turned = new float[25];
        dot[2 * 5 + 4] = 1;
        ImageOps.rotate(dot, turned, 1, 5, 5, Math.PI / 2);
        assertEquals(1f, turned[0 * 5 + 2], 1e-5f);
    }

    @Test
    void translateShiftsContentWithZeroFill() {
        // one bright pixel in the middle of 9x9 ends within 2 pixels of the center, the rest stays 0
        Tensor in = Tensor.zeros(50, 1, 9, 9);
        for (int b = 0; b < 50; b++) in.set(1f, b, 0, 4, 4);
        Tensor out = Augmentation.parse("translate:2").apply(in, new Rng(4));
        boolean moved = false;
        for (int b = 0; b < 50; b++) {
            float sum = 0;
            for (int y = 0; y < 9; y++) {
                for (int x = 0; x < 9; x++) {
                    float v = out.get(b, 0, y, x);
                    sum += v;
                    if (v != 0) {
                        assertTrue(Math.abs(y - 4) <= 2 && Math.abs(x - 4) <= 2, "pixel at " + y + "," + x);
                        moved |= y != 4 || x != 4;
                    }
                }
            }
            assertEquals(1f, sum);
        }
        assertTrue(moved);
        float[] shifted = new float[9];
        ImageOps.shift(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, shifted, 1, 3, 3, 1, -1);
        assertArrayEquals(new float[] {0, 0, 0, 2, 3, 0, 5, 6, 0}, shifted);
        // crop is the same step under its torchvision name
        assertArrayEquals(out.toFloatArray(), Augmentation.parse("crop:2").apply(in, new Rng(4)).toFloatArray());
    }

    @Test
    void noiseHasTheRequestedSigma() {
        Tensor in = Tensor.full(0.5f, 4, 1, 50, 50);
        float[] out = Augmentation.parse("noise:0.1").apply(in, new Rng(5)).toFloatArray();
        double mean = 0, var = 0;
        for (float v : out) mean += v;
        mean /= out.length;
        for (float v : out) var += (v - mean) * (v - mean);
        double sd = Math.sqrt(var / out.length);
        assertEquals(0.5, mean, 0.01);
        assertEquals(0.1, sd, 0.005);
    }

    @Test
    void brightnessContrastAndNormalize() {
        Tensor gray = Tensor.full(0.5f, 200, 1, 2, 2);
        float[] b = Augmentation.parse("brightness:0.2").apply(gray, new Rng(6)).toFloatArray();
        float lo = 1, hi = 0;
        for (float v : b) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        assertTrue(lo >= 0.4f - 1e-6f && hi <= 0.6f + 1e-6f && hi - lo > 0.15f, lo + ".." + hi);
        // contrast keeps the mean and scales the spread; a flat image stays flat
        assertArrayEquals(gray.toFloatArray(), Augmentation.parse("contrast:0.5").apply(gray, new Rng(6)).toFloatArray(), 1e-6f);
        Tensor two = Tensor.of(new float[] {0.4f, 0.6f}, 1, 1, 1, 2);
        float[] c = Augmentation.parse("contrast:0.5").apply(two, new Rng(7)).toFloatArray();
        assertEquals(1.0f, c[0] + c[1], 1e-6f);
        // per-channel normalize, and its evaluation form
        Tensor rgb = Tensor.of(new float[] {0.5f, 0.5f, 0.5f}, 1, 3, 1, 1);
        Augmentation aug = Augmentation.parse("flip, normalize:0.5/0.25/0,0.5/0.25/2");
        assertArrayEquals(new float[] {0, 1, 0.25f}, aug.forEvaluation().apply(rgb, new Rng(8)).toFloatArray(), 1e-6f);
        assertEquals("normalize:0.5/0.25/0.0,0.5/0.25/2.0", aug.forEvaluation().toString());
        assertArrayEquals(new float[] {-1, 1}, Augmentation.parse("normalize:0.5,0.5").apply(Tensor.of(new float[] {0, 1}, 1, 2), new Rng(8)).toFloatArray(), 1e-6f);
    }

    @Test
    void sameSeedSameOutput() {
        Augmentation aug = Augmentation.parse("noise:0.05,rotate:10,flip,translate:2,brightness:0.1,contrast:0.1");
        assertEquals("flip:0.5,rotate:10.0,translate:2,brightness:0.1,contrast:0.1,noise:0.05", aug.toString());
        Tensor in = ramp(4, 3, 8, 8);
        assertArrayEquals(aug.apply(in, new Rng(9)).toFloatArray(), aug.apply(in, new Rng(9)).toFloatArray());
        assertNotEquals(java.util.Arrays.toString(aug.apply(in, new Rng(9)).toFloatArray()), java.util.Arrays.toString(aug.apply(in, new Rng(10)).toFloatArray()));
        assertTrue(Augmentation.parse("").isIdentity() && Augmentation.parse("none").isIdentity());
    }

    @Test
    void clearErrors() {
        assertEquals("augmentation \"flip,rotat:10\": item 'rotat:10': expected an unknown augmentation 'rotat' (known: flip, rotate, crop, translate, brightness, contrast, noise, normalize)",
                assertThrows(EmberException.class, () -> Augmentation.parse("flip,rotat:10")).getMessage());
        assertTrue(assertThrows(EmberException.class, () -> Augmentation.parse("noise:abc")).getMessage().contains("a number, got 'abc'"));
        assertTrue(assertThrows(EmberException.class, () -> Augmentation.parse("rotate")).getMessage().contains("a value: rotate:DEG"));
        assertTrue(assertThrows(EmberException.class, () -> Augmentation.parse("flip:2")).getMessage().contains("in [0, 1], got 2"));
        assertTrue(assertThrows(EmberException.class, () -> Augmentation.parse("crop:2,translate:3")).getMessage().contains("given twice"));
        assertTrue(assertThrows(EmberException.class, () -> Augmentation.parse("crop:1.5")).getMessage().contains("whole number of pixels"));
        assertTrue(assertThrows(EmberException.class, () -> Augmentation.parse("normalize:0.5")).getMessage().contains("normalize:MEAN,STD"));
        assertTrue(assertThrows(EmberException.class, () -> Augmentation.parse("normalize:0.5,0")).getMessage().contains("got 0"));
        assertTrue(assertThrows(EmberException.class, () -> Augmentation.parse("flip,,noise:0.1")).getMessage().contains("empty item"));
        assertTrue(assertThrows(ShapeException.class, () -> Augmentation.parse("flip").apply(Tensor.zeros(2, 3), new Rng(1))).getMessage().contains("needs images (B, C, H, W)"));
        assertTrue(assertThrows(ShapeException.class, () -> Augmentation.parse("normalize:imagenet").apply(Tensor.zeros(1, 2, 2, 2), new Rng(1))).getMessage().contains("3 per-channel values, the batch has 2 channels"));
    }
}
