package dev.ember.loaders.onnx.ops;

import dev.ember.autograd.Variable;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxException;
import dev.ember.loaders.onnx.OnnxNode;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.ember.loaders.onnx.ops.ElementwiseOps.one;

/** Object-detection ops on the host: NonMaxSuppression and RoiAlign. Values, not differentiable. */
final class DetectionOps {
    private DetectionOps() {}

    static void register(OpTable t) {
        t.add("NonMaxSuppression", 10, (n, in, v) -> one(nonMaxSuppression(n, in)));
        t.add("RoiAlign", 10, (n, in, v) -> one(roiAlign(n, Args.in(n, in, 0), Args.in(n, in, 1), Args.in(n, in, 2), v)));
    }

    /**
     * x (N, C, H, W), rois (R, 4) as [x1, y1, x2, y2], batch_indices (R) -> (R, C, OH, OW): each output cell averages
     * (or takes the max of) sampling_ratio^2 bilinear samples of its bin (an adaptive count when sampling_ratio is 0).
     * Coordinates shift by half a pixel with coordinate_transformation_mode half_pixel (the default from opset 16).
     */
    static Variable roiAlign(OnnxNode node, Variable x, Variable rois, Variable batchIndices, int opset) {
        Grad.refuse(node, x);
        Args.requireFloat(node, x, "X");
        if (x.rank() != 4 || rois.rank() != 2 || rois.dim(1) != 4) throw new OnnxException(node.describe() + ": X must be (N, C, H, W) and rois (R, 4), got " + x.shape() + ", " + rois.shape());
        boolean halfPixel = node.attrString("coordinate_transformation_mode", opset >= 16 ? "half_pixel" : "output_half_pixel").equals("half_pixel");
        boolean max = node.attrString("mode", "avg").equals("max");
        int oh = (int) node.attrInt("output_height", 1), ow = (int) node.attrInt("output_width", 1), ratio = (int) node.attrInt("sampling_ratio", 0);
        float scale = node.attrFloat("spatial_scale", 1f);
        int c = x.dim(1), h = x.dim(2), w = x.dim(3), count = rois.dim(0);
        double[] v = Host.doubles(x.data()), r = Host.doubles(rois.data());
        int[] batch = IndexOps.indices(node, batchIndices, x.dim(0), "batch index");
        double[] y = new double[count * c * oh * ow];
        double offset = halfPixel ? 0.5 : 0;
        for (int n = 0; n < count; n++) {
            double x1 = r[4 * n] * scale - offset, y1 = r[4 * n + 1] * scale - offset;
            double roiW = r[4 * n + 2] * scale - offset - x1, roiH = r[4 * n + 3] * scale - offset - y1;
            if (!halfPixel) {
                roiW = Math.max(roiW, 1);
                roiH = Math.max(roiH, 1);
            }
            double binH = roiH / oh, binW = roiW / ow;
            int gridH = ratio > 0 ? ratio : (int) Math.ceil(roiH / oh), gridW = ratio > 0 ? ratio : (int) Math.ceil(roiW / ow);
            int samples = Math.max(gridH * gridW, 1);
            for (int ch = 0; ch < c; ch++) {
                int plane = (batch[n] * c + ch) * h * w;
                for (int py = 0; py < oh; py++) {
                    for (int px = 0; px < ow; px++) {
                        double acc = 0;
                        boolean first = true;
                        for (int iy = 0; iy < gridH; iy++) {
                            double sy = y1 + py * binH + (iy + 0.5) * binH / gridH;
                            for (int ix = 0; ix < gridW; ix++) {
                                double sx = x1 + px * binW + (ix + 0.5) * binW / gridW;
                                double[] t = bilinearTaps(v, plane, h, w, sy, sx);
                                if (max) {
                                    double m = Math.max(Math.max(t[0], t[1]), Math.max(t[2], t[3]));
                                    acc = first ? m : Math.max(acc, m);
                                    first = false;
                                } else {
                                    acc += t[0] + t[1] + t[2] + t[3];
                                }
                            }
                        }
                        y[((n * c + ch) * oh + py) * ow + px] = max ? acc : acc / samples;
                    }
                }
            }
        }
        return Variable.of(Host.fromDoubles(x.data().dtype(), new int[] {count, c, oh, ow}, y));
    }

