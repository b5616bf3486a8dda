package dev.ember.kernels.cpu;

import dev.ember.engine.Conv2dParams;
import dev.ember.engine.Shape;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * The geometry of one convolution and its im2col / col2im maps for one (image, group).
 *
 * <pre>
 *   col (Cg*KH*KW, OH*OW): col[(c*KH + i)*KW + j, oh*OW + ow] = x[c, ih, iw]   (0 where (ih, iw) is padding)
 *   stored at colOff with row stride ld (ld > OH*OW when several images sit side by side in one buffer)
 *   ih = oh*strideH - padH + i*dilationH,  iw = ow*strideW - padW + j*dilationW
 * </pre>
 * col2im is the adjoint: each column entry is added back to the input cell it came from, in row order, so
 * overlapping windows sum deterministically.
 */
final class Im2col {
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    final int n, c, h, w, oc, kh, kw, oh, ow, groups, cPerGroup, ocPerGroup;
    /** Rows of the column matrix: Cg*KH*KW. */
    final int rows;
    /** Columns of the column matrix: OH*OW. */
    final int spatial;
    /** 1x1, stride 1, no padding: the column matrix is x itself. */
    final boolean pointwise;
    /**
     * 1x1 at a larger stride, no padding (resnet's downsampling shortcuts): the column matrix is x subsampled, one
     * strided copy of each output row ({@link #subsample}). Through the general paths (split phases at stride 2, then
     * row copies) resnet18's 64 -> 128 shortcut at 56x56 spent 52-57 us of its 146 on this copy.
     */
    private final boolean subsampled;
    private final Conv2dParams p;
    /**
     * For output rows narrower than a vector that are strided or at most 4 wide (resnet's last stages at 64x64 have
     * 2 and 4 pixels): where each column entry comes from, as an offset in the (Cg, H, W) input, or Cg*H*W (one past it) for padding;
     * null otherwise. Per-row loops with their fills and copies of 2-4 floats cost more than the copies, and C2
     * compiled them 2x slower in some runs; one pass over a table does not depend on such choices. A function of the
     * geometry, shared by all images and cached across calls.
     */
    private final int[] source;

    Im2col(Shape input, Shape weight, Shape output, Conv2dParams p) {
        this.p = p;
        n = input.dim(0);
        c = input.dim(1);
        h = input.dim(2);
        w = input.dim(3);
        oc = weight.dim(0);
        kh = weight.dim(2);
        kw = weight.dim(3);
        oh = output.dim(2);
        ow = output.dim(3);
        groups = p.groups();
        cPerGroup = c / groups;
        ocPerGroup = oc / groups;
        rows = cPerGroup * kh * kw;
        spatial = oh * ow;
        pointwise = kh == 1 && kw == 1 && p.strideH() == 1 && p.strideW() == 1 && p.padH() == 0 && p.padW() == 0;
        boolean tiny = ow <= TABLE_MAX_STRIDE1_OW || p.strideW() != 1;   // wider stride-1 rows take one vector each
        source = ow < SPECIES.length() && tiny && !pointwise && (long) rows * spatial <= MAX_TABLE ? cachedSourceTable() : null;
        // rows of 2-4 pixels (resnet18's last stages at 64x64) go faster through the table: 0.4 us against 2.1 for
        // the 256 -> 512 shortcut on 4x4, where a row of 8 or more is faster subsampled (2.2 against 2.7 on 16x16)
        subsampled = kh == 1 && kw == 1 && !pointwise && p.padH() == 0 && p.padW() == 0 && (source == null || ow >= 8);
        split = p.strideW() == 2 && source == null;
        half = (w + 1) / 2;
        boolean padded = p.padH() > 0 || p.padW() > 0;
        unpadded = padded && p.strideW() == 1 && source == null && !pointwise
                ? new Im2col(Shape.of(n, c, h + 2 * p.padH(), w + 2 * p.padW()), weight, output,
                        new Conv2dParams(p.strideH(), p.strideW(), 0, 0, p.dilationH(), p.dilationW(), p.groups()))
                : null;
    }

