package dev.ember.loaders.onnx.ops;

import dev.ember.autograd.Variable;
import dev.ember.loaders.onnx.OnnxException;
import dev.ember.loaders.onnx.OnnxNode;

import static dev.ember.loaders.onnx.ops.ElementwiseOps.one;

/**
 * GridSample on the host, with PyTorch's grid_sample semantics (the reference of the ONNX tests): x (N, C, H, W)
 * sampled at grid (N, OH, OW, 2) of normalized (x, y) in [-1, 1]; bilinear, nearest (half to even) or bicubic
 * (a = -0.75); zeros, border or reflection padding. Values, not differentiable.
 */
final class GridSampleOp {
    private GridSampleOp() {}

    static void register(OpTable t) {
        t.add("GridSample", 16, (n, in, v) -> one(gridSample(n, Args.in(n, in, 0), Args.in(n, in, 1))));
    }

    static Variable gridSample(OnnxNode node, Variable x, Variable grid) {
        Grad.refuse(node, x, grid);
        Args.requireFloat(node, x, "X");
        if (x.rank() != 4 || grid.rank() != 4 || grid.dim(3) != 2 || grid.dim(0) != x.dim(0)) {
            throw new OnnxUnsupportedException(node.describe() + ": only 2-D sampling of X (N, C, H, W) at grid (N, OH, OW, 2) is supported, got " + x.shape() + " and " + grid.shape());
        }
        String mode = node.attrString("mode", "bilinear"), padding = node.attrString("padding_mode", "zeros");
        boolean align = node.attrInt("align_corners", 0) != 0;
        if (!mode.equals("bilinear") && !mode.equals("nearest") && !mode.equals("bicubic")) throw new OnnxException(node.describe() + ": unknown mode '" + mode + "'");
        if (!padding.equals("zeros") && !padding.equals("border") && !padding.equals("reflection")) throw new OnnxException(node.describe() + ": unknown padding_mode '" + padding + "'");
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), oh = grid.dim(1), ow = grid.dim(2);
        double[] v = Host.doubles(x.data()), g = Host.doubles(grid.data());
        double[] y = new double[n * c * oh * ow];
        Image img = new Image(v, h, w, padding, align);
        for (int b = 0; b < n; b++) {
            for (int i = 0; i < oh; i++) {
                for (int j = 0; j < ow; j++) {
                    int at = ((b * oh + i) * ow + j) * 2;
                    double gx = unnormalize(g[at], w, align), gy = unnormalize(g[at + 1], h, align);
                    for (int ch = 0; ch < c; ch++) {
                        img.plane = (b * c + ch) * h * w;
                        y[((b * c + ch) * oh + i) * ow + j] = switch (mode) {
                            case "bilinear" -> img.bilinear(img.source(gx, w), img.source(gy, h));
                            case "nearest" -> img.at((int) Math.rint(img.source(gy, h)), (int) Math.rint(img.source(gx, w)));
                            default -> img.bicubic(gx, gy);
                        };
                    }
                }
            }
        }
        return Variable.of(Host.fromDoubles(x.data().dtype(), new int[] {n, c, oh, ow}, y));
    }

    private static double unnormalize(double coord, int size, boolean align) {
        return align ? (coord + 1) / 2 * (size - 1) : ((coord + 1) * size - 1) / 2;
    }

    /** One (n, c) plane with the padding rules. */
    private static final class Image {
        final double[] v;
        final int h, w;
        final String padding;
        final boolean align;
        int plane;

        Image(double[] v, int h, int w, String padding, boolean align) {
            this.v = v;
            this.h = h;
            this.w = w;
            this.padding = padding;
            this.align = align;
        }

        /** A coordinate after border clipping or reflection (zeros padding leaves it). */
        double source(double coord, int size) {
            if (padding.equals("border")) return Math.clamp(coord, 0, size - 1);
            if (padding.equals("reflection")) {
                double r = align ? reflect(coord, 0, 2 * (size - 1)) : reflect(coord, -1, 2 * size - 1);
                return Math.clamp(r, 0, size - 1);
            }
            return coord;
        }

        /** Mirrors {@code in} into [twiceLow / 2, twiceHigh / 2] (PyTorch's reflect_coordinates). */
        private static double reflect(double in, int twiceLow, int twiceHigh) {
            if (twiceLow == twiceHigh) return 0;
            double min = twiceLow / 2.0, span = (twiceHigh - twiceLow) / 2.0;
            in = Math.abs(in - min);
            double extra = in % span;
            int flips = (int) Math.floor(in / span);
            return flips % 2 == 0 ? extra + min : span - extra + min;
        }

        /** The pixel at (row, col), 0 outside the image. */
        double at(int row, int col) {
            return row < 0 || row >= h || col < 0 || col >= w ? 0 : v[plane + row * w + col];
        }

        double bilinear(double x, double y) {
            int x0 = (int) Math.floor(x), y0 = (int) Math.floor(y);
            double tx = x - x0, ty = y - y0;
            return at(y0, x0) * (1 - tx) * (1 - ty) + at(y0, x0 + 1) * tx * (1 - ty)
                    + at(y0 + 1, x0) * (1 - tx) * ty + at(y0 + 1, x0 + 1) * tx * ty;
        }

        /** 4x4 cubic convolution; each tap's coordinate gets the padding rule on its own. */
        double bicubic(double x, double y) {
            int x0 = (int) Math.floor(x), y0 = (int) Math.floor(y);
            double[] cx = cubic(x - x0), cy = cubic(y - y0);
            double sum = 0;
            for (int i = 0; i < 4; i++) {
                for (int j = 0; j < 4; j++) {
                    int row = (int) source(y0 - 1 + i, h), col = (int) source(x0 - 1 + j, w);
                    sum += cy[i] * cx[j] * at(row, col);
                }
            }
            return sum;
        }

        private static double[] cubic(double t) {
            double a = -0.75;
            return new double[] {
                    ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a,
                    ((a + 2) * t - (a + 3)) * t * t + 1,
                    ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1,
                    ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a};
        }
    }
}