    /** The four weighted corner values of a bilinear sample at (y, x), with RoiAlign's edge rules (0 outside [-1, size]). */
    private static double[] bilinearTaps(double[] v, int plane, int h, int w, double y, double x) {
        if (y < -1 || y > h || x < -1 || x > w) return new double[4];
        y = Math.max(y, 0);
        x = Math.max(x, 0);
        int yLow = (int) y, xLow = (int) x, yHigh, xHigh;
        if (yLow >= h - 1) { yHigh = yLow = h - 1; y = yLow; } else yHigh = yLow + 1;
        if (xLow >= w - 1) { xHigh = xLow = w - 1; x = xLow; } else xHigh = xLow + 1;
        double ly = y - yLow, lx = x - xLow, hy = 1 - ly, hx = 1 - lx;
        return new double[] {hy * hx * v[plane + yLow * w + xLow], hy * lx * v[plane + yLow * w + xHigh],
                ly * hx * v[plane + yHigh * w + xLow], ly * lx * v[plane + yHigh * w + xHigh]};
    }

    /**
     * boxes (B, S, 4), scores (B, C, S) -> selected (K, 3) int64 rows [batch, class, box]: per batch and class, boxes
     * above score_threshold in descending score order (ties by index), each kept unless its IoU with a kept box
     * exceeds iou_threshold, at most max_output_boxes_per_class (default 0: none).
     */
    static Variable nonMaxSuppression(OnnxNode node, Variable[] in) {
        Variable boxes = Args.in(node, in, 0), scores = Args.in(node, in, 1);
        Variable maxIn = Args.opt(in, 2), iouIn = Args.opt(in, 3), scoreIn = Args.opt(in, 4);
        long maxOut = maxIn == null || maxIn.data().numel() == 0 ? 0 : (long) Args.scalar(node, maxIn, "max_output_boxes_per_class");
        double iouLimit = iouIn == null || iouIn.data().numel() == 0 ? 0 : Args.scalar(node, iouIn, "iou_threshold");
        boolean hasScoreLimit = scoreIn != null && scoreIn.data().numel() > 0;
        double scoreLimit = hasScoreLimit ? Args.scalar(node, scoreIn, "score_threshold") : 0;
        boolean center = node.attrInt("center_point_box", 0) != 0;
        if (boxes.rank() != 3 || boxes.dim(2) != 4 || scores.rank() != 3 || scores.dim(0) != boxes.dim(0) || scores.dim(2) != boxes.dim(1)) {
            throw new OnnxException(node.describe() + ": boxes " + boxes.shape() + " and scores " + scores.shape() + " must be (B, S, 4) and (B, C, S)");
        }
        int batches = boxes.dim(0), spatial = boxes.dim(1), classes = scores.dim(1);
        double[] b = Host.doubles(boxes.data()), s = Host.doubles(scores.data());
        List<long[]> selected = new ArrayList<>();
        for (int bi = 0; bi < batches; bi++) {
            double[][] corners = new double[spatial][];
            for (int k = 0; k < spatial; k++) corners[k] = corners(b, (bi * spatial + k) * 4, center);
            for (int c = 0; c < classes; c++) {
                final int base = (bi * classes + c) * spatial;
                Integer[] order = new Integer[spatial];
                for (int k = 0; k < spatial; k++) order[k] = k;
                Arrays.sort(order, (p, q) -> Double.compare(s[base + q], s[base + p]));   // stable: ties keep index order
                List<Integer> kept = new ArrayList<>();
                for (int k : order) {
                    if (kept.size() >= maxOut) break;
                    if (hasScoreLimit && !(s[base + k] > scoreLimit)) continue;
                    boolean suppressed = false;
                    for (int j : kept) suppressed |= iou(corners[k], corners[j]) > iouLimit;
                    if (!suppressed) {
                        kept.add(k);
                        selected.add(new long[] {bi, c, k});
                    }
                }
            }
        }
        long[] out = new long[selected.size() * 3];
        for (int i = 0; i < selected.size(); i++) System.arraycopy(selected.get(i), 0, out, 3 * i, 3);
        return Variable.of(Tensor.ofLongs(out, selected.size(), 3));
    }

    /** {y1, x1, y2, x2} with y1 <= y2, x1 <= x2, from corner boxes (either order) or (x_center, y_center, w, h). */
    private static double[] corners(double[] b, int at, boolean center) {
        if (center) {
            double xc = b[at], yc = b[at + 1], w = b[at + 2], h = b[at + 3];
            return new double[] {yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2};
        }
        return new double[] {Math.min(b[at], b[at + 2]), Math.min(b[at + 1], b[at + 3]), Math.max(b[at], b[at + 2]), Math.max(b[at + 1], b[at + 3])};
    }

    private static double iou(double[] a, double[] b) {
        double h = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
        double w = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
        double inter = h * w;
        double union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
        return union <= 0 ? 0 : inter / union;
    }
}
