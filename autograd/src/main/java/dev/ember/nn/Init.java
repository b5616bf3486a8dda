package dev.ember.nn;

import dev.ember.engine.EmberException;
import dev.ember.engine.Rng;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;

/**
 * Seeded weight initialization, PyTorch's {@code torch.nn.init} formulas. Each method fills {@code t} in place
 * (on any device) with values drawn in row-major order from {@code rng}, and returns {@code t}; the same seed
 * gives the same weights.
 *
 * <p>Fans of a weight (out, in, k...): fan_in = in * receptive field, fan_out = out * receptive field, where the
 * receptive field is the product of the sizes after the first two (1 for a Linear weight).
 */
public final class Init {
    private Init() {}

    /** Which fan kaiming scales by: FAN_IN keeps the forward activations' variance, FAN_OUT the gradients'. */
    public enum FanMode { FAN_IN, FAN_OUT }

    /** The nonlinearity following the layer, which sets the {@link #gain}. */
    public enum Nonlinearity { LINEAR, SIGMOID, TANH, RELU, LEAKY_RELU }

    /**
     * torch.nn.init.calculate_gain: 1 for linear/conv/sigmoid, 5/3 for tanh, sqrt(2) for relu,
     * sqrt(2 / (1 + slope^2)) for leaky relu with {@code negativeSlope}.
     */
    public static double gain(Nonlinearity nonlinearity, double negativeSlope) {
        return switch (nonlinearity) {
            case LINEAR, SIGMOID -> 1.0;
            case TANH -> 5.0 / 3.0;
            case RELU -> Math.sqrt(2.0);
            case LEAKY_RELU -> Math.sqrt(2.0 / (1 + negativeSlope * negativeSlope));
        };
    }

    public static int fanIn(Shape s) { return checkRank(s).dim(1) * receptiveField(s); }

    public static int fanOut(Shape s) { return checkRank(s).dim(0) * receptiveField(s); }

    /**
     * He et al.: U(-bound, bound), bound = gain * sqrt(3 / fan). {@code a} is the negative slope used by the gain
     * for {@link Nonlinearity#LEAKY_RELU} (ignored otherwise).
     */
    public static Tensor kaimingUniform(Tensor t, double a, FanMode mode, Nonlinearity nonlinearity, Rng rng) {
        double std = gain(nonlinearity, a) / Math.sqrt(fan(t.shape(), mode));
        double bound = Math.sqrt(3.0) * std;
        return uniform(t, -bound, bound, rng);
    }

    /** He et al.: N(0, std^2), std = gain / sqrt(fan). */
    public static Tensor kaimingNormal(Tensor t, double a, FanMode mode, Nonlinearity nonlinearity, Rng rng) {
        double std = gain(nonlinearity, a) / Math.sqrt(fan(t.shape(), mode));
        return normal(t, 0, std, rng);
    }

    /** Glorot and Bengio: U(-bound, bound), bound = gain * sqrt(6 / (fan_in + fan_out)). */
    public static Tensor xavierUniform(Tensor t, double gain, Rng rng) {
        double bound = gain * Math.sqrt(6.0 / (fanIn(t.shape()) + fanOut(t.shape())));
        return uniform(t, -bound, bound, rng);
    }

    /** Glorot and Bengio: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)). */
    public static Tensor xavierNormal(Tensor t, double gain, Rng rng) {
        double std = gain * Math.sqrt(2.0 / (fanIn(t.shape()) + fanOut(t.shape())));
        return normal(t, 0, std, rng);
    }

    /**
     * PyTorch's default for Linear and Conv2d ({@code reset_parameters}): weight by kaiming_uniform with a = sqrt(5),
     * which works out to U(-1/sqrt(fan_in), 1/sqrt(fan_in)), then bias (may be null) from the same range. The weight
     * is drawn first, then the bias, from {@code rng}.
     */
    public static void layerDefault(Tensor weight, Tensor bias, Rng rng) {
        kaimingUniform(weight, Math.sqrt(5), FanMode.FAN_IN, Nonlinearity.LEAKY_RELU, rng);
        if (bias != null) {
            int fanIn = fanIn(weight.shape());
            double bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
            uniform(bias, -bound, bound, rng);
        }
    }

    /** U(lo, hi). */
    public static Tensor uniform(Tensor t, double lo, double hi, Rng rng) {
        return fill(t, Tensor.rand(rng, (float) lo, (float) hi, t.dims()));
    }

    /** N(mean, std^2). */
    public static Tensor normal(Tensor t, double mean, double std, Rng rng) {
        Tensor z = Tensor.randn(rng, (float) std, t.dims());
        return fill(t, mean == 0 ? z : z.add((float) mean));
    }

    public static Tensor constant(Tensor t, float value) {
        return fill(t, Tensor.full(value, t.dims()));
    }

    private static Tensor fill(Tensor t, Tensor values) {
        t.copyFrom(values.to(t.device()));
        return t;
    }

    private static int fan(Shape s, FanMode mode) {
        int fan = mode == FanMode.FAN_IN ? fanIn(s) : fanOut(s);
        if (fan == 0) throw new EmberException("cannot initialize a tensor of shape " + s + " by its fan: the fan is 0");
        return fan;
    }

    private static Shape checkRank(Shape s) {
        if (s.rank() < 2) throw new EmberException("fan in and fan out need a tensor of rank >= 2, got shape " + s);
        return s;
    }

    private static int receptiveField(Shape s) {
        int r = 1;
        for (int i = 2; i < s.rank(); i++) r *= s.dim(i);
        return r;
    }
}
