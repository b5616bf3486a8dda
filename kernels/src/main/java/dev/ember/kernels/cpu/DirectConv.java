package dev.ember.kernels.cpu;

import dev.ember.engine.Conv2dParams;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Forward convolution of one image with output channels across the vector lanes (inference: a constant weight, packed
 * once). The weight is the vector operand and each output pixel's inputs are broadcast, the orientation of ONNX
 * Runtime's NCHWc kernels over our NCHW tensors, with no column matrix: a tile of output pixels that lie side by side
 * in the source reads its inputs there in place through the tap table.
 *
 * <pre>
 *   packed weight (OC/OB blocks, K, OB), K = C*KH*KW: packed[b][t][o] = w[b*OB + o][t]        zero past OC
 *   source: x with its zero border, split by column phase (stride sW): phase q (C, R, Wq), column m = padded column m*sW + q,
 *     R padded rows from a first row r0: all Hp from 0 at stride 1 (unpadded: x itself), else a group's rows
 *     tap t = (c, i, j) at tap[t]; output pixel (r, s) at at(r, s) = r*sH*Wq + s; its input for tap t is
 *     source[at - r0*Wq + tap[t]], and the pixels s, s+1, ... of one output row lie side by side for every tap
 *   tile: PB pixels, a run at[p] = at[0] + p: inputs source[at[0] + tap[t] + p]; a mixed tile: a panel (K, PB) gathered
 *   acc (PB, OB) = sum over t, in order, of input[t][p] * packed[b][t][o]     one fma chain from zero per output
 *   y[b*OB + o, r, s] = acc + bias, ReLU'd if asked: each vector scattered with lane stride OH*OW
 * </pre>
 * A step of the microkernel loads OB/L = 4 weight vectors and broadcasts PB = 6 inputs for 24 fma. Reading a run in
 * place costs an index load per tap against a copy of the tile into a panel first: small_cnn's 32 -> 64 conv at batch
 * 1 took 58-60 us on one core with panels (13 of them copying) and 41-42 in place, 39-40 -> 25-26 on two cores;
 * resnet18's layer2 3x3/2 at 224x224 1206-1255 -> 1028-1104 on one. At stride 1 tiles run along the image's source at
 * its pitch, every tile one run (the outputs at the padding columns computed and dropped). Otherwise tiles run along
 * output rows; each row's last OW mod PB pixels are pooled into mixed tiles, whose panels are gathered element by
 * element (a last partial tile repeats its last pixel, written twice with the same bits), or, where that costs less
 * ({@link #overlapRows}), each row's last tile is moved back to end at its last pixel, so every tile is a run. Every
 * output is one fma chain over the taps in (c, i, j) order, whatever the tiling or the thread count.
 *
 * <p>Where it pays (resnet18 at 1x3x224x224, in the model, alternating JVMs): layer2's 3x3/2 conv 1046-1093 -> 877-891
 * us (the im2col + GEMM path built a 576 x 784 column matrix; 605-620 now, with the taps in pieces, {@link #PIECE}), and
 * layer3's (256 channels on 196 pixels) 656-710 -> 553-581. Its 1x1/2 shortcut ran 224-238 -> 202-204 here, until
 * im2col subsampled x directly: 1x1 kernels are a plain GEMM again (alone 146-152 -> 102 us).
 * small_cnn's 32 -> 64 conv at batch 1 (ahead of Winograd, {@link #beforeWinograd}): 53-56 -> 44-47 us with panels,
 * 37-40 in place; with its 2x2 max pool ({@link #forwardPooled}: jobs by pooled row and channel half, tiles of 12
 * pixels x 32 channels) 39-40 -> 20-21 for the two.
 * Where it does not pay, it is not planned (see {@link #plan}).
 */
final class DirectConv {
    private static final VectorSpecies<Float> SPECIES = SgemmKernel.SPECIES;
    private static final int L = SPECIES.length();
    /** Output channels of a block: four vectors. */
    static final int OB = 4 * L;
    /** Output pixels of a tile. */
    static final int PB = 6;
    /**
     * Taps a group's tiles take in turn (each tile's chains carried through the pieces in the group's accumulators):
     * the piece's weight, 128 x OB floats (32 KB), then stays in L1 across the group's tiles, where a tile's whole
     * weight block (K x OB: 147 KB at resnet18's layer2 3x3/2) came from L2 for every tile. In the model at 1x3x224x224:
     * layer2's 3x3/2 670-685 -> 605-620 us; with layer3's 3x3/2 planned here too, the call 13.03 -> 12.75 ms with the
     * old kernel first, 13.35 -> 13.30 with the new one first (64 taps a piece: 13.09 -> 12.91).
     */
    static final int PIECE = 128;
    /**
     * {@link #forwardPooled}'s tiles: twice the pixels, half the channels (two vectors), so that a pooled row's
     * channel halves are separate jobs: small_cnn's 5 pooled rows make 10 even jobs, not 5 (3 and 2 on two threads).
     */
    static final int POOLED_OB = 2 * L, POOLED_PB = 12;
    /** Tiles of one group at most, in floats of their inputs (1 MB): a group's mixed tiles are gathered into panels by one thread. */
    private static final int GROUP_FLOATS = 1 << 18;
    /** {@code -Dember.directConv=false} leaves these layers on im2col + GEMM (to compare the two). */
    static final boolean ENABLED = !"false".equals(System.getProperty("ember.directConv"));

    private final int n, c, h, w, oc, k, oh, ow, sw, padH, padW, hp, wq, phaseSize, tiles;
    private final int kh, kw, dilH, dilW;
    /**
     * Padded rows a source holds: all of them at stride 1 ({@link #flat}, one source for all threads); otherwise the
     * most any group's runs read, each group's rows split into its own thread's source right before its tiles. One
     * source split by both threads first took 116-128 us of resnet18's layer2 3x3/2 at 224x224 (81 on one thread) and
     * each core then read the other's half; per group, old / new in one JVM: layer2's pair 0.92-1.04 (six runs, mean
     * 0.98), layer3's 0.78-0.93 (four), the model at 1x3x224x224 0.97-1.01 (six, mean 0.99).
     */
    private final int sourceRows;
    /** Tiles per group, groups, and each group's first padded row ({@code sourceRows} rows from there in its source). */
    private final int perGroup, groups;
    private final int[] groupRow;
    /** Stride 1: tiles run along the image's source at its pitch (see the constructor); else along output rows. */
    private final boolean flat;
    /** Tap t = (c, i, j) at tap[t] from a pixel's offset in the source. */
    private final int[] tap;
    /** Pixel p of tile q: its source offset at[q*PB + p] and its output offset (image and pixel, channel 0) to[q*PB + p]. */
    private final int[] at, to;
    /**
     * Tiles before this one are runs (at[q*PB + p] = at[q*PB] + p): the kernel reads their inputs in place. From here on
     * tiles are mixed, their inputs gathered into a panel first. to[q*PB + p] is -1 for a position computed and dropped.
     */
    private final int mixedFrom;
    /** Stride 1 without padding: the source is x itself, not a copy. */
    private final boolean inPlace;
    /** Scatter map of an output vector: lane o at o * OH*OW; of a pooled one ({@link #forwardPooled}) at o * (OH/2)*(OW/2). */
    private final int[] lanes, poolLanes;
    /** A panel's taps: tap t's PB values at t * PB. */
    private final int[] panelTap;
    /**
     * Channel c's centre tap (c, padH, padW) in the source and in a panel, or null where the padding is past the kernel:
     * what a 1x1 conv at the same stride, unpadded, reads ({@link Shortcut}).
     */
    private final int[] centreTap, centrePanelTap;
    /** Which padded rows any tap reads, and whether any reads the odd column phase at stride 2 (not a (K, 1) layer at stride 2). */
    private final boolean[] rowRead;
    private final boolean oddRead;

    private DirectConv(Im2col g, Conv2dParams p) {
        n = g.n;
        c = g.c;
        h = g.h;
        w = g.w;
        oc = g.oc;
        k = g.rows;
        oh = g.oh;
        ow = g.ow;
        sw = p.strideW();
        padH = p.padH();
        padW = p.padW();
        kh = g.kh;
        kw = g.kw;
        dilH = p.dilationH();
        dilW = p.dilationW();
        hp = h + 2 * padH;
        flat = n == 1 && p.strideH() == 1 && sw == 1;
        wq = flat ? w + 2 * padW : roundUp((w + 2 * padW + sw - 1) / sw, L);   // stride 2: whole vectors, split has no tail
        rowRead = new boolean[hp];
        for (int r = 0; r < oh; r++) {
            for (int i = 0; i < g.kh; i++) rowRead[r * p.strideH() + i * p.dilationH()] = true;
        }
        boolean odd = false;
        for (int j = 0; j < g.kw; j++) odd |= j * p.dilationW() % sw == 1;
        oddRead = odd;
        if (flat) {
            // the image's outputs taken at the source's pitch, row after row: positions r*Wq + s, the columns s >= OW
            // computed and dropped (2 of 13 at small_cnn's 11x11), so every tile is one run of the source
            int m = (oh - 1) * wq + ow;
            tiles = (m + PB - 1) / PB;
            at = new int[tiles * PB];
            to = new int[tiles * PB];
            for (int f = 0; f < tiles * PB; f++) {
                at[f] = f;
                to[f] = f < m && f % wq < ow ? f / wq * ow + f % wq : -1;
            }
            // Unpadded, the source would be a copy of x (the split cost 6 us of small_cnn's 50): read x itself. Its
            // last positions read up to x's last element, so the dropped ones past them would read beyond it: the
            // tiles holding those are mixed, those positions pointing at the last output's inputs.
            inPlace = padH == 0 && padW == 0;
            int lastTap = ((c - 1) * hp + (kh - 1) * dilH) * wq + (kw - 1) * dilW;   // of the source: x, or its copy
            mixedFrom = inPlace ? Math.max(0, Math.min(tiles, (c * hp * wq - lastTap) / PB)) : tiles;
            for (int f = mixedFrom * PB; f < tiles * PB; f++) {
                if (f >= m) at[f] = m - 1;
            }
        } else if (ow > PB && overlapRows(n * oh, ow)) {
            // every tile a run: a row's last tile moved back to end at its last pixel (pixels computed twice, the same
            // bits written twice), where that costs less than gathering the rows' last pixels into mixed tiles
            int perRow = (ow + PB - 1) / PB;
            tiles = n * oh * perRow;
            at = new int[tiles * PB];
            to = new int[tiles * PB];
            inPlace = false;
            mixedFrom = tiles;
            for (int img = 0; img < n; img++) {
                for (int r = 0; r < oh; r++) {
                    int from = (img * c * hp + r * p.strideH()) * wq, out = img * oc * oh * ow + r * ow;
                    for (int i = 0; i < perRow; i++) {
                        int s0 = Math.min(i * PB, ow - PB), slot = (img * oh * perRow + r * perRow + i) * PB;
                        for (int q = 0; q < PB; q++) {
                            at[slot + q] = from + s0 + q;
                            to[slot + q] = out + s0 + q;
                        }
                    }
                }
            }
        } else {
            int perRow = ow / PB, rest = ow % PB;
            tiles = n * oh * perRow + (n * oh * rest + PB - 1) / PB;
            at = new int[tiles * PB];
            to = new int[tiles * PB];
            inPlace = false;
            mixedFrom = n * oh * perRow;
            int mixed = mixedFrom * PB;   // mixed tiles after all the runs
            for (int img = 0; img < n; img++) {
                for (int r = 0; r < oh; r++) {
                    int from = (img * c * hp + r * p.strideH()) * wq, out = img * oc * oh * ow + r * ow;
                    for (int s = 0; s < ow; s++) {
                        int slot = s < perRow * PB ? (img * oh * perRow + r * perRow) * PB + s : mixed++;
                        at[slot] = from + s;
                        to[slot] = out + s;
                    }
                }
            }
            for (int slot = mixed; slot < tiles * PB; slot++) {   // a partial last tile repeats its last pixel
                at[slot] = at[mixed - 1];
                to[slot] = to[mixed - 1];
            }
        }
        perGroup = Math.max(1, Math.min((tiles + Parallel.THREADS - 1) / Parallel.THREADS, GROUP_FLOATS / (k * PB)));
        groups = (tiles + perGroup - 1) / perGroup;
        groupRow = new int[groups];
        int rows = hp;   // at stride 1 one source holds the whole padded image
        if (!flat) {
            // each group's runs read rows [first run's top row, last run's top row + the kernel's height) of the padded image
            rows = 1;
            for (int gi = 0; gi < groups; gi++) {
                int first = gi * perGroup, lastRun = Math.min(tiles, Math.min(mixedFrom, first + perGroup)) - 1;
                if (lastRun < first) continue;   // mixed tiles only: gathered from x
                groupRow[gi] = at[first * PB] / wq;
                rows = Math.max(rows, at[lastRun * PB] / wq - groupRow[gi] + (kh - 1) * dilH + 1);
            }
        }
        sourceRows = rows;
        phaseSize = c * rows * wq;
        tap = new int[k];
        for (int ch = 0; ch < c; ch++) {
            for (int i = 0; i < kh; i++) {
                for (int j = 0; j < kw; j++) {
                    int col = j * dilW;
                    tap[(ch * kh + i) * kw + j] = col % sw * phaseSize + (ch * rows + i * dilH) * wq + col / sw;
                }
            }
        }
        lanes = new int[L];
        poolLanes = new int[L];
        for (int o = 0; o < L; o++) {
            lanes[o] = o * oh * ow;
            poolLanes[o] = o * (oh / 2) * (ow / 2);
        }
        panelTap = new int[k];
        for (int t = 0; t < k; t++) panelTap[t] = t * PB;
        boolean centred = padH < g.kh && padW < g.kw;
        centreTap = centred ? new int[c] : null;
        centrePanelTap = centred ? new int[c] : null;
        for (int ch = 0; centred && ch < c; ch++) {
            int t = (ch * g.kh + padH) * g.kw + padW;
            centreTap[ch] = tap[t];
            centrePanelTap[ch] = t * PB;
        }
    }

    /**
     * A mixed tile costs about two runs: its panel is gathered element by element, then read from L2 (resnet18's
     * layer2 3x3/2 pair at 1x224^2, one group a thread: 66 runs 556 us, 46 runs and 19 mixed tiles 704).
     */
    static final int MIXED_COST = 2;

    /** Whether rows of {@code width} pixels cost less as overlapping runs than as runs and mixed tiles for the rest. */
    static boolean overlapRows(int rows, int width) {
        long overlapped = (long) rows * ((width + PB - 1) / PB);
        long mixed = (long) rows * (width / PB) + MIXED_COST * (((long) rows * (width % PB) + PB - 1) / PB);
        return overlapped < mixed;
    }

    /**
     * A plan for this layer, or null where it does not apply: one image, ungrouped, whole vectors of output channels,
     * not a 1x1 kernel (a GEMM over x or its subsampled copy), and more output pixels than half the output channels.
     * Measured against im2col + GEMM in the model: where the weight is much the larger operand (resnet18's layer4 at
     * 224x224: 512 channels on 49 pixels) the GEMM, which reads each weight once per 32 pixels, is as fast or faster
     * (its 3x3/2: 682-745 us either way, with the taps in pieces); resnet18's layer3 3x3/2 at 224x224 (256 channels on
     * 196 pixels) 656-710 -> 553-581 us; batched (32x3x64x64: 8x8 maps, a quarter of the pixels in mixed tiles) im2col's
     * chunks of 8 images won (layer2's 3x3/2: 2342 -> 2980 us, its shortcut 383 -> 658).
     */
    static DirectConv plan(Im2col g, Conv2dParams p) {
        long source = (long) p.strideW() * g.n * g.c * (g.h + 2L * p.padH()) * ((g.w + 2L * p.padW() + p.strideW() - 1) / p.strideW() + L);
        boolean fits = ENABLED && g.groups == 1 && g.oc % L == 0 && (g.kh > 1 || g.kw > 1) && g.n == 1 && 2L * g.spatial > g.oc
                && source + L < Integer.MAX_VALUE && (long) g.oh * (g.w + 2L * p.padW() + PB) * PB < Integer.MAX_VALUE;
        if (!fits) return null;
        // a plan is a function of the geometry and never changes: building its tables each call cost 1.5 us of
        // small_cnn's 44 us conv at batch 1 and 3.5 us of resnet18's layer2 3x3/2 at 224x224
        List<Object> key = List.of(g.n, g.c, g.h, g.w, g.oc, g.kh, g.kw, p);
        DirectConv plan = PLANS.get(key);
        if (plan == null) {
            if (PLANS.size() >= MAX_PLANS) PLANS.clear();
            plan = new DirectConv(g, p);
            PLANS.put(key, plan);
        }
        return plan;
    }

    /** Plans by geometry (a model has a few dozen; past this the cache starts over). */
    private static final Map<List<Object>, DirectConv> PLANS = new ConcurrentHashMap<>();
    private static final int MAX_PLANS = 256;

    /**
     * Whether a layer Winograd F(2x2) takes should come here instead: one image, fewer than 64 input channels.
     * Winograd's transforms cost in proportion to C + OC per tile and save in proportion to C * OC; at 32 channels it
     * barely beat im2col + GEMM (its MIN_CHANNELS), and this kernel beats both: small_cnn's 32 -> 64 conv on 13x13 alone
     * 64-72 us on F(2x2), 39-52 here; in the model 53-54 -> 44-47 us, the whole call 102-104 -> 92-97 us.
     */
    static boolean beforeWinograd(Im2col g, Conv2dParams p) {
        return g.n == 1 && p.strideH() == 1 && p.strideW() == 1 && g.c < 64;
    }

    /** w (OC, K) at wBase packed as (OC/OB blocks, K, OB), zero past OC. */
    static float[] pack(float[] wd, int wBase, int oc, int k) { return pack(wd, wBase, oc, k, OB); }

    /** w (OC, K) at wBase packed as (OC/ob blocks, K, ob), zero past OC: ob = {@link #POOLED_OB} for {@link #forwardPooled}. */
    static float[] pack(float[] wd, int wBase, int oc, int k, int ob) {
        int blocks = (oc + ob - 1) / ob;
        float[] packed = new float[Math.multiplyExact(blocks * ob, k)];
        for (int o = 0; o < oc; o++) {
            int b = o / ob, lane = o % ob;
            for (int t = 0; t < k; t++) packed[(b * k + t) * ob + lane] = wd[wBase + o * k + t];
        }
        return packed;
    }

    /**
     * Per-thread accumulators (a group's tiles), row buffer, panels and source (a split copy of x's rows: at stride 1
     * the calling thread's, read by all; otherwise each thread's own group's rows).
     */
    private static final class Scratch {
        float[] acc = new float[PB * OB], row = new float[0], source = new float[0], panels = new float[0], pair = new float[0];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * A 1x1 convolution at this plan's stride, unpadded, of the same x, computed beside it ({@link #forward}): its
     * weight packed by {@link #pack} (OC2, C), bias (may be null), y2 (N, OC2, OH, OW).
     */
    record Shortcut(float[] packed, float[] bias, int oc, float[] y) {}

    /** y (N, OC, OH, OW) = conv(x (N, C, H, W) at xBase, packed weight) + bias (may be null), ReLU'd if asked. */
    void forward(float[] x, int xBase, float[] packed, float[] bias, boolean relu, float[] y) { forward(x, xBase, packed, bias, relu, y, null); }

    /**
     * {@link #forward} and, where {@code shortcut} is not null, that 1x1 conv: its output channels are more blocks of
     * the same jobs, each tile's chains over the centre tap of each channel (a run in place, or the tile's gathered
     * panel), stored + bias, without ReLU. One fma chain from zero over the channels in order per output, as a GEMM.
     */
    void forward(float[] x, int xBase, float[] packed, float[] bias, boolean relu, float[] y, Shortcut shortcut) {
        if (shortcut != null && centreTap == null) throw new IllegalStateException("no centre tap: padding past the kernel");
        float[] shared = flat ? source(x, xBase) : null;
        // Jobs: a group of tiles per thread (every block's weight is read once per group from that core's L2), times
        // parts of the blocks where there are fewer groups than threads. A group's source rows and mixed tiles are
        // prepared once, by the thread that multiplies them.
        int blocks = (oc + OB - 1) / OB, all = blocks + (shortcut == null ? 0 : (shortcut.oc() + OB - 1) / OB);
        int parts = Math.min(all, Math.max(1, Parallel.THREADS / groups));
        int panelFloats = Math.min(perGroup, tiles - mixedFrom) * k * PB;
        Parallel.forRange(groups * parts, 1, (lo, hi) -> {
            Scratch s = SCRATCH.get();
            float[] panels = s.panels = Winograd3x3.grow(s.panels, panelFloats);
            float[] src = shared != null ? shared : (s.source = Winograd3x3.grow(s.source, sw * phaseSize + PB + L));
            int prepared = -1;
            for (int job = lo; job < hi; job++) {
                int group = job / parts, first = group * perGroup, end = Math.min(tiles, first + perGroup), part = job % parts;
                int firstMixed = Math.max(first, mixedFrom), base = flat ? (inPlace ? xBase : 0) : -groupRow[group] * wq;
                if (group != prepared) {
                    // a row layer's group splits the rows its runs read (this core then reads them from its own
                    // cache: one source split by both threads cost more than by one) and gathers its mixed tiles from x
                    if (!flat && firstMixed > first) split(x, xBase, src, groupRow[group], 0, c * sourceRows);
                    for (int q = firstMixed; q < end; q++) {
                        if (flat) gather(src, base, q, panels, (q - firstMixed) * k * PB);
                        else gatherPadded(x, xBase, q, panels, (q - firstMixed) * k * PB);
                    }
                    prepared = group;
                }
                float[] acc = s.acc = Winograd3x3.grow(s.acc, (end - first) * PB * OB);
                for (int b = part * all / parts; b < (part + 1) * all / parts; b++) {
                    boolean second = b >= blocks;   // a block of the shortcut's channels
                    int[] runTaps = second ? centreTap : tap, panelTaps = second ? centrePanelTap : panelTap;
                    int taps = second ? c : k, block = second ? b - blocks : b, wOff = block * taps * OB;
                    float[] wp = second ? shortcut.packed() : packed;
                    // the taps in pieces whose weights stay in L1 across the group's tiles (a tile's whole weight
                    // block, K x OB, came from L2 for every tile); each tile's chains run on through the pieces in acc
                    for (int t0 = 0; t0 < taps; t0 += PIECE) {
                        int t1 = Math.min(taps, t0 + PIECE);
                        for (int q = first; q < end; q++) {
                            int accAt = (q - first) * PB * OB;
                            if (q < mixedFrom) tile(t0, t1, runTaps, wp, wOff, src, base + at[q * PB], acc, accAt);
                            else tile(t0, t1, panelTaps, wp, wOff, panels, (q - firstMixed) * k * PB, acc, accAt);
                        }
                    }
                    for (int q = first; q < end; q++) {
                        if (second) store(acc, (q - first) * PB * OB, q, Math.min(OB, shortcut.oc() - block * OB) / L, shortcut.bias(), block * OB, false, shortcut.y());
                        else store(acc, (q - first) * PB * OB, q, Math.min(OB, oc - b * OB) / L, bias, b * OB, relu, y);
                    }
                }
            }
        });
    }

    /** The array tiles read: x itself (stride 1 unpadded, from xBase), or the calling thread's split copy (from 0). */
    private float[] source(float[] x, int xBase) {
        if (inPlace) return x;
        Scratch mine = SCRATCH.get();
        float[] source = mine.source = Winograd3x3.grow(mine.source, sw * phaseSize + PB + L);   // a last run's reads past
        Parallel.forRange(n * c * hp, Parallel.grain(n * c * hp, 16), (lo, hi) -> split(x, xBase, source, 0, lo, hi));
        return source;
    }

    /** Whether {@link #forwardPooled} takes this layer: stride 1 (one image's tiles at the source's pitch). */
    boolean poolable() { return flat && n == 1 && oh >= 2 && ow >= 2 && wq + ow >= POOLED_PB; }

    /**
     * The 2x2 stride-2 max pool of {@link #forward}'s y, z (1, OC, OH/2, OW/2), without writing y; the weight packed
     * with {@link #POOLED_OB}. A job is one pooled row j and one block of channels: output rows 2j and 2j+1 are
     * positions [2j*Wq, 2j*Wq + Wq + OW) of the source's pitch, run in tiles of {@link #POOLED_PB} (the last one moved
     * back to end at the last position: a few positions computed twice, the same bits) whose accumulators land
     * pixel-major in a row-pair buffer; each window's four pixels, + bias, are maxed and ReLU'd by vectors of channels
     * and scattered to z. Every output is the same fma chain as forward's, and max is exact, so z is the bits of
     * pooling forward's y.
     */
    void forwardPooled(float[] x, int xBase, float[] packed, float[] bias, boolean relu, float[] z) {
        if (!poolable()) throw new IllegalStateException("not a stride-1 plan of one image");
        float[] src = source(x, xBase);
        int base = inPlace ? xBase : 0;
        int ph = oh / 2, pw = ow / 2, span = wq + ow, perPair = (span + POOLED_PB - 1) / POOLED_PB;
        int blocks = (oc + POOLED_OB - 1) / POOLED_OB;
        FloatVector zero = FloatVector.zero(SPECIES);
        Parallel.forRange(ph * blocks, 1, (lo, hi) -> {
            Scratch s = SCRATCH.get();
            float[] pair = s.pair = Winograd3x3.grow(s.pair, perPair * POOLED_PB * POOLED_OB);   // (positions, POOLED_OB)
            for (int job = lo; job < hi; job++) {
                int j = job / blocks, b = job % blocks, first = 2 * j * wq;
                for (int i = 0; i < perPair; i++) {
                    int at = Math.min(i * POOLED_PB, span - POOLED_PB);
                    tileWide(k, tap, packed, b * k * POOLED_OB, src, base + first + at, pair, at * POOLED_OB);
                }
                for (int v = 0; v < Math.min(POOLED_OB, oc - b * POOLED_OB) / L; v++) {
                    int oc0 = b * POOLED_OB + v * L;
                    FloatVector bv = bias == null ? zero : FloatVector.fromArray(SPECIES, bias, oc0);
                    for (int q = 0; q < pw; q++) {
                        int top = 2 * q * POOLED_OB + v * L, low = (wq + 2 * q) * POOLED_OB + v * L;
                        FloatVector m = FloatVector.fromArray(SPECIES, pair, top).add(bv).max(FloatVector.fromArray(SPECIES, pair, top + POOLED_OB).add(bv))
                                .max(FloatVector.fromArray(SPECIES, pair, low).add(bv).max(FloatVector.fromArray(SPECIES, pair, low + POOLED_OB).add(bv)));
                        if (relu) m = m.max(zero);
                        m.intoArray(z, oc0 * ph * pw + j * pw + q, poolLanes, 0);
                    }
                }
            }
        });
    }

    /**
     * Source rows [lo, hi) of (N*C, {@link #sourceRows}), padded rows from {@code firstRow} on: x's row with its zero
     * border, split into its sW column phases; rows past the image and rows and the odd phase no tap reads are left
     * as they were.
     */
    private void split(float[] x, int xBase, float[] source, int firstRow, int lo, int hi) {
        Scratch s = SCRATCH.get();
        int width = sw * wq;
        float[] row = s.row = Winograd3x3.grow(s.row, width + 2 * L);
        for (int pr = lo; pr < hi; pr++) {
            int padded = firstRow + pr % sourceRows;
            if (padded >= hp || !rowRead[padded]) continue;   // a kernel shorter than its stride skips rows
            int plane = pr / sourceRows, ih = padded - padH, dst = pr * wq;
            boolean inside = ih >= 0 && ih < h;
            if (sw == 1) {   // the row itself, between its borders
                if (!inside) {
                    Arrays.fill(source, dst, dst + wq, 0f);
                    continue;
                }
                Arrays.fill(source, dst, dst + padW, 0f);
                System.arraycopy(x, xBase + (plane * h + ih) * w, source, dst + padW, w);
                Arrays.fill(source, dst + padW + w, dst + wq, 0f);
                continue;
            }
            if (inside) {
                Arrays.fill(row, 0, padW, 0f);
                System.arraycopy(x, xBase + (plane * h + ih) * w, row, padW, w);
                Arrays.fill(row, padW + w, width, 0f);
            } else {
                Arrays.fill(row, 0, width, 0f);
            }
            if (sw == 2) {
                for (int m = 0; m < wq; m += L) {   // wq is whole vectors
                    FloatVector lo2 = FloatVector.fromArray(SPECIES, row, 2 * m), hi2 = FloatVector.fromArray(SPECIES, row, 2 * m + L);
                    lo2.rearrange(Winograd3x3.EVEN, hi2).intoArray(source, dst + m);
                    if (oddRead) lo2.rearrange(Winograd3x3.ODD, hi2).intoArray(source, phaseSize + dst + m);
                }
            } else {
                for (int q = 0; q < sw; q++) {
                    for (int m = 0; m < wq; m++) source[q * phaseSize + dst + m] = row[m * sw + q];
                }
            }
        }
    }

    /** The panel (K, PB) of mixed tile q at {@code off} of a row layer, from x: each position's inputs, zero in the padding. */
    private void gatherPadded(float[] x, int xBase, int q, float[] panels, int off) {
        for (int p = 0; p < PB; p++) {
            int a = at[q * PB + p], top = a / wq - padH, left = a % wq * sw - padW;   // at: (r*sH, s) in the padded image's rows
            for (int ch = 0, t = 0; ch < c; ch++) {
                for (int i = 0; i < kh; i++) {
                    int ih = top + i * dilH;
                    for (int j = 0; j < kw; j++, t++) {
                        int iw = left + j * dilW;
                        panels[off + t * PB + p] = ih >= 0 && ih < h && iw >= 0 && iw < w ? x[xBase + (ch * h + ih) * w + iw] : 0f;
                    }
                }
            }
        }
    }

    /** The panel (K, PB) of mixed tile q at {@code off}: each position's inputs gathered through the tap table. */
    private void gather(float[] src, int base, int q, float[] panels, int off) {
        for (int t = 0; t < k; t++) {
            for (int p = 0; p < PB; p++) panels[off + t * PB + p] = src[base + at[q * PB + p] + tap[t]];
        }
    }

    /**
     * acc (PB, OB) at accAt += a tile's inputs times a block's packed weight (K, OB) at wOff over taps [t0, t1), where tap
     * t's PB inputs are src[at + tap[t] + p]: a run of the source in place, or a gathered panel (tap[t] = t * PB). The
     * chains start from zero at t0 = 0 and otherwise go on from acc: one fma chain per output over all the taps.
     */
    static void tile(int t0, int t1, int[] tap, float[] wp, int wOff, float[] src, int at, float[] acc, int accAt) {
        FloatVector z = FloatVector.zero(SPECIES);
        FloatVector a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z;
        FloatVector a20 = z, a21 = z, a22 = z, a23 = z, a30 = z, a31 = z, a32 = z, a33 = z;
        FloatVector a40 = z, a41 = z, a42 = z, a43 = z, a50 = z, a51 = z, a52 = z, a53 = z;
        if (t0 > 0) {   // the chains from where the taps before t0 left them
            a00 = FloatVector.fromArray(SPECIES, acc, accAt);
            a01 = FloatVector.fromArray(SPECIES, acc, accAt + L);
            a02 = FloatVector.fromArray(SPECIES, acc, accAt + 2 * L);
            a03 = FloatVector.fromArray(SPECIES, acc, accAt + 3 * L);
            a10 = FloatVector.fromArray(SPECIES, acc, accAt + OB);
            a11 = FloatVector.fromArray(SPECIES, acc, accAt + OB + L);
            a12 = FloatVector.fromArray(SPECIES, acc, accAt + OB + 2 * L);
            a13 = FloatVector.fromArray(SPECIES, acc, accAt + OB + 3 * L);
            a20 = FloatVector.fromArray(SPECIES, acc, accAt + 2 * OB);
            a21 = FloatVector.fromArray(SPECIES, acc, accAt + 2 * OB + L);
            a22 = FloatVector.fromArray(SPECIES, acc, accAt + 2 * OB + 2 * L);
            a23 = FloatVector.fromArray(SPECIES, acc, accAt + 2 * OB + 3 * L);
            a30 = FloatVector.fromArray(SPECIES, acc, accAt + 3 * OB);
            a31 = FloatVector.fromArray(SPECIES, acc, accAt + 3 * OB + L);
            a32 = FloatVector.fromArray(SPECIES, acc, accAt + 3 * OB + 2 * L);
            a33 = FloatVector.fromArray(SPECIES, acc, accAt + 3 * OB + 3 * L);
            a40 = FloatVector.fromArray(SPECIES, acc, accAt + 4 * OB);
            a41 = FloatVector.fromArray(SPECIES, acc, accAt + 4 * OB + L);
            a42 = FloatVector.fromArray(SPECIES, acc, accAt + 4 * OB + 2 * L);
            a43 = FloatVector.fromArray(SPECIES, acc, accAt + 4 * OB + 3 * L);
            a50 = FloatVector.fromArray(SPECIES, acc, accAt + 5 * OB);
            a51 = FloatVector.fromArray(SPECIES, acc, accAt + 5 * OB + L);
            a52 = FloatVector.fromArray(SPECIES, acc, accAt + 5 * OB + 2 * L);
            a53 = FloatVector.fromArray(SPECIES, acc, accAt + 5 * OB + 3 * L);
        }
        for (int t = t0; t < t1; t++) {
            int wi = wOff + t * OB, xi = at + tap[t];
            FloatVector w0 = FloatVector.fromArray(SPECIES, wp, wi);
            FloatVector w1 = FloatVector.fromArray(SPECIES, wp, wi + L);
            FloatVector w2 = FloatVector.fromArray(SPECIES, wp, wi + 2 * L);
            FloatVector w3 = FloatVector.fromArray(SPECIES, wp, wi + 3 * L);
            FloatVector v = FloatVector.broadcast(SPECIES, src[xi]);
            a00 = w0.fma(v, a00);
            a01 = w1.fma(v, a01);
            a02 = w2.fma(v, a02);
            a03 = w3.fma(v, a03);
            v = FloatVector.broadcast(SPECIES, src[xi + 1]);
            a10 = w0.fma(v, a10);
            a11 = w1.fma(v, a11);
            a12 = w2.fma(v, a12);
            a13 = w3.fma(v, a13);
            v = FloatVector.broadcast(SPECIES, src[xi + 2]);
            a20 = w0.fma(v, a20);
            a21 = w1.fma(v, a21);
            a22 = w2.fma(v, a22);
            a23 = w3.fma(v, a23);
            v = FloatVector.broadcast(SPECIES, src[xi + 3]);
            a30 = w0.fma(v, a30);
            a31 = w1.fma(v, a31);
            a32 = w2.fma(v, a32);
            a33 = w3.fma(v, a33);
            v = FloatVector.broadcast(SPECIES, src[xi + 4]);
            a40 = w0.fma(v, a40);
            a41 = w1.fma(v, a41);
            a42 = w2.fma(v, a42);
            a43 = w3.fma(v, a43);
            v = FloatVector.broadcast(SPECIES, src[xi + 5]);
            a50 = w0.fma(v, a50);
            a51 = w1.fma(v, a51);
            a52 = w2.fma(v, a52);
            a53 = w3.fma(v, a53);
        }
        a00.intoArray(acc, accAt);
        a01.intoArray(acc, accAt + L);
        a02.intoArray(acc, accAt + 2 * L);
        a03.intoArray(acc, accAt + 3 * L);
        a10.intoArray(acc, accAt + OB);
        a11.intoArray(acc, accAt + OB + L);
        a12.intoArray(acc, accAt + OB + 2 * L);
        a13.intoArray(acc, accAt + OB + 3 * L);
        a20.intoArray(acc, accAt + 2 * OB);
        a21.intoArray(acc, accAt + 2 * OB + L);
        a22.intoArray(acc, accAt + 2 * OB + 2 * L);
        a23.intoArray(acc, accAt + 2 * OB + 3 * L);
        a30.intoArray(acc, accAt + 3 * OB);
        a31.intoArray(acc, accAt + 3 * OB + L);
        a32.intoArray(acc, accAt + 3 * OB + 2 * L);
        a33.intoArray(acc, accAt + 3 * OB + 3 * L);
        a40.intoArray(acc, accAt + 4 * OB);
        a41.intoArray(acc, accAt + 4 * OB + L);
        a42.intoArray(acc, accAt + 4 * OB + 2 * L);
        a43.intoArray(acc, accAt + 4 * OB + 3 * L);
        a50.intoArray(acc, accAt + 5 * OB);
        a51.intoArray(acc, accAt + 5 * OB + L);
        a52.intoArray(acc, accAt + 5 * OB + 2 * L);
        a53.intoArray(acc, accAt + 5 * OB + 3 * L);
    }

    /**
     * acc (POOLED_PB, POOLED_OB) at accOff = a run of POOLED_PB inputs (src[at + tap[t] + p]) times a block of the
     * weight packed with POOLED_OB at wOff: {@link #tile}'s chains with 12 broadcasts and two weight vectors a step.
     */
    static void tileWide(int k, int[] tap, float[] wp, int wOff, float[] src, int at, float[] acc, int accOff) {
        FloatVector z = FloatVector.zero(SPECIES);
        FloatVector a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z;
        FloatVector a30 = z, a31 = z, a40 = z, a41 = z, a50 = z, a51 = z;
        FloatVector a60 = z, a61 = z, a70 = z, a71 = z, a80 = z, a81 = z;
        FloatVector a90 = z, a91 = z, a100 = z, a101 = z, a110 = z, a111 = z;
        for (int t = 0; t < k; t++) {
            int wi = wOff + t * POOLED_OB, xi = at + tap[t];
            FloatVector w0 = FloatVector.fromArray(SPECIES, wp, wi), w1 = FloatVector.fromArray(SPECIES, wp, wi + L);
            FloatVector v = FloatVector.broadcast(SPECIES, src[xi]);
            a00 = w0.fma(v, a00);
            a01 = w1.fma(v, a01);
            v = FloatVector.broadcast(SPECIES, src[xi + 1]);
            a10 = w0.fma(v, a10);
            a11 = w1.fma(v, a11);
            v = FloatVector.broadcast(SPECIES, src[xi + 2]);
            a20 = w0.fma(v, a20);
            a21 = w1.fma(v, a21);
            v = FloatVector.broadcast(SPECIES, src[xi + 3]);
            a30 = w0.fma(v, a30);
            a31 = w1.fma(v, a31);
            v = FloatVector.broadcast(SPECIES, src[xi + 4]);
            a40 = w0.fma(v, a40);
            a41 = w1.fma(v, a41);
            v = FloatVector.broadcast(SPECIES, src[xi + 5]);
            a50 = w0.fma(v, a50);
            a51 = w1.fma(v, a51);
            v = FloatVector.broadcast(SPECIES, src[xi + 6]);
            a60 = w0.fma(v, a60);
            a61 = w1.fma(v, a61);
            v = FloatVector.broadcast(SPECIES, src[xi + 7]);
            a70 = w0.fma(v, a70);
            a71 = w1.fma(v, a71);
            v = FloatVector.broadcast(SPECIES, src[xi + 8]);
            a80 = w0.fma(v, a80);
            a81 = w1.fma(v, a81);
            v = FloatVector.broadcast(SPECIES, src[xi + 9]);
            a90 = w0.fma(v, a90);
            a91 = w1.fma(v, a91);
            v = FloatVector.broadcast(SPECIES, src[xi + 10]);
            a100 = w0.fma(v, a100);
            a101 = w1.fma(v, a101);
            v = FloatVector.broadcast(SPECIES, src[xi + 11]);
            a110 = w0.fma(v, a110);
            a111 = w1.fma(v, a111);
        }
        a00.intoArray(acc, accOff + 0 * POOLED_OB);
        a01.intoArray(acc, accOff + 0 * POOLED_OB + L);
        a10.intoArray(acc, accOff + 1 * POOLED_OB);
        a11.intoArray(acc, accOff + 1 * POOLED_OB + L);
        a20.intoArray(acc, accOff + 2 * POOLED_OB);
        a21.intoArray(acc, accOff + 2 * POOLED_OB + L);
        a30.intoArray(acc, accOff + 3 * POOLED_OB);
        a31.intoArray(acc, accOff + 3 * POOLED_OB + L);
        a40.intoArray(acc, accOff + 4 * POOLED_OB);
        a41.intoArray(acc, accOff + 4 * POOLED_OB + L);
        a50.intoArray(acc, accOff + 5 * POOLED_OB);
        a51.intoArray(acc, accOff + 5 * POOLED_OB + L);
        a60.intoArray(acc, accOff + 6 * POOLED_OB);
        a61.intoArray(acc, accOff + 6 * POOLED_OB + L);
        a70.intoArray(acc, accOff + 7 * POOLED_OB);
        a71.intoArray(acc, accOff + 7 * POOLED_OB + L);
        a80.intoArray(acc, accOff + 8 * POOLED_OB);
        a81.intoArray(acc, accOff + 8 * POOLED_OB + L);
        a90.intoArray(acc, accOff + 9 * POOLED_OB);
        a91.intoArray(acc, accOff + 9 * POOLED_OB + L);
        a100.intoArray(acc, accOff + 10 * POOLED_OB);
        a101.intoArray(acc, accOff + 10 * POOLED_OB + L);
        a110.intoArray(acc, accOff + 11 * POOLED_OB);
        a111.intoArray(acc, accOff + 11 * POOLED_OB + L);
    }

    /** Tile q's first {@code vectors} vectors of channels, + bias and ReLU as {@link CpuConv2d#biasRelu}, scattered to y. */
    private void store(float[] acc, int accAt, int q, int vectors, float[] bias, int oc0, boolean relu, float[] y) {
        FloatVector zero = FloatVector.zero(SPECIES);
        for (int v = 0; v < vectors; v++) {
            FloatVector b = bias == null ? zero : FloatVector.fromArray(SPECIES, bias, oc0 + v * L);
            int channel = (oc0 + v * L) * oh * ow;
            for (int p = 0; p < PB; p++) {
                FloatVector a = FloatVector.fromArray(SPECIES, acc, accAt + p * OB + v * L);
                if (bias != null) a = a.add(b);
                if (relu) a = a.max(zero);
                if (to[q * PB + p] >= 0) a.intoArray(y, to[q * PB + p] + channel, lanes, 0);
            }
        }
    }

    private static int roundUp(int x, int step) { return (x + step - 1) / step * step; }
}
