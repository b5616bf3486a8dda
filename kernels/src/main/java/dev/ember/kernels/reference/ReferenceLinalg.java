package dev.ember.kernels.reference;

import dev.ember.engine.Conv2dParams;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;

/** Naive matmul and convolution loops: the oracle for the CPU kernels. (Being written: see issue 6.) */
public final class ReferenceLinalg {
    private ReferenceLinalg() {}

    public static Tensor matmul(Tensor a, Tensor b, Shape outShape) {
        throw new UnsupportedOperationException("ReferenceLinalg is being written");
    }

    public static Tensor conv2d(Tensor x, Tensor w, Conv2dParams p) {
        throw new UnsupportedOperationException("ReferenceLinalg is being written");
    }

    public static Tensor conv2dBackwardInput(Tensor dy, Tensor w, Shape inputShape, Conv2dParams p) {
        throw new UnsupportedOperationException("ReferenceLinalg is being written");
    }

    public static Tensor conv2dBackwardWeight(Tensor dy, Tensor x, Shape weightShape, Conv2dParams p) {
        throw new UnsupportedOperationException("ReferenceLinalg is being written");
    }
}
