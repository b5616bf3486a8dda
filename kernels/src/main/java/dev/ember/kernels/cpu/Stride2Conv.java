package dev.ember.kernels.cpu;

import static dev.ember.kernels.cpu.SgemmKernel.L;
import static dev.ember.kernels.cpu.SgemmKernel.MR;
import static dev.ember.kernels.cpu.SgemmKernel.NR;

import dev.ember.engine.Conv2dParams;
import dev.ember.engine.Pool2dParams;
import java.util.Arrays;
import java.util.function.IntConsumer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Forward convolution at stride 2 with few input channels and wide output rows (resnet's 7x7/2 stem: 3 -> 64
 * channels, 224 -> 112), as Sgemm's microkernel over the input read in place: no column matrix.
 *
 * <pre>
 *   padded input (C, Hp, Wp), split into its even and odd columns: phase q (C, Hp, Wq), phase[q][c][r][m] = padded[c][r][2m + q]
 *   tap p = (c, i, j), output row r, columns x .. x+NR-1:
 *     padded[c][2r + i][2(x + t) + j] = phase[j mod 2][c][2r + i][x + t + j div 2]      one contiguous run per tap
 *   y[o .. o+MR-1, r, x .. x+NR-1] = W strip (MR, K) . B (K, NR), B's row p at base(r, x) + rowAt[p]
 * </pre>
 *
 * im2col + GEMM wrote the stem's column matrix (147 x 12544, 7.4 MB at 224x224) and read it back for every 8 output
 * channels; here each tap's run is read where it lies, and one output row's runs (C * KH * 2 phase rows, 19 KB at the
 * stem) stay in L1 across all channel strips. Each output is, as in Sgemm, one fma chain over the taps in (c, i, j)
 * order from zero (the whole K is at most one of Sgemm's K blocks), then + bias and ReLU as {@link CpuConv2d#biasRelu}
 * does after a GEMM, in the microkernel before its store (it was a pass over each output row after it: the stem and
 * its pool 1047-1254 -> 1020-1214 us, the stem alone 912-961 -> 898-905, alternating in one JVM): the same bits as the
 * im2col path. The stem alone at 1x3x224x224 (Intel Xeon, 2 threads, alternating JVMs): 1190-1370 -> 1020-1155 us.
 *
 * <p>Narrower rows and more taps stay on im2col + GEMM: a form with blocks of two output rows and several K blocks
 * ran resnet18's 3x3/2 layer at 56x56 in 990-1110 us against 830-890 (a row pair's runs of 64 channels no longer fit
 * L1, where Sgemm's packed B strip does), and its extra offsets slowed the stem's kernel by a fifth.
 */
final class Stride2Conv {
    private static final VectorSpecies<Float> SPECIES = SgemmKernel.SPECIES;
    private final int n, c, h, w, oc, k, padH, padW, oh, ow, hp, wq, phaseSize;
    /** Tap p = (c, i, j) at rowAt[p] from an output row's base: phase j mod 2, channel c, row i, column j div 2. */
    private final int[] rowAt;

    private Stride2Conv(Im2col g, Conv2dParams p) {
        n = g.n;
        c = g.c;
        h = g.h;
        w = g.w;
        oc = g.oc;
        k = g.rows;
        padH = p.padH();
        padW = p.padW();
        oh = g.oh;
        ow = g.ow;
        hp = h + 2 * padH;
        // a phase row holds every column a run reads (ow - NR + (kw-1)/2 + NR - 1 < ow + kw), and the deinterleave's
        // whole vectors: two vectors of the padded row make one of each phase
        wq = roundUp(Math.max((w + 2 * padW + 1) / 2, ow + g.kw), L);
        phaseSize = c * hp * wq;
        rowAt = new int[k];
        for (int ch = 0; ch < c; ch++) {
            for (int i = 0; i < g.kh; i++) {
                for (int j = 0; j < g.kw; j++) rowAt[(ch * g.kh + i) * g.kw + j] = (j % 2) * phaseSize + (ch * hp + i) * wq + j / 2;
            }
        }
    }

    /** A plan for this layer, or null where it does not apply. */
    static Stride2Conv plan(Im2col g, Conv2dParams p) {
        boolean fits = g.groups == 1 && p.strideH() == 2 && p.strideW() == 2 && p.dilationH() == 1 && p.dilationW() == 1
                && g.rows <= Sgemm.KC                  // one fma chain per output, as Sgemm's one K block
                && g.ow >= NR && g.oh > 0               // rows of at least one whole block
                && p.padH() < g.kh && p.padW() < g.kw;
        return fits ? new Stride2Conv(g, p) : null;
    }

    /**
     * Per-thread buffers: a padded input row (deinterleaved into the phases), a partial block's output; for
     * {@link #forwardPooled} the last three output rows, one channel's column max and one pooled row.
     */
    private static final class Scratch {
        float[] row = new float[0], band = new float[0], columns = new float[0], pooled = new float[0];
        final float[] edge = new float[MR * NR], bias = new float[MR];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);
    /** The phases of the image being convolved, built on the calling thread's buffer and read by every thread. */
    private static final ThreadLocal<float[][]> PHASES = ThreadLocal.withInitial(() -> new float[1][0]);

    /**
     * y (N, OC, OH, OW) = conv(x (N, C, H, W) at xBase, w (OC, C, KH, KW) at wBase) + bias (may be null), ReLU'd if
     * asked; {@code packed}: w packed by {@link Sgemm.PackedA#of} (a constant weight's kept copy), or null to pack it here.
     */
    void forward(float[] x, int xBase, float[] wd, int wBase, Sgemm.PackedA packed, float[] bias, boolean relu, float[] y) {
        Sgemm.PackedA a = packed != null ? packed : Sgemm.PackedA.of(oc, k, wd, wBase, k, 1, true);
        int strips = (oc + MR - 1) / MR;
        eachImage(img -> {
            int to = img * oc * oh * ow;
            float[] phases = phases(x, xBase + img * c * h * w);
            Parallel.forRange(oh, Parallel.grain(oh, 1), (lo, hi) -> {
                // strip by strip over the chunk's rows: the strip's weights stay in L1, the rows' phases in L2 (the
                // stem's 64 x 147 weights and one row's phases are 59 KB together, more than L1)
                Scratch s = SCRATCH.get();
                for (int strip = 0; strip < strips; strip++) {
                    float[] rowBias = stripBias(s, bias, relu, strip);
                    for (int r = lo; r < hi; r++) outputRow(a, strip, phases, r, y, to + r * ow, oh * ow, s.edge, rowBias, relu);
                }
            });
        });
        if (packed == null) a.recycle();
    }

    /** Whether {@link #forwardPooled} runs this pool: 3x3 windows at stride 2 (resnet's stem pool, padding 1). */
    static boolean stemPool(Pool2dParams q) {
        return q.kernelH() == 3 && q.kernelW() == 3 && q.strideH() == 2 && q.strideW() == 2 && !q.ceilMode();
    }

    /**
     * z (N, OC, PH, PW) = the {@link #stemPool} max pool q of {@link #forward}'s y, without writing y: resnet's stem
     * wrote 3.2 MB of y per 224x224 image that its pool read back (in the model conv 1249 us against 970 alone, pool
     * 249). resnet18 a call, the two forms alternating in one JVM: 1x3x224x224 14.94 -> 14.81 ms, 32x3x64x64 34.3 ->
     * 33.5 ms. A thread takes a band of pooled rows; pooled row i needs output rows 2i - pad .. 2i - pad
     * + 2, the first of which the row before computed, so it computes the other two (strip by strip, as forward) into
     * a ring of the last three rows (OC x 3 x OW, in L2), then pools them channel by channel as {@link
     * CpuPool2d#maxValues} does: the column max of the window's rows in row order, then {@link CpuPool2d#stemRow}.
     * Each y element is forward's (one fma chain, + bias, ReLU) and the pool's arithmetic the same, so z is the bits
     * of the two ops. A band's first row is computed again by the thread that takes it (one row of 112 per thread).
     */
    void forwardPooled(float[] x, int xBase, float[] wd, int wBase, Sgemm.PackedA packed, float[] bias, boolean relu,
                       Pool2dParams q, int ph, int pw, float[] z) {
        Sgemm.PackedA a = packed != null ? packed : Sgemm.PackedA.of(oc, k, wd, wBase, k, 1, true);
        int strips = (oc + MR - 1) / MR, pitch = roundUp(ow, L), wideOw = roundUp(pw, L);
        int columns = Math.max(2 * wideOw + 2 * L, q.padW() + pitch);
        eachImage(img -> {
            int to = img * oc * ph * pw;
            float[] phases = phases(x, xBase + img * c * h * w);
            // a band's first row is its thread's to compute again: one band where the images are split between threads
            Parallel.forRange(ph, Parallel.inline() ? ph : (ph + Parallel.THREADS - 1) / Parallel.THREADS, (lo, hi) -> {
                Scratch s = SCRATCH.get();
                float[] band = s.band = Winograd3x3.grow(s.band, oc * 3 * pitch);   // row r of channel o at (o*3 + r%3) * pitch
                float[] cols = s.columns = Winograd3x3.grow(s.columns, columns);
                float[] out = s.pooled = Winograd3x3.grow(s.pooled, wideOw);
                Arrays.fill(cols, Float.NEGATIVE_INFINITY);
                int done = -1;   // output rows up to this one are in the ring
                for (int i = lo; i < hi; i++) {
                    int r0 = Math.max(2 * i - q.padH(), 0), r1 = Math.min(2 * i - q.padH() + 3, oh), first = Math.max(r0, done + 1);
                    for (int strip = 0; strip < strips; strip++) {
                        float[] rowBias = stripBias(s, bias, relu, strip);
                        for (int r = first; r < r1; r++) outputRow(a, strip, phases, r, band, r % 3 * pitch, 3 * pitch, s.edge, rowBias, relu);
                    }
                    done = r1 - 1;
                    for (int o = 0; o < oc; o++) {
                        for (int j = 0; j < pitch; j += L) {   // lanes past OW hold other values: reset below
                            FloatVector m = FloatVector.fromArray(SPECIES, band, (o * 3 + r0 % 3) * pitch + j);
                            for (int r = r0 + 1; r < r1; r++) m = m.max(FloatVector.fromArray(SPECIES, band, (o * 3 + r % 3) * pitch + j));
                            m.intoArray(cols, q.padW() + j);
                        }
                        Arrays.fill(cols, q.padW() + ow, q.padW() + pitch, Float.NEGATIVE_INFINITY);
                        CpuPool2d.stemRow(cols, out, pw);
                        System.arraycopy(out, 0, z, to + (o * ph + i) * pw, pw);
                    }
                }
            });
        });
        if (packed == null) a.recycle();
    }

    /**
     * {@code image} for each image: the images split between the threads where there are at least two a thread
     * ({@link #forward}'s and {@link #forwardPooled}'s parallel loops over rows then run inline), else one after the
     * other, each over rows in parallel. resnet18's stem at 32x3x64x64 forked and joined twice an image (its phases,
     * then 16 pooled rows) for 45 us of arithmetic: the stem and its pool alone 2716-2872 -> 2288-2299 us, the
     * whole call 0.96-1.00 of before (four A/B runs, both orders); resnet18's training step (batch 16) even.
     */
    private void eachImage(IntConsumer image) {
        if (n >= 2 * Parallel.THREADS) {
            Parallel.forRange(n, 1, (lo, hi) -> {
                for (int img = lo; img < hi; img++) image.accept(img);
            });
        } else {
            for (int img = 0; img < n; img++) image.accept(img);
        }
    }

    /** The phases of the image at x[from]: the calling thread's buffer, split in parallel and read by every thread. */
    private float[] phases(float[] x, int from) {
        float[][] holder = PHASES.get();
        float[] phases = holder[0] = Winograd3x3.grow(holder[0], 2 * phaseSize + NR);
        Parallel.forRange(c * hp, Parallel.grain(c * hp, 16), (lo, hi) -> split(x, from, phases, lo, hi));
        return phases;
    }

    /** Padded rows [lo, hi) of (C, Hp), each split into its two phases: phase q's row at q*phaseSize + row*wq. */
    private void split(float[] x, int from, float[] phases, int lo, int hi) {
        Scratch s = SCRATCH.get();
        float[] row = s.row = Winograd3x3.grow(s.row, 2 * wq);
        for (int pr = lo; pr < hi; pr++) {
            int ch = pr / hp, ih = pr % hp - padH;
            Arrays.fill(row, 0, 2 * wq, 0f);
            if (ih >= 0 && ih < h) System.arraycopy(x, from + (ch * h + ih) * w, row, padW, w);
            int even = pr * wq, odd = phaseSize + pr * wq;
            for (int m = 0; m < wq; m += L) {
                FloatVector lo2 = FloatVector.fromArray(SPECIES, row, 2 * m), hi2 = FloatVector.fromArray(SPECIES, row, 2 * m + L);
                lo2.rearrange(Winograd3x3.EVEN, hi2).intoArray(phases, even + m);
                lo2.rearrange(Winograd3x3.ODD, hi2).intoArray(phases, odd + m);
            }
        }
    }

    /**
     * Output row r of channels strip*MR .. +MR-1 into dst, channel o's row at dstRow + o*pitch, in blocks of NR columns;
     * the last block ends at the row's last column, over columns already written (the same values), and is half as
     * wide where L columns or fewer are left (the stem's 112 = 3 x 32 + 16: with a whole last block, an eighth of its
     * work was recomputed; the stem and its pool alone, three alternating pairs of JVMs, 1024-1100 -> 984-1040 us). A
     * partial strip goes through {@code edge}.
     */
    private void outputRow(Sgemm.PackedA a, int strip, float[] phases, int r, float[] dst, int dstRow, int pitch, float[] edge, float[] bias, boolean relu) {
        int row0 = strip * MR, rows = Math.min(MR, oc - row0), ic = row0 / Sgemm.MB * Sgemm.MB;
        int aOff = a.offset(ic, 0) + (row0 - ic) * k;
        for (int x0 = 0; ; x0 += NR) {
            boolean half = ow - x0 <= L;   // the last L columns or fewer: a half block ending at the row's end
            if (half) x0 = ow - L;
            else if (x0 > ow - NR) x0 = ow - NR;
            int base = 2 * r * wq + x0, at = dstRow + row0 * pitch + x0, width = half ? L : NR;
            if (rows == MR && half) {
                SgemmKernel.blockGatheredHalf(k, a.data, aOff, phases, base, rowAt, dst, at, pitch, bias, relu);
            } else if (rows == MR) {
                SgemmKernel.blockGathered(k, a.data, aOff, phases, base, rowAt, dst, at, pitch, bias, relu);
            } else {
                if (half) SgemmKernel.blockGatheredHalf(k, a.data, aOff, phases, base, rowAt, edge, 0, L, bias, relu);
                else SgemmKernel.blockGathered(k, a.data, aOff, phases, base, rowAt, edge, 0, NR, bias, relu);
                for (int i = 0; i < rows; i++) System.arraycopy(edge, i * width, dst, at + i * pitch, width);
            }
            if (half || x0 == ow - NR) break;
        }
    }

    /**
     * The strip's MR biases for the microkernel's epilogue (0 past OC, and where bias is null but ReLU is asked: the
     * separate pass added 0f too), or null where there is no epilogue.
     */
    private float[] stripBias(Scratch s, float[] bias, boolean relu, int strip) {
        if (bias == null && !relu) return null;
        for (int i = 0; i < MR; i++) {
            int o = strip * MR + i;
            s.bias[i] = bias != null && o < oc ? bias[o] : 0f;
        }
        return s.bias;
    }

    private static int roundUp(int x, int step) { return (x + step - 1) / step * step; }
}