    /**
     * For stride-1 layers with padding (resnet's 3x3 convolutions): the same convolution over the input with its
     * zero border written out, whose im2col is used instead. With the border in the data, every output row of every
     * col row is one whole copy (one vector where the row is at most a vector wide) with no padding cases, and the
     * copy of the input with its border costs 1/(KH*KW) of the column matrix. Null where it does not apply.
     */
    private final Im2col unpadded;
    /** Per-thread buffer of the input with its zero border, (Cg, H + 2 padH, W + 2 padW). */
    private static final ThreadLocal<float[][]> PADDED = ThreadLocal.withInitial(() -> new float[1][0]);

    /**
     * Stride-2 rows read from x split into even and odd columns: each col row is then one contiguous run of one of
     * the two halves instead of a float-at-a-time strided copy (resnet18's 7x7/2 stem: 147 col rows per input
     * channel, each read from the same 64 or 224 input rows).
     */
    private final boolean split;
    /** Columns of each half of a split row: ceil(W / 2). */
    private final int half;
    /** Per-thread buffer of the split input (Cg, H, 2, half). */
    private static final ThreadLocal<float[][]> SPLIT = ThreadLocal.withInitial(() -> new float[1][0]);

    /** Stride-1 rows up to this wide go through the table; wider ones (up to a vector) take one vector copy each. */
    private static final int TABLE_MAX_STRIDE1_OW = 4;
    /** Largest {@link #source} table, in entries (4 MB). */
    private static final long MAX_TABLE = 1 << 20;
    /** Tables by geometry: building one costs as much as an im2col, and at batch 1 a layer runs one im2col a call. */
    private static final Map<List<Object>, int[]> TABLES = new ConcurrentHashMap<>();
    /** Most tables kept (a model has a few dozen geometries; past this the cache starts over). */
    private static final int MAX_TABLES = 256;

    private int[] cachedSourceTable() {
        List<Object> key = List.of(c, h, w, kh, kw, oh, ow, groups, p);
        int[] t = TABLES.get(key);
        if (t != null) return t;
        if (TABLES.size() >= MAX_TABLES) TABLES.clear();
        t = sourceTable();
        TABLES.put(key, t);
        return t;
    }

    private int[] sourceTable() {
        int zero = cPerGroup * h * w;
        int[] t = new int[rows * spatial];   // (Cg*KH*KW, OH*OW)
        for (int r = 0; r < rows; r++) {
            int ch = r / (kh * kw), i = r / kw % kh, j = r % kw;
            for (int y = 0; y < oh; y++) {
                int ih = y * p.strideH() - p.padH() + i * p.dilationH();
                for (int q = 0; q < ow; q++) {
                    int iw = q * p.strideW() - p.padW() + j * p.dilationW();
                    t[r * spatial + y * ow + q] = ih >= 0 && ih < h && iw >= 0 && iw < w ? (ch * h + ih) * w + iw : zero;
                }
            }
        }
        return t;
    }

    /**
     * Column matrices smaller than this (in floats) are copied on the calling thread: a copy of a few microseconds
     * took longer handed to two (resnet18's 1x1/2 shortcuts at 224x224: 27 against 17 us at 28x28, 16.5 against 8.4 at
     * 14x14).
     */
    private static final int SERIAL_FLOATS = 1 << 16;

