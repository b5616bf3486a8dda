package dev.ember.kernels.cpu;

import dev.ember.engine.Conv2dParams;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;

/** 2-D convolution on the CPU. (Being written: see issue 6.) */
final class CpuConv2d {
    private CpuConv2d() {}

    static Tensor forward(Tensor x, Tensor w, Conv2dParams p) {
        throw new UnsupportedOperationException("CpuConv2d is being written");
    }

    static Tensor backwardInput(Tensor dy, Tensor w, Shape inputShape, Conv2dParams p) {
        throw new UnsupportedOperationException("CpuConv2d is being written");
    }

    static Tensor backwardWeight(Tensor dy, Tensor x, Shape weightShape, Conv2dParams p) {
        throw new UnsupportedOperationException("CpuConv2d is being written");
    }
}
