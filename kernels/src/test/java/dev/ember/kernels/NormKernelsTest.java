package dev.ember.kernels;

import dev.ember.engine.Backend;
import dev.ember.engine.Rng;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;
import dev.ember.kernels.cpu.CpuBackend;
import dev.ember.kernels.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

import static dev.ember.kernels.Close.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Fused batch norm and layer norm, forward and backward: the reference against hand-computed values and finite
 * differences; the CPU backend against the reference on awkward sizes (1, 15, 16, 17, 768 and BatchNorm1d-like
 * (N, C) inputs), non-contiguous layouts, with and without gamma/beta; and the CPU results repeated bit for bit.
 * Inputs are shifted to a mean of 3, so a variance taken as E[x^2] - E[x]^2 would show.
 *
 * <p>Tolerances: outputs and statistics 1e-5 relative + 1e-5 absolute; gradients 1e-4 relative plus 1e-5 per
 * square root of the group size absolute (dx is a small difference of group-sized sums).
 */
class NormKernelsTest {
    private static final Backend CPU = new CpuBackend();
    private static final Backend REF = new ReferenceBackend();

    // ---- reference: hand-computed ----

    @Test void referenceBatchNormByHand() {
        // x (1, 2, 2): channel 0 = [1, 3] (mean 2, variance 1), channel 1 = [10, 14] (mean 12, variance 4)
        Tensor x = Tensor.of(new float[] {1, 3, 10, 14}, 1, 2, 2);
        Backend.NormResult r = REF.batchNorm(x, Tensor.of(new float[] {2, 1}, 2), Tensor.of(new float[] {0, 5}, 2), 0f);
        assertArrayEquals(new float[] {2, 12}, r.mean().toFloatArray(), 1e-6f);
        assertArrayEquals(new float[] {1, 4}, r.variance().toFloatArray(), 1e-6f);
        assertArrayEquals(new float[] {1, 0.5f}, r.invStd().toFloatArray(), 1e-6f);
        // y = xHat gamma + beta: channel 0 [-1, 1] * 2, channel 1 [-1, 1] + 5
        assertArrayEquals(new float[] {-2, 2, 4, 6}, r.output().toFloatArray(), 1e-6f);
        assertArrayEquals(new int[] {1, 2, 2}, r.output().dims());

        // without gamma/beta, eps counts: invStd = 1 / sqrt(1 + 3) for a variance of 1
        Backend.NormResult plain = REF.batchNorm(Tensor.of(new float[] {1, 3}, 2, 1), null, null, 3f);
        assertArrayEquals(new float[] {-0.5f, 0.5f}, plain.output().toFloatArray(), 1e-6f);
        assertArrayEquals(new float[] {0.5f}, plain.invStd().toFloatArray(), 1e-6f);
    }

