package dev.ember.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * exp, erf and the normal CDF Phi over float32 arrays, built only from +, *, fma, compares and bit moves, with
 * scalar twins doing the same arithmetic for loop tails. Own code rather than the Vector API's EXP because
 * that one may round differently while a loop is interpreted than once it is compiled, and compilation happens at
 * no fixed moment: these results are the same bits every run.
 *
 * <pre>
 *   exp(x)  = 2^n * e^r, n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2], e^r by its Taylor series to r^7
 *             (truncation &lt; 6e-9 relative); results below 2.5e-38 flush to 0
 *   erf(u)  = u * P(u^2) for |u| &lt; 1, the Maclaurin series of erf to u^21 (truncation &lt; 1e-9)
 *   erfc(u) = t * exp(Q(t) - u^2), t = 1/(1 + u/2), for |u| &gt;= 1 (Numerical Recipes' erfcc, relative error &lt; 1.2e-7)
 * </pre>
 * erf is within 2e-7 of the true value everywhere. Phi(x) = (1 + erf(x/sqrt 2))/2 is taken from erfc on the far
 * side, so the left tail keeps its relative accuracy instead of vanishing in 1 - (1 - small).
 *
 * <p>Every method works on arrays and no vector is passed to or returned from a call: C2 declines to inline a
 * helper it has already compiled on its own when that is big, and a vector crossing such a call is boxed on the
 * heap (ten times slower). erf and Phi therefore run as passes over a block: exponents, exp in place, combine.
 */
final class CpuMath {
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    /** Elements per pass of erf and Phi (two scratch arrays of this size stay in L1). */
    private static final int BLOCK = 512;

    private static final float INV_SQRT_2 = (float) (1 / Math.sqrt(2));
    private static final float LOG2E = 1.44269504f;
    // ln 2 split in two (Cody-Waite) so n * LN2_HI is exact for the n that occur
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** 1.5 * 2^23: adding it rounds a float of magnitude below 2^22 to an integer, which lands in the low mantissa bits. */
    private static final float ROUNDER = 12582912f;
    private static final int ROUNDER_BITS = Float.floatToRawIntBits(ROUNDER);
    /** Below this exp is under 2.5e-38 and is flushed to 0; above the top it overflows to infinity by itself. */
    private static final float EXP_LOW = -86.6f, EXP_HIGH = 88.8f;
    // 1/k! for k = 7 down to 0
    private static final float[] EXP_TAYLOR = {1.98412698e-4f, 1.38888889e-3f, 8.33333333e-3f, 4.16666667e-2f, 0.166666667f, 0.5f, 1f, 1f};

    // erf(u)/u = sum_n (2/sqrt(pi)) (-1)^n u^(2n) / (n! (2n+1)), highest power first
    private static final float[] ERF_SERIES = {
        1.4807192816e-08f, -1.6365844691e-07f, 1.6462114366e-06f, -1.4925650358e-05f, 1.2055332982e-04f, -8.5483270235e-04f,
        5.2239776254e-03f, -2.6866170645e-02f, 1.1283791671e-01f, -3.7612638903e-01f, 1.1283791671e+00f
    };
    // Q(t) of erfcc, highest power first
    private static final float[] ERFC_TAIL = {
        0.17087277f, -0.82215223f, 1.48851587f, -1.13520398f, 0.27886807f, -0.18628806f, 0.09678418f, 0.37409196f,
        1.00002368f, -1.26551223f
    };

    private CpuMath() {}

    /** y[yo + i] = e^x[xo + i] for i in [0, n); x and y may be the same range (in place). */
    static void exp(float[] x, int xo, float[] y, int yo, int n) {
        FloatVector log2e = FloatVector.broadcast(SPECIES, LOG2E), rounder = FloatVector.broadcast(SPECIES, ROUNDER);
        FloatVector ln2Hi = FloatVector.broadcast(SPECIES, -LN2_HI), ln2Lo = FloatVector.broadcast(SPECIES, -LN2_LO);
        int i = 0;
        for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
            FloatVector v = FloatVector.fromArray(SPECIES, x, xo + i);
            FloatVector xc = v.max(EXP_LOW).min(EXP_HIGH);
            FloatVector t = xc.fma(log2e, rounder);        // round(x / ln 2) in the low bits of t
            FloatVector k = t.sub(ROUNDER);
            FloatVector r = k.fma(ln2Lo, k.fma(ln2Hi, xc));
            FloatVector p = FloatVector.broadcast(SPECIES, EXP_TAYLOR[0]);
            for (int j = 1; j < EXP_TAYLOR.length; j++) p = p.fma(r, FloatVector.broadcast(SPECIES, EXP_TAYLOR[j]));
            // 2^(k-1) from its exponent bits (k - 1 + 127) << 23, then * 2: k = 128 still gives a finite 2^127 first
            FloatVector half = t.reinterpretAsInts().sub(ROUNDER_BITS - 126).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector e = p.mul(half).mul(2f).blend(0f, v.compare(VectorOperators.LT, EXP_LOW));
            e.blend(v, v.test(VectorOperators.IS_NAN)).intoArray(y, yo + i);
        }
        for (; i < n; i++) y[yo + i] = exp(x[xo + i]);
    }

    /** y[yo + i] = erf(x[xo + i]) for i in [0, n). */
    static void erf(float[] x, int xo, float[] y, int yo, int n) { erfOrPhi(x, xo, y, yo, n, false); }

    /** y[yo + i] = Phi(x[xo + i]) = P(X &lt;= x) for a standard normal X, for i in [0, n). */
    static void normalCdf(float[] x, int xo, float[] y, int yo, int n) { erfOrPhi(x, xo, y, yo, n, true); }

    /** erf(x), or with {@code phi} Phi(x) = erf(x/sqrt 2)/2 + 1/2 with the tail from erfc. */
    private static void erfOrPhi(float[] x, int xo, float[] y, int yo, int n, boolean phi) {
        float scale = phi ? INV_SQRT_2 : 1f;
        FloatVector one = FloatVector.broadcast(SPECIES, 1f), half = FloatVector.broadcast(SPECIES, 0.5f);
        float[] t = new float[Math.min(n, BLOCK)], e = new float[t.length];   // t = 1/(1 + z/2), e = erfc(z)/t
        for (int from = 0; from < n; from += BLOCK) {
            int m = Math.min(BLOCK, n - from), bound = SPECIES.loopBound(m), i;
            // pass 1: t and the exponent Q(t) - z^2 of erfc(z), z = |u|
            for (i = 0; i < bound; i += SPECIES.length()) {
                FloatVector z = FloatVector.fromArray(SPECIES, x, xo + from + i).mul(scale).abs();
                FloatVector tv = one.div(z.fma(half, one));
                FloatVector q = FloatVector.broadcast(SPECIES, ERFC_TAIL[0]);
                for (int j = 1; j < ERFC_TAIL.length; j++) q = q.fma(tv, FloatVector.broadcast(SPECIES, ERFC_TAIL[j]));
                tv.intoArray(t, i);
                q.sub(z.mul(z)).intoArray(e, i);
            }
            // pass 2: the exponential, in place
            exp(e, 0, e, 0, bound);
            // pass 3: the series near 0, erfc beyond, blended by |u| < 1
            for (i = 0; i < bound; i += SPECIES.length()) {
                FloatVector u = FloatVector.fromArray(SPECIES, x, xo + from + i).mul(scale);
                FloatVector u2 = u.mul(u);
                FloatVector p = FloatVector.broadcast(SPECIES, ERF_SERIES[0]);
                for (int j = 1; j < ERF_SERIES.length; j++) p = p.fma(u2, FloatVector.broadcast(SPECIES, ERF_SERIES[j]));
                FloatVector near = u.mul(p);
                FloatVector erfc = FloatVector.fromArray(SPECIES, t, i).mul(FloatVector.fromArray(SPECIES, e, i));
                FloatVector far;
                if (phi) {
                    near = near.fma(half, half);
                    FloatVector lower = erfc.mul(0.5f);   // Phi(-|x|)
                    far = lower.blend(one.sub(lower), u.compare(VectorOperators.GE, 0f));
                } else {
                    far = one.sub(erfc);
                    far = far.blend(far.neg(), u.compare(VectorOperators.LT, 0f));
                }
                far = far.blend(near, u.abs().compare(VectorOperators.LT, 1f));
                far.blend(u, u.test(VectorOperators.IS_NAN)).intoArray(y, yo + from + i);
            }
            for (i = bound; i < m; i++) y[yo + from + i] = phi ? normalCdf(x[xo + from + i]) : erf(x[xo + from + i]);
        }
    }

    /** The lanes of {@code v} added left to right (a fixed order, unlike {@code reduceLanes(ADD)}). */
    static float laneSum(FloatVector v) {
        float[] lanes = v.toArray();
        float s = 0;
        for (float f : lanes) s += f;
        return s;
    }

    // ---- scalar twins ----

    static float exp(float x) {
        if (Float.isNaN(x)) return x;
        if (x < EXP_LOW) return 0f;
        float xc = Math.min(x, EXP_HIGH);
        float t = Math.fma(xc, LOG2E, ROUNDER);
        float k = t - ROUNDER;
        float r = Math.fma(k, -LN2_LO, Math.fma(k, -LN2_HI, xc));
        float p = EXP_TAYLOR[0];
        for (int j = 1; j < EXP_TAYLOR.length; j++) p = Math.fma(p, r, EXP_TAYLOR[j]);
        float half = Float.intBitsToFloat((Float.floatToRawIntBits(t) - (ROUNDER_BITS - 126)) << 23);
        return p * half * 2f;
    }

    static float erf(float u) {
        if (Float.isNaN(u)) return u;
        float z = Math.abs(u);
        if (z < 1f) return u * erfSeries(u * u);
        float r = 1f - erfc(z);
        return u < 0 ? -r : r;
    }

    static float normalCdf(float x) {
        float u = x * INV_SQRT_2;
        if (Float.isNaN(u)) return u;
        float z = Math.abs(u);
        if (z < 1f) return Math.fma(u * erfSeries(u * u), 0.5f, 0.5f);
        float lower = erfc(z) * 0.5f;
        return u >= 0 ? 1f - lower : lower;
    }

    private static float erfSeries(float u2) {
        float p = ERF_SERIES[0];
        for (int j = 1; j < ERF_SERIES.length; j++) p = Math.fma(p, u2, ERF_SERIES[j]);
        return p;
    }

    /** erfc(z) for z &gt;= 0 by erfcc (used for z &gt;= 1). */
    private static float erfc(float z) {
        float t = 1f / Math.fma(z, 0.5f, 1f);
        float q = ERFC_TAIL[0];
        for (int j = 1; j < ERFC_TAIL.length; j++) q = Math.fma(q, t, ERFC_TAIL[j]);
        return t * exp(q - z * z);
    }
}
