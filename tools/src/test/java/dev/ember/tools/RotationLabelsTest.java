package dev.ember.tools;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ember.autograd.Variable;
import dev.ember.engine.CpuStorage;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.loaders.data.LabeledData;
import dev.ember.nn.Sequential;
import org.junit.jupiter.api.Test;

/** The base model's self-supervised label augmentation: the four quarter turns and the upright head kept after it. */
class RotationLabelsTest {
    private static float[] floats(Tensor t) { return ((CpuStorage) t.contiguous().storage()).floats(); }

    @Test
    void eachImageComesBackAtFourQuarterTurnsWithJointLabels() {
        float[] x = new float[2 * 28 * 28];
        x[1] = 1f;                       // image 0: one pixel at row 0, column 1
        x[784 + 27 * 28 + 27] = 2f;      // image 1: one pixel at the bottom-right corner
        LabeledData d = new LabeledData(Tensor.of(x, 2, 1, 28, 28), Tensor.ofLongs(new long[] {3, 1}, 2), 5);

        LabeledData r = FinetuneBaseModel.withRotations(d);

        assertEquals(8, r.size());
        assertEquals(20, r.classes());
        assertArrayEquals(new long[] {3, 1, 8, 6, 13, 11, 18, 16}, r.labels().toLongArray());
        float[] rx = floats(r.inputs());
        // counter-clockwise quarter turns: (row, col) -> (27 - col, row)
        int[][] pixel0 = {{0, 1}, {26, 0}, {27, 26}, {1, 27}};
        int[][] pixel1 = {{27, 27}, {0, 27}, {0, 0}, {27, 0}};
        for (int k = 0; k < 4; k++) {
            float[] img0 = java.util.Arrays.copyOfRange(rx, (2 * k) * 784, (2 * k + 1) * 784);
            float[] img1 = java.util.Arrays.copyOfRange(rx, (2 * k + 1) * 784, (2 * k + 2) * 784);
            float[] want0 = new float[784], want1 = new float[784];
            want0[pixel0[k][0] * 28 + pixel0[k][1]] = 1f;
            want1[pixel1[k][0] * 28 + pixel1[k][1]] = 2f;
            assertArrayEquals(want0, img0, "image 0 after " + k + " quarter turns");
            assertArrayEquals(want1, img1, "image 1 after " + k + " quarter turns");
        }
    }

    @Test
    void theUprightHeadGivesTheWideHeadsFirstFiveLogits() {
        Sequential net = FashionMnistModels.cnn(20, new Rng(5));
        Rng rng = new Rng(9);
        float[] x = new float[3 * 784];
        for (int i = 0; i < x.length; i++) x[i] = rng.nextFloat();
        Variable in = Variable.of(Tensor.of(x, 3, 1, 28, 28));
        float[] wide = floats(net.forward(in).data());

        FinetuneBaseModel.keepUprightHead(net);
        float[] upright = floats(net.forward(in).data());

        assertEquals(15, upright.length);
        for (int n = 0; n < 3; n++) {
            for (int c = 0; c < 5; c++) assertEquals(wide[n * 20 + c], upright[n * 5 + c], 0f, "sample " + n + " class " + c);
        }
    }
}
