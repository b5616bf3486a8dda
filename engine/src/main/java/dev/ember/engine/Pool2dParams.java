package dev.ember.engine;

/**
 * Geometry of 2-D max/average pooling over NCHW input. Padding counts toward the average only when
 * {@code countIncludePad}; padded cells never win a max. Output sizes round down, or up with {@code ceilMode}
 * (a window must still start inside the input or its left padding, as in PyTorch).
 */
public record Pool2dParams(int kernelH, int kernelW, int strideH, int strideW, int padH, int padW,
                           boolean ceilMode, boolean countIncludePad) {
    public Pool2dParams {
        if (kernelH < 1 || kernelW < 1) throw new ShapeException("pool kernel must be >= 1, got (" + kernelH + ", " + kernelW + ")");
        if (strideH < 1 || strideW < 1) throw new ShapeException("pool stride must be >= 1, got (" + strideH + ", " + strideW + ")");
        if (padH < 0 || padW < 0 || padH * 2 > kernelH || padW * 2 > kernelW) {
            throw new ShapeException("pool padding (" + padH + ", " + padW + ") must be between 0 and half the kernel (" + kernelH + ", " + kernelW + ")");
        }
    }

    /** Square window, stride = kernel, no padding: the usual {@code MaxPool2d(k)}. */
    public static Pool2dParams of(int kernel) { return new Pool2dParams(kernel, kernel, kernel, kernel, 0, 0, false, true); }

    public static Pool2dParams of(int kernel, int stride, int padding) {
        return new Pool2dParams(kernel, kernel, stride, stride, padding, padding, false, true);
    }

    public Shape outputShape(Shape input) {
        if (input.rank() != 4) throw new ShapeException("pool2d input must be (N, C, H, W), got " + input);
        int oh = outSize(input.dim(2), kernelH, strideH, padH);
        int ow = outSize(input.dim(3), kernelW, strideW, padW);
        if (oh < 1 || ow < 1) throw new ShapeException("pool kernel (" + kernelH + ", " + kernelW + ") does not fit input " + input);
        return Shape.of(input.dim(0), input.dim(1), oh, ow);
    }

    private int outSize(int in, int k, int stride, int pad) {
        int span = in + 2 * pad - k;
        if (span < 0) return 0;
        int out = (ceilMode ? Math.ceilDiv(span, stride) : span / stride) + 1;
        if (ceilMode && (out - 1) * stride >= in + pad) out--;
        return out;
    }
}
