package dev.ember.kernels.cpu;

import dev.ember.engine.BufferPool;
import dev.ember.engine.Conv2dParams;
import dev.ember.engine.CpuStorage;
import dev.ember.engine.Pool2dParams;
import dev.ember.engine.Shape;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * 2-D convolution on the CPU as im2col + {@link Sgemm}.
 *
 * <pre>
 *   x (N, C, H, W), w (OC, Cg, KH, KW), y (N, OC, OH, OW); Cg = C/groups, OCg = OC/groups, S = OH*OW
 *   col (Cg*KH*KW, S)    = im2col(x[n, group])                      see {@link Im2col}
 *   forward:         y[n, group]  (OCg, S)       = w[group] (OCg, Cg*KH*KW) · col
 *   backwardInput:   dcol         (Cg*KH*KW, S)  = w[group]^T · dy[n, group];  dx[n, group] = col2im(dcol)
 *   backwardWeight:  dw[group]    (OCg, Cg*KH*KW) = sum over n of dy[n, group] · col^T
 * </pre>
 * Two schedules (see {@link #batched}):
 * <ul>
 *   <li>one large image (resnet at batch 1): one group at a time, each GEMM parallel inside Sgemm. A 1x1,
 *       stride-1, unpadded convolution is a plain matrix product on x itself: no im2col. Forward with a column
 *       matrix past {@link #CHUNK_FLOATS} (resnet's 7x7/2 stem at 224x224) runs in bands of output rows instead,
 *       in parallel, each band's im2col and GEMM in its core's cache ({@link #forwardInBands}).
 *   <li>several images, or one small one: the batch is cut into chunks of {@link #imagesPerChunk} images, whose
 *       columns sit side by side in one buffer, so each GEMM is (OCg, Cg*KH*KW) · (Cg*KH*KW, images*S), wide
 *       enough for the microkernel and packing the weight once per chunk; (chunk, group) jobs run in parallel.
 *       Forward over 16 images or more of rows of at most 4 pixels (resnet18's 3x3/2 at 32x3x64x64) stores no column
 *       matrix: each pixel's images side by side, Sgemm packs its strips from the chunk transposed
 *       ({@link #forwardImagesInner}).
 * </ul>
 * A 3x3 stride-1 layer may instead take {@link Winograd3x3}, forward with a constant weight (inference) and all three
 * directions with a changing one where the layer is wide and large enough ({@link Winograd3x3#takesChangingWeight}).
 * With a constant weight and tiles enough per product it takes {@link Winograd3x3F4} first (4x4 output tiles). Other
 * layers with a constant weight may take {@link Stride2Conv} (resnet's stem) or {@link DirectConv} (one image, more
 * output pixels than half its channels: resnet18's layer2 and layer3 3x3/2 at 224x224), neither building a column
 * matrix; one image of a few output pixels keeps its weight in row panels for {@link SgemmRows}.
 * Determinism: each output element of forward and backwardInput is one Sgemm element, whose arithmetic does not
 * depend on the GEMM's width, so it is the same in both schedules and for any chunking. (With a constant weight the
 * plan itself, Winograd F(4x4) or F(2x2), DirectConv or im2col + GEMM, follows the layer's size and batch, so an
 * image's inference output may differ in its last bits between batch sizes; each plan is bit-identical run to run.)
 * backwardWeight sums the batch as per-chunk partial GEMMs added in chunk order; the chunk size depends only on the
 * layer's geometry, never on the batch size or the thread count, so the result is bit-identical run to run and across
 * thread counts.
 */
final class CpuConv2d {
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    /** Below this many multiply-adds per image and group, batch images into chunks (Sgemm alone would not fan out). */
    private static final long SMALL_JOB = 1L << 22;
    /** Column buffer of one chunk, in floats (2 MB): a chunk's im2col stays in L2/L3 while Sgemm packs it. */
    private static final int CHUNK_FLOATS = 1 << 19;
    /** Column buffer of one band of output rows in the per-image schedule, in floats (512 KB): half a core's L2. */
    private static final int BAND_FLOATS = 1 << 17;
    /** Most images per chunk: a batch of 16 already gives both cores work. */
    private static final int CHUNK_IMAGES = 8;
    /**
     * Columns a chunk should reach even past CHUNK_IMAGES: the weight is packed once per chunk, so a chunk of a few
     * 2x2 or 4x4 images (resnet's last stages at 64x64) would spend more time packing the weight than multiplying.
     */
    private static final int CHUNK_COLUMNS = 512;
    /** Largest column buffer (8 MB) of a chunk widened to CHUNK_COLUMNS. */
    private static final int WIDE_CHUNK_FLOATS = 1 << 21;

    /** Per-thread column and staging buffers of the batched schedule, grown on demand and reused. */
    private static final class Scratch {
        float[] col = new float[0];
        float[] staged = new float[0];
        float[] transposed = new float[0];

        float[] col(int size) {
            if (col.length < size) col = new float[size];
            return col;
        }

        float[] staged(int size) {
            if (staged.length < size) staged = new float[size];
            return staged;
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private CpuConv2d() {}

    static Tensor forward(Tensor x, Tensor w, Conv2dParams p) { return forward(x, w, null, false, p); }

    /**
     * maxPool(forward(x, w, bias, relu, p), pool) without writing the convolution's output, where the pool is the plain
     * 2x2 stride-2 one and {@link SingleChannelConv} (a grayscale CNN's first layer) or, for a constant weight,
     * {@link Winograd3x3F4} or a stride-1 {@link DirectConv} runs the layer, or the pool is 3x3/2 and {@link Stride2Conv}
     * runs it (resnet's stem); else null (the caller composes the two).
     */
    static Tensor forwardPooled(Tensor x, Tensor w, Tensor bias, boolean relu, Conv2dParams p, Pool2dParams pool) {
        Shape ys = p.outputShape(x.shape(), w.shape()), zs = pool.outputShape(ys);
        Im2col g = new Im2col(x.shape(), w.shape(), ys, p);
        boolean halving = CpuPool2d.halving(pool, ys.dim(2), ys.dim(3), zs.dim(2), zs.dim(3));
        SingleChannelConv single = SingleChannelConv.plan(g, p);
        SingleChannelConv direct = halving ? single : null;
        Tensor wc = w.contiguous();
        boolean constant = constantWeight(wc);
        Winograd3x3F4 wide = halving && direct == null && constant ? Winograd3x3F4.plan(g, p) : null;   // forward's first choice
        // forward's next: DirectConv ahead of F(2x2) for one image of few channels (small_cnn's conv2 at batch 1)
        DirectConv few = halving && direct == null && wide == null && constant && Winograd3x3.plan(g, p) != null && DirectConv.beforeWinograd(g, p)
                ? DirectConv.plan(g, p) : null;
        if (few != null && !few.poolable()) few = null;
        // the stem's 3x3/2 pool, where forward takes Stride2Conv: Winograd takes stride 1 only; SingleChannelConv, and
        // TapConv for a changing weight, come first
        Stride2Conv strided = !halving && single == null && Stride2Conv.stemPool(pool) && (constant || TapConv.plan(g, p, false) == null)
                ? Stride2Conv.plan(g, p) : null;
        if (direct == null && wide == null && few == null && strided == null) return null;
        Tensor xc = x.contiguous();
        float[] xd = CpuMatmul.floats(xc), wd = CpuMatmul.floats(wc);
        int wBase = wc.offset();
        float[] b = bias == null ? null : bias.contiguous().toFloatArray();   // (OC)
        float[] z = BufferPool.uninitialized(zs.numel());   // (N, OC, PH, PW), every element written
        if (strided != null) {
            Sgemm.PackedA[] packed = packedWeights(wc, wd, wBase, g);
            strided.forwardPooled(xd, xc.offset(), wd, wBase, packed == null ? null : packed[0], b, relu, pool, zs.dim(2), zs.dim(3), z);
            return Tensor.of(CpuStorage.wrap(z), zs);
        }
        if (direct != null) {
            direct.forwardPooled(xd, xc.offset(), wd, wBase, b, relu, z);
            return Tensor.of(CpuStorage.wrap(z), zs);
        }
        if (few != null) {
            float[] u = wc.storage().derived(new DirectWeightKey(wBase, g.oc, g.rows, DirectConv.POOLED_OB),
                    () -> DirectConv.pack(wd, wBase, g.oc, g.rows, DirectConv.POOLED_OB));
            few.forwardPooled(xd, xc.offset(), u, b, relu, z);
            return Tensor.of(CpuStorage.wrap(z), zs);
        }
        if (wide.forwardPooled(xd, xc.offset(), f4Weight(wc, wd, g), b, relu, z)) return Tensor.of(CpuStorage.wrap(z), zs);
        BufferPool.recycle(z);   // a NaN or an infinity met F(4x4): the two ops, as forward then takes im2col + GEMM
        return null;
    }

    /**
     * max(conv(x, w) + bias + residual, 0) where Winograd runs the layer with a constant weight (a residual block's
     * second conv at inference): the residual is added in the output transform's pass, as it writes y, instead of in a
     * pass of its own over y and the residual; the same bits as the conv, then addRelu. Else null (the caller composes).
     */
    static Tensor forwardAddRelu(Tensor x, Tensor w, Tensor bias, Tensor residual, Conv2dParams p) {
        Shape ys = p.outputShape(x.shape(), w.shape());
        Tensor wc = w.contiguous();
        if (!residual.shape().equals(ys) || !residual.isContiguous() || !constantWeight(wc)) return null;
        Im2col g = new Im2col(x.shape(), w.shape(), ys, p);
        Winograd3x3F4 wide = Winograd3x3F4.plan(g, p);
        // as forward chooses: F(4x4), else DirectConv for one image of few channels, else F(2x2)
        Winograd3x3 winograd = wide == null ? Winograd3x3.plan(g, p) : null;
        if (winograd != null && DirectConv.beforeWinograd(g, p) && DirectConv.plan(g, p) != null) return null;
        if (wide == null && winograd == null) return null;
        float[] b = bias == null ? null : bias.contiguous().toFloatArray();   // (OC)
        Tensor xc = x.contiguous();
        float[] xd = CpuMatmul.floats(xc), wd = CpuMatmul.floats(wc), rd = CpuMatmul.floats(residual);
        float[] y = BufferPool.uninitialized(ys.numel());   // (N, OC, OH, OW), every element written
        if (wide != null) {
            if (wide.forward(xd, xc.offset(), f4Weight(wc, wd, g), b, true, y, rd, residual.offset())) return Tensor.of(CpuStorage.wrap(y), ys);
            BufferPool.recycle(y);   // a NaN or an infinity met F(4x4): the caller composes, as forward then takes im2col + GEMM
            return null;
        }
        winograd.forward(xd, xc.offset(), f2Weight(wc, wd, g, winograd), b, true, y, rd, residual.offset());
        return Tensor.of(CpuStorage.wrap(y), ys);
    }

    /**
     * The shortcuts {@link #forwardPair} takes: at layer3's 128 -> 256 on 28x28 the pair ran 570-575 us against 558-563
     * apart (the GEMM of 256 channels reads its subsampled x a quarter as often per multiply-add as layer2's of 128,
     * while each 128-tap shortcut block in DirectConv still scatters its outputs as a 1152-tap block does).
     */
    static final int SHORTCUT_MAX_CHANNELS = 128;

    /**
     * {forward(x, w, bias, relu, p), forward(x, w2, bias2, false, p2)} in one pass over x where {@link DirectConv}
     * runs the first (one image, a constant weight, stride 2: resnet's downsampling blocks) and the second is a constant
     * 1x1 conv at the same stride, unpadded, reading the first's centre tap (its padding is half its odd kernel): the
     * shortcut's outputs are more blocks of the same jobs, over that tap of each channel, in the tiles and gathered
     * panels already there, and each is the same fma chain over the channels as the GEMM's, + bias: the same bits.
     * resnet18 at 1x3x224x224 ran its 1x1/2 shortcuts as a subsampled copy of x and a GEMM: its layer2 block (64 -> 128
     * channels on 56x56), the two convs alone, alternating in one JVM, 650-659 -> 614-625 us. Up to {@link
     * #SHORTCUT_MAX_CHANNELS} shortcut channels; else null (the caller runs the two).
     */
    static Tensor[] forwardPair(Tensor x, Tensor w, Tensor bias, boolean relu, Conv2dParams p, Tensor w2, Tensor bias2, Conv2dParams p2) {
        Shape ys = p.outputShape(x.shape(), w.shape()), ys2 = p2.outputShape(x.shape(), w2.shape());
        Tensor wc = w.contiguous(), wc2 = w2.contiguous();
        boolean shortcut = w2.dim(2) == 1 && w2.dim(3) == 1 && p2.groups() == 1 && p2.padH() == 0 && p2.padW() == 0
                && p2.strideH() == p.strideH() && p2.strideW() == p.strideW() && p.dilationH() == 1 && p.dilationW() == 1
                && 2 * p.padH() + 1 == w.dim(2) && 2 * p.padW() + 1 == w.dim(3) && ys2.dim(2) == ys.dim(2) && ys2.dim(3) == ys.dim(3)
                && w2.dim(0) % SgemmKernel.L == 0 && w2.dim(0) <= SHORTCUT_MAX_CHANNELS && constantWeight(wc) && constantWeight(wc2);
        if (!shortcut) return null;
        Im2col g = new Im2col(x.shape(), w.shape(), ys, p);
        // the layers forward gives DirectConv, and no other: stride 2, more than one channel, taps past one K block
        if (p.strideH() == 1 || p.strideW() == 1 || SingleChannelConv.plan(g, p) != null || Stride2Conv.plan(g, p) != null) return null;
        DirectConv plan = DirectConv.plan(g, p);
        if (plan == null) return null;
        int oc2 = w2.dim(0);
        float[] wd = CpuMatmul.floats(wc), wd2 = CpuMatmul.floats(wc2);
        int wBase = wc.offset(), wBase2 = wc2.offset();
        float[] u = wc.storage().derived(new DirectWeightKey(wBase, g.oc, g.rows, DirectConv.OB), () -> DirectConv.pack(wd, wBase, g.oc, g.rows));
        float[] u2 = wc2.storage().derived(new DirectWeightKey(wBase2, oc2, g.c, DirectConv.OB), () -> DirectConv.pack(wd2, wBase2, oc2, g.c));
        float[] b = bias == null ? null : bias.contiguous().toFloatArray(), b2 = bias2 == null ? null : bias2.contiguous().toFloatArray();
        Tensor xc = x.contiguous();
        float[] y = BufferPool.uninitialized(ys.numel()), y2 = BufferPool.uninitialized(ys2.numel());   // every element written
        plan.forward(CpuMatmul.floats(xc), xc.offset(), u, b, relu, y, new DirectConv.Shortcut(u2, b2, oc2, y2));
        return new Tensor[] {Tensor.of(CpuStorage.wrap(y), ys), Tensor.of(CpuStorage.wrap(y2), ys2)};
    }

    /** A constant weight's F(4x4) planes, made once and kept with its storage. */
    private static Winograd3x3F4.Weight f4Weight(Tensor wc, float[] wd, Im2col g) {
        int wBase = wc.offset();
        return wc.storage().derived(new WinogradF4WeightKey(wBase, g.oc, g.c), () -> Winograd3x3F4.transform(wd, wBase, g.oc, g.c));
    }

    /** A constant weight's F(2x2) planes, made once and kept: in row panels where the plan's products have a few tiles. */
    private static Winograd3x3.Weight f2Weight(Tensor wc, float[] wd, Im2col g, Winograd3x3 plan) {
        int wBase = wc.offset();
        return plan.narrowProducts()   // a few tiles per product (batch 1, small maps): U in row panels
                ? wc.storage().derived(new WinogradRowsKey(wBase, g.oc, g.c), () -> Winograd3x3.transformRows(wd, wBase, g.oc, g.c))
                : wc.storage().derived(new WinogradWeightKey(wBase, g.oc, g.c), () -> Winograd3x3.transform(wd, wBase, g.oc, g.c));
    }

    /**
     * y = conv(x, w) + bias, then max(y, 0) when {@code relu}. The epilogue runs on each output plane right after its
     * GEMM (while it is still in cache) instead of as two more passes over y; bias (OC) may be null.
     */
    static Tensor forward(Tensor x, Tensor w, Tensor bias, boolean relu, Conv2dParams p) {
        Shape ys = p.outputShape(x.shape(), w.shape());
        float[] b = bias == null ? null : bias.contiguous().toFloatArray();   // (OC)
        boolean epilogue = b != null || relu;
        Im2col g = new Im2col(x.shape(), w.shape(), ys, p);
        Tensor xc = x.contiguous(), wc = w.contiguous();
        float[] xd = CpuMatmul.floats(xc), wd = CpuMatmul.floats(wc);
        int xBase = xc.offset(), wBase = wc.offset();
        float[] y = BufferPool.uninitialized(ys.numel()); // (N, OC, OH, OW), every element written below
        boolean constant = constantWeight(wc);
        Winograd3x3F4 wide = constant ? Winograd3x3F4.plan(g, p) : null;
        if (wide != null) {
            if (wide.forward(xd, xBase, f4Weight(wc, wd, g), b, relu, y)) return Tensor.of(CpuStorage.wrap(y), ys);
        }
        // a NaN or an infinity met F(4x4): this call takes im2col + GEMM, whose outputs are the reference's NaNs and infinities
        Winograd3x3 winograd = wide == null && (constant || Winograd3x3.takesChangingWeight(g)) ? Winograd3x3.plan(g, p) : null;
        DirectConv few = winograd != null && constant && DirectConv.beforeWinograd(g, p) ? DirectConv.plan(g, p) : null;
        if (few != null) return direct(few, wc, wd, wBase, g, xd, xBase, b, relu, y, ys);   // small_cnn's 32 -> 64 at batch 1
        if (winograd != null) {
            Winograd3x3.Weight u = !constant ? Winograd3x3.transform(wd, wBase, g.oc, g.c, true) : f2Weight(wc, wd, g, winograd);
            winograd.forward(xd, xBase, u, b, relu, y);
            if (!constant) u.recycle();
            return Tensor.of(CpuStorage.wrap(y), ys);
        }
        SingleChannelConv direct = SingleChannelConv.plan(g, p);   // a one-channel input: no im2col with a K of 9
        if (direct != null) {
            direct.forward(xd, xBase, wd, wBase, b, relu, y);
            return Tensor.of(CpuStorage.wrap(y), ys);
        }
        TapConv taps = constant ? null : TapConv.plan(g, p, false);   // training on small maps: no products with padding
        if (taps != null) {
            taps.forward(xd, xBase, wd, wBase, b, relu, y);
            return Tensor.of(CpuStorage.wrap(y), ys);
        }
        Stride2Conv strided = Stride2Conv.plan(g, p);   // resnet's stem: the input read in place, no column matrix
        if (strided != null) {
            Sgemm.PackedA[] packed = packedWeights(wc, wd, wBase, g);
            strided.forward(xd, xBase, wd, wBase, packed == null ? null : packed[0], b, relu, y);
            return Tensor.of(CpuStorage.wrap(y), ys);
        }
        DirectConv channels = constant ? DirectConv.plan(g, p) : null;   // one image, more output pixels than half its channels
        if (channels != null) return direct(channels, wc, wd, wBase, g, xd, xBase, b, relu, y, ys);
        // one image whose output map is a few pixels (resnet18's last stages at 64x64): w in row panels, lanes over its rows
        SgemmRows.Panels panels = constant && !batched(g) && g.groups == 1 && SgemmRows.fits(g.spatial) && g.spatial > 1
                ? wc.storage().derived(new RowsWeightKey(wBase, g.oc, g.rows), () -> SgemmRows.Panels.of(g.oc, g.rows, wd, wBase, g.rows, 1)) : null;
        Sgemm.PackedA[] packed = panels == null ? packedWeights(wc, wd, wBase, g) : null;   // null unless w is constant (inference)
        if (g.imagesInner(Math.min(g.n, INNER_IMAGES))) {   // a batch of small maps
            forwardImagesInner(g, xd, xBase, wd, wBase, packed, b, relu, y);
            return Tensor.of(CpuStorage.wrap(y), ys);
        }
        if (batched(g)) {
            // An image wide enough for the microkernel is a chunk of its own: its GEMM writes y in place, without
            // the staging copy. Forward values do not depend on the chunking (each is one Sgemm element).
            int per = g.spatial >= CHUNK_COLUMNS ? 1 : imagesPerChunk(g), chunks = (g.n + per - 1) / per, jobs = chunks * g.groups;
            forJobs(jobs, (lo, hi) -> {
                Scratch s = SCRATCH.get();
                for (int job = lo; job < hi; job++) {
                    int grp = job % g.groups, chunk = job / g.groups, n0 = firstImage(chunk, chunks, g.n), images = firstImage(chunk + 1, chunks, g.n) - n0;
                    int cols = images * g.spatial;
                    float[] col = s.col(g.rows * cols);             // (Cg*KH*KW, images*S)
                    int group = grp;
                    if (images == 1) {   // y[n0, group] (OCg, S) is the GEMM's own layout
                        int yOff = outputOffset(g, n0, grp);
                        // a product Sgemm runs on one thread (small_cnn's first conv at batch 1: 32x676x9) gets its
                        // im2col there too, not a parallel phase of a microsecond (that conv: 18 -> 9-10 us)
                        if ((long) g.ocPerGroup * cols * g.rows < Sgemm.PARALLEL_MIN) g.im2col(xd, xBase + inputOffset(g, n0, group), col, 0, cols);
                        else g.im2colParallel(xd, xBase + inputOffset(g, n0, group), col, 0, cols);
                        Sgemm.gemm(g.ocPerGroup, cols, g.rows, wd, wBase + grp * g.ocPerGroup * g.rows, g.rows, 1,
                                packed == null ? null : packed[grp], col, 0, cols, 1, y, yOff, cols, false);
                        // over the channels on both threads (inline where the jobs already are): resnet18's 1x1/2
                        // shortcut at 224x224 spent 10 of its 102 us on one
                        if (epilogue) Parallel.forRange(g.ocPerGroup, Parallel.grain(g.ocPerGroup, Math.max(1, 8192 / cols)), (o0, o1) -> {
                            for (int o = o0; o < o1; o++) biasRelu(y, yOff + o * cols, y, yOff + o * cols, cols, b == null ? 0f : b[group * g.ocPerGroup + o], relu);
                        });
                        continue;
                    }
                    float[] out = s.staged(g.ocPerGroup * cols);    // (OCg, images*S)
                    Parallel.forRange(images, 1, (i0, i1) -> {
                        for (int i = i0; i < i1; i++) g.im2col(xd, xBase + inputOffset(g, n0 + i, group), col, i * g.spatial, cols);
                    });
                    Sgemm.gemm(g.ocPerGroup, cols, g.rows, wd, wBase + grp * g.ocPerGroup * g.rows, g.rows, 1,
                            packed == null ? null : packed[grp], col, 0, cols, 1, out, 0, cols, false);
                    for (int i = 0; i < images; i++) {
                        for (int o = 0; o < g.ocPerGroup; o++) {
                            int from = o * cols + i * g.spatial, to = outputOffset(g, n0 + i, grp) + o * g.spatial;
                            if (epilogue) biasRelu(out, from, y, to, g.spatial, b == null ? 0f : b[grp * g.ocPerGroup + o], relu);
                            else System.arraycopy(out, from, y, to, g.spatial);
                        }
                    }
                }
            });
            return Tensor.of(CpuStorage.wrap(y), ys);
        }
        for (int n = 0; n < g.n; n++) {
            for (int grp = 0; grp < g.groups; grp++) {
                int xOff = xBase + inputOffset(g, n, grp), wOff = wBase + grp * g.ocPerGroup * g.rows;
                if (panels == null && g.banded() && (long) g.rows * g.spatial > CHUNK_FLOATS) {
                    forwardInBands(g, xd, xOff, wd, wOff, packed == null ? null : packed[grp], b, grp * g.ocPerGroup, relu, y, outputOffset(g, n, grp));
                    continue;
                }
                float[] cols = xd;
                int colOff = xOff;
                if (!g.pointwise) {
                    cols = SCRATCH.get().col(g.rows * g.spatial); // (Cg*KH*KW, S)
                    g.im2colParallel(xd, xOff, cols, 0, g.spatial);
                    colOff = 0;
                }
                if (panels != null) SgemmRows.gemm(g.oc, g.spatial, g.rows, panels, cols, colOff, g.spatial, y, outputOffset(g, n, grp), g.spatial, false);
                else Sgemm.gemm(g.ocPerGroup, g.spatial, g.rows, wd, wOff, g.rows, 1, packed == null ? null : packed[grp],
                        cols, colOff, g.spatial, 1, y, outputOffset(g, n, grp), g.spatial, false);
                if (epilogue) {
                    int yOff = outputOffset(g, n, grp), firstChannel = grp * g.ocPerGroup;
                    Parallel.forRange(g.ocPerGroup, Parallel.grain(g.ocPerGroup, 1), (lo, hi) -> {
                        for (int o = lo; o < hi; o++) {
                            biasRelu(y, yOff + o * g.spatial, y, yOff + o * g.spatial, g.spatial, b == null ? 0f : b[firstChannel + o], relu);
                        }
                    });
                }
            }
        }
        return Tensor.of(CpuStorage.wrap(y), ys);
    }

    /** Most images of a chunk in {@link #forwardImagesInner}: a B strip (NR = 32 columns) is then one pixel's images. */
    private static final int INNER_IMAGES = 32;

    /**
     * A batch of small maps in chunks of up to {@link #INNER_IMAGES} images, each (chunk, group) one product whose
     * columns are the chunk's images side by side for each output pixel:
     * <pre>
     *   xT = {@link Im2col#transposeImages}, B = {@link Im2col#imagesInnerStrips} (rows, S*images), packed strip by strip
     *   out (OCg, S*images) = w (OCg, rows) · B                 out[o, s*images + i] = y[n0 + i, group's o, s] before its epilogue
     * </pre>
     * resnet18's 3x3/2 layers at 32x3x64x64 on the batched schedule built column matrices of 1.2-2.4 MB image by image,
     * a float at a time, written to memory and read back (im2col alone 320-475 us, 500-990 in the layer); here layer3's
     * and layer4's run 1478-1519 -> 1016-1023 and 2401-2423 -> 1091-1099 us alone ({@link Im2col#IMAGES_INNER_MAX_OW}).
     * Each y element is one Sgemm element, as on the other paths.
     */
    private static void forwardImagesInner(Im2col g, float[] xd, int xBase, float[] wd, int wBase, Sgemm.PackedA[] packed,
                                           float[] b, boolean relu, float[] y) {
        Scratch s = SCRATCH.get();
        int chunks = (g.n + INNER_IMAGES - 1) / INNER_IMAGES;
        for (int chunk = 0; chunk < chunks; chunk++) {
            int n0 = firstImage(chunk, chunks, g.n), images = firstImage(chunk + 1, chunks, g.n) - n0, cols = g.spatial * images;
            float[] xT = s.transposed = Winograd3x3.grow(s.transposed, (g.cPerGroup * g.h * g.w + 1) * images);
            float[] out = s.staged(g.ocPerGroup * cols);
            for (int grp = 0; grp < g.groups; grp++) {
                g.transposeImages(xd, xBase + inputOffset(g, n0, grp), g.c * g.h * g.w, images, xT);
                Sgemm.gemm(g.ocPerGroup, cols, g.rows, wd, wBase + grp * g.ocPerGroup * g.rows, g.rows, 1, packed == null ? null : packed[grp],
                        g.imagesInnerStrips(xT, images), out, 0, cols, false);
                imagesInnerToOutput(g, out, images, b, grp, b != null || relu, relu, y, outputOffset(g, n0, grp));
            }
        }
    }

    /**
     * out (OCg, S*images), images inner, into y's images from yOff on (each (OCg, S), image stride OC*S), with bias
     * and ReLU where {@code epilogue} (as {@link #biasRelu}), else copied: out is (OCg*S, images), row o*S + s image by
     * image, so this is its epilogue row by row and then a transpose. In parallel over out's rows.
     */
    private static void imagesInnerToOutput(Im2col g, float[] out, int images, float[] b, int grp, boolean epilogue, boolean relu,
                                            float[] y, int yOff) {
        int rows = g.ocPerGroup * g.spatial, blocks = (rows + 15) / 16;
        Parallel.forRange(blocks, Parallel.grain(blocks, 4), (lo, hi) -> {
            int r0 = 16 * lo, r1 = Math.min(rows, 16 * hi);
            for (int r = r0; epilogue && r < r1; r++) biasRelu(out, r * images, out, r * images, images, b == null ? 0f : b[grp * g.ocPerGroup + r / g.spatial], relu);
            Im2col.transpose(out, r0 * images, images, r1 - r0, 0, images, y, yOff + r0, g.oc * g.spatial);
        });
    }

    /** y by {@code plan}, with w packed for it once and kept with w's storage (a constant weight's). */
    private static Tensor direct(DirectConv plan, Tensor wc, float[] wd, int wBase, Im2col g, float[] xd, int xBase,
                                 float[] b, boolean relu, float[] y, Shape ys) {
        float[] u = wc.storage().derived(new DirectWeightKey(wBase, g.oc, g.rows, DirectConv.OB), () -> DirectConv.pack(wd, wBase, g.oc, g.rows));
        plan.forward(xd, xBase, u, b, relu, y);
        return Tensor.of(CpuStorage.wrap(y), ys);
    }

    /**
     * One (image, group) of the per-image schedule, in bands of output rows run in parallel: each band's im2col
     * (about {@link #BAND_FLOATS}) stays in its core's L2 while its GEMM, single-threaded, writes y in place, and its
     * epilogue runs while y is in cache. The whole column matrix of resnet18's 7x7/2 stem at 224x224 is 7.4 MB, written
     * out and read back from memory. Each y element is still one Sgemm element: the same values as one GEMM.
     */
    private static void forwardInBands(Im2col g, float[] xd, int xOff, float[] wd, int wOff, Sgemm.PackedA packed,
                                       float[] b, int firstChannel, boolean relu, float[] y, int yOff) {
        float[] source = g.bandSource(xd, xOff);   // read by every thread of the call
        int perBand = Math.max(1, Math.min(g.oh, BAND_FLOATS / (g.rows * g.ow)));
        int bands = (g.oh + perBand - 1) / perBand;
        Parallel.forRange(bands, 1, (lo, hi) -> {
            for (int band = lo; band < hi; band++) {
                int y0 = band * perBand, y1 = Math.min(g.oh, y0 + perBand), cols = (y1 - y0) * g.ow, at = yOff + y0 * g.ow;
                float[] col = SCRATCH.get().col(g.rows * cols);   // (Cg*KH*KW, cols)
                g.im2colBand(source, xOff, col, 0, cols, y0, y1);
                Sgemm.gemm(g.ocPerGroup, cols, g.rows, wd, wOff, g.rows, 1, packed, col, 0, cols, 1, y, at, g.spatial, false);
                for (int o = 0; (b != null || relu) && o < g.ocPerGroup; o++) {
                    biasRelu(y, at + o * g.spatial, y, at + o * g.spatial, cols, b == null ? 0f : b[firstChannel + o], relu);
                }
            }
        });
    }

    /**
     * Each group's weight (OCg, Cg*KH*KW) packed for Sgemm, made once and kept with a constant weight (an inference
     * session's initializer), or null for any other: at batch 1 resnet18's deep layers read their weights three
     * times per call when they pack them (read, write packed, read packed), and they are memory-bound there.
     */
    private static Sgemm.PackedA[] packedWeights(Tensor wc, float[] wd, int wBase, Im2col g) {
        if (!constantWeight(wc)) return null;
        return wc.storage().derived(new PackedWeightKey(wBase, g.oc, g.rows, g.groups), () -> {
            Sgemm.PackedA[] packs = new Sgemm.PackedA[g.groups];
            for (int grp = 0; grp < g.groups; grp++) {
                packs[grp] = Sgemm.PackedA.of(g.ocPerGroup, g.rows, wd, wBase + grp * g.ocPerGroup * g.rows, g.rows, 1);
            }
            return packs;
        });
    }

    /**
     * Whether forms derived from w (packed, transformed) are kept with it: a constant weight (an inference session's
     * initializer), unless {@code -Dember.prepack=false} asks for no copies.
     */
    private static boolean constantWeight(Tensor wc) { return Sgemm.PackedA.ENABLED && wc.storage().isConstant(); }

    /**
     * The Winograd plan of backwardInput as a convolution of dy, or null: a 3x3 stride-1 layer wide enough for a
     * changing weight ({@link Winograd3x3#takesChangingWeight}), padding at most 2 (the transposed padding is 2 - pad).
     */
    private static Winograd3x3 backwardInputWinograd(Im2col g, Conv2dParams p) {
        if (g.kh != 3 || g.kw != 3 || p.strideH() != 1 || p.strideW() != 1 || p.dilationH() != 1 || p.dilationW() != 1
                || g.groups != 1 || p.padH() > 2 || p.padW() > 2 || !Winograd3x3.takesChangingWeight(g)) return null;
        Conv2dParams q = new Conv2dParams(1, 1, 2 - p.padH(), 2 - p.padW(), 1, 1, 1);
        Shape dyShape = Shape.of(g.n, g.oc, g.oh, g.ow), flipped = Shape.of(g.c, g.oc, 3, 3), dxShape = Shape.of(g.n, g.c, g.h, g.w);
        return Winograd3x3.plan(new Im2col(dyShape, flipped, dxShape, q), q);
    }

    /** What a packed conv weight depends on besides the storage's values. */
    private record PackedWeightKey(int offset, int oc, int rows, int groups) {}

    /** What a weight packed for {@link DirectConv} depends on besides the storage's values. */
    private record DirectWeightKey(int offset, int oc, int k, int block) {}

    /** What a Winograd-transformed conv weight depends on besides the storage's values. */
    private record WinogradWeightKey(int offset, int oc, int c) {}

    /** What a Winograd-transformed weight in {@link SgemmRows} panels depends on besides the storage's values. */
    private record WinogradRowsKey(int offset, int oc, int c) {}

    /** What a weight in {@link SgemmRows} panels depends on besides the storage's values. */
    private record RowsWeightKey(int offset, int oc, int k) {}

    /** What an F(4x4, 3x3)-transformed conv weight depends on besides the storage's values. */
    private record WinogradF4WeightKey(int offset, int oc, int c) {}

    /** dst[d, d + n) = src[s, s + n) + bias, then max(., 0) when {@code relu}; src may be dst. */
    static void biasRelu(float[] src, int s, float[] dst, int d, int n, float bias, boolean relu) {
        FloatVector bv = FloatVector.broadcast(SPECIES, bias), zero = FloatVector.zero(SPECIES);
        int i = 0, bound = SPECIES.loopBound(n);
        for (; i < bound; i += SPECIES.length()) {
            FloatVector v = FloatVector.fromArray(SPECIES, src, s + i).add(bv);
            (relu ? v.max(zero) : v).intoArray(dst, d + i);
        }
        for (; i < n; i++) {
            float v = src[s + i] + bias;
            dst[d + i] = relu ? Math.max(v, 0f) : v;
        }
    }

    static Tensor backwardInput(Tensor dy, Tensor w, Shape inputShape, Conv2dParams p) {
        Shape ys = p.outputShape(inputShape, w.shape());
        if (!ys.equals(dy.shape())) throw new ShapeException("conv2d backwardInput: dy " + dy.shape() + " should be " + ys);
        Im2col g = new Im2col(inputShape, w.shape(), ys, p);
        Tensor dyc = dy.contiguous(), wc = w.contiguous();
        float[] dyd = CpuMatmul.floats(dyc), wd = CpuMatmul.floats(wc);
        int dyBase = dyc.offset(), wBase = wc.offset();
        Winograd3x3 winograd = backwardInputWinograd(g, p);
        if (winograd != null) {   // dx = conv(dy, w turned half a turn and transposed), padding 2 - pad
            float[] dx = BufferPool.uninitialized(inputShape.numel()); // (N, C, H, W), every element written
            Winograd3x3.Weight u = Winograd3x3.transformForBackwardInput(wd, wBase, g.oc, g.c);
            winograd.forward(dyd, dyBase, u, null, false, dx);
            u.recycle();
            return Tensor.of(CpuStorage.wrap(dx), inputShape);
        }
        TapConv taps = TapConv.plan(g, p, false);
        if (taps != null) {
            float[] dx = BufferPool.uninitialized(inputShape.numel()); // (N, C, H, W), every element written
            taps.backwardInput(dyd, dyBase, wd, wBase, dx);
            return Tensor.of(CpuStorage.wrap(dx), inputShape);
        }
        float[] dx = BufferPool.zeroed(inputShape.numel()); // (N, C, H, W)
        // w[group]^T (Cg*KH*KW, OCg): row stride 1, column stride Cg*KH*KW
        if (batched(g)) {
            int per = imagesPerChunk(g), chunks = (g.n + per - 1) / per, jobs = chunks * g.groups;
            forJobs(jobs, (lo, hi) -> {
                Scratch s = SCRATCH.get();
                for (int job = lo; job < hi; job++) {
                    int grp = job % g.groups, chunk = job / g.groups, n0 = firstImage(chunk, chunks, g.n), images = firstImage(chunk + 1, chunks, g.n) - n0;
                    int cols = images * g.spatial;
                    float[] dyChunk = s.staged(g.ocPerGroup * cols); // (OCg, images*S)
                    float[] dcol = s.col(g.rows * cols);             // (Cg*KH*KW, images*S)
                    int group = grp;
                    // per image in parallel (inline when the jobs already are): one job alone ran these serially
                    Parallel.forRange(images, 1, (i0, i1) -> {
                        for (int i = i0; i < i1; i++) stage(g, dyd, dyBase, n0 + i, group, dyChunk, i, cols);
                    });
                    Sgemm.gemm(g.rows, cols, g.ocPerGroup, wd, wBase + grp * g.ocPerGroup * g.rows, 1, g.rows,
                            dyChunk, 0, cols, 1, dcol, 0, cols, false);
                    if (images == 1) {
                        g.col2imParallel(dcol, 0, cols, dx, inputOffset(g, n0, grp));
                    } else {   // images write disjoint parts of dx, each summing in its own order
                        Parallel.forRange(images, 1, (i0, i1) -> {
                            for (int i = i0; i < i1; i++) g.col2im(dcol, i * g.spatial, cols, dx, inputOffset(g, n0 + i, group));
                        });
                    }
                }
            });
            return Tensor.of(CpuStorage.wrap(dx), inputShape);
        }
        for (int n = 0; n < g.n; n++) {
            for (int grp = 0; grp < g.groups; grp++) {
                int dxOff = inputOffset(g, n, grp), dyOff = dyBase + outputOffset(g, n, grp);
                int wOff = wBase + grp * g.ocPerGroup * g.rows;
                if (g.pointwise) {
                    Sgemm.gemm(g.rows, g.spatial, g.ocPerGroup, wd, wOff, 1, g.rows, dyd, dyOff, g.spatial, 1, dx, dxOff, g.spatial, false);
                } else {
                    float[] dcol = SCRATCH.get().col(g.rows * g.spatial); // (Cg*KH*KW, S)
                    Sgemm.gemm(g.rows, g.spatial, g.ocPerGroup, wd, wOff, 1, g.rows, dyd, dyOff, g.spatial, 1, dcol, 0, g.spatial, false);
                    g.col2imParallel(dcol, 0, g.spatial, dx, dxOff);
                }
            }
        }
        return Tensor.of(CpuStorage.wrap(dx), inputShape);
    }

    static Tensor backwardWeight(Tensor dy, Tensor x, Shape weightShape, Conv2dParams p) {
        Shape ys = p.outputShape(x.shape(), weightShape);
        if (!ys.equals(dy.shape())) throw new ShapeException("conv2d backwardWeight: dy " + dy.shape() + " should be " + ys);
        Im2col g = new Im2col(x.shape(), weightShape, ys, p);
        Tensor dyc = dy.contiguous(), xc = x.contiguous();
        float[] dyd = CpuMatmul.floats(dyc), xd = CpuMatmul.floats(xc);
        int dyBase = dyc.offset(), xBase = xc.offset();
        float[] dw = BufferPool.uninitialized(weightShape.numel()); // (OC, Cg, KH, KW): every element written below (the first image's GEMM overwrites)
        Winograd3x3 winograd = Winograd3x3.takesChangingWeight(g) ? Winograd3x3.plan(g, p) : null;   // the layers forward takes it in
        if (winograd != null) {
            winograd.backwardWeight(xd, xBase, dyd, dyBase, dw);
            return Tensor.of(CpuStorage.wrap(dw), weightShape);
        }
        TapConv taps = TapConv.plan(g, p, true);
        if (taps != null) {
            taps.backwardWeight(xd, xBase, dyd, dyBase, dw);
            return Tensor.of(CpuStorage.wrap(dw), weightShape);
        }
        int block = g.ocPerGroup * g.rows;
        if (batched(g)) {
            int per = imagesPerChunk(g), chunks = (g.n + per - 1) / per, jobs = chunks * g.groups;
            float[] partial = BufferPool.uninitialized(chunks * dw.length); // (chunks, OC, Cg, KH, KW), every element written by Sgemm
            forJobs(jobs, (lo, hi) -> {
                Scratch s = SCRATCH.get();
                for (int job = lo; job < hi; job++) {
                    int grp = job % g.groups, chunk = job / g.groups, n0 = chunk * per, images = Math.min(per, g.n - n0);
                    int cols = images * g.spatial;
                    float[] col = s.col(g.rows * cols);              // (Cg*KH*KW, images*S)
                    float[] dyChunk = s.staged(g.ocPerGroup * cols); // (OCg, images*S)
                    int group = grp;
                    Parallel.forRange(images, 1, (i0, i1) -> {   // inline when the jobs already run in parallel
                        for (int i = i0; i < i1; i++) {
                            g.im2col(xd, xBase + inputOffset(g, n0 + i, group), col, i * g.spatial, cols);
                            stage(g, dyd, dyBase, n0 + i, group, dyChunk, i, cols);
                        }
                    });
                    // col^T (images*S, Cg*KH*KW): row stride 1, column stride images*S
                    Sgemm.gemm(g.ocPerGroup, g.rows, cols, dyChunk, 0, cols, 1, col, 0, 1, cols,
                            partial, chunk * dw.length + grp * block, g.rows, false);
                }
            });
            // dw = ((partial[0] + partial[1]) + partial[2]) + ..., in chunk order for every element.
            Parallel.forRange(dw.length, Parallel.grain(dw.length, 4096), (lo, hi) -> {
                for (int e = lo; e < hi; e++) {
                    float sum = partial[e];
                    for (int chunk = 1; chunk < chunks; chunk++) sum += partial[chunk * dw.length + e];
                    dw[e] = sum;
                }
            });
            BufferPool.recycle(partial);
            return Tensor.of(CpuStorage.wrap(dw), weightShape);
        }
        // One group at a time; inside it the images add up in order 0..N-1.
        for (int grp = 0; grp < g.groups; grp++) {
            int dwOff = grp * block;
            for (int n = 0; n < g.n; n++) {
                int xOff = xBase + inputOffset(g, n, grp), dyOff = dyBase + outputOffset(g, n, grp);
                float[] b = xd;
                int bOff = xOff;
                if (!g.pointwise) {
                    b = SCRATCH.get().col(g.rows * g.spatial); // (Cg*KH*KW, S)
                    g.im2colParallel(xd, xOff, b, 0, g.spatial);
                    bOff = 0;
                }
                // col^T (S, Cg*KH*KW): row stride 1, column stride S
                Sgemm.gemm(g.ocPerGroup, g.rows, g.spatial, dyd, dyOff, g.spatial, 1, b, bOff, 1, g.spatial, dw, dwOff, g.rows, n > 0);
            }
        }
        return Tensor.of(CpuStorage.wrap(dw), weightShape);
    }

    /**
     * Whether the layer takes the batched schedule: whenever there are several images, or one image and group is too
     * little work for Sgemm to fan out. Sgemm packs the weight once per call, so per-image calls on narrow images
     * repack all of it for a few columns each: resnet18's last stage at 32x3x64x64 (512 channels, 2x2 pixels) packed a
     * 9 MB weight 32 times per layer and ran 4x slower than as one chunk. Chunks also run in parallel with no
     * synchronisation inside a GEMM, which the per-image schedule needs.
     */
    static boolean batched(Im2col g) {
        return g.n > 1 || (long) g.ocPerGroup * g.rows * g.spatial < SMALL_JOB;
    }

    /** Images per chunk of the batched schedule; a function of the layer's geometry only, never of N or the threads. */
    static int imagesPerChunk(Im2col g) {
        int perImage = Math.max(1, g.rows * g.spatial);
        int per = Math.max(1, Math.min(CHUNK_IMAGES, CHUNK_FLOATS / perImage));
        int wide = (CHUNK_COLUMNS + g.spatial - 1) / g.spatial;
        return per >= wide ? per : Math.max(per, Math.min(wide, WIDE_CHUNK_FLOATS / perImage));
    }

    /**
     * First image of chunk {@code chunk} when n images are cut into {@code chunks} chunks whose sizes differ by at most
     * one (none larger than the per-chunk limit they were counted from). Forward and backwardInput use it: their
     * values do not depend on the chunking, and 16 images in chunks of at most 3 as 2,3,3,2,3,3 keep two threads
     * equally busy where 3,3,3,3,3,1 left one idle for a sixth of the layer. backwardWeight keeps its fixed-size
     * chunks, since it sums per-chunk partials.
     */
    static int firstImage(int chunk, int chunks, int n) { return (int) ((long) chunk * n / chunks); }

    /**
     * Runs the batched schedule's (chunk, group) jobs in parallel when there are enough to keep every thread busy,
     * else one after the other with each GEMM parallel inside Sgemm. Either way each job computes the same values.
     */
    private static void forJobs(int jobs, Parallel.Range body) {
        if (jobs >= 2 * Parallel.THREADS) Parallel.forRange(jobs, 1, body);
        else body.run(0, jobs);
    }

    /** dy[n, group] (OCg, S) into image i's columns of a chunk's staging buffer (OCg, images*S), row stride cols. */
    private static void stage(Im2col g, float[] dyd, int dyBase, int n, int grp, float[] chunk, int i, int cols) {
        for (int o = 0; o < g.ocPerGroup; o++) {
            System.arraycopy(dyd, dyBase + outputOffset(g, n, grp) + o * g.spatial, chunk, o * cols + i * g.spatial, g.spatial);
        }
    }

    /** Offset of x[n, group] (Cg, H, W) in a contiguous x. */
    private static int inputOffset(Im2col g, int n, int grp) {
        return (n * g.c + grp * g.cPerGroup) * g.h * g.w;
    }

    /** Offset of y[n, group] (OCg, OH, OW) in a contiguous y. */
    private static int outputOffset(Im2col g, int n, int grp) {
        return (n * g.oc + grp * g.ocPerGroup) * g.spatial;
    }
}
