package dev.ember.nn;

import dev.ember.engine.Pool2dParams;

/** PyTorch-style argument text of a pooling module. */
final class PoolRepr {
    private PoolRepr() {}

    static String of(Pool2dParams p, boolean average) {
        String s = "kernel_size=" + size(p.kernelH(), p.kernelW()) + ", stride=" + size(p.strideH(), p.strideW())
                + ", padding=" + size(p.padH(), p.padW());
        if (!average) s += ", dilation=1";
        s += ", ceil_mode=" + Module.pyBool(p.ceilMode());
        if (average && !p.countIncludePad()) s += ", count_include_pad=False";
        return s;
    }

    private static String size(int h, int w) { return h == w ? Integer.toString(h) : "(" + h + ", " + w + ")"; }
}
