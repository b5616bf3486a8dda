package dev.ember.autograd;

import static dev.ember.autograd.GradCheck.check;
import static dev.ember.autograd.Inputs.uniform;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ember.engine.Conv2dParams;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;
import org.junit.jupiter.api.Test;

/** F.convTranspose2d: values against the scatter definition, output sizes, and numeric gradient checks. */
class ConvTransposeTest {
    /** y[n, g*cog + o, i*s - p + a*d] += x[n, g*cig + c, i] * w[g*cig + c, o, a] (same along W): the definition. */
    private static float[] naive(Tensor x, Tensor w, Conv2dParams p, int oh, int ow) {
        int n = x.dim(0), cin = x.dim(1), h = x.dim(2), wd = x.dim(3), cog = w.dim(1), kh = w.dim(2), kw = w.dim(3);
        int g = p.groups(), cig = cin / g, cout = cog * g;
        float[] y = new float[n * cout * oh * ow];
        for (int b = 0; b < n; b++)
            for (int ci = 0; ci < cin; ci++)
                for (int i = 0; i < h; i++)
                    for (int j = 0; j < wd; j++)
                        for (int o = 0; o < cog; o++)
                            for (int a = 0; a < kh; a++)
                                for (int c = 0; c < kw; c++) {
                                    int yi = i * p.strideH() - p.padH() + a * p.dilationH();
                                    int yj = j * p.strideW() - p.padW() + c * p.dilationW();
                                    if (yi < 0 || yi >= oh || yj < 0 || yj >= ow) continue;
                                    int co = (ci / cig) * cog + o;
                                    y[((b * cout + co) * oh + yi) * ow + yj] += x.get(b, ci, i, j) * w.get(ci, o, a, c);
                                }
        return y;
    }

    @Test
    void matchesTheDefinition() {
        Conv2dParams[] cases = {Conv2dParams.of(1, 0), Conv2dParams.of(2, 1), new Conv2dParams(2, 1, 0, 1, 1, 2, 1), new Conv2dParams(2, 2, 1, 0, 1, 1, 2)};
        int[][] outPads = {{0, 0}, {1, 0}, {0, 0}, {1, 1}};
        for (int t = 0; t < cases.length; t++) {
            Conv2dParams p = cases[t];
            Tensor x = uniform(11 + t, -1, 1, 2, 4, 3, 5);
            Tensor w = uniform(21 + t, -1, 1, 4, 3, 3, 2);
            Variable y = F.convTranspose2d(Variable.of(x), Variable.of(w), null, p, outPads[t][0], outPads[t][1]);
            int oh = (3 - 1) * p.strideH() - 2 * p.padH() + p.dilationH() * 2 + outPads[t][0] + 1;
            int ow = (5 - 1) * p.strideW() - 2 * p.padW() + p.dilationW() * 1 + outPads[t][1] + 1;
            assertArrayEquals(new int[] {2, 3 * p.groups(), oh, ow}, y.shape().dims(), "case " + t);
            float[] want = naive(x, w, p, oh, ow), got = y.data().toFloatArray();
            for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1e-5, "case " + t + " element " + i);
        }
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        Tensor x = uniform(1, -1, 1, 2, 4, 3, 3), w = uniform(2, -1, 1, 4, 2, 3, 3), b = uniform(3, -1, 1, 2);
        check(v -> F.convTranspose2d(v[0], v[1], v[2], Conv2dParams.of(1, 0), 0, 0), x, w, b);
        check(v -> F.convTranspose2d(v[0], v[1], null, Conv2dParams.of(2, 1), 1, 1), x, w);                      // stride, padding, output padding
        check(v -> F.convTranspose2d(v[0], v[1], null, new Conv2dParams(1, 2, 0, 1, 2, 1, 2), 0, 1), x, w);     // dilation, groups
    }

    @Test
    void badGeometryIsAShapeError() {
        Variable x = Variable.of(Tensor.zeros(1, 4, 3, 3)), w = Variable.of(Tensor.zeros(3, 2, 3, 3));
        assertThrows(ShapeException.class, () -> F.convTranspose2d(x, w, null, Conv2dParams.of(1, 0), 0, 0));
        Variable w4 = Variable.of(Tensor.zeros(4, 2, 3, 3));
        assertThrows(ShapeException.class, () -> F.convTranspose2d(x, w4, null, Conv2dParams.of(1, 0), 1, 0));
    }
}
