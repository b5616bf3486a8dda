package dev.ember.kernels.reference;

import dev.ember.engine.Backend;
import dev.ember.engine.CpuStorage;
import dev.ember.engine.Shape;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;

import java.util.Arrays;

/**
 * Batch and layer normalization, forward and backward, as plain loops in double over strided inputs. Both
 * normalize groups of elements; a batch-norm group is a channel of x (N, C, S) (S: the trailing axes multiplied),
 * a layer-norm group is a row of x (R, D) (D: the normalized axes multiplied).
 * <pre>
 *   mean = sum x / n         var = sum (x - mean)^2 / n (biased)        invStd = 1 / sqrt(var + eps)
 *   xHat = (x - mean) invStd                                            y = xHat gamma + beta
 *   dbeta = sum dy           dgamma = sum dy xHat
 *   dx = invStd / n (n dxHat - sum dxHat - xHat sum dxHat xHat),  dxHat = dy gamma
 * </pre>
 * For batch norm gamma is one number per group, so the last line reads dx = gamma invStd / n (n dy - dbeta -
 * xHat dgamma). Backward takes mean and invStd as the forward returned them (float32).
 */
final class ReferenceNorm {
    private ReferenceNorm() {}

    // ---- batch norm: x (N, C, S), one group per channel ----

