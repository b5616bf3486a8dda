package dev.ember.kernels.reference;

import dev.ember.engine.BinaryOp;
import dev.ember.engine.UnaryOp;

/** The scalar definition of every elementwise op, in double, with a series/continued-fraction erf. */
final class ReferenceMath {
    private static final double TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
    private static final double INV_SQRT_2 = 1 / Math.sqrt(2);
    private static final double INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

    private ReferenceMath() {}

    static double unary(UnaryOp op, double x) {
        return switch (op) {
            case NEG -> -x;
            case ABS -> Math.abs(x);
            case SQUARE -> x * x;
            case SQRT -> Math.sqrt(x);
            case RECIPROCAL -> 1 / x;
            case EXP -> Math.exp(x);
            case LOG -> Math.log(x);
            case RELU -> Math.max(x, 0);
            case STEP -> x > 0 ? 1 : 0;
            case SIGN -> Math.signum(x);
            case SIGMOID -> 1 / (1 + Math.exp(-x));
            case TANH -> Math.tanh(x);
            case ERF -> erf(x);
            case GELU -> x * phiCdf(x);
            case GELU_GRAD -> phiCdf(x) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
        };
    }

    static double binary(BinaryOp op, double a, double b) {
        return switch (op) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> a / b;
            case POW -> Math.pow(a, b);
            case MAX -> Math.max(a, b);
            case MIN -> Math.min(a, b);
            case EQ -> a == b ? 1 : 0;
            case LT -> a < b ? 1 : 0;
            case GT -> a > b ? 1 : 0;
        };
    }

    /** Phi(x), the standard normal CDF, through erfc on the left so the tail keeps its relative accuracy. */
    static double phiCdf(double x) {
        double u = x * INV_SQRT_2;
        return u >= 0 ? 1 - 0.5 * erfc(u) : 0.5 * erfc(-u);
    }

    /**
     * erf by its Maclaurin series below |x| = 2.5 (terms stay under e^6.25, so cancellation costs under 3 digits of
     * a double), and as 1 - erfc above.
     */
    static double erf(double x) {
        if (Double.isNaN(x)) return x;
        double ax = Math.abs(x);
        double r = ax < 2.5 ? series(ax) : 1 - erfc(ax);
        return x < 0 ? -r : r;
    }

    /** erfc(z) for z >= 0: 1 - series below 2.5, else the continued fraction evaluated backwards from a fixed depth. */
    static double erfc(double z) {
        if (z < 2.5) return 1 - series(z);
        if (z > 27) return 0;   // e^(-z^2) underflows
        // erfc(z) = e^(-z^2)/sqrt(pi) / (z + (1/2)/(z + 1/(z + (3/2)/(z + 2/(z + ...)))))
        double t = z;
        for (int k = 120; k >= 1; k--) t = z + (k / 2.0) / t;
        return Math.exp(-z * z) / Math.sqrt(Math.PI) / t;
    }

    /** erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1)). */
    private static double series(double x) {
        double x2 = x * x, term = x, sum = x;
        for (int n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
            term *= -x2 / n;
            sum += term / (2 * n + 1);
        }
        return TWO_OVER_SQRT_PI * sum;
    }
}