    /** x (Cg, H, W) at {@code xOff} into col (Cg*KH*KW, OH*OW) at colOff, row stride ld; in parallel over rows. */
    void im2colParallel(float[] x, int xOff, float[] col, int colOff, int ld) {
        int grain = Parallel.grain(rows, Math.max(1, 4096 / Math.max(1, spatial)));
        if (subsampled || (long) rows * spatial < SERIAL_FLOATS) {
            im2col(x, xOff, col, colOff, ld);
        } else if (source != null) {
            float[] z = zeroTailed(x, xOff);   // the caller's buffer, read by every thread of this call
            Parallel.forRange(rows, grain, (lo, hi) -> im2colRows(z, 0, null, col, colOff, ld, lo, hi, 0, oh));
        } else if (unpadded != null) {
            float[] bordered = withBorder(x, xOff);   // the caller's buffer, read by every thread of this call
            Parallel.forRange(rows, grain, (lo, hi) -> unpadded.im2colRows(bordered, 0, null, col, colOff, ld, lo, hi, 0, oh));
        } else if (split) {
            float[] halves = splitColumns(x, xOff);   // the caller's buffer, read by every thread of this call
            Parallel.forRange(rows, grain, (lo, hi) -> im2colRows(null, 0, halves, col, colOff, ld, lo, hi, 0, oh));
        } else {
            Parallel.forRange(rows, grain, (lo, hi) -> im2colRows(x, xOff, null, col, colOff, ld, lo, hi, 0, oh));
        }
    }

    /**
     * Whether a chunk of this many images takes {@link #transposeImages} and {@link #imagesInnerStrips} instead of a
     * column matrix: output rows of at most {@link #IMAGES_INNER_MAX_OW} pixels, not pointwise, a table that fits and
     * a transposed chunk of at most {@link #IMAGES_INNER_MAX_FLOATS} (a large input at a large stride stays on the
     * column matrix). resnet18's 1x1/2 shortcuts at 32x3x64x64 take it too, though they read a quarter of the chunk
     * transposed: alone, layer3's 231-233 -> 202-208 us, layer4's 288-289 -> 164-173 (both orders in one JVM).
     */
    boolean imagesInner(int images) {
        return images >= IMAGES_INNER_MIN && !pointwise && ow <= IMAGES_INNER_MAX_OW && (long) rows * spatial <= MAX_TABLE
                && ((long) cPerGroup * h * w + 1) * images <= IMAGES_INNER_MAX_FLOATS;
    }

    /** Largest transposed chunk (8 MB); resnet18's layer3 at 32x3x64x64 takes 1 MB. */
    static final long IMAGES_INNER_MAX_FLOATS = 1 << 21;

    /** Fewest images of a chunk for {@link #imagesInner}: a strip's row is then whole vectors of one pixel's images. */
    static final int IMAGES_INNER_MIN = 16;
    /**
     * Widest output rows for {@link #imagesInner}: resnet18's 3x3/2 layers at 32x3x64x64 with 4- and 2-pixel rows ran
     * 1478-1519 -> 1016-1023 and 2401-2423 -> 1091-1099 us alone (old and new alternating in one JVM, both orders);
     * with 8-pixel rows (layer2's, 64 -> 128) 1177-1223 -> 1210-1246, and the whole call even with or without it.
     */
    static final int IMAGES_INNER_MAX_OW = 4;

    /**
     * A chunk of images with each element's images side by side: xT (Cg*H*W + 1, images), xT[e, i] = image i's x
     * (Cg, H, W) flattened at e, its last row zeros (what padding reads). Image i's x starts at xOff + i*imageStride.
     * In parallel over xT's rows; see {@link #transpose}.
     */
    void transposeImages(float[] x, int xOff, int imageStride, int images, float[] xT) {
        int size = cPerGroup * h * w;
        Parallel.forRange((size + 15) / 16, Parallel.grain((size + 15) / 16, 16), (lo, hi) ->
                transpose(x, xOff, imageStride, images, 16 * lo, Math.min(size, 16 * hi), xT, 0, images));
        Arrays.fill(xT, size * images, (size + 1) * images, 0f);
    }