    @Test void referenceLayerNormByHand() {
        // rows [1, 2, 3] (mean 2, variance 2/3) and [4, 4, 4] (variance 0: eps keeps it finite, y = beta)
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 4, 4}, 2, 3);
        Tensor gamma = Tensor.of(new float[] {1, 2, 3}, 3), beta = Tensor.of(new float[] {0, 0, 1}, 3);
        Backend.NormResult r = REF.layerNorm(x, 1, gamma, beta, 0f);
        float s = (float) Math.sqrt(2.0 / 3);
        assertArrayEquals(new float[] {2, 4}, r.mean().toFloatArray(), 1e-6f);
        assertArrayEquals(new float[] {2f / 3, 0}, r.variance().toFloatArray(), 1e-6f);
        assertArrayEquals(new float[] {-1 / s, 0, 3 / s + 1}, Arrays.copyOf(r.output().toFloatArray(), 3), 1e-5f);
        Backend.NormResult flat = REF.layerNorm(x, 1, gamma, beta, 1e-5f);
        assertArrayEquals(new float[] {0, 0, 1}, Arrays.copyOfRange(flat.output().toFloatArray(), 3, 6), 1e-6f);
        // over both axes: one group of six, mean 3
        Backend.NormResult whole = REF.layerNorm(x, 2, null, null, 0f);
        assertArrayEquals(new float[] {3}, whole.mean().toFloatArray(), 1e-6f);
        assertArrayEquals(new float[] {(4 + 1 + 0 + 1 + 1 + 1) / 6f}, whole.variance().toFloatArray(), 1e-6f);
    }

    @Test void referenceBackwardByHand() {
        // one group [1, 2, 3, 4]: mean 2.5, variance 1.25, xHat = [-1.5, -0.5, 0.5, 1.5] / sqrt(1.25); dy = [1, 0, 0, 0]
        //   dbeta = 1, dgamma = xHat[0], dx = invStd / 4 (4 dy - 1 - xHat dgamma) = invStd / 4 [1.2, -1.6, -0.4, 0.8]
        float inv = (float) (1 / Math.sqrt(1.25));
        float[] dxWant = {1.2f * inv / 4, -1.6f * inv / 4, -0.4f * inv / 4, 0.8f * inv / 4};
        Tensor dy = Tensor.of(new float[] {1, 0, 0, 0}, 2, 1, 2);
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 2, 1, 2);
        Tensor mean = Tensor.of(new float[] {2.5f}, 1), invStd = Tensor.of(new float[] {inv}, 1);
        Tensor[] bn = REF.batchNormBackward(dy, x, mean, invStd, null);
        assertArrayEquals(dxWant, bn[0].toFloatArray(), 1e-6f);
        assertArrayEquals(new float[] {-1.5f * inv}, bn[1].toFloatArray(), 1e-6f);
        assertArrayEquals(new float[] {1}, bn[2].toFloatArray(), 1e-6f);
        Tensor[] scaled = REF.batchNormBackward(dy, x, mean, invStd, Tensor.of(new float[] {2}, 1));   // gamma 2 doubles dx only
        assertArrayEquals(new float[] {2 * dxWant[0], 2 * dxWant[1], 2 * dxWant[2], 2 * dxWant[3]}, scaled[0].toFloatArray(), 1e-6f);
        assertArrayEquals(bn[1].toFloatArray(), scaled[1].toFloatArray(), 0f);

        // the same numbers as one layer-norm row: dgamma and dbeta are now per element
        Tensor[] ln = REF.layerNormBackward(dy.reshape(1, 4), x.reshape(1, 4), mean, invStd, null, 1);
        assertArrayEquals(dxWant, ln[0].toFloatArray(), 1e-6f);
        assertArrayEquals(new float[] {-1.5f * inv, 0, 0, 0}, ln[1].toFloatArray(), 1e-6f);
        assertArrayEquals(new float[] {1, 0, 0, 0}, ln[2].toFloatArray(), 1e-6f);
        assertArrayEquals(new int[] {4}, ln[1].dims());
    }

    @Test void referenceBackwardMatchesFiniteDifferences() {
        Rng rng = new Rng(1);
        Tensor x = Tensor.randn(rng, 1f, 2, 3, 2, 2), gamma = Tensor.rand(rng, 0.5f, 1.5f, 3), beta = Tensor.randn(rng, 1f, 3);
        Tensor r = Tensor.randn(rng, 1f, 2, 3, 2, 2);   // L = sum y r, so dL/dy = r
        Backend.NormResult f = REF.batchNorm(x, gamma, beta, 1e-5f);
        Tensor[] g = REF.batchNormBackward(r, x, f.mean(), f.invStd(), gamma);
        assertFiniteDifferences(g[0], x, r, t -> REF.batchNorm(t, gamma, beta, 1e-5f).output(), "batchNorm dx");
        assertFiniteDifferences(g[1], gamma, r, t -> REF.batchNorm(x, t, beta, 1e-5f).output(), "batchNorm dgamma");
        assertFiniteDifferences(g[2], beta, r, t -> REF.batchNorm(x, gamma, t, 1e-5f).output(), "batchNorm dbeta");

        Tensor lx = Tensor.randn(rng, 1f, 3, 2, 5), lgamma = Tensor.rand(rng, 0.5f, 1.5f, 2, 5), lbeta = Tensor.randn(rng, 1f, 2, 5);
        Tensor lr = Tensor.randn(rng, 1f, 3, 2, 5);
        Backend.NormResult lf = REF.layerNorm(lx, 2, lgamma, lbeta, 1e-5f);
        Tensor[] lg = REF.layerNormBackward(lr, lx, lf.mean(), lf.invStd(), lgamma, 2);
        assertFiniteDifferences(lg[0], lx, lr, t -> REF.layerNorm(t, 2, lgamma, lbeta, 1e-5f).output(), "layerNorm dx");
        assertFiniteDifferences(lg[1], lgamma, lr, t -> REF.layerNorm(lx, 2, t, lbeta, 1e-5f).output(), "layerNorm dgamma");
        assertFiniteDifferences(lg[2], lbeta, lr, t -> REF.layerNorm(lx, 2, lgamma, t, 1e-5f).output(), "layerNorm dbeta");
    }

    // ---- CPU against the reference ----

    @Test void cpuBatchNormMatchesReference() {
        Rng rng = new Rng(2);
        int[][] shapes = {{1, 1, 1, 1}, {2, 3, 5, 5}, {16, 64, 16, 16}, {3, 7, 1, 1}, {3, 7}, {4, 5, 17}, {2, 2, 33, 1}};
        for (int[] dims : shapes) {
            int c = dims[1];
            for (Named x : layouts(rng, dims)) {
                Tensor dy = Tensor.randn(rng, 1f, dims);
                Tensor gamma = Tensor.rand(rng, 0.5f, 1.5f, 2 * c).slice(0, 0, 2 * c, 2);   // a strided view
                Tensor beta = Tensor.randn(rng, 1f, c);
                String what = Arrays.toString(dims) + " " + x.name();
                compareBatchNorm(x.tensor(), gamma, beta, dy, what + " affine");
                compareBatchNorm(x.tensor(), null, null, dy, what + " plain");
            }
        }
    }

    @Test void cpuLayerNormMatchesReference() {
        Rng rng = new Rng(3);
        for (int d : new int[] {1, 15, 16, 17, 768}) {
            int[] dims = {4, 3, d};
            for (int axes = 1; axes <= 2; axes++) {
                int[] normalized = Arrays.copyOfRange(dims, dims.length - axes, dims.length);
                for (Named x : layouts(rng, dims)) {
                    Tensor dy = Tensor.randn(rng, 1f, dims);
                    Tensor gamma = Tensor.rand(rng, 0.5f, 1.5f, normalized), beta = Tensor.randn(rng, 1f, normalized);
                    String what = "D=" + d + " over " + axes + " axes " + x.name();
                    compareLayerNorm(x.tensor(), axes, gamma, beta, dy, what + " affine");
                    compareLayerNorm(x.tensor(), axes, null, null, dy, what + " plain");
                }
            }
        }
        // a transposed gamma, and all axes normalized (a single group)
        Tensor x = shifted(rng, 6, 20);
        Tensor gamma = Tensor.rand(rng, 0.5f, 1.5f, 20, 6).permute(1, 0);
        compareLayerNorm(x, 2, gamma, null, Tensor.randn(rng, 1f, 6, 20), "transposed gamma, one group");
    }

    @Test void cpuGradientOfAnExpandedUpstreamGradient() {
        // upstream gradients can be stride-0 views (the backward of a sum): dy of all ones, never materialized
        Rng rng = new Rng(4);
        Tensor x = shifted(rng, 4, 6, 3, 3), dy = Tensor.ones(1, 1, 1, 1).expand(4, 6, 3, 3);
        compareBatchNorm(x, Tensor.rand(rng, 0.5f, 1.5f, 6), null, dy, "expanded dy");
        compareLayerNorm(shifted(rng, 5, 40), 1, null, Tensor.randn(rng, 1f, 40), Tensor.ones(1, 1).expand(5, 40), "expanded dy");
    }

    // ---- determinism ----

    @Test void cpuResultsRepeatBitForBit() {
        Rng rng = new Rng(5);
        Tensor x = shifted(rng, 16, 64, 16, 16), dy = Tensor.randn(rng, 1f, 16, 64, 16, 16), gamma = Tensor.rand(rng, 0.5f, 1.5f, 64);
        Backend.NormResult a = CPU.batchNorm(x, gamma, null, 1e-5f), b = CPU.batchNorm(x, gamma, null, 1e-5f);
        assertBits(a, b, "batchNorm");
        assertBits(CPU.batchNormBackward(dy, x, a.mean(), a.invStd(), gamma),
                CPU.batchNormBackward(dy, x, a.mean(), a.invStd(), gamma), "batchNorm backward");

        // 300 rows of 768: several row chunks, so dgamma/dbeta add chunk totals
        Tensor lx = shifted(rng, 300, 768), ldy = Tensor.randn(rng, 1f, 300, 768), lgamma = Tensor.rand(rng, 0.5f, 1.5f, 768);
        Backend.NormResult la = CPU.layerNorm(lx, 1, lgamma, null, 1e-5f), lb = CPU.layerNorm(lx, 1, lgamma, null, 1e-5f);
        assertBits(la, lb, "layerNorm");
        assertBits(CPU.layerNormBackward(ldy, lx, la.mean(), la.invStd(), lgamma, 1),
                CPU.layerNormBackward(ldy, lx, la.mean(), la.invStd(), lgamma, 1), "layerNorm backward");
    }

    @Test void aRowDoesNotDependOnItsNeighbours() {
        // row 123 alone (few calls: likely interpreted) and inside a large batch (compiled by then, another task):
        // the same bits, forward and dx
        Rng rng = new Rng(6);
        Tensor x = shifted(rng, 2000, 300), dy = Tensor.randn(rng, 1f, 2000, 300), gamma = Tensor.rand(rng, 0.5f, 1.5f, 300);
        Backend.NormResult all = CPU.layerNorm(x, 1, gamma, null, 1e-5f);
        float[] dxAll = CPU.layerNormBackward(dy, x, all.mean(), all.invStd(), gamma, 1)[0].toFloatArray();
        Tensor row = x.slice(0, 123, 124), dyRow = dy.slice(0, 123, 124);
        Backend.NormResult one = CPU.layerNorm(row, 1, gamma, null, 1e-5f);
        float[] dxOne = CPU.layerNormBackward(dyRow, row, one.mean(), one.invStd(), gamma, 1)[0].toFloatArray();
        assertBits(Arrays.copyOfRange(all.output().toFloatArray(), 123 * 300, 124 * 300), one.output().toFloatArray(), "row output");
        assertBits(Arrays.copyOfRange(dxAll, 123 * 300, 124 * 300), dxOne, "row dx");
        assertEquals(Float.floatToRawIntBits(all.invStd().toFloatArray()[123]), Float.floatToRawIntBits(one.invStd().item()), "row invStd");
    }

    // ---- errors ----

    @Test void mismatchedParametersAreShapeErrors() {
        for (Backend be : List.of(CPU, REF)) {
            Tensor x = Tensor.zeros(2, 3, 4);
            assertThrows(ShapeException.class, () -> be.batchNorm(x, Tensor.ones(4), null, 1e-5f), be.name());
            assertThrows(ShapeException.class, () -> be.batchNorm(Tensor.zeros(5), null, null, 1e-5f), be.name());
            assertThrows(ShapeException.class, () -> be.layerNorm(x, 1, Tensor.ones(3), null, 1e-5f), be.name());
            assertThrows(ShapeException.class, () -> be.layerNorm(x, 4, null, null, 1e-5f), be.name());
            assertThrows(ShapeException.class, () -> be.layerNormBackward(Tensor.zeros(2, 3), x, Tensor.zeros(6), Tensor.ones(6), null, 1), be.name());
            assertThrows(ShapeException.class, () -> be.batchNormBackward(x, x, Tensor.zeros(2), Tensor.ones(3), null), be.name());
        }
    }

    // ---- helpers ----

    private static void compareBatchNorm(Tensor x, Tensor gamma, Tensor beta, Tensor dy, String what) {
        Backend.NormResult want = REF.batchNorm(x, gamma, beta, 1e-5f), got = CPU.batchNorm(x, gamma, beta, 1e-5f);
        assertForward(want, got, what);
        int groupSize = x.numel() / x.dim(1);
        // both backwards from the same statistics, so only the kernels differ
        Tensor[] gw = REF.batchNormBackward(dy, x, want.mean(), want.invStd(), gamma);
        Tensor[] gg = CPU.batchNormBackward(dy, x, want.mean(), want.invStd(), gamma);
        assertGradients(gw, gg, groupSize, groupSize, what);
    }

    private static void compareLayerNorm(Tensor x, int axes, Tensor gamma, Tensor beta, Tensor dy, String what) {
        Backend.NormResult want = REF.layerNorm(x, axes, gamma, beta, 1e-5f), got = CPU.layerNorm(x, axes, gamma, beta, 1e-5f);
        assertForward(want, got, what);
        int groupSize = 1;
        for (int a = x.rank() - axes; a < x.rank(); a++) groupSize *= x.dim(a);
        Tensor[] gw = REF.layerNormBackward(dy, x, want.mean(), want.invStd(), gamma, axes);
        Tensor[] gg = CPU.layerNormBackward(dy, x, want.mean(), want.invStd(), gamma, axes);
        assertGradients(gw, gg, groupSize, x.numel() / groupSize, what);
    }

    private static void assertForward(Backend.NormResult want, Backend.NormResult got, String what) {
        assertArrayEquals(want.output().dims(), got.output().dims(), what + ": output shape");
        assertClose(want.output().toFloatArray(), got.output().toFloatArray(), 1e-5f, 1e-5f, what + ": output");
        assertClose(want.mean().toFloatArray(), got.mean().toFloatArray(), 1e-5f, 1e-5f, what + ": mean");
        assertClose(want.variance().toFloatArray(), got.variance().toFloatArray(), 1e-5f, 1e-5f, what + ": variance");
        assertClose(want.invStd().toFloatArray(), got.invStd().toFloatArray(), 1e-5f, 1e-5f, what + ": invStd");
    }

    /** {dx, dgamma, dbeta}: dx from sums over groupSize elements, dgamma/dbeta sums over paramTerms elements each. */
    private static void assertGradients(Tensor[] want, Tensor[] got, int groupSize, int paramTerms, String what) {
        String[] names = {"dx", "dgamma", "dbeta"};
        int[] terms = {groupSize, paramTerms, paramTerms};
        for (int k = 0; k < 3; k++) {
            assertArrayEquals(want[k].dims(), got[k].dims(), what + ": " + names[k] + " shape");
            assertClose(want[k].toFloatArray(), got[k].toFloatArray(), 1e-4f, 1e-5f * (float) Math.sqrt(terms[k]), what + ": " + names[k]);
        }
    }

    /** Central differences of L = sum f(t) r in double, for every element of t, against {@code grad}. */
    private static void assertFiniteDifferences(Tensor grad, Tensor t, Tensor r, Function<Tensor, Tensor> f, String what) {
        float[] base = t.toFloatArray(), rs = r.toFloatArray(), analytic = grad.toFloatArray();
        float h = 1e-2f;
        for (int i = 0; i < base.length; i++) {
            float[] up = base.clone(), down = base.clone();
            up[i] += h;
            down[i] -= h;
            double lossUp = dot(f.apply(Tensor.of(up, t.dims())), rs), lossDown = dot(f.apply(Tensor.of(down, t.dims())), rs);
            double numeric = (lossUp - lossDown) / ((double) up[i] - down[i]);
            assertEquals(numeric, analytic[i], 2e-3 + 2e-2 * Math.abs(numeric), what + " element " + i);
        }
    }

    private static double dot(Tensor y, float[] r) {
        float[] v = y.toFloatArray();
        double s = 0;
        for (int i = 0; i < v.length; i++) s += (double) v[i] * r[i];
        return s;
    }

    private static void assertBits(Backend.NormResult a, Backend.NormResult b, String what) {
        assertBits(a.output().toFloatArray(), b.output().toFloatArray(), what + " output");
        assertBits(a.mean().toFloatArray(), b.mean().toFloatArray(), what + " mean");
        assertBits(a.variance().toFloatArray(), b.variance().toFloatArray(), what + " variance");
        assertBits(a.invStd().toFloatArray(), b.invStd().toFloatArray(), what + " invStd");
    }

    private static void assertBits(Tensor[] a, Tensor[] b, String what) {
        for (int k = 0; k < a.length; k++) assertBits(a[k].toFloatArray(), b[k].toFloatArray(), what + " result " + k);
    }

    private static void assertBits(float[] a, float[] b, String what) {
        assertEquals(a.length, b.length, what + ": length");
        for (int i = 0; i < a.length; i++) {
            if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) {
                throw new AssertionError(what + ": element " + i + " differs, " + a[i] + " vs " + b[i]);
            }
        }
    }

    /** Normal values with mean 3 in three layouts of the same shape: contiguous, permuted, every second element. */
    private static List<Named> layouts(Rng rng, int... dims) {
        List<Named> out = new ArrayList<>();
        out.add(new Named("contiguous", shifted(rng, dims)));
        int r = dims.length;
        int[] reversed = new int[r], perm = new int[r];
        for (int i = 0; i < r; i++) {
            reversed[i] = dims[r - 1 - i];
            perm[i] = r - 1 - i;
        }
        out.add(new Named("permuted", shifted(rng, reversed).permute(perm)));
        int[] wide = dims.clone();
        wide[r - 1] = 2 * dims[r - 1] + 1;
        out.add(new Named("strided", shifted(rng, wide).slice(r - 1, 1, wide[r - 1], 2)));
        return out;
    }

    /** Standard normal values plus 3 (a new contiguous tensor). */
    private static Tensor shifted(Rng rng, int... dims) {
        float[] a = Tensor.randn(rng, 1f, dims).toFloatArray();
        for (int i = 0; i < a.length; i++) a[i] += 3f;
        return Tensor.of(a, dims);
    }

    private record Named(String name, Tensor tensor) {}
}
