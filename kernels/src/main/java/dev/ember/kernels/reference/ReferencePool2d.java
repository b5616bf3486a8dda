package dev.ember.kernels.reference;

import dev.ember.engine.Backend;
import dev.ember.engine.CpuStorage;
import dev.ember.engine.DType;
import dev.ember.engine.Pool2dParams;
import dev.ember.engine.Shape;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;

/**
 * Max and average pooling over NCHW, one window at a time, with PyTorch's window rules: a window starts at
 * {@code o*stride - pad}; padded cells never win a max; the average divides by the window clipped to the padded
 * input ({@code countIncludePad}) or to the real input.
 */
final class ReferencePool2d {
    private ReferencePool2d() {}

    static Backend.MaxPoolResult max(Tensor x, Pool2dParams p) {
        Shape outShape = p.outputShape(x.shape());
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), oh = outShape.dim(2), ow = outShape.dim(3);
        Indexer xi = new Indexer(x);
        float[] y = new float[outShape.numel()];     // y (N, C, OH, OW)
        int[] idx = new int[outShape.numel()];       // idx (N, C, OH, OW): h*W + w within the (n, c) plane
        for (int plane = 0; plane < n * c; plane++) {
            for (int i = 0; i < oh; i++) {
                for (int j = 0; j < ow; j++) {
                    int h0 = Math.max(i * p.strideH() - p.padH(), 0), h1 = Math.min(i * p.strideH() - p.padH() + p.kernelH(), h);
                    int w0 = Math.max(j * p.strideW() - p.padW(), 0), w1 = Math.min(j * p.strideW() - p.padW() + p.kernelW(), w);
                    int best = h0 * w + w0;
                    double bestValue = Double.NEGATIVE_INFINITY;
                    for (int r = h0; r < h1; r++) {
                        for (int s = w0; s < w1; s++) {
                            double v = xi.get(plane * h * w + r * w + s);
                            if (v > bestValue || (Double.isNaN(v) && !Double.isNaN(bestValue))) {
                                best = r * w + s;
                                bestValue = v;
                            }
                        }
                    }
                    int o = (plane * oh + i) * ow + j;
                    y[o] = (float) bestValue;
                    idx[o] = best;
                }
            }
        }
        return new Backend.MaxPoolResult(Tensor.of(CpuStorage.wrap(y), outShape), Tensor.of(CpuStorage.wrap(idx), outShape));
    }

    static Tensor maxBackward(Tensor dy, Tensor indices, Shape inputShape) {
        if (indices.dtype() != DType.INT32) throw new ShapeException("maxPool2dBackward indices must be int32, got " + indices.dtype());
        if (!indices.shape().equals(dy.shape())) throw new ShapeException("maxPool2dBackward: indices " + indices.shape() + " and dy " + dy.shape() + " differ");
        int planeSize = inputShape.dim(2) * inputShape.dim(3);
        int outPlane = dy.dim(2) * dy.dim(3);
        Indexer gi = new Indexer(dy), ii = new Indexer(indices);
        double[] dx = new double[inputShape.numel()];   // dx (N, C, H, W)
        for (int o = 0; o < dy.numel(); o++) {
            int at = (int) ii.get(o);
            if (at < 0 || at >= planeSize) throw new ShapeException("maxPool2dBackward: index " + at + " is outside a plane of " + planeSize + " cells of " + inputShape);
            dx[(o / outPlane) * planeSize + at] += gi.get(o);
        }
        return floats(dx, inputShape);
    }

    static Tensor avg(Tensor x, Pool2dParams p) {
        Shape outShape = p.outputShape(x.shape());
        int h = x.dim(2), w = x.dim(3), oh = outShape.dim(2), ow = outShape.dim(3);
        Indexer xi = new Indexer(x);
        float[] y = new float[outShape.numel()];
        for (int plane = 0; plane < x.dim(0) * x.dim(1); plane++) {
            for (int i = 0; i < oh; i++) {
                for (int j = 0; j < ow; j++) {
                    Window win = new Window(p, h, w, i, j);
                    double sum = 0;
                    for (int r = win.h0; r < win.h1; r++) for (int s = win.w0; s < win.w1; s++) sum += xi.get(plane * h * w + r * w + s);
                    y[(plane * oh + i) * ow + j] = (float) (sum / win.divisor);
                }
            }
        }
        return Tensor.of(CpuStorage.wrap(y), outShape);
    }

    static Tensor avgBackward(Tensor dy, Shape inputShape, Pool2dParams p) {
        int h = inputShape.dim(2), w = inputShape.dim(3), oh = dy.dim(2), ow = dy.dim(3);
        Indexer gi = new Indexer(dy);
        double[] dx = new double[inputShape.numel()];
        for (int plane = 0; plane < inputShape.dim(0) * inputShape.dim(1); plane++) {
            for (int i = 0; i < oh; i++) {
                for (int j = 0; j < ow; j++) {
                    Window win = new Window(p, h, w, i, j);
                    double g = gi.get((plane * oh + i) * ow + j) / win.divisor;
                    for (int r = win.h0; r < win.h1; r++) for (int s = win.w0; s < win.w1; s++) dx[plane * h * w + r * w + s] += g;
                }
            }
        }
        return floats(dx, inputShape);
    }

    /** Average window (i, j) clipped to the input, and its divisor (PyTorch's avg_pool2d rule). */
    private static final class Window {
        final int h0, h1, w0, w1, divisor;

        Window(Pool2dParams p, int h, int w, int i, int j) {
            int hs = i * p.strideH() - p.padH(), ws = j * p.strideW() - p.padW();
            int he = Math.min(hs + p.kernelH(), h + p.padH()), we = Math.min(ws + p.kernelW(), w + p.padW());
            int padded = (he - hs) * (we - ws);
            h0 = Math.max(hs, 0);
            w0 = Math.max(ws, 0);
            h1 = Math.min(he, h);
            w1 = Math.min(we, w);
            divisor = p.countIncludePad() ? padded : (h1 - h0) * (w1 - w0);
        }
    }

    private static Tensor floats(double[] a, Shape shape) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) f[i] = (float) a[i];
        return Tensor.of(CpuStorage.wrap(f), shape);
    }
}