    /**
     * Columns [c0, c1) of a (rows, ...) matrix at s, row stride ld, into dst at d as rows c0.. of (..., rows), row stride
     * dld: dst[d + c*dld + r] = x[s + r*ld + c]. By 16 x 16 blocks of {@link SgemmPack#transpose16x16} where the
     * vectors are 16 wide, the rest a float at a time.
     */
    static void transpose(float[] x, int s, int ld, int rows, int c0, int c1, float[] dst, int d, int dld) {
        int r16 = SgemmPack.TRANSPOSES ? rows / 16 * 16 : 0, c16 = SgemmPack.TRANSPOSES ? c0 + (c1 - c0) / 16 * 16 : c0;
        for (int c = c0; c < c16; c += 16) {
            for (int r = 0; r < r16; r += 16) SgemmPack.transpose16x16(x, s + r * ld + c, ld, dst, d + c * dld + r, dld);
        }
        for (int r = 0; r < rows; r++) {
            for (int c = r < r16 ? c16 : c0; c < c1; c++) dst[d + c * dld + r] = x[s + r * ld + c];
        }
    }

    /**
     * The column matrix of {@link #transposeImages}'s images, never stored whole: Sgemm packs each strip as it
     * multiplies it.
     * <pre>
     *   B (Cg*KH*KW, S*images): B[t, s*images + i] = xT[source(t, s), i]    (source: {@link #sourceTable})
     * </pre>
     * A strip's row is one pixel's images (32 images: a whole strip), a run of whole vectors read from one row of xT;
     * CpuConv2d.forwardImagesInner says what it replaces.
     */
    Sgemm.BStrips imagesInnerStrips(float[] xT, int images) {
        int[] table = cachedSourceTable();
        int lanes = SPECIES.length();
        return (p0, kc, col0, cols, dst, d0) -> {
            int width = SgemmPack.width(cols);
            if (images % width == 0 && cols == width && col0 % images + width <= images) {   // one pixel's images: whole vectors
                int from0 = col0 % images, s = col0 / images;
                for (int p = 0; p < kc; p++) {
                    int from = table[(p0 + p) * spatial + s] * images + from0, to = d0 + p * width;
                    for (int e = 0; e < width; e += lanes) FloatVector.fromArray(SPECIES, xT, from + e).intoArray(dst, to + e);
                }
                return;
            }
            for (int p = 0; p < kc; p++) {
                int row = (p0 + p) * spatial, to = d0 + p * width;
                for (int j = col0, end = col0 + cols; j < end; ) {
                    int s = j / images, i = j - s * images, run = Math.min(images - i, end - j), from = table[row + s] * images + i, e = 0;
                    for (int bound = run - run % lanes; e < bound; e += lanes) FloatVector.fromArray(SPECIES, xT, from + e).intoArray(dst, to + e);
                    for (; e < run; e++) dst[to + e] = xT[from + e];
                    to += run;
                    j += run;
                }
                Arrays.fill(dst, d0 + p * width + cols, d0 + (p + 1) * width, 0f);
            }
        };
    }

    /** x (Cg, H, W) at {@code xOff} into col (Cg*KH*KW, OH*OW) at colOff, row stride ld; on the calling thread. */
    void im2col(float[] x, int xOff, float[] col, int colOff, int ld) {
        if (subsampled) subsample(x, xOff, col, colOff, ld);
        else if (source != null) im2colRows(zeroTailed(x, xOff), 0, null, col, colOff, ld, 0, rows, 0, oh);
        else if (unpadded != null) unpadded.im2colRows(withBorder(x, xOff), 0, null, col, colOff, ld, 0, rows, 0, oh);
        else im2colBand(bandSource(x, xOff), xOff, col, colOff, ld, 0, oh);
    }

    /**
     * Whether {@link #im2colBand} applies: a layer whose rows are copied from x or its split halves (not through the
     * table, and not from a bordered copy).
     */
    boolean banded() { return source == null && unpadded == null && !pointwise && !subsampled; }

