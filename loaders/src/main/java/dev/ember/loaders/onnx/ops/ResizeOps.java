package dev.ember.loaders.onnx.ops;

import dev.ember.autograd.Variable;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxException;
import dev.ember.loaders.onnx.OnnxNode;

import static dev.ember.loaders.onnx.ops.ElementwiseOps.one;

/**
 * Resize (and the older Upsample) as one 1-D interpolation per axis, exactly as the ONNX reference defines it:
 * each output coordinate maps back to {@code x_original} by the coordinate transformation mode, and takes its n
 * nearest input neighbours (edge-clamped) with nearest (n=2, one-hot), linear (n=2) or cubic (n=4) weights.
 * Nearest gathers whole slices (any dtype); linear and cubic multiply by the (in, out) weight matrix of each axis, so
 * both stay differentiable. tf_crop_and_resize puts extrapolation_value where x_original leaves the input.
 */
final class ResizeOps {
    private ResizeOps() {}

    static void register(OpTable t) {
        t.add("Upsample", 7, (n, in, v) -> one(resize(n, Args.in(n, in, 0), toDoubles(n.attrFloats("scales", null)), null, null, true)));
        t.add("Upsample", 9, (n, in, v) -> one(resize(n, Args.in(n, in, 0), floats(Args.in(n, in, 1)), null, null, true)));
        t.add("Resize", 10, (n, in, v) -> one(resize(n, Args.in(n, in, 0), floats(Args.in(n, in, 1)), null, null, true)));
        t.add("Resize", 11, (n, in, v) -> {
            Variable roi = Args.opt(in, 1), scales = Args.opt(in, 2), sizes = Args.opt(in, 3);
            long[] size = sizes == null || sizes.data().numel() == 0 ? null : Args.longs(n, sizes, "sizes");
            double[] scale = scales == null || scales.data().numel() == 0 ? null : floats(scales);
            double[] r = roi == null || roi.data().numel() == 0 ? null : floats(roi);
            if (n.attrInt("antialias", 0) != 0 || n.has("axes")) throw new OnnxUnsupportedException(n.describe() + ": antialias and axes are not supported");
            return one(resize(n, Args.in(n, in, 0), scale, size, r, false));
        });
    }

    private static double[] floats(Variable v) { return Host.doubles(v.data()); }

