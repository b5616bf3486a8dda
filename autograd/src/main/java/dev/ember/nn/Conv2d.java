package dev.ember.nn;

import dev.ember.autograd.F;
import dev.ember.autograd.Variable;
import dev.ember.engine.Conv2dParams;
import dev.ember.engine.EmberException;
import dev.ember.engine.Rng;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;

/**
 * y (N, OC, OH, OW) = conv(x (N, C, H, W), weight (OC, C/groups, KH, KW)) + bias (OC). Initialized by
 * {@link Init#layerDefault} (PyTorch's default).
 */
public final class Conv2d extends Module {
    private final int inChannels;
    private final int outChannels;
    private final int kernelH;
    private final int kernelW;
    private final Conv2dParams geometry;
    private final Variable weight;
    private final Variable bias;

    /** Square kernel, dilation 1, one group, with bias. */
    public Conv2d(int inChannels, int outChannels, int kernel, int stride, int padding, Rng rng) {
        this(inChannels, outChannels, kernel, stride, padding, 1, 1, true, rng);
    }

    /** Square kernel; the rest as in PyTorch's {@code nn.Conv2d}. */
    public Conv2d(int inChannels, int outChannels, int kernel, int stride, int padding, int dilation, int groups, boolean bias, Rng rng) {
        this(inChannels, outChannels, kernel, kernel, new Conv2dParams(stride, stride, padding, padding, dilation, dilation, groups), bias, rng);
    }

    public Conv2d(int inChannels, int outChannels, int kernelH, int kernelW, Conv2dParams geometry, boolean bias, Rng rng) {
        int g = geometry.groups();
        if (inChannels < 1 || outChannels < 1 || kernelH < 1 || kernelW < 1) {
            throw new EmberException("Conv2d needs channels and kernel sizes >= 1, got " + inChannels + " -> " + outChannels + ", kernel (" + kernelH + ", " + kernelW + ")");
        }
        if (inChannels % g != 0 || outChannels % g != 0) {
            throw new EmberException("Conv2d groups=" + g + " must divide inChannels " + inChannels + " and outChannels " + outChannels);
        }
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernelH = kernelH;
        this.kernelW = kernelW;
        this.geometry = geometry;
        Tensor w = Tensor.zeros(outChannels, inChannels / g, kernelH, kernelW); // weight (OC, C/groups, KH, KW)
        Tensor b = bias ? Tensor.zeros(outChannels) : null;                   // bias (OC)
        Init.layerDefault(w, b, rng);
        this.weight = registerParameter("weight", w);
        this.bias = bias ? registerParameter("bias", b) : null;
    }

    public Variable weight() { return weight; }

    /** The bias, or null when built without one. */
    public Variable bias() { return bias; }

    public Conv2dParams geometry() { return geometry; }

    public int inChannels() { return inChannels; }

    public int outChannels() { return outChannels; }

    @Override public Variable forward(Variable x) {
        if (x.rank() != 4 || x.dim(1) != inChannels) throw new ShapeException("Conv2d(" + inChannels + " -> " + outChannels + ") needs input (N, " + inChannels + ", H, W), got " + x.shape());
        return F.conv2d(x, weight, bias, geometry);
    }

    @Override protected String extraRepr() {
        Conv2dParams p = geometry;
        StringBuilder b = new StringBuilder().append(inChannels).append(", ").append(outChannels)
                .append(", kernel_size=").append(pair(kernelH, kernelW))
                .append(", stride=").append(pair(p.strideH(), p.strideW()));
        if (p.padH() != 0 || p.padW() != 0) b.append(", padding=").append(pair(p.padH(), p.padW()));
        if (p.dilationH() != 1 || p.dilationW() != 1) b.append(", dilation=").append(pair(p.dilationH(), p.dilationW()));
        if (p.groups() != 1) b.append(", groups=").append(p.groups());
        if (bias == null) b.append(", bias=False");
        return b.toString();
    }

    private static String pair(int a, int b) { return "(" + a + ", " + b + ")"; }
}