    /**
     * The {@link #subsampled} column matrix: col[ch][i*OW + j] = x[ch][i*sH][j*sW]. At stride 2 the even lanes of two
     * vectors of the input row make a vector of the output row; a row's last vector is taken ending at its last
     * column (over values already written, the same), and a row narrower than a vector is one masked store.
     */
    private void subsample(float[] x, int xOff, float[] col, int colOff, int ld) {
        int sh = p.strideH(), sw = p.strideW(), lanes = SPECIES.length();
        VectorMask<Float> narrow = SPECIES.indexInRange(0, ow);
        for (int ch = 0; ch < cPerGroup; ch++) {
            for (int i = 0; i < oh; i++) {
                int src = xOff + (ch * h + i * sh) * w, dst = colOff + ch * ld + i * ow;
                if (sw == 2 && ow < lanes && src + 2 * lanes <= x.length) {   // one masked vector, read on into the next rows
                    FloatVector lo = FloatVector.fromArray(SPECIES, x, src), hi = FloatVector.fromArray(SPECIES, x, src + lanes);
                    lo.rearrange(Winograd3x3.EVEN, hi).intoArray(col, dst, narrow);
                } else if (sw == 2 && ow >= lanes && src + 2 * ow <= x.length) {
                    // output j reads input 2j <= w - 1; a vector pair starting at 2j reads up to 2j + 2L - 1 <= w, one
                    // element past the row at most: inside x but at its very end
                    for (int j = 0; ; j += lanes) {
                        if (j > ow - lanes) j = ow - lanes;
                        FloatVector lo = FloatVector.fromArray(SPECIES, x, src + 2 * j), hi = FloatVector.fromArray(SPECIES, x, src + 2 * j + lanes);
                        lo.rearrange(Winograd3x3.EVEN, hi).intoArray(col, dst + j);
                        if (j == ow - lanes) break;
                    }
                } else {
                    for (int j = 0; j < ow; j++) col[dst + j] = x[src + j * sw];
                }
            }
        }
    }

    /**
     * What {@link #im2colBand} reads for x (Cg, H, W) at {@code xOff}: for stride 2 this thread's split copy of it
     * (make it on the caller, then read it from every thread of the call), else x itself.
     */
    float[] bandSource(float[] x, int xOff) { return split ? splitColumns(x, xOff) : x; }

    /**
     * Output rows [y0, y1) of the column matrix, from {@code data} = {@link #bandSource}: col (Cg*KH*KW, (y1-y0)*OW)
     * at colOff, row stride ld; on the calling thread. The same values as those columns of {@link #im2col}.
     */
    void im2colBand(float[] data, int xOff, float[] col, int colOff, int ld, int y0, int y1) {
        if (split) im2colRows(null, 0, data, col, colOff, ld, 0, rows, y0, y1);
        else im2colRows(data, xOff, null, col, colOff, ld, 0, rows, y0, y1);
    }

    /** x (Cg, H, W) at {@code xOff} into this thread's buffer, then one 0 (where {@link #source}'s padding points). */
    private float[] zeroTailed(float[] x, int xOff) {
        int size = cPerGroup * h * w;
        float[][] holder = ZERO_TAILED.get();
        if (holder[0].length < size + 1) holder[0] = new float[size + 1];
        float[] out = holder[0];
        System.arraycopy(x, xOff, out, 0, size);
        out[size] = 0f;
        return out;
    }

    private static final ThreadLocal<float[][]> ZERO_TAILED = ThreadLocal.withInitial(() -> new float[1][0]);

    /** x (Cg, H, W) at {@code xOff} into this thread's buffer with its zero border, (Cg, H + 2 padH, W + 2 padW). */
    private float[] withBorder(float[] x, int xOff) {
        int ph = p.padH(), pw = p.padW(), bh = h + 2 * ph, bw = w + 2 * pw;
        float[][] holder = PADDED.get();
        int size = cPerGroup * bh * bw;
        if (holder[0].length < size) holder[0] = new float[size];
        float[] out = holder[0];   // reused: every border cell is written again, not assumed zero
        for (int ch = 0; ch < cPerGroup; ch++) {
            int plane = ch * bh * bw;
            Arrays.fill(out, plane, plane + ph * bw + pw, 0f);                            // top rows, first left border
            for (int i = 0; i < h; i++) {
                int row = plane + (ph + i) * bw;
                System.arraycopy(x, xOff + (ch * h + i) * w, out, row + pw, w);
                Arrays.fill(out, row + pw + w, Math.min(row + bw + pw, plane + bh * bw), 0f);   // right border, next left one
            }
            Arrays.fill(out, plane + (ph + h) * bw, plane + bh * bw, 0f);                 // bottom rows
        }
        return out;
    }