    private static double[] toDoubles(float[] f) {
        if (f == null) return null;
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    static Variable resize(OnnxNode node, Variable x, double[] scales, long[] sizes, double[] roi, boolean legacy) {
        int r = x.rank();
        if ((scales == null) == (sizes == null)) throw new OnnxException(node.describe() + ": exactly one of scales and sizes must be given");
        if ((scales != null && scales.length != r) || (sizes != null && sizes.length != r)) {
            throw new OnnxException(node.describe() + ": scales/sizes need one entry per axis of " + x.shape());
        }
        String mode = node.attrString("mode", "nearest");
        if (mode.equals("bilinear")) mode = "linear";
        String coord = legacy ? "asymmetric" : node.attrString("coordinate_transformation_mode", "half_pixel");
        String nearestMode = legacy ? "floor" : node.attrString("nearest_mode", "round_prefer_floor");
        if (!mode.equals("nearest") && !mode.equals("linear") && !mode.equals("cubic")) {
            throw new OnnxUnsupportedException(node.describe() + ": mode '" + mode + "' is not supported");
        }
        if (!mode.equals("nearest")) Args.requireFloat(node, x, "X");
        if (coord.equals("tf_crop_and_resize") && (roi == null || roi.length != 2 * r)) {
            throw new OnnxException(node.describe() + ": tf_crop_and_resize needs roi with 2 x rank entries");
        }
        float a = node.attrFloat("cubic_coeff_a", -0.75f);
        boolean excludeOutside = node.attrInt("exclude_outside", 0) != 0;
        int[] outDims = new int[r];
        boolean[][] outside = new boolean[r][];
        Variable y = x;
        for (int axis = 0; axis < r; axis++) {
            int in = x.dim(axis);
            double scale;
            if (sizes != null) {
                outDims[axis] = Args.toInt(node, sizes[axis], "size");
                scale = (double) outDims[axis] / in;
            } else {
                scale = scales[axis];
                if (!(scale > 0)) throw new OnnxException(node.describe() + ": scale " + scale + " must be positive");
                outDims[axis] = (int) Math.min(scale * in, Integer.MAX_VALUE);
            }
            int out = outDims[axis];
            if (in == 0 || out < 0) throw new OnnxException(node.describe() + ": cannot resize axis " + axis + " from " + in + " to " + out);
            int[] sofar = y.shape().dims();
            sofar[axis] = out;
            Args.checkSize(node, sofar, x.data().dtype());
            double[][] weights = new double[out][];
            int[][] neighbours = new int[out][];
            outside[axis] = new boolean[out];
            for (int o = 0; o < out; o++) {
                double xo = original(coord, o, scale, in, roi == null ? 0 : roi[axis], roi == null ? 1 : roi[r + axis]);
                if (coord.equals("tf_crop_and_resize") && (xo < 0 || xo > in - 1)) {
                    outside[axis][o] = true;
                    weights[o] = new double[0];
                    neighbours[o] = new int[0];
                    continue;
                }
                boolean whole = xo == Math.floor(xo);
                double floor = whole ? xo - 1 : Math.floor(xo), ratio = whole ? 1 : xo - floor;
                double[] c = switch (mode) {
                    case "nearest" -> nearest(ratio, whole, nearestMode, node);
                    case "linear" -> new double[] {1 - ratio, ratio};
                    default -> cubic(ratio, a);
                };
                int first = (int) floor - (c.length / 2 - 1);
                int[] idx = new int[c.length];
                for (int j = 0; j < c.length; j++) idx[j] = first + j;
                if (excludeOutside) {
                    double sum = 0;
                    for (int j = 0; j < c.length; j++) {
                        if (idx[j] < 0 || idx[j] >= in) c[j] = 0;
                        sum += c[j];
                    }
                    for (int j = 0; j < c.length; j++) c[j] /= sum;
                }
                for (int j = 0; j < c.length; j++) idx[j] = Math.clamp(idx[j], 0, in - 1);
                weights[o] = c;
                neighbours[o] = idx;
            }
            y = mode.equals("nearest") ? applyNearest(y, axis, in, weights, neighbours) : applyWeights(y, axis, in, weights, neighbours);
        }
        return withExtrapolation(node, y, outside, outDims);
    }

    /** x_original for output coordinate {@code o} (the reference's formulas; output_width is scale * in, unrounded). */
    private static double original(String coord, int o, double scale, int in, double roiStart, double roiEnd) {
        double width = scale * in;
        return switch (coord) {
            case "half_pixel" -> (o + 0.5) / scale - 0.5;
            case "pytorch_half_pixel" -> width == 1 ? -0.5 : (o + 0.5) / scale - 0.5;
            case "align_corners" -> width == 1 ? 0 : o * (in - 1) / (width - 1);
            case "asymmetric" -> o / scale;
            case "tf_half_pixel_for_nn" -> (o + 0.5) / scale;
            case "tf_crop_and_resize" -> (width == 1 ? (roiEnd - roiStart) * (in - 1) / 2 : o * (roiEnd - roiStart) * (in - 1) / (width - 1))
                    + roiStart * (in - 1);
            default -> throw new OnnxUnsupportedException("coordinate_transformation_mode '" + coord + "' is not supported");
        };
    }

    /** Weights on (floor, floor + 1): which neighbour the nearest mode picks at fractional position {@code ratio}. */
    private static double[] nearest(double ratio, boolean whole, String mode, OnnxNode node) {
        if (whole) return new double[] {0, 1};
        boolean upper = switch (mode) {
            case "round_prefer_floor" -> ratio > 0.5;
            case "round_prefer_ceil" -> ratio >= 0.5;
            case "floor" -> false;
            case "ceil" -> true;
            default -> throw new OnnxException(node.describe() + ": unknown nearest_mode '" + mode + "'");
        };
        return upper ? new double[] {0, 1} : new double[] {1, 0};
    }

    /** Keys' cubic convolution weights on (floor - 1, floor, floor + 1, floor + 2) with coefficient a. */
    private static double[] cubic(double ratio, double a) {
        double s = ratio, t = 1 - ratio;
        return new double[] {
                ((a * (s + 1) - 5 * a) * (s + 1) + 8 * a) * (s + 1) - 4 * a,
                ((a + 2) * s - (a + 3)) * s * s + 1,
                ((a + 2) * t - (a + 3)) * t * t + 1,
                ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a};
    }

    private static Variable applyNearest(Variable y, int axis, int in, double[][] weights, int[][] neighbours) {
        int out = weights.length;
        int[] index = new int[out];
        boolean identity = out == in;
        for (int o = 0; o < out; o++) {
            int pick = 0;
            for (int j = 0; j < weights[o].length; j++) if (weights[o][j] == 1) pick = neighbours[o][j];
            index[o] = pick;
            identity &= pick == o;
        }
        return identity ? y : Grad.take(y, axis, index);
    }

    private static Variable applyWeights(Variable y, int axis, int in, double[][] weights, int[][] neighbours) {
        int out = weights.length;
        double[] m = new double[in * out];   // m (in, out)
        for (int o = 0; o < out; o++) {
            for (int j = 0; j < weights[o].length; j++) m[neighbours[o][j] * out + o] += weights[o][j];
        }
        boolean identity = out == in;
        for (int i = 0; identity && i < in; i++) {
            for (int o = 0; identity && o < out; o++) identity = m[i * out + o] == (i == o ? 1 : 0);
        }
        if (identity) return y;
        float[] f = new float[m.length];
        for (int i = 0; i < m.length; i++) f[i] = (float) m[i];
        return Grad.alongAxis(y, axis, Tensor.of(f, in, out));
    }

    /** Sets extrapolation_value wherever some axis's coordinate fell outside the input (tf_crop_and_resize). */
    private static Variable withExtrapolation(OnnxNode node, Variable y, boolean[][] outside, int[] outDims) {
        boolean any = false;
        for (boolean[] axis : outside) for (boolean b : axis) any |= b;
        if (!any) return y;
        float value = node.attrFloat("extrapolation_value", 0f);
        int n = Shape.of(outDims).numel();
        float[] mask = new float[n];   // mask (out): 1 where any axis is outside, else 0
        int[] pos = new int[outDims.length];
        for (int k = 0; k < n; k++) {
            boolean out = false;
            for (int i = 0; i < outDims.length; i++) out |= outside[i][pos[i]];
            mask[k] = out ? 1f : 0f;
            for (int i = outDims.length - 1; i >= 0; i--) {
                if (++pos[i] < outDims[i]) break;
                pos[i] = 0;
            }
        }
        Tensor m = Tensor.of(mask, outDims);
        // the weight rows of outside positions are zero, so y is 0 there: y * (1 - mask) + value * mask
        return y.mul(Variable.of(m.neg().add(1f))).add(Variable.of(m.mul(value)));
    }
}
