package dev.ember.kernels.reference;

import dev.ember.engine.Conv2dParams;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The oracle itself on cases small enough to work out by hand. */
class ReferenceLinalgMatmulConvTest {
    private static final Tensor X3 = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3);
    private static final Tensor DIAG = Tensor.of(new float[] {1, 0, 0, -1}, 1, 1, 2, 2); // y = x[i, j] - x[i+1, j+1]

    @Test void matmulTwoByThreeTimesThreeByTwo() {
        Tensor a = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        Tensor b = Tensor.of(new float[] {7, 8, 9, 10, 11, 12}, 3, 2);
        assertArrayEquals(new float[] {58, 64, 139, 154}, ReferenceLinalg.matmul(a, b, Shape.of(2, 2)).toFloatArray());
    }

    @Test void matmulReadsATransposedView() {
        Tensor at = Tensor.of(new float[] {1, 4, 2, 5, 3, 6}, 3, 2).permute(1, 0); // [[1, 2, 3], [4, 5, 6]]
        Tensor b = Tensor.of(new float[] {7, 8, 9, 10, 11, 12}, 3, 2);
        assertArrayEquals(new float[] {58, 64, 139, 154}, ReferenceLinalg.matmul(at, b, Shape.of(2, 2)).toFloatArray());
    }

    @Test void matmulBroadcastsTheBatch() {
        Tensor a = Tensor.of(new float[] {1, 2, 3, 4}, 2, 1, 2);  // two 1x2 rows
        Tensor b = Tensor.of(new float[] {5, 6}, 2, 1);            // one 2x1 column for both
        assertArrayEquals(new float[] {17, 39}, ReferenceLinalg.matmul(a, b, Shape.of(2, 1, 1)).toFloatArray());
        Tensor b2 = Tensor.of(new float[] {5, 6, 1, -1}, 2, 2, 1); // one column per batch entry
        Tensor a1 = Tensor.of(new float[] {1, 2}, 1, 1, 2);        // batch of one, broadcast
        assertArrayEquals(new float[] {17, -1}, ReferenceLinalg.matmul(a1, b2, Shape.of(2, 1, 1)).toFloatArray());
    }

    @Test void convValidStrideOne() {
        Tensor y = ReferenceLinalg.conv2d(X3, DIAG, Conv2dParams.of(1, 0));
        assertEquals(Shape.of(1, 1, 2, 2), y.shape());
        assertArrayEquals(new float[] {-4, -4, -4, -4}, y.toFloatArray());
    }

    @Test void convPaddedStrideTwo() {
        assertArrayEquals(new float[] {-1, -3, -7, -4}, ReferenceLinalg.conv2d(X3, DIAG, Conv2dParams.of(2, 1)).toFloatArray());
    }

    @Test void convDilated() {
        Tensor y = ReferenceLinalg.conv2d(X3, DIAG, new Conv2dParams(1, 1, 0, 0, 2, 2, 1));
        assertArrayEquals(new float[] {1 - 9}, y.toFloatArray());
    }

    @Test void convGroupsKeepChannelsApart() {
        Tensor x = Tensor.of(new float[] {2, 3}, 1, 2, 1, 1);
        Tensor w = Tensor.of(new float[] {10, 100}, 2, 1, 1, 1);
        assertArrayEquals(new float[] {20, 300}, ReferenceLinalg.conv2d(x, w, new Conv2dParams(1, 1, 0, 0, 1, 1, 2)).toFloatArray());
        Tensor wMixed = Tensor.of(new float[] {10, 100}, 1, 2, 1, 1);
        assertArrayEquals(new float[] {320}, ReferenceLinalg.conv2d(x, wMixed, Conv2dParams.of(1, 0)).toFloatArray());
    }

    @Test void convBackwardInputScattersTheKernel() {
        Tensor dy = Tensor.ones(1, 1, 2, 2);
        Tensor dx = ReferenceLinalg.conv2dBackwardInput(dy, DIAG, X3.shape(), Conv2dParams.of(1, 0));
        assertArrayEquals(new float[] {1, 1, 0, 1, 0, -1, 0, -1, -1}, dx.toFloatArray());
    }

    @Test void convBackwardWeightSumsTheWindows() {
        Tensor dy = Tensor.ones(1, 1, 2, 2);
        Tensor dw = ReferenceLinalg.conv2dBackwardWeight(dy, X3, DIAG.shape(), Conv2dParams.of(1, 0));
        assertArrayEquals(new float[] {12, 16, 24, 28}, dw.toFloatArray());
    }
}