    /** x (Cg, H, W) into this thread's buffer as (Cg, H, 2, half): even columns, then odd ones (a zero past W). */
    private float[] splitColumns(float[] x, int xOff) {
        float[][] holder = SPLIT.get();
        int rowsIn = cPerGroup * h, size = rowsIn * 2 * half + 2 * SPECIES.length();   // slack: the last row's spill
        if (holder[0].length < size) holder[0] = new float[size];
        float[] out = holder[0];
        int vector = SPECIES.length(), row = 0;
        if (w % 2 == 0) {
            // Whole vectors with a spill, rows in order: a row's even vectors spill into its odd half, written next,
            // and its odd ones into the next row's even half, written after it. The loads may read past the row
            // (into the next one, landing in spilled lanes) but not past x: the last rows take the scalar loop.
            int spillRows = Math.min(rowsIn, Math.max(0, Math.floorDiv(x.length - xOff - 2 * roundUp(half, vector), w) + 1));
            for (; row < spillRows; row++) {
                int from = xOff + row * w, even = row * 2 * half, odd = even + half;
                for (int t = 0; t < half; t += vector) {
                    FloatVector a = FloatVector.fromArray(SPECIES, x, from + 2 * t), b = FloatVector.fromArray(SPECIES, x, from + 2 * t + vector);
                    a.rearrange(Winograd3x3.EVEN, b).intoArray(out, even + t);
                }
                for (int t = 0; t < half; t += vector) {
                    FloatVector a = FloatVector.fromArray(SPECIES, x, from + 2 * t), b = FloatVector.fromArray(SPECIES, x, from + 2 * t + vector);
                    a.rearrange(Winograd3x3.ODD, b).intoArray(out, odd + t);
                }
            }
        }
        for (; row < rowsIn; row++) {
            int from = xOff + row * w, even = row * 2 * half, odd = even + half;
            for (int t = 0; t < w / 2; t++) {
                out[even + t] = x[from + 2 * t];
                out[odd + t] = x[from + 2 * t + 1];
            }
            if (w % 2 != 0) {
                out[even + half - 1] = x[from + w - 1];
                out[odd + half - 1] = 0f;
            }
        }
        return out;
    }

    private static int roundUp(int x, int step) { return (x + step - 1) / step * step; }

