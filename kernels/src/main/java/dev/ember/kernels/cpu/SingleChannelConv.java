package dev.ember.kernels.cpu;

import dev.ember.engine.Conv2dParams;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Forward convolution of a one-channel input (a grayscale image's first layer: small_cnn's conv1, 1 -> 32, 3x3),
 * stride 1, no dilation, one group: directly, without im2col. im2col + GEMM gives such a layer a K of kh*kw = 9, so
 * every microkernel call does 9 steps and then reads and writes a whole block of C: 58 GFLOP/s at batch 32.
 *
 * <pre>
 *   padded plane (H + 2 padH, W + 2 padW), Wp wide; output row r, columns x .. x+L-1 of channel o:
 *   y[o, r, x..] = sum over taps (i, j) of w[o, i, j] * plane[(r + i)*Wp + j + x ..]   (one vector load per tap)
 * </pre>
 *
 * Each input vector serves {@link #OC_BLOCK} output channels (their weights broadcast) on two output rows: eight
 * independent fma chains. Per output: the taps summed in row-major order from zero, then + bias, then ReLU (in
 * registers), as {@link CpuConv2d#biasRelu} does after a GEMM. At small_cnn's conv1 (2 threads, Intel Xeon): batch 32
 * 217 -> 133 us, batch 1 9.4 -> 7.8 us against im2col + GEMM.
 */
final class SingleChannelConv {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int L = SPECIES.length();
    /** Output channels per pass over the plane: their accumulators stay in registers. */
    private static final int OC_BLOCK = 4;
    /** Largest kernel side taken (the taps' offsets are kept in a small table). */
    private static final int MAX_KERNEL = 7;

    private final int n, oc, h, w, padH, padW, oh, ow, wp, planeSize;
    private final int[] offsets;   // tap t = i*kw + j at plane offset i*Wp + j

    private SingleChannelConv(Im2col g, Conv2dParams p) {
        n = g.n;
        oc = g.oc;
        h = g.h;
        w = g.w;
        padH = p.padH();
        padW = p.padW();
        oh = g.oh;
        ow = g.ow;
        wp = w + 2 * padW;
        planeSize = (h + 2 * padH) * wp;
        offsets = new int[g.kh * g.kw];
        for (int i = 0; i < g.kh; i++) for (int j = 0; j < g.kw; j++) offsets[i * g.kw + j] = i * wp + j;
    }

    /** A plan for this layer, or null where it does not apply. */
    static SingleChannelConv plan(Im2col g, Conv2dParams p) {
        boolean fits = g.c == 1 && g.groups == 1 && p.strideH() == 1 && p.strideW() == 1 && p.dilationH() == 1 && p.dilationW() == 1
                && g.kh <= MAX_KERNEL && g.kw <= MAX_KERNEL && g.oh > 0 && g.ow >= L;   // rows of at least a vector
        return fits ? new SingleChannelConv(g, p) : null;
    }

    /** Per-thread buffer: the padded plane. */
    private static final ThreadLocal<float[][]> PLANE = ThreadLocal.withInitial(() -> new float[1][0]);

    /** y (N, OC, OH, OW) = conv(x (N, 1, H, W) at xBase, w (OC, 1, KH, KW) at wBase) + bias (may be null), ReLU'd if asked. */
    void forward(float[] x, int xBase, float[] wd, int wBase, float[] bias, boolean relu, float[] y) { run(x, xBase, wd, wBase, bias, relu, y, false); }

    /**
     * The 2x2 stride-2 max pool of {@link #forward}'s y without writing y: z (N, OC, OH/2, OW/2). A pair of output rows
     * is computed as forward computes it, + bias and ReLU, their elementwise max kept in a row buffer, then each pair of
     * columns' max stored: the vertical max first, then the horizontal one, as the pool's own kernel takes them, so z is
     * the bits of pooling y. small_cnn's conv1 then pool1 at batch 32: y was 2.8 MB written and read back.
     */
    void forwardPooled(float[] x, int xBase, float[] wd, int wBase, float[] bias, boolean relu, float[] z) { run(x, xBase, wd, wBase, bias, relu, z, true); }

    private void run(float[] x, int xBase, float[] wd, int wBase, float[] bias, boolean relu, float[] out, boolean pooled) {
        int blocks = (oc + OC_BLOCK - 1) / OC_BLOCK, items = n * blocks;
        int outPlane = pooled ? oh / 2 * (ow / 2) : oh * ow;
        int stride = roundUp(Math.max(ow, 2 * roundUp(ow / 2, L)), L);   // a channel's row in the pooled buffer
        // one image at batch 1 is a few microseconds: split it only when there are images enough for both cores
        Parallel.forRange(items, n > 1 ? Math.max(blocks, Parallel.grain(items, blocks)) : items, (lo, hi) -> {
            float[][] holder = PLANE.get();
            float[] plane = holder[0] = Winograd3x3.grow(holder[0], planeSize);
            float[] row = null;
            if (pooled) {
                float[][] rows = ROWS.get();
                row = rows[0] = Winograd3x3.grow(rows[0], OC_BLOCK * stride);
            }
            for (int item = lo; item < hi; item++) {
                int img = item / blocks, o0 = item % blocks * OC_BLOCK;
                if (item == lo || o0 == 0) pad(x, xBase + img * h * w, plane);
                block(plane, wd, wBase, bias, relu, o0, Math.min(OC_BLOCK, oc - o0), out, (img * oc + o0) * outPlane, row, stride);
            }
        });
    }

    /** Per-thread buffer of {@link #forwardPooled}: the block's channels' row maxima. */
    private static final ThreadLocal<float[][]> ROWS = ThreadLocal.withInitial(() -> new float[1][0]);

    /** row[at ..] = max(relu(a + bias), relu(e + bias)): two output rows' values, their vertical max. */
    private static void rowMax(FloatVector a, FloatVector e, FloatVector bias, boolean relu, FloatVector zero, float[] row, int at) {
        a = a.add(bias);
        e = e.add(bias);
        if (relu) {
            a = a.max(zero);
            e = e.max(zero);
        }
        a.max(e).intoArray(row, at);
    }

    private static int roundUp(int n, int multiple) { return (n + multiple - 1) / multiple * multiple; }

    /** The image's plane with its zero border, Wp wide, and zero slack after it. */
    private void pad(float[] x, int from, float[] plane) {
        java.util.Arrays.fill(plane, 0, planeSize, 0f);
        for (int r = 0; r < h; r++) System.arraycopy(x, from + r * w, plane, (r + padH) * wp + padW, w);
    }

    /**
     * Channels o0 .. o0+count-1, + bias and ReLU, into y from {@code to} (their planes one after the other): two output
     * rows at a time, a vector of columns each (the row's last vector ends at its last column, over columns already
     * written: the same values), four channels per input vector: eight independent fma chains. With a {@code row}
     * buffer ({@link #forwardPooled}), y is the 2x2/2 max pool's output instead: each row pair's vertical max goes to
     * the buffer (a channel every {@code stride} floats), then each column pair's max to y, and an odd last row is
     * dropped, as the pool drops it.
     */
    private void block(float[] plane, float[] wd, int wBase, float[] bias, boolean relu, int o0, int count, float[] y, int to,
                       float[] row, int stride) {
        boolean pooled = row != null;
        int taps = offsets.length, pw = ow / 2, yPlane = pooled ? oh / 2 * pw : oh * ow, rows = pooled ? oh / 2 * 2 : oh;
        int c1 = Math.min(1, count - 1), c2 = Math.min(2, count - 1), c3 = Math.min(3, count - 1);
        int w0 = wBase + o0 * taps, w1 = wBase + (o0 + c1) * taps, w2 = wBase + (o0 + c2) * taps, w3 = wBase + (o0 + c3) * taps;
        FloatVector b0 = FloatVector.broadcast(SPECIES, bias == null ? 0f : bias[o0]);
        FloatVector b1 = FloatVector.broadcast(SPECIES, bias == null ? 0f : bias[o0 + c1]);
        FloatVector b2 = FloatVector.broadcast(SPECIES, bias == null ? 0f : bias[o0 + c2]);
        FloatVector b3 = FloatVector.broadcast(SPECIES, bias == null ? 0f : bias[o0 + c3]);
        FloatVector zero = FloatVector.zero(SPECIES);
        // a channel past count (a last partial block) repeats the last one and stores into its plane again: same values
        int y0 = to, y1 = to + c1 * yPlane, y2 = to + c2 * yPlane, y3 = to + c3 * yPlane;
        for (int r = 0; r < rows; r += 2) {
            int r1 = Math.min(r + 1, oh - 1);   // an odd last row runs twice
            for (int x0 = 0; ; x0 += L) {
                if (x0 > ow - L) x0 = ow - L;
                int p0 = r * wp + x0, p1 = r1 * wp + x0;
                FloatVector a0 = zero, a1 = zero, a2 = zero, a3 = zero, e0 = zero, e1 = zero, e2 = zero, e3 = zero;
                for (int t = 0; t < taps; t++) {
                    FloatVector v = FloatVector.fromArray(SPECIES, plane, p0 + offsets[t]), u = FloatVector.fromArray(SPECIES, plane, p1 + offsets[t]);
                    FloatVector k0 = FloatVector.broadcast(SPECIES, wd[w0 + t]), k1 = FloatVector.broadcast(SPECIES, wd[w1 + t]);
                    FloatVector k2 = FloatVector.broadcast(SPECIES, wd[w2 + t]), k3 = FloatVector.broadcast(SPECIES, wd[w3 + t]);
                    a0 = v.fma(k0, a0);
                    e0 = u.fma(k0, e0);
                    a1 = v.fma(k1, a1);
                    e1 = u.fma(k1, e1);
                    a2 = v.fma(k2, a2);
                    e2 = u.fma(k2, e2);
                    a3 = v.fma(k3, a3);
                    e3 = u.fma(k3, e3);
                }
                if (pooled) {
                    rowMax(a0, e0, b0, relu, zero, row, x0);
                    rowMax(a1, e1, b1, relu, zero, row, stride + x0);
                    rowMax(a2, e2, b2, relu, zero, row, 2 * stride + x0);
                    rowMax(a3, e3, b3, relu, zero, row, 3 * stride + x0);
                } else {
                    int q0 = r * ow + x0, q1 = r1 * ow + x0;
                    store(a0, e0, b0, relu, zero, y, y0 + q0, y0 + q1);
                    store(a1, e1, b1, relu, zero, y, y1 + q0, y1 + q1);
                    store(a2, e2, b2, relu, zero, y, y2 + q0, y2 + q1);
                    store(a3, e3, b3, relu, zero, y, y3 + q0, y3 + q1);
                }
                if (x0 == ow - L) break;
            }
            if (!pooled) continue;
            int at = r / 2 * pw;
            pairMax(row, 0, pw, y, y0 + at);
            pairMax(row, stride, pw, y, y1 + at);
            pairMax(row, 2 * stride, pw, y, y2 + at);
            pairMax(row, 3 * stride, pw, y, y3 + at);
        }
    }

    /** y[at + j] = max(row[from + 2j], row[from + 2j + 1]) for j < pw: the pool's column pairs, whole vectors then a masked one. */
    private static void pairMax(float[] row, int from, int pw, float[] y, int at) {
        for (int j = 0; j < pw; j += L) {
            FloatVector m0 = FloatVector.fromArray(SPECIES, row, from + 2 * j), m1 = FloatVector.fromArray(SPECIES, row, from + 2 * j + L);
            FloatVector m = m0.rearrange(Winograd3x3.EVEN, m1).max(m0.rearrange(Winograd3x3.ODD, m1));
            if (j + L <= pw) m.intoArray(y, at + j);
            else m.intoArray(y, at + j, SPECIES.indexInRange(j, pw));
        }
    }

    private static void store(FloatVector a, FloatVector e, FloatVector bias, boolean relu, FloatVector zero, float[] y, int at0, int at1) {
        a = a.add(bias);
        e = e.add(bias);
        if (relu) {
            a = a.max(zero);
            e = e.max(zero);
        }
        a.intoArray(y, at0);
        e.intoArray(y, at1);
    }
}
