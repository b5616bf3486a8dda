package dev.ember.kernels.cpu;

import static dev.ember.kernels.cpu.SgemmKernel.MR;
import static dev.ember.kernels.cpu.SgemmKernel.NR;

import java.util.Arrays;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Packing for {@link Sgemm}: copies a block of A or B, in any strided layout, into the order the microkernel
 * reads, zero-padding the edges.
 *
 * <pre>
 *   A strip (kc, MR): dst[p*MR + r] = A[row0 + r, p0 + p]      one column of A per step
 *   B strip (kc, NR): dst[p*NR + j] = B[p0 + p, col0 + j]      one row of B per step
 * </pre>
 * (A last B strip of at most L columns is packed (kc, L) instead, for {@link SgemmKernel#blockHalf}.)
 * Two of the four layouts are plain copies (column-major A, row-major B). The other two are transposes:
 * row-major A (the usual x in x·W) and column-major B (W^T in x·W^T, col^T in a convolution's weight gradient).
 * Those load whole rows as vectors and transpose 8x16 or 16x16 blocks in registers with two-source lane
 * selects ({@code selectFrom}, one vpermt2ps each), about 4x faster than an element-by-element gather.
 * The transposes move values only, so packing never changes a result.
 */
final class SgemmPack {
    static final VectorSpecies<Float> SPECIES = SgemmKernel.SPECIES;
    static final int L = SgemmKernel.L;

    // Two-source select indices: lane i takes lane idx[i] of (v1 ++ v2), so 0..15 pick from v1 and 16..31 from v2.
    // LO_g / HI_g interleave v1 and v2 in groups of g lanes, from their low / high halves:
    //   LO_1 = v1[0] v2[0] v1[1] v2[1] ... v1[7] v2[7]      HI_1 = the same from lanes 8..15
    //   LO_2 = v1[0,1] v2[0,1] v1[2,3] v2[2,3] ...           and so on; one stage per g doubles the rows kept together.
    // The lanes are moved as ints (a free reinterpretation): int indices select directly, where float indices
    // would be converted on every select (measured 20-40% slower).
    private static final VectorSpecies<Integer> LANES = SPECIES.withLanes(int.class);
    static final IntVector LO_1 = interleave(1, 0), HI_1 = interleave(1, 1);
    static final IntVector LO_2 = interleave(2, 0), HI_2 = interleave(2, 1);
    static final IntVector LO_4 = interleave(4, 0), HI_4 = interleave(4, 1);
    static final IntVector LO_8 = interleave(8, 0), HI_8 = interleave(8, 1);

    private SgemmPack() {}

    /** Whether the vector transposes apply: they are written for 16-lane vectors (AVX-512) with MR = 8, NR = 32. */
    static final boolean TRANSPOSES = L == 16 && MR == 8 && NR == 2 * L;

    /** A rows [row0, row0+rows) x columns [p0, p0+kc) into dst at d0 as (kc, MR), zero rows past {@code rows}. */
    static void packA(float[] a, int aOff, int aRow, int aCol, int row0, int rows, int p0, int kc, float[] dst, int d0) {
        if (aRow == 1 && rows == MR) { // column-major A (a transposed view): each step's MR values are adjacent
            int src = aOff + row0 + p0 * aCol;
            for (int p = 0; p < kc; p++) System.arraycopy(a, src + p * aCol, dst, d0 + p * MR, MR);
            return;
        }
        int p = 0;
        if (aCol == 1 && rows == MR && TRANSPOSES) { // row-major A: transpose (MR, 16) blocks
            int src = aOff + row0 * aRow + p0;
            for (; p + L <= kc; p += L) transpose8x16(a, src + p, aRow, dst, d0 + p * MR);
        }
        if (rows == MR && aCol != 1) {   // any other full strip (TapConv's every-ninth-float taps): one step at a time
            int src = aOff + row0 * aRow + p0 * aCol;
            for (int q = p; q < kc; q++) {
                int s = src + q * aCol, d = d0 + q * MR;
                dst[d] = a[s];
                dst[d + 1] = a[s + aRow];
                dst[d + 2] = a[s + 2 * aRow];
                dst[d + 3] = a[s + 3 * aRow];
                dst[d + 4] = a[s + 4 * aRow];
                dst[d + 5] = a[s + 5 * aRow];
                dst[d + 6] = a[s + 6 * aRow];
                dst[d + 7] = a[s + 7 * aRow];
            }
            return;
        }
        for (int r = 0; r < rows; r++) {
            int src = aOff + (row0 + r) * aRow + p0 * aCol;
            for (int q = p; q < kc; q++) dst[d0 + q * MR + r] = a[src + q * aCol];
        }
        for (int r = rows; r < MR; r++) {
            for (int q = p; q < kc; q++) dst[d0 + q * MR + r] = 0f;
        }
    }

    /** Row width of a packed B strip holding {@code cols} columns: NR, or L for a last strip of at most L columns. */
    static int width(int cols) { return cols <= L ? L : NR; }

    /**
     * B rows [p0, p0+kc) x columns [col0, col0+cols) into dst at d0 as (kc, w) with w = {@link #width}(cols),
     * zero columns past {@code cols}.
     */
    static void packB(float[] b, int bOff, int bRow, int bCol, int p0, int kc, int col0, int cols, float[] dst, int d0) {
        int w = width(cols);
        if (bCol == 1 && cols == w) { // row-major B: each step's w values are adjacent
            for (int p = 0; p < kc; p++) {
                int src = bOff + (p0 + p) * bRow + col0;
                for (int j = 0; j < w; j += L) FloatVector.fromArray(SPECIES, b, src + j).intoArray(dst, d0 + p * w + j);
            }
            return;
        }
        if (bCol == 1) {
            for (int p = 0; p < kc; p++) {
                int src = bOff + (p0 + p) * bRow + col0, d = d0 + p * w;
                System.arraycopy(b, src, dst, d, cols);
                Arrays.fill(dst, d + cols, d + w, 0f);
            }
            return;
        }
        int p = 0;
        if (bRow == 1 && cols == w && TRANSPOSES) { // column-major B: transpose (16, 16) blocks
            int src = bOff + col0 * bCol + p0;
            for (; p + L <= kc; p += L) {
                for (int j = 0; j < w; j += L) transpose16x16(b, src + j * bCol + p, bCol, dst, d0 + p * w + j, w);
            }
        }
        for (int j = 0; j < cols; j++) {
            int src = bOff + p0 * bRow + (col0 + j) * bCol;
            for (int q = p; q < kc; q++) dst[d0 + q * w + j] = b[src + q * bRow];
        }
        for (int q = p; q < kc; q++) Arrays.fill(dst, d0 + q * w + cols, d0 + q * w + w, 0f);
    }

    /**
     * Rows x[s + r*ld .. +16) for r = 0..7 into dst (16, 8) at d: dst[d + q*8 + r] = x[s + r*ld + q].
     * Stage g interleaves groups of g lanes; after three stages each output vector holds two steps q.
     */
    private static void transpose8x16(float[] x, int s, int ld, float[] dst, int d) {
        IntVector r0 = load(x, s), r1 = load(x, s + ld);
        IntVector r2 = load(x, s + 2 * ld), r3 = load(x, s + 3 * ld);
        IntVector r4 = load(x, s + 4 * ld), r5 = load(x, s + 5 * ld);
        IntVector r6 = load(x, s + 6 * ld), r7 = load(x, s + 7 * ld);
        // rows {0,1}, {2,3}, ... side by side: a0 = steps 0-7, a1 = steps 8-15 of rows 0,1
        IntVector a0 = LO_1.selectFrom(r0, r1), a1 = HI_1.selectFrom(r0, r1);
        IntVector a2 = LO_1.selectFrom(r2, r3), a3 = HI_1.selectFrom(r2, r3);
        IntVector a4 = LO_1.selectFrom(r4, r5), a5 = HI_1.selectFrom(r4, r5);
        IntVector a6 = LO_1.selectFrom(r6, r7), a7 = HI_1.selectFrom(r6, r7);
        // rows 0-3 and 4-7 together: b0..b3 = steps 0-3, 4-7, 8-11, 12-15 of rows 0-3; b4..b7 of rows 4-7
        IntVector b0 = LO_2.selectFrom(a0, a2), b1 = HI_2.selectFrom(a0, a2);
        IntVector b2 = LO_2.selectFrom(a1, a3), b3 = HI_2.selectFrom(a1, a3);
        IntVector b4 = LO_2.selectFrom(a4, a6), b5 = HI_2.selectFrom(a4, a6);
        IntVector b6 = LO_2.selectFrom(a5, a7), b7 = HI_2.selectFrom(a5, a7);
        // all 8 rows: output vector i = steps 2i, 2i+1
        LO_4.selectFrom(b0, b4).reinterpretAsFloats().intoArray(dst, d);
        HI_4.selectFrom(b0, b4).reinterpretAsFloats().intoArray(dst, d + 16);
        LO_4.selectFrom(b1, b5).reinterpretAsFloats().intoArray(dst, d + 32);
        HI_4.selectFrom(b1, b5).reinterpretAsFloats().intoArray(dst, d + 48);
        LO_4.selectFrom(b2, b6).reinterpretAsFloats().intoArray(dst, d + 64);
        HI_4.selectFrom(b2, b6).reinterpretAsFloats().intoArray(dst, d + 80);
        LO_4.selectFrom(b3, b7).reinterpretAsFloats().intoArray(dst, d + 96);
        HI_4.selectFrom(b3, b7).reinterpretAsFloats().intoArray(dst, d + 112);
    }

    /** Rows x[s + r*ld .. +16) for r = 0..15 into dst at d with row stride dld: dst[d + q*dld + r] = x[s + r*ld + q]. */
    static void transpose16x16(float[] x, int s, int ld, float[] dst, int d, int dld) {
        IntVector r0 = load(x, s), r1 = load(x, s + ld);
        IntVector r2 = load(x, s + 2 * ld), r3 = load(x, s + 3 * ld);
        IntVector r4 = load(x, s + 4 * ld), r5 = load(x, s + 5 * ld);
        IntVector r6 = load(x, s + 6 * ld), r7 = load(x, s + 7 * ld);
        IntVector r8 = load(x, s + 8 * ld), r9 = load(x, s + 9 * ld);
        IntVector r10 = load(x, s + 10 * ld), r11 = load(x, s + 11 * ld);
        IntVector r12 = load(x, s + 12 * ld), r13 = load(x, s + 13 * ld);
        IntVector r14 = load(x, s + 14 * ld), r15 = load(x, s + 15 * ld);
        // pairs of rows: a(2i) = steps 0-7, a(2i+1) = steps 8-15 of rows 2i', 2i'+1
        IntVector a0 = LO_1.selectFrom(r0, r1), a1 = HI_1.selectFrom(r0, r1);
        IntVector a2 = LO_1.selectFrom(r2, r3), a3 = HI_1.selectFrom(r2, r3);
        IntVector a4 = LO_1.selectFrom(r4, r5), a5 = HI_1.selectFrom(r4, r5);
        IntVector a6 = LO_1.selectFrom(r6, r7), a7 = HI_1.selectFrom(r6, r7);
        IntVector a8 = LO_1.selectFrom(r8, r9), a9 = HI_1.selectFrom(r8, r9);
        IntVector a10 = LO_1.selectFrom(r10, r11), a11 = HI_1.selectFrom(r10, r11);
        IntVector a12 = LO_1.selectFrom(r12, r13), a13 = HI_1.selectFrom(r12, r13);
        IntVector a14 = LO_1.selectFrom(r14, r15), a15 = HI_1.selectFrom(r14, r15);
        // groups of 4 rows: steps 0-3, 4-7, 8-11, 12-15
        IntVector b0 = LO_2.selectFrom(a0, a2), b1 = HI_2.selectFrom(a0, a2);
        IntVector b2 = LO_2.selectFrom(a1, a3), b3 = HI_2.selectFrom(a1, a3);
        IntVector b4 = LO_2.selectFrom(a4, a6), b5 = HI_2.selectFrom(a4, a6);
        IntVector b6 = LO_2.selectFrom(a5, a7), b7 = HI_2.selectFrom(a5, a7);
        IntVector b8 = LO_2.selectFrom(a8, a10), b9 = HI_2.selectFrom(a8, a10);
        IntVector b10 = LO_2.selectFrom(a9, a11), b11 = HI_2.selectFrom(a9, a11);
        IntVector b12 = LO_2.selectFrom(a12, a14), b13 = HI_2.selectFrom(a12, a14);
        IntVector b14 = LO_2.selectFrom(a13, a15), b15 = HI_2.selectFrom(a13, a15);
        // groups of 8 rows: c(i) = steps 2i, 2i+1 of rows 0-7; c(8+i) the same of rows 8-15
        IntVector c0 = LO_4.selectFrom(b0, b4), c1 = HI_4.selectFrom(b0, b4);
        IntVector c2 = LO_4.selectFrom(b1, b5), c3 = HI_4.selectFrom(b1, b5);
        IntVector c4 = LO_4.selectFrom(b2, b6), c5 = HI_4.selectFrom(b2, b6);
        IntVector c6 = LO_4.selectFrom(b3, b7), c7 = HI_4.selectFrom(b3, b7);
        IntVector c8 = LO_4.selectFrom(b8, b12), c9 = HI_4.selectFrom(b8, b12);
        IntVector c10 = LO_4.selectFrom(b9, b13), c11 = HI_4.selectFrom(b9, b13);
        IntVector c12 = LO_4.selectFrom(b10, b14), c13 = HI_4.selectFrom(b10, b14);
        IntVector c14 = LO_4.selectFrom(b11, b15), c15 = HI_4.selectFrom(b11, b15);
        // all 16 rows: step q
        LO_8.selectFrom(c0, c8).reinterpretAsFloats().intoArray(dst, d);
        HI_8.selectFrom(c0, c8).reinterpretAsFloats().intoArray(dst, d + dld);
        LO_8.selectFrom(c1, c9).reinterpretAsFloats().intoArray(dst, d + 2 * dld);
        HI_8.selectFrom(c1, c9).reinterpretAsFloats().intoArray(dst, d + 3 * dld);
        LO_8.selectFrom(c2, c10).reinterpretAsFloats().intoArray(dst, d + 4 * dld);
        HI_8.selectFrom(c2, c10).reinterpretAsFloats().intoArray(dst, d + 5 * dld);
        LO_8.selectFrom(c3, c11).reinterpretAsFloats().intoArray(dst, d + 6 * dld);
        HI_8.selectFrom(c3, c11).reinterpretAsFloats().intoArray(dst, d + 7 * dld);
        LO_8.selectFrom(c4, c12).reinterpretAsFloats().intoArray(dst, d + 8 * dld);
        HI_8.selectFrom(c4, c12).reinterpretAsFloats().intoArray(dst, d + 9 * dld);
        LO_8.selectFrom(c5, c13).reinterpretAsFloats().intoArray(dst, d + 10 * dld);
        HI_8.selectFrom(c5, c13).reinterpretAsFloats().intoArray(dst, d + 11 * dld);
        LO_8.selectFrom(c6, c14).reinterpretAsFloats().intoArray(dst, d + 12 * dld);
        HI_8.selectFrom(c6, c14).reinterpretAsFloats().intoArray(dst, d + 13 * dld);
        LO_8.selectFrom(c7, c15).reinterpretAsFloats().intoArray(dst, d + 14 * dld);
        HI_8.selectFrom(c7, c15).reinterpretAsFloats().intoArray(dst, d + 15 * dld);
    }

    private static IntVector load(float[] x, int at) {
        return FloatVector.fromArray(SPECIES, x, at).reinterpretAsInts();
    }

    /** Select indices that interleave two vectors in groups of {@code g} lanes, from the low (half 0) or high half. */
    private static IntVector interleave(int g, int half) {
        int[] idx = new int[LANES.length()];
        int base = half * idx.length / 2;
        for (int i = 0; i < idx.length; i++) {
            int group = i / g, within = i % g;
            int from = group % 2 == 0 ? 0 : idx.length;                // even groups from v1, odd from v2
            idx[i] = from + base + (group / 2) * g + within;
        }
        return IntVector.fromArray(LANES, idx, 0);
    }
}