    /**
     * Rows [rLo, rHi) of the column matrix, from x (Cg, H, W) at {@code xOff}, or for stride 2 from its
     * {@link #splitColumns} halves when given: iw = 2q + shift = 2(q + shift div 2) + (shift mod 2), so a col row is
     * then a contiguous run of one half.
     */
    private void im2colRows(float[] x, int xOff, float[] halves, float[] col, int colOff, int ld, int rLo, int rHi, int y0, int y1) {
        int band = (y1 - y0) * ow, first = y0 * ow;   // this band's columns, and its first one's index in the image
        if (source != null) {
            // x is {@link #zeroTailed}: the padding's entries read its last cell. Vector gathers, a row at a time, or
            // the rows as one run where they lie back to back (2x2 maps: rows of 4)
            boolean run = band == spatial && ld == spatial;
            int rowsAtOnce = run ? rHi - rLo : 1, length = run ? (rHi - rLo) * spatial : band;
            for (int r = rLo; r < rHi; r += rowsAtOnce) {
                int e = r * spatial + first, at = colOff + r * ld, q = 0;
                for (int bound = SPECIES.loopBound(length); q < bound; q += SPECIES.length()) {
                    FloatVector.fromArray(SPECIES, x, xOff, source, e + q).intoArray(col, at + q);
                }
                for (; q < length; q++) col[at + q] = x[xOff + source[e + q]];
            }
            return;
        }
        float[] data = halves != null ? halves : x;
        int step = halves != null ? 1 : p.strideW();   // between a col row's consecutive reads
        int vector = SPECIES.length();
        for (int r = rLo; r < rHi; r++) {
            int ch = r / (kh * kw), i = r / kw % kh, j = r % kw;
            int wShift = j * p.dilationW() - p.padW(), hShift = i * p.dilationH() - p.padH();
            int owLo = firstInside(wShift, p.strideW()), owHi = lastInside(wShift, p.strideW(), w);
            // output rows of the band whose input row lies inside: ih = y*strideH + hShift in [0, H)
            int yLo = Math.max(y0, hShift >= 0 ? 0 : Math.min(oh, (-hShift + p.strideH() - 1) / p.strideH()));
            int yHi = Math.min(y1 - 1, h - 1 - hShift < 0 ? -1 : Math.min(oh - 1, (h - 1 - hShift) / p.strideH()));
            int rowAt = colOff + r * ld - first;   // output row y's columns start at rowAt + y*OW
            if (owLo > owHi || yLo > yHi) {
                Arrays.fill(col, rowAt + first, rowAt + first + band, 0f);
                continue;
            }
            Arrays.fill(col, rowAt + first, rowAt + yLo * ow, 0f);   // rows in the top padding (the bottom's come last)
            int len = owHi - owLo + 1;
            int src0 = halves != null
                    ? ((ch * h + hShift) * 2 + Math.floorMod(wShift, 2)) * half + Math.floorDiv(wShift, 2) + owLo
                    : xOff + (ch * h + hShift) * w + wShift + owLo * step;
            int srcStep = p.strideH() * (halves != null ? 2 * half : w);   // output row y reads from src0 + y*srcStep
            // One whole vector for a row shorter than one: its lanes past the row land in this band's later rows of
            // the same col row, which are written after it (small_cnn's 11-wide rows: no scalar tail). The loop stops
            // where the vector would pass the band's last row or the input's end.
            int wholeEnd = step == 1 && len <= vector ? Math.min(yHi + 1, Math.max(yLo, Math.min(
                    Math.floorDiv(first + band - owLo - vector, ow) + 1, Math.floorDiv(data.length - vector - src0, srcStep) + 1))) : yLo;
            int y = yLo;
            if (owLo == 0 && owHi == ow - 1) {   // no column padding: the tight loop
                for (; y < wholeEnd; y++) {
                    FloatVector.fromArray(SPECIES, data, src0 + y * srcStep).intoArray(col, rowAt + y * ow);
                }
            } else {
                for (; y < wholeEnd; y++) {
                    int at = rowAt + y * ow;
                    for (int q = 0; q < owLo; q++) col[at + q] = 0f;   // padding: a cell or two, not worth a call
                    FloatVector.fromArray(SPECIES, data, src0 + y * srcStep).intoArray(col, at + owLo);
                    for (int q = owHi + 1; q < ow; q++) col[at + q] = 0f;
                }
            }
            for (; y <= yHi; y++) {
                int at = rowAt + y * ow, src = src0 + y * srcStep;
                for (int q = 0; q < owLo; q++) col[at + q] = 0f;
                if (step == 1) copy(data, src, col, at + owLo, len);
                else for (int q = 0; q < len; q++) col[at + owLo + q] = data[src + q * step];
                for (int q = owHi + 1; q < ow; q++) col[at + q] = 0f;
            }
            Arrays.fill(col, rowAt + (yHi + 1) * ow, rowAt + first + band, 0f);   // after the copies: a vector may spill there
        }
    }

    /**
     * dx (Cg, H, W) at {@code dxOff} += col2im(dcol), dcol (Cg*KH*KW, OH*OW) at dcolOff with row stride ld; in parallel
     * over channels, each summing its rows in order.
     */
    void col2imParallel(float[] dcol, int dcolOff, int ld, float[] dx, int dxOff) {
        Parallel.forRange(cPerGroup, Parallel.grain(cPerGroup, Math.max(1, 4096 / Math.max(1, spatial * kh * kw))),
                (lo, hi) -> col2imChannels(dcol, dcolOff, ld, dx, dxOff, lo, hi));
    }