    static Backend.NormResult batchNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        int[] ncs = channelLayout(x);
        int n = ncs[0], c = ncs[1], s = ncs[2], count = n * s;
        requireLength("gamma", gamma, c);
        requireLength("beta", beta, c);
        Indexer xi = new Indexer(x);
        double[] g = values(gamma, c, 1), b = values(beta, c, 0);
        float[] y = new float[x.numel()];   // y (N, C, S)
        float[] mean = new float[c], variance = new float[c], invStd = new float[c];
        for (int ch = 0; ch < c; ch++) {
            double sum = 0;
            for (int i = 0; i < n; i++) for (int j = 0; j < s; j++) sum += xi.get((i * c + ch) * s + j);
            double m = sum / count;
            double squares = 0;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < s; j++) {
                    double d = xi.get((i * c + ch) * s + j) - m;
                    squares += d * d;
                }
            }
            double v = squares / count, inv = 1 / Math.sqrt(v + eps);
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < s; j++) {
                    int at = (i * c + ch) * s + j;
                    y[at] = (float) ((xi.get(at) - m) * inv * g[ch] + b[ch]);
                }
            }
            mean[ch] = (float) m;
            variance[ch] = (float) v;
            invStd[ch] = (float) inv;
        }
        return new Backend.NormResult(Tensor.of(CpuStorage.wrap(y), x.shape()), vector(mean), vector(variance), vector(invStd));
    }

    static Tensor[] batchNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor gamma) {
        int[] ncs = channelLayout(x);
        int n = ncs[0], c = ncs[1], s = ncs[2], count = n * s;
        requireSameShape(dy, x);
        requireLength("gamma", gamma, c);
        requireLength("mean", mean, c);
        requireLength("invStd", invStd, c);
        Indexer xi = new Indexer(x), dyi = new Indexer(dy);
        double[] g = values(gamma, c, 1), m = values(mean, c, 0), inv = values(invStd, c, 0);
        float[] dx = new float[x.numel()];   // dx (N, C, S)
        float[] dgamma = new float[c], dbeta = new float[c];
        for (int ch = 0; ch < c; ch++) {
            double sumDy = 0, sumDyXHat = 0;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < s; j++) {
                    int at = (i * c + ch) * s + j;
                    double d = dyi.get(at);
                    sumDy += d;
                    sumDyXHat += d * (xi.get(at) - m[ch]) * inv[ch];
                }
            }
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < s; j++) {
                    int at = (i * c + ch) * s + j;
                    double xHat = (xi.get(at) - m[ch]) * inv[ch];
                    dx[at] = (float) (g[ch] * inv[ch] / count * (count * dyi.get(at) - sumDy - xHat * sumDyXHat));
                }
            }
            dgamma[ch] = (float) sumDyXHat;
            dbeta[ch] = (float) sumDy;
        }
        return new Tensor[] {Tensor.of(CpuStorage.wrap(dx), x.shape()), vector(dgamma), vector(dbeta)};
    }

    // ---- layer norm: x (R, D), one group per row ----

    static Backend.NormResult layerNorm(Tensor x, int normalizedAxes, Tensor gamma, Tensor beta, float eps) {
        Shape normalized = normalizedShape(x, normalizedAxes);
        int d = normalized.numel(), rows = leadingCount(x, normalizedAxes);
        requireShape("gamma", gamma, normalized);
        requireShape("beta", beta, normalized);
        Indexer xi = new Indexer(x);
        double[] g = values(gamma, d, 1), b = values(beta, d, 0);
        float[] y = new float[x.numel()];   // y (R, D)
        float[] mean = new float[rows], variance = new float[rows], invStd = new float[rows];
        for (int r = 0; r < rows; r++) {
            double sum = 0;
            for (int j = 0; j < d; j++) sum += xi.get(r * d + j);
            double m = sum / d;
            double squares = 0;
            for (int j = 0; j < d; j++) {
                double centered = xi.get(r * d + j) - m;
                squares += centered * centered;
            }
            double v = squares / d, inv = 1 / Math.sqrt(v + eps);
            for (int j = 0; j < d; j++) y[r * d + j] = (float) ((xi.get(r * d + j) - m) * inv * g[j] + b[j]);
            mean[r] = (float) m;
            variance[r] = (float) v;
            invStd[r] = (float) inv;
        }
        return new Backend.NormResult(Tensor.of(CpuStorage.wrap(y), x.shape()), vector(mean), vector(variance), vector(invStd));
    }

    static Tensor[] layerNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor gamma, int normalizedAxes) {
        Shape normalized = normalizedShape(x, normalizedAxes);
        int d = normalized.numel(), rows = leadingCount(x, normalizedAxes);
        requireSameShape(dy, x);
        requireShape("gamma", gamma, normalized);
        requireShape("mean", mean, Shape.of(rows));
        requireShape("invStd", invStd, Shape.of(rows));
        Indexer xi = new Indexer(x), dyi = new Indexer(dy);
        double[] g = values(gamma, d, 1), m = values(mean, rows, 0), inv = values(invStd, rows, 0);
        float[] dx = new float[x.numel()];   // dx (R, D)
        double[] dgamma = new double[d], dbeta = new double[d];
        for (int r = 0; r < rows; r++) {
            double sumDxHat = 0, sumDxHatXHat = 0;
            for (int j = 0; j < d; j++) {
                double dxHat = dyi.get(r * d + j) * g[j], xHat = (xi.get(r * d + j) - m[r]) * inv[r];
                sumDxHat += dxHat;
                sumDxHatXHat += dxHat * xHat;
            }
            for (int j = 0; j < d; j++) {
                double dyj = dyi.get(r * d + j), xHat = (xi.get(r * d + j) - m[r]) * inv[r];
                dx[r * d + j] = (float) (inv[r] / d * (d * dyj * g[j] - sumDxHat - xHat * sumDxHatXHat));
                dgamma[j] += dyj * xHat;
                dbeta[j] += dyj;
            }
        }
        return new Tensor[] {Tensor.of(CpuStorage.wrap(dx), x.shape()), Tensor.of(CpuStorage.wrap(rounded(dgamma)), normalized),
                Tensor.of(CpuStorage.wrap(rounded(dbeta)), normalized)};
    }

    // ---- shapes and parameters ----

    /** {N, C, S} of x (N, C, ...), S the product of the trailing axes. */
    private static int[] channelLayout(Tensor x) {
        if (x.rank() < 2) throw new ShapeException("batchNorm input must be (N, C, ...), got " + x.shape());
        int s = 1;
        for (int a = 2; a < x.rank(); a++) s *= x.dim(a);
        return new int[] {x.dim(0), x.dim(1), s};
    }

    private static Shape normalizedShape(Tensor x, int normalizedAxes) {
        if (normalizedAxes < 1 || normalizedAxes > x.rank()) {
            throw new ShapeException("layerNorm normalizes 1 to " + x.rank() + " trailing axes of " + x.shape() + ", got " + normalizedAxes);
        }
        return Shape.of(Arrays.copyOfRange(x.dims(), x.rank() - normalizedAxes, x.rank()));
    }

    /** Number of groups of a layer norm: the product of the axes before the normalized ones. */
    private static int leadingCount(Tensor x, int normalizedAxes) {
        int rows = 1;
        for (int a = 0; a < x.rank() - normalizedAxes; a++) rows *= x.dim(a);
        return rows;
    }

    private static void requireLength(String what, Tensor t, int c) {
        if (t != null && (t.rank() != 1 || t.dim(0) != c)) throw new ShapeException("batchNorm " + what + " must be (" + c + "), got " + t.shape());
    }

    private static void requireShape(String what, Tensor t, Shape want) {
        if (t != null && !t.shape().equals(want)) throw new ShapeException("layerNorm " + what + " must be " + want + ", got " + t.shape());
    }

    private static void requireSameShape(Tensor dy, Tensor x) {
        if (!dy.shape().equals(x.shape())) throw new ShapeException("normalization gradient dy " + dy.shape() + " must match x " + x.shape());
    }

    /** The n elements of t in row-major order, or n copies of {@code absent} when t is null. */
    private static double[] values(Tensor t, int n, double absent) {
        double[] v = new double[n];
        if (t == null) {
            Arrays.fill(v, absent);
            return v;
        }
        Indexer ti = new Indexer(t);
        for (int i = 0; i < n; i++) v[i] = ti.get(i);
        return v;
    }

    private static float[] rounded(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) f[i] = (float) a[i];
        return f;
    }

    private static Tensor vector(float[] a) { return Tensor.of(CpuStorage.wrap(a), Shape.of(a.length)); }
}
