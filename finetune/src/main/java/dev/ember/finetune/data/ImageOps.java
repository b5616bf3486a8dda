package dev.ember.finetune.data;

/**
 * Pixel math on one image held as planes (C, H, W) in a float array: bilinear resize and rotation, shift, mirror.
 * Outside the source image counts as 0 (zero fill). Coordinates are pixel centers: pixel (y, x) sits at (y, x),
 * the image center at ((H-1)/2, (W-1)/2).
 */
final class ImageOps {
    private ImageOps() {}

    /**
     * Bilinear resize with half-pixel centers (PyTorch {@code align_corners=False}): output pixel (y, x) samples the
     * source at ((y + 0.5) * H/outH - 0.5, (x + 0.5) * W/outW - 0.5), clamped to the edge, so an upscale has no dark
     * border. No antialiasing: a large downscale skips pixels.
     */
    static float[] resize(float[] src, int c, int h, int w, int outH, int outW) {
        // src (C, H, W) -> out (C, outH, outW)
        float[] out = new float[c * outH * outW];
        double sy = (double) h / outH, sx = (double) w / outW;
        for (int y = 0; y < outH; y++) {
            double fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), h - 1);
            int y0 = (int) fy, y1 = Math.min(y0 + 1, h - 1);
            double ay = fy - y0;
            for (int x = 0; x < outW; x++) {
                double fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), w - 1);
                int x0 = (int) fx, x1 = Math.min(x0 + 1, w - 1);
                double ax = fx - x0;
                for (int ch = 0; ch < c; ch++) {
                    int p = ch * h * w;
                    double top = src[p + y0 * w + x0] * (1 - ax) + src[p + y0 * w + x1] * ax;
                    double bottom = src[p + y1 * w + x0] * (1 - ax) + src[p + y1 * w + x1] * ax;
                    out[ch * outH * outW + y * outW + x] = (float) (top * (1 - ay) + bottom * ay);
                }
            }
        }
        return out;
    }

    /**
     * Rotation by {@code radians} about the image center (counterclockwise as displayed, y pointing down), bilinear,
     * zero fill: each output pixel samples the source at the inversely rotated position.
     */
    static void rotate(float[] src, float[] dst, int c, int h, int w, double radians) {
        double cos = Math.cos(radians), sin = Math.sin(radians);
        double cy = (h - 1) / 2.0, cx = (w - 1) / 2.0;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double dx = x - cx, dy = y - cy;
                double sx = cos * dx - sin * dy + cx;
                double sy = sin * dx + cos * dy + cy;
                for (int ch = 0; ch < c; ch++) dst[ch * h * w + y * w + x] = bilinearZero(src, ch * h * w, h, w, sy, sx);
            }
        }
    }

    /** The source value at (y, x) interpolated from its four neighbors, neighbors outside the image being 0. */
    private static float bilinearZero(float[] src, int plane, int h, int w, double y, double x) {
        int y0 = (int) Math.floor(y), x0 = (int) Math.floor(x);
        double ay = y - y0, ax = x - x0;
        double v = at(src, plane, h, w, y0, x0) * (1 - ay) * (1 - ax)
                + at(src, plane, h, w, y0, x0 + 1) * (1 - ay) * ax
                + at(src, plane, h, w, y0 + 1, x0) * ay * (1 - ax)
                + at(src, plane, h, w, y0 + 1, x0 + 1) * ay * ax;
        return (float) v;
    }

    private static float at(float[] src, int plane, int h, int w, int y, int x) {
        return y < 0 || y >= h || x < 0 || x >= w ? 0f : src[plane + y * w + x];
    }

    /** Content moved down by {@code dy} and right by {@code dx} pixels (negative: up, left), zero fill. */
    static void shift(float[] src, float[] dst, int c, int h, int w, int dy, int dx) {
        for (int ch = 0; ch < c; ch++) {
            int p = ch * h * w;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) dst[p + y * w + x] = at(src, p, h, w, y - dy, x - dx);
            }
        }
    }

    /** Left-right mirror. */
    static void flipHorizontal(float[] src, float[] dst, int c, int h, int w) {
        for (int ch = 0; ch < c; ch++) {
            int p = ch * h * w;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) dst[p + y * w + x] = src[p + y * w + (w - 1 - x)];
            }
        }
    }
    /**
     * The image with {@code toChannels} channels: gray to RGB copies the gray plane, RGB to gray takes ITU-R BT.601
     * luma 0.299 R + 0.587 G + 0.114 B.
     */
    static float[] convertChannels(float[] src, int c, int h, int w, int toChannels) {
        if (c == toChannels) return src;
        int plane = h * w;
        float[] out = new float[toChannels * plane];
        if (c == 1 && toChannels == 3) {
            for (int ch = 0; ch < 3; ch++) System.arraycopy(src, 0, out, ch * plane, plane);
        } else if (c == 3 && toChannels == 1) {
            for (int i = 0; i < plane; i++) out[i] = 0.299f * src[i] + 0.587f * src[plane + i] + 0.114f * src[2 * plane + i];
        } else {
            throw new IllegalArgumentException("cannot convert " + c + " channels to " + toChannels);
        }
        return out;
    }
}