    /** As {@link #col2imParallel}, on the calling thread. */
    void col2im(float[] dcol, int dcolOff, int ld, float[] dx, int dxOff) {
        col2imChannels(dcol, dcolOff, ld, dx, dxOff, 0, cPerGroup);
    }

    private void col2imChannels(float[] dcol, int dcolOff, int ld, float[] dx, int dxOff, int chLo, int chHi) {
        if (source != null) {   // the same adds in the same order as the loops below
            int zero = cPerGroup * h * w;   // a padding entry
            for (int r = chLo * kh * kw; r < chHi * kh * kw; r++) {
                for (int e = r * spatial, at = dcolOff + r * ld, q = 0; q < spatial; q++) {
                    int to = source[e + q];
                    if (to < zero) dx[dxOff + to] += dcol[at + q];
                }
            }
            return;
        }
        for (int ch = chLo; ch < chHi; ch++) {
            int plane = dxOff + ch * h * w;
            for (int i = 0; i < kh; i++) {
                for (int j = 0; j < kw; j++) {
                    int r = (ch * kh + i) * kw + j;
                    int wShift = j * p.dilationW() - p.padW();
                    int owLo = firstInside(wShift, p.strideW()), owHi = lastInside(wShift, p.strideW(), w);
                    for (int y = 0; y < oh; y++) {
                        int ih = y * p.strideH() - p.padH() + i * p.dilationH();
                        if (ih < 0 || ih >= h) continue;
                        int at = dcolOff + r * ld + y * ow;
                        int dst = plane + ih * w + wShift;
                        if (p.strideW() == 1) {
                            addInto(dcol, at + owLo, dx, dst + owLo, owHi - owLo + 1);
                        } else {
                            for (int q = owLo; q <= owHi; q++) dx[dst + q * p.strideW()] += dcol[at + q];
                        }
                    }
                }
            }
        }
    }

    /** dst[d, d+len) = src[s, s+len): whole vectors and one masked tail, cheaper than arraycopy for short rows. */
    private static void copy(float[] src, int s, float[] dst, int d, int len) {
        int q = 0;
        for (int end = SPECIES.loopBound(len); q < end; q += SPECIES.length()) {
            FloatVector.fromArray(SPECIES, src, s + q).intoArray(dst, d + q);
        }
        if (q < len && len >= SPECIES.length()) {   // the tail as the row's last whole vector, over values already written
            int last = len - SPECIES.length();
            FloatVector.fromArray(SPECIES, src, s + last).intoArray(dst, d + last);
            return;
        }
        // a scalar tail, not a masked vector: masked loads near an array's end leave the intrinsic for a slow path,
        // and C2 sometimes compiled this method that way for good (resnet18 at 32x3x64x64 ran 2.5x slower in such runs)
        for (; q < len; q++) dst[d + q] = src[s + q];
    }

    /** dst[d, d+len) += src[s, s+len), element by element (each element's sum order is unchanged). */
    private static void addInto(float[] src, int s, float[] dst, int d, int len) {
        int q = 0;
        for (int end = SPECIES.loopBound(len); q < end; q += SPECIES.length()) {
            FloatVector.fromArray(SPECIES, dst, d + q).add(FloatVector.fromArray(SPECIES, src, s + q)).intoArray(dst, d + q);
        }
        for (; q < len; q++) dst[d + q] += src[s + q];   // scalar tail, as in copy
    }

    /** Smallest output column q with q*stride + wShift >= 0 (may exceed OW-1 when none). */
    private int firstInside(int wShift, int stride) {
        return wShift >= 0 ? 0 : Math.min(ow, (-wShift + stride - 1) / stride);
    }

    /** Largest output column q with q*stride + wShift <= W-1 (may be below 0 when none). */
    private int lastInside(int wShift, int stride, int width) {
        int lim = width - 1 - wShift;
        return lim < 0 ? -1 : Math.min(ow - 1, lim / stride);
    }
}
