package dev.ember.autograd;

import dev.ember.engine.DType;
import dev.ember.engine.DTypeException;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;

import java.util.function.Function;

/**
 * Numeric gradient check: compares the analytic gradients of {@code f(inputs)} (one backward pass) with central
 * finite differences, for every element of every input. A non-scalar output is reduced to the scalar
 * L = sum(f(x) * r) with a fixed random r in [0.5, 1.5) times a random sign, so an error in any output element
 * shows and errors of opposite sign do not cancel.
 *
 * <p>Precision: the math is float32, so eps is large (default 1e-2) and the tolerance loose, an element passes when
 * |analytic - numeric| <= atol + rtol * max(|analytic|, |numeric|) (defaults 2e-3 and 2e-2). That still fails a
 * wrong sign, a missing term or a factor of 2. Keep inputs of order 1 and at least a few eps away from kinks
 * (relu at 0, ties of max) and poles (log, sqrt, div near 0).
 *
 * <p>Order of use: {@code GradCheck.check(v -> F.linear(v[0], v[1], v[2]), x, w, b)} in a test; it throws an
 * {@link AssertionError} naming the worst element. {@link #compare} returns the same report without throwing.
 */
public final class GradCheck {
    public static final double DEFAULT_EPS = 1e-2;
    public static final double DEFAULT_ATOL = 2e-3;
    public static final double DEFAULT_RTOL = 2e-2;

    private GradCheck() {}

    /**
     * The worst element over all inputs: input number {@code input}, row-major element {@code index},
     * the two gradient values there and how far over the tolerance they are ({@code excess} > 1 fails).
     */
    public record Report(int input, int index, double analytic, double numeric, double excess) {
        public boolean passed() { return excess <= 1; }

        @Override public String toString() {
            return String.format("worst gradient element: input %d, element %d: analytic %.6g, numeric %.6g (%.2fx the tolerance)",
                    input, index, analytic, numeric, excess);
        }
    }

    /** Checks with the default eps and tolerances; throws AssertionError on a mismatch. */
    public static void check(Function<Variable[], Variable> f, Tensor... inputs) {
        check(f, DEFAULT_EPS, DEFAULT_ATOL, DEFAULT_RTOL, inputs);
    }

    public static void check(Function<Variable[], Variable> f, double eps, double atol, double rtol, Tensor... inputs) {
        Report r = compare(f, eps, atol, rtol, inputs);
        if (!r.passed()) throw new AssertionError("gradient check failed: " + r);
    }

    /** Compares every element of every input and reports the worst one. Inputs must be float32; they are not changed. */
    public static Report compare(Function<Variable[], Variable> f, double eps, double atol, double rtol, Tensor... inputs) {
        float[][] values = new float[inputs.length][];
        for (int i = 0; i < inputs.length; i++) {
            if (inputs[i].dtype() != DType.FLOAT32) throw new DTypeException("GradCheck input " + i + " must be float32, got " + inputs[i].dtype());
            values[i] = inputs[i].toFloatArray();
        }

        // analytic: one backward pass seeded with r
        Variable[] params = new Variable[inputs.length];
        for (int i = 0; i < inputs.length; i++) params[i] = Variable.param(tensor(values[i], inputs[i]));
        Variable out = f.apply(params);
        Tensor r = projection(out.shape().numel(), out.shape().dims());
        float[] rValues = r.toFloatArray();
        out.backward(r.to(out.data().device()));

        Report worst = new Report(-1, -1, 0, 0, 0);
        for (int i = 0; i < inputs.length; i++) {
            float[] analytic = params[i].grad() == null ? new float[values[i].length] : params[i].grad().toFloatArray();
            for (int j = 0; j < values[i].length; j++) {
                // the step actually taken, after rounding the moved values to float32
                float up = (float) (values[i][j] + eps), down = (float) (values[i][j] - eps);
                double lossUp = projected(f, values, inputs, rValues, i, j, up);
                double lossDown = projected(f, values, inputs, rValues, i, j, down);
                double numeric = (lossUp - lossDown) / ((double) up - down);
                double a = analytic[j];
                double excess = Math.abs(a - numeric) / (atol + rtol * Math.max(Math.abs(a), Math.abs(numeric)));
                if (Double.isNaN(excess)) excess = Double.POSITIVE_INFINITY;
                if (excess > worst.excess() || worst.input() < 0) worst = new Report(i, j, a, numeric, excess);
            }
        }
        return worst;
    }

    /** L = sum(f(x) r) in double, with element j of input i set to {@code value}; evaluated without a graph. */
    private static double projected(Function<Variable[], Variable> f, float[][] values, Tensor[] like, float[] r, int i, int j, float value) {
        Variable[] vars = new Variable[values.length];
        for (int k = 0; k < values.length; k++) {
            float[] v = values[k];
            if (k == i) {
                v = v.clone();
                v[j] = value;
            }
            vars[k] = Variable.of(tensor(v, like[k]));
        }
        float[] y;
        try (NoGrad ignored = NoGrad.enter()) {
            y = f.apply(vars).data().toFloatArray();
        }
        double sum = 0;
        for (int k = 0; k < y.length; k++) sum += (double) y[k] * r[k];
        return sum;
    }

    private static Tensor tensor(float[] values, Tensor like) {
        return Tensor.of(values.clone(), like.dims()).to(like.device());
    }

    /** Fixed weights of magnitude in [0.5, 1.5) and random sign: none near 0, so no output element goes unchecked. */
    private static Tensor projection(int n, int[] dims) {
        Rng rng = new Rng(0x5eedL);
        float[] r = new float[n];
        for (int k = 0; k < n; k++) r[k] = (float) ((0.5 + rng.nextDouble()) * (rng.nextDouble() < 0.5 ? -1 : 1));
        return Tensor.of(r, dims);
    }
}
