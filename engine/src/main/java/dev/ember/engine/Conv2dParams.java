package dev.ember.engine;

/**
 * Geometry of a 2-D convolution over NCHW input with weight (OC, C/groups, KH, KW).
 * Output size per axis: (in + 2*pad - dilation*(k-1) - 1) / stride + 1.
 */
public record Conv2dParams(int strideH, int strideW, int padH, int padW, int dilationH, int dilationW, int groups) {
    public Conv2dParams {
        if (strideH < 1 || strideW < 1) throw new ShapeException("conv2d stride must be >= 1, got (" + strideH + ", " + strideW + ")");
        if (padH < 0 || padW < 0) throw new ShapeException("conv2d padding must be >= 0, got (" + padH + ", " + padW + ")");
        if (dilationH < 1 || dilationW < 1) throw new ShapeException("conv2d dilation must be >= 1, got (" + dilationH + ", " + dilationW + ")");
        if (groups < 1) throw new ShapeException("conv2d groups must be >= 1, got " + groups);
    }

    public static Conv2dParams of(int stride, int padding) { return new Conv2dParams(stride, stride, padding, padding, 1, 1, 1); }

    /** Output shape (N, OC, OH, OW) for input (N, C, H, W) and weight (OC, C/groups, KH, KW), checking both. */
    public Shape outputShape(Shape input, Shape weight) {
        if (input.rank() != 4) throw new ShapeException("conv2d input must be (N, C, H, W), got " + input);
        if (weight.rank() != 4) throw new ShapeException("conv2d weight must be (OC, C/groups, KH, KW), got " + weight);
        int c = input.dim(1), oc = weight.dim(0);
        if (c % groups != 0 || oc % groups != 0) {
            throw new ShapeException("conv2d groups=" + groups + " must divide input channels " + c + " and output channels " + oc);
        }
        if (weight.dim(1) * groups != c) {
            throw new ShapeException("conv2d weight " + weight + " expects " + weight.dim(1) * groups + " input channels, input " + input + " has " + c);
        }
        int oh = outSize(input.dim(2), weight.dim(2), strideH, padH, dilationH);
        int ow = outSize(input.dim(3), weight.dim(3), strideW, padW, dilationW);
        if (oh < 1 || ow < 1) {
            throw new ShapeException("conv2d kernel " + weight + " does not fit input " + input + " with padding (" + padH + ", " + padW + ")");
        }
        return Shape.of(input.dim(0), oc, oh, ow);
    }

    static int outSize(int in, int k, int stride, int pad, int dilation) {
        return Math.floorDiv(in + 2 * pad - dilation * (k - 1) - 1, stride) + 1;
    }
}
