package dev.ember.kernels.cpu;

import dev.ember.engine.Conv2dParams;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
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
 * 217 -> 133 us, batch 1 9.4 -> 7.8 us against im2col + GEMM. With a 2x2 max pool after a 3x3 kernel the plane is split
 * by column parity instead ({@link #pooled3x3}): the pool then needs no shuffles.
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
    /** A 3x3 kernel: pooled, it takes {@link #pooled3x3}. */
    private final boolean threeByThree;

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
        threeByThree = g.kh == 3 && g.kw == 3;
    }

    /** A plan for this layer, or null where it does not apply. */
    static SingleChannelConv plan(Im2col g, Conv2dParams p) {
        boolean fits = g.c == 1 && g.groups == 1 && p.strideH() == 1 && p.strideW() == 1 && p.dilationH() == 1 && p.dilationW() == 1
                && g.kh <= MAX_KERNEL && g.kw <= MAX_KERNEL && g.oh > 0 && g.ow >= L;   // rows of at least a vector
        return fits ? new SingleChannelConv(g, p) : null;
    }

    /** Per-thread buffers: the padded plane, and its even and odd columns ({@link #split}). */
    private static final ThreadLocal<float[][]> PLANE = ThreadLocal.withInitial(() -> new float[2][0]);

    /** y (N, OC, OH, OW) = conv(x (N, 1, H, W) at xBase, w (OC, 1, KH, KW) at wBase) + bias (may be null), ReLU'd if asked. */
    void forward(float[] x, int xBase, float[] wd, int wBase, float[] bias, boolean relu, float[] y) { run(x, xBase, wd, wBase, bias, relu, y, false); }

    /**
     * The 2x2 stride-2 max pool of {@link #forward}'s y without writing y: z (N, OC, OH/2, OW/2). A pair of output rows
     * is computed as forward computes it, + bias, their elementwise max taken, ReLU'd, and each vector's column pairs
     * maxed in registers into half a vector of z. Max is exact and order-free (NaN wins, +0 above -0), so z is the bits
     * of pooling y. small_cnn's conv1 then pool1 at batch 32: y was 2.8 MB written and read back.
     */
    void forwardPooled(float[] x, int xBase, float[] wd, int wBase, float[] bias, boolean relu, float[] z) { run(x, xBase, wd, wBase, bias, relu, z, true); }

    private void run(float[] x, int xBase, float[] wd, int wBase, float[] bias, boolean relu, float[] out, boolean pooled) {
        boolean phased = pooled && threeByThree;
        int per = phased ? 2 : OC_BLOCK, blocks = (oc + per - 1) / per, items = n * blocks;
        int outPlane = pooled ? oh / 2 * (ow / 2) : oh * ow;
        // images: whole ones per chunk; one image: its channel blocks split once between the threads (small_cnn's conv1
        // and pool1 at batch 1, in the model: 10.4-11.8 us on one thread, 7.0-7.9 on two; each in 8 chunks: 7.8-8.6)
        int grain = n > 1 ? Math.max(blocks, Parallel.grain(items, blocks)) : (blocks + Parallel.THREADS - 1) / Parallel.THREADS;
        Parallel.forRange(items, grain, (lo, hi) -> {
            float[][] holder = PLANE.get();
            float[] plane = phased ? null : (holder[0] = Winograd3x3.grow(holder[0], planeSize));
            for (int item = lo; item < hi; item++) {
                int img = item / blocks, o0 = item % blocks * per;
                if (phased) {
                    if (item == lo || o0 == 0) split(x, xBase + img * h * w, holder);
                    pooled3x3(holder[1], wd, wBase, bias, relu, o0, Math.min(per, oc - o0), out, (img * oc + o0) * outPlane);
                    continue;
                }
                if (item == lo || o0 == 0) pad(x, xBase + img * h * w, plane);
                block(plane, wd, wBase, bias, relu, o0, Math.min(per, oc - o0), out, (img * oc + o0) * outPlane, pooled);
            }
        });
    }

    /** A vector's even and odd lanes gathered into its low half (the high half is not stored). */
    private static final VectorShuffle<Float> EVEN_LOW = VectorShuffle.fromOp(SPECIES, i -> 2 * i & (L - 1));
    private static final VectorShuffle<Float> ODD_LOW = VectorShuffle.fromOp(SPECIES, i -> 2 * i + 1 & (L - 1));
    private static final VectorMask<Float> LOW_HALF = SPECIES.indexInRange(0, L / 2);

    /** The image's plane with its zero border, Wp wide, and zero slack after it. */
    private void pad(float[] x, int from, float[] plane) {
        java.util.Arrays.fill(plane, 0, planeSize, 0f);
        for (int r = 0; r < h; r++) System.arraycopy(x, from + r * w, plane, (r + padH) * wp + padW, w);
    }

    /**
     * Channels o0 .. o0+count-1, + bias and ReLU, into y from {@code to} (their planes one after the other): two output
     * rows at a time, a vector of columns each (the row's last vector ends at its last column, over columns already
     * written: the same values), four channels per input vector: eight independent fma chains. Pooled
     * ({@link #forwardPooled}), y is the 2x2/2 max pool's output instead: a vector of columns gives half a vector of y
     * (the last one starts at an even column), and an odd last row is dropped, as the pool drops it.
     *
     * <p>The epilogues are written out here, not in a helper taking vectors: C2 inlines such a helper only while it has
     * no big compiled body of its own, and a helper left out of line boxes every vector it is passed (a pooled helper
     * took small_cnn's conv1 at batch 1 from 9 to 27 us).
     */
    private void block(float[] plane, float[] wd, int wBase, float[] bias, boolean relu, int o0, int count, float[] y, int to,
                       boolean pooled) {
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
        int lastX = pooled ? (ow - L) & ~1 : ow - L;   // pooled, a vector's column pairs start at an even column
        for (int r = 0; r < rows; r += 2) {
            int r1 = Math.min(r + 1, oh - 1);   // an odd last row runs twice
            for (int x0 = 0; ; x0 += L) {
                if (x0 > lastX) x0 = lastX;
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
                a0 = a0.add(b0);
                e0 = e0.add(b0);
                a1 = a1.add(b1);
                e1 = e1.add(b1);
                a2 = a2.add(b2);
                e2 = e2.add(b2);
                a3 = a3.add(b3);
                e3 = e3.add(b3);
                if (pooled) {
                    // max(relu(a), relu(e)) = relu(max(a, e)) to the bit: max is exact
                    FloatVector m0 = a0.max(e0), m1 = a1.max(e1), m2 = a2.max(e2), m3 = a3.max(e3);
                    if (relu) {
                        m0 = m0.max(zero);
                        m1 = m1.max(zero);
                        m2 = m2.max(zero);
                        m3 = m3.max(zero);
                    }
                    int q = r / 2 * pw + x0 / 2;
                    m0.rearrange(EVEN_LOW).max(m0.rearrange(ODD_LOW)).intoArray(y, y0 + q, LOW_HALF);
                    m1.rearrange(EVEN_LOW).max(m1.rearrange(ODD_LOW)).intoArray(y, y1 + q, LOW_HALF);
                    m2.rearrange(EVEN_LOW).max(m2.rearrange(ODD_LOW)).intoArray(y, y2 + q, LOW_HALF);
                    m3.rearrange(EVEN_LOW).max(m3.rearrange(ODD_LOW)).intoArray(y, y3 + q, LOW_HALF);
                } else {
                    if (relu) {
                        a0 = a0.max(zero);
                        e0 = e0.max(zero);
                        a1 = a1.max(zero);
                        e1 = e1.max(zero);
                        a2 = a2.max(zero);
                        e2 = e2.max(zero);
                        a3 = a3.max(zero);
                        e3 = e3.max(zero);
                    }
                    int q0 = r * ow + x0, q1 = r1 * ow + x0;
                    a0.intoArray(y, y0 + q0);
                    e0.intoArray(y, y0 + q1);
                    a1.intoArray(y, y1 + q0);
                    e1.intoArray(y, y1 + q1);
                    a2.intoArray(y, y2 + q0);
                    e2.intoArray(y, y2 + q1);
                    a3.intoArray(y, y3 + q0);
                    e3.intoArray(y, y3 + q1);
                }
                if (x0 == lastX) break;
            }
        }
    }

    /** Width of a column phase of the padded plane: a vector past the last pooled column, and one more column. */
    private int phaseWidth() { return Math.max(ow / 2, L) + 1; }

    /**
     * The image's padded plane split by column parity into holder[1]: the even columns (H + 2 padH rows of
     * {@link #phaseWidth} floats), then the odd ones; zero past the plane.
     */
    private void split(float[] x, int from, float[][] holder) {
        int pq = phaseWidth(), rowsP = h + 2 * padH, phase = rowsP * pq;
        float[] ph = holder[1] = Winograd3x3.grow(holder[1], 2 * phase);
        java.util.Arrays.fill(ph, 0, 2 * phase, 0f);
        int first = padW & 1;   // the first column of x that lands on an even column of the plane
        for (int r = 0; r < h; r++) {
            int src = from + r * w, row = (r + padH) * pq;
            for (int j = first, c = row + (j + padW) / 2; j < w; j += 2, c++) ph[c] = x[src + j];
            for (int j = 1 - first, c = phase + row + (j + padW) / 2; j < w; j += 2, c++) ph[c] = x[src + j];
        }
    }

    /**
     * {@link #block}'s pooled output for a 3x3 kernel, two channels at a time with their 18 weights in registers, from
     * the plane split by column parity ({@link #split}): each output row's even and odd columns are separate
     * accumulators (even column 2u reads E[u], O[u], E[u+1]; odd 2u+1 reads O[u], E[u+1], O[u+1]), so a pooled row's
     * vector of L columns is the max of four accumulators, lane by lane, with no shuffles; each of the four input rows is
     * four loads used for every tap row it meets. Each output is the same chain as {@link #block}'s (taps in row-major
     * order from zero, + bias), then max over the 2x2 window and ReLU: the same bits. small_cnn's conv1 and pool1 at
     * batch 32, alone: 270 -> 210 us on one thread (the column pairs' two shuffles per vector took ~90 us of the 270),
     * 144 -> 109 on two; batch 1 5.2 -> 4.4 us. The whole model at batch 32, alternating in one JVM: 0.597 -> 0.530 and
     * 0.827 -> 0.767 ms a call (first quartiles; a noisy hour). The four input rows' steps are written out, as
     * {@link #block}'s epilogues are: a helper taking the vectors would box them where C2 leaves it out of line.
     */
    private void pooled3x3(float[] ph, float[] wd, int wBase, float[] bias, boolean relu, int o0, int count, float[] y, int to) {
        int pw = ow / 2, yPlane = oh / 2 * pw, pq = phaseWidth(), odd = (h + 2 * padH) * pq;
        int c1 = Math.min(1, count - 1), wa = wBase + o0 * 9, wb = wBase + (o0 + c1) * 9;
        FloatVector k0 = FloatVector.broadcast(SPECIES, wd[wa]), k1 = FloatVector.broadcast(SPECIES, wd[wa + 1]), k2 = FloatVector.broadcast(SPECIES, wd[wa + 2]);
        FloatVector k3 = FloatVector.broadcast(SPECIES, wd[wa + 3]), k4 = FloatVector.broadcast(SPECIES, wd[wa + 4]), k5 = FloatVector.broadcast(SPECIES, wd[wa + 5]);
        FloatVector k6 = FloatVector.broadcast(SPECIES, wd[wa + 6]), k7 = FloatVector.broadcast(SPECIES, wd[wa + 7]), k8 = FloatVector.broadcast(SPECIES, wd[wa + 8]);
        FloatVector m0 = FloatVector.broadcast(SPECIES, wd[wb]), m1 = FloatVector.broadcast(SPECIES, wd[wb + 1]), m2 = FloatVector.broadcast(SPECIES, wd[wb + 2]);
        FloatVector m3 = FloatVector.broadcast(SPECIES, wd[wb + 3]), m4 = FloatVector.broadcast(SPECIES, wd[wb + 4]), m5 = FloatVector.broadcast(SPECIES, wd[wb + 5]);
        FloatVector m6 = FloatVector.broadcast(SPECIES, wd[wb + 6]), m7 = FloatVector.broadcast(SPECIES, wd[wb + 7]), m8 = FloatVector.broadcast(SPECIES, wd[wb + 8]);
        float ba = bias == null ? 0f : bias[o0], bb = bias == null ? 0f : bias[o0 + c1];
        FloatVector zero = FloatVector.zero(SPECIES);
        VectorMask<Float> keep = SPECIES.indexInRange(0, Math.min(pw, L));   // fewer pooled columns than a vector: a part
        int y0 = to, y1 = to + c1 * yPlane;   // a lone last channel runs twice into its own plane: the same values
        int lastU = Math.max(0, pw - L);
        for (int pr = 0; pr < oh / 2; pr++) {
            for (int u0 = 0; ; u0 += L) {
                if (u0 > lastU) u0 = lastU;
                int p = 2 * pr * pq + u0;
                // a: the first channel, e: the second; E/O: even/odd output columns; 0/1: the pooled row's two output rows
                FloatVector e0 = FloatVector.fromArray(SPECIES, ph, p), o0v = FloatVector.fromArray(SPECIES, ph, odd + p);
                FloatVector e1 = FloatVector.fromArray(SPECIES, ph, p + 1), o1v = FloatVector.fromArray(SPECIES, ph, odd + p + 1);
                FloatVector aE0 = e1.fma(k2, o0v.fma(k1, e0.fma(k0, zero))), aO0 = o1v.fma(k2, e1.fma(k1, o0v.fma(k0, zero)));
                FloatVector bE0 = e1.fma(m2, o0v.fma(m1, e0.fma(m0, zero))), bO0 = o1v.fma(m2, e1.fma(m1, o0v.fma(m0, zero)));
                p += pq;
                e0 = FloatVector.fromArray(SPECIES, ph, p);
                o0v = FloatVector.fromArray(SPECIES, ph, odd + p);
                e1 = FloatVector.fromArray(SPECIES, ph, p + 1);
                o1v = FloatVector.fromArray(SPECIES, ph, odd + p + 1);
                aE0 = e1.fma(k5, o0v.fma(k4, e0.fma(k3, aE0)));
                aO0 = o1v.fma(k5, e1.fma(k4, o0v.fma(k3, aO0)));
                bE0 = e1.fma(m5, o0v.fma(m4, e0.fma(m3, bE0)));
                bO0 = o1v.fma(m5, e1.fma(m4, o0v.fma(m3, bO0)));
                FloatVector aE1 = e1.fma(k2, o0v.fma(k1, e0.fma(k0, zero))), aO1 = o1v.fma(k2, e1.fma(k1, o0v.fma(k0, zero)));
                FloatVector bE1 = e1.fma(m2, o0v.fma(m1, e0.fma(m0, zero))), bO1 = o1v.fma(m2, e1.fma(m1, o0v.fma(m0, zero)));
                p += pq;
                e0 = FloatVector.fromArray(SPECIES, ph, p);
                o0v = FloatVector.fromArray(SPECIES, ph, odd + p);
                e1 = FloatVector.fromArray(SPECIES, ph, p + 1);
                o1v = FloatVector.fromArray(SPECIES, ph, odd + p + 1);
                aE0 = e1.fma(k8, o0v.fma(k7, e0.fma(k6, aE0)));
                aO0 = o1v.fma(k8, e1.fma(k7, o0v.fma(k6, aO0)));
                bE0 = e1.fma(m8, o0v.fma(m7, e0.fma(m6, bE0)));
                bO0 = o1v.fma(m8, e1.fma(m7, o0v.fma(m6, bO0)));
                aE1 = e1.fma(k5, o0v.fma(k4, e0.fma(k3, aE1)));
                aO1 = o1v.fma(k5, e1.fma(k4, o0v.fma(k3, aO1)));
                bE1 = e1.fma(m5, o0v.fma(m4, e0.fma(m3, bE1)));
                bO1 = o1v.fma(m5, e1.fma(m4, o0v.fma(m3, bO1)));
                p += pq;
                e0 = FloatVector.fromArray(SPECIES, ph, p);
                o0v = FloatVector.fromArray(SPECIES, ph, odd + p);
                e1 = FloatVector.fromArray(SPECIES, ph, p + 1);
                o1v = FloatVector.fromArray(SPECIES, ph, odd + p + 1);
                aE1 = e1.fma(k8, o0v.fma(k7, e0.fma(k6, aE1)));
                aO1 = o1v.fma(k8, e1.fma(k7, o0v.fma(k6, aO1)));
                bE1 = e1.fma(m8, o0v.fma(m7, e0.fma(m6, bE1)));
                bO1 = o1v.fma(m8, e1.fma(m7, o0v.fma(m6, bO1)));
                // max(relu(a), relu(b)) = relu(max(a, b)) to the bit: max is exact
                FloatVector sa = aE0.add(ba).max(aO0.add(ba)).max(aE1.add(ba).max(aO1.add(ba)));
                FloatVector sb = bE0.add(bb).max(bO0.add(bb)).max(bE1.add(bb).max(bO1.add(bb)));
                if (relu) {
                    sa = sa.max(zero);
                    sb = sb.max(zero);
                }
                int q = pr * pw + u0;
                sa.intoArray(y, y0 + q, keep);
                sb.intoArray(y, y1 + q, keep);
                if (u0 == lastU) break;
            }
        }
    }
}
