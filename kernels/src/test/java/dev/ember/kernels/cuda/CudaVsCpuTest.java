package dev.ember.kernels.cuda;

import dev.ember.engine.AdamParams;
import dev.ember.engine.Backend;
import dev.ember.engine.BinaryOp;
import dev.ember.engine.Conv2dParams;
import dev.ember.engine.DType;
import dev.ember.engine.Device;
import dev.ember.engine.Pool2dParams;
import dev.ember.engine.ReduceOp;
import dev.ember.engine.Rng;
import dev.ember.engine.SgdParams;
import dev.ember.engine.Shape;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;
import dev.ember.engine.UnaryOp;
import dev.ember.kernels.cpu.CpuBackend;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The GPU suite: every op the CUDA backend implements, forward and backward, against the CPU backend on seeded
 * inputs with awkward sizes and non-contiguous views. Tolerances: copies, one-hot, argMax, max/min, pooling maxima and
 * indices, comparisons and optimizer steps exact (the kernels follow the CPU's float order); elementwise
 * transcendental ops 2e-6 relative + 1e-6 absolute (libdevice vs Java's math); sums, softmax, norms 1e-5 relative +
 * 1e-5 absolute; GEMM and convolution 1e-4 relative + 1e-4 absolute. Skips, with the reason, without a CUDA device.
 * Run on a GPU machine with {@code tools/gpu-check}.
 */
class CudaVsCpuTest {
    private static final Backend CPU = new CpuBackend();
    private static Backend gpu;

    // per test, not @BeforeAll: so each test is reported skipped with the reason instead of the class vanishing
    @BeforeEach void needsAGpu() {
        CudaBackendProvider p = new CudaBackendProvider();
        assumeTrue(p.isAvailable(), "no CUDA device: " + p.unavailableReason());
        if (gpu == null) {
            gpu = p.create(Device.cuda(0));
            System.out.println("CudaVsCpuTest on " + ((CudaBackend) gpu).libraries());
        }
    }

    private static Tensor up(Tensor host) { return gpu.fromHost(host); }

    private static float[] down(Tensor t) { return gpu.toHost(t).toFloatArray(); }

    private static Tensor randn(long seed, int... dims) { return Tensor.randn(new Rng(seed), 1f, dims); }

    static void close(float[] expected, float[] actual, float rel, float abs, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            float e = expected[i], a = actual[i];
            if (Float.isNaN(e) && Float.isNaN(a) || e == a) continue;
            if (!(Math.abs(e - a) <= abs + rel * Math.abs(e))) fail(what + ": element " + i + " expected " + e + " but was " + a);
        }
    }

    // ---- storage ----

    @Test void hostRoundTripEveryDType() {
        assertArrayEquals(new float[] {1, -2, 3.5f}, down(up(Tensor.of(new float[] {1, -2, 3.5f}, 3))));
        assertArrayEquals(new int[] {7, -8}, gpu.toHost(up(Tensor.ofInts(new int[] {7, -8}, 2))).toIntArray());
        assertArrayEquals(new long[] {1L << 40, -3}, gpu.toHost(up(Tensor.ofLongs(new long[] {1L << 40, -3}, 2))).toLongArray());
        Tensor bytes = gpu.toHost(up(Tensor.ofBytes(new byte[] {(byte) 200, 3}, 2)));
        assertEquals(200f, bytes.get(0));
        Tensor slice = randn(1, 4, 6).slice(1, 1, 6, 2);   // a strided host view
        assertArrayEquals(slice.toFloatArray(), down(up(slice)));
    }

    @Test void copyIntoConvertsEveryDTypePairThroughViews() {
        Tensor src = Tensor.of(new float[] {-2.7f, -0.5f, 0f, 1.5f, 300.25f, 7f}, 2, 3).transpose(0, 1);
        for (DType from : DType.values()) {
            for (DType to : DType.values()) {
                Tensor hostFrom = src.to(from);
                Tensor expected = CPU.zeros(to, hostFrom.shape());
                CPU.copyInto(hostFrom, expected);
                Tensor d = gpu.zeros(to, hostFrom.shape());
                gpu.copyInto(up(hostFrom).transpose(0, 1).transpose(0, 1), d);
                assertArrayEquals(expected.toFloatArray(), down(d), from + " -> " + to);
            }
        }
    }

    // ---- elementwise ----

    @ParameterizedTest @EnumSource(UnaryOp.class) void unary(UnaryOp op) {
        Tensor x = randn(2, 7, 37).mul(3f).transpose(0, 1);
        if (op == UnaryOp.SQRT || op == UnaryOp.LOG) x = x.abs();
        close(CPU.unary(op, x).toFloatArray(), down(gpu.unary(op, up(x))), 2e-6f, 1e-6f, op.name());
    }

    @ParameterizedTest @EnumSource(BinaryOp.class) void binaryWithBroadcasting(BinaryOp op) {
        Tensor a = randn(3, 4, 1, 33), b = randn(4, 5, 1);
        if (op == BinaryOp.POW) a = a.abs();
        // a (4, 1, 33), b (5, 1); for EQ b[j] = a[0, 0, j], so that cells (0, j, j) are true, not only false ones
        if (op == BinaryOp.EQ) b = a.slice(0, 0, 1).squeeze(0).slice(1, 0, 5).transpose(0, 1).contiguous();
        Shape out = Shape.broadcast(a.shape(), b.shape());
        close(CPU.binary(op, a, b, out).toFloatArray(), down(gpu.binary(op, up(a), up(b), out)), 1e-6f, 0f, op.name());
    }

    @Test void reluBackwardIsTheProductWithStepToTheBit() {
        Tensor dy = Tensor.of(new float[] {1.5f, -2f, Float.NaN, -0f, 3f, Float.NaN, -1f, 7f}, 2, 4);
        Tensor x = Tensor.of(new float[] {2f, -1f, 0f, 5f, -0f, -3f, Float.NaN, 1e-40f}, 2, 4);   // NaN and denormal inputs too
        assertArrayEquals(CPU.reluBackward(dy, x).toFloatArray(), down(gpu.reluBackward(up(dy), up(x))));
        Tensor big = randn(17, 3, 5, 33, 7), xs = randn(18, 3, 5, 7, 33).transpose(2, 3);   // a strided input
        assertArrayEquals(CPU.reluBackward(big, xs).toFloatArray(), down(gpu.reluBackward(up(big), up(xs))));
    }

    // ---- reductions ----

    @ParameterizedTest @EnumSource(ReduceOp.class) void reduceOverAxisSets(ReduceOp op) {
        Tensor x = randn(5, 3, 17, 300).permute(0, 2, 1);   // non-contiguous
        for (int[] axes : new int[][] {{2}, {0}, {1}, {0, 2}, {0, 1, 2}}) {
            for (boolean keep : new boolean[] {false, true}) {
                Tensor e = CPU.reduce(op, x, axes, keep), g = gpu.reduce(op, up(x), axes, keep);
                assertEquals(e.shape(), g.shape());
                close(e.toFloatArray(), down(g), op == ReduceOp.SUM ? 1e-5f : 0f, op == ReduceOp.SUM ? 1e-4f : 0f, op + " " + java.util.Arrays.toString(axes));
            }
        }
        // a bias gradient's shape: 16 channels over N*H*W = 18432, folded in chunks (CudaReduce.splits) then over the chunks
        Tensor maps = randn(6, 8, 16, 48, 48);
        assertEquals(4, CudaReduce.splits(16, 8 * 48 * 48));
        for (boolean keep : new boolean[] {false, true}) {
            close(CPU.reduce(op, maps, new int[] {0, 2, 3}, keep).toFloatArray(), down(gpu.reduce(op, up(maps), new int[] {0, 2, 3}, keep)),
                    op == ReduceOp.SUM ? 1e-5f : 0f, op == ReduceOp.SUM ? 1e-4f : 0f, op + " over N, H, W");
        }
    }

    @Test void argMaxFirstOnTies() {
        Tensor x = Tensor.of(new float[] {1, 3, 3, 0, 2, 2, 5, 5, 5, 5, -1, 4}, 3, 4);
        for (int axis = 0; axis < 2; axis++) assertArrayEquals(CPU.argMax(x, axis, false).toLongArray(), gpu.toHost(gpu.argMax(up(x), axis, false)).toLongArray());
        Tensor big = randn(6, 3, 1000);
        assertArrayEquals(CPU.argMax(big, 1, true).toLongArray(), gpu.toHost(gpu.argMax(up(big), 1, true)).toLongArray());
    }

    @Test void softmaxAndLogSoftmaxAlongEveryAxis() {
        Tensor x = randn(7, 3, 11, 300).mul(4f);
        for (int axis = 0; axis < 3; axis++) {
            close(CPU.softmax(x, axis).toFloatArray(), down(gpu.softmax(up(x), axis)), 1e-5f, 1e-6f, "softmax " + axis);
            close(CPU.logSoftmax(x, axis).toFloatArray(), down(gpu.logSoftmax(up(x), axis)), 1e-5f, 1e-5f, "logSoftmax " + axis);
        }
    }

    // ---- linear algebra and convolution ----

    @Test void matmulBatchedBroadcastAndTransposed() {
        Tensor a = randn(8, 2, 3, 65, 70), b = randn(9, 3, 90, 70).transpose(1, 2);   // b is (3, 70, 90) transposed
        Shape out = Shape.of(2, 3, 65, 90);
        close(CPU.matmul(a, b, out).toFloatArray(), down(gpu.matmul(up(a), up(b), out)), 1e-4f, 1e-4f, "batched matmul");
        Tensor w = randn(10, 70, 5);
        close(CPU.matmul(a, w, Shape.of(2, 3, 65, 5)).toFloatArray(), down(gpu.matmul(up(a), up(w), Shape.of(2, 3, 65, 5))), 1e-4f, 1e-4f, "shared weight");
    }

    @Test void conv2dForwardAndBothBackwardPasses() {
        Conv2dParams[] params = {Conv2dParams.of(1, 1), new Conv2dParams(2, 1, 0, 2, 1, 2, 1), new Conv2dParams(1, 1, 1, 1, 1, 1, 2)};
        for (Conv2dParams p : params) {
            Tensor x = randn(11, 3, 4, 13, 11), w = randn(12, 6, 4 / p.groups(), 3, 3);
            Tensor y = CPU.conv2d(x, w, p), dy = randn(13, y.dims());
            close(y.toFloatArray(), down(gpu.conv2d(up(x), up(w), p)), 1e-4f, 1e-4f, "conv2d " + p);
            close(CPU.conv2dBackwardInput(dy, w, x.shape(), p).toFloatArray(), down(gpu.conv2dBackwardInput(up(dy), up(w), x.shape(), p)), 1e-4f, 1e-4f, "dx " + p);
            close(CPU.conv2dBackwardWeight(dy, x, w.shape(), p).toFloatArray(), down(gpu.conv2dBackwardWeight(up(dy), up(x), w.shape(), p)), 1e-4f, 1e-4f, "dw " + p);
            Tensor bias = randn(16, w.dim(0));
            for (boolean relu : new boolean[] {false, true}) {
                close(CPU.conv2dBiasRelu(x, w, bias, relu, p).toFloatArray(), down(gpu.conv2dBiasRelu(up(x), up(w), up(bias), relu, p)), 1e-4f, 1e-4f,
                        "conv2dBiasRelu " + relu + " " + p);
            }
            close(CPU.conv2dBiasRelu(x, w, null, true, p).toFloatArray(), down(gpu.conv2dBiasRelu(up(x), up(w), null, true, p)), 1e-4f, 1e-4f, "conv2d + relu " + p);
        }
    }

    // ONNX inference's fusions (Conv+Relu+MaxPool, Conv+Add+Relu, a conv and its shortcut, Gemm+Relu's bias row,
    // Add+Relu): fused kernels on the CPU, the Backend defaults' compositions on CUDA, so this checks that both sides
    // agree and the defaults run there
    @Test void fusedInferenceOpsMatchTheCpu() {
        Conv2dParams p = Conv2dParams.of(1, 1);
        Tensor x = randn(40, 2, 8, 14, 14), w = randn(41, 16, 8, 3, 3), bias = randn(42, 16), residual = randn(43, 2, 16, 14, 14);
        close(CPU.conv2dAddRelu(x, w, bias, residual, p).toFloatArray(), down(gpu.conv2dAddRelu(up(x), up(w), up(bias), up(residual), p)),
                1e-4f, 1e-4f, "conv2dAddRelu");
        Pool2dParams pool = Pool2dParams.of(2);
        for (boolean relu : new boolean[] {false, true}) {
            close(CPU.conv2dMaxPool(x, w, bias, relu, p, pool).toFloatArray(), down(gpu.conv2dMaxPool(up(x), up(w), up(bias), relu, p, pool)),
                    1e-4f, 1e-4f, "conv2dMaxPool " + relu);
        }
        // a downsampling block's 3x3/2 conv beside its 1x1/2 shortcut (conv2dPair): one DirectConv pass on the CPU
        Tensor xs = randn(47, 1, 16, 15, 15), w3 = randn(48, 32, 16, 3, 3), w1 = randn(49, 32, 16, 1, 1), b1 = randn(50, 32);
        w3.storage().markConstant();
        w1.storage().markConstant();
        Tensor[] cpuPair = CPU.conv2dPair(xs, w3, null, true, Conv2dParams.of(2, 1), w1, b1, Conv2dParams.of(2, 0));
        Tensor[] gpuPair = gpu.conv2dPair(up(xs), up(w3), null, true, Conv2dParams.of(2, 1), up(w1), up(b1), Conv2dParams.of(2, 0));
        for (int i = 0; i < 2; i++) close(cpuPair[i].toFloatArray(), down(gpuPair[i]), 1e-4f, 1e-4f, "conv2dPair output " + i);
        Tensor a = randn(44, 32, 129), row = randn(45, 129), same = randn(46, 32, 129);
        assertArrayEquals(CPU.addRelu(a, row, a.shape()).toFloatArray(), down(gpu.addRelu(up(a), up(row), a.shape())), "addRelu, a bias row");
        assertArrayEquals(CPU.addRelu(a, same, a.shape()).toFloatArray(), down(gpu.addRelu(up(a), up(same), a.shape())), "addRelu");
    }

    // ---- pooling ----

    @Test void maxPoolForwardAndBackward() {
        for (Pool2dParams p : new Pool2dParams[] {Pool2dParams.of(2), Pool2dParams.of(3, 2, 1), new Pool2dParams(3, 2, 2, 1, 1, 0, true, true)}) {
            Tensor x = randn(14, 2, 3, 9, 10);
            Backend.MaxPoolResult e = CPU.maxPool2d(x, p), g = gpu.maxPool2d(up(x), p);
            assertArrayEquals(e.output().toFloatArray(), down(g.output()), "max " + p);
            assertArrayEquals(e.indices().toIntArray(), gpu.toHost(g.indices()).toIntArray(), "indices " + p);
            Tensor dy = randn(15, e.output().dims());
            float[] dx = CPU.maxPool2dBackward(dy, e.indices(), x.shape()).toFloatArray();
            assertArrayEquals(dx, down(gpu.maxPool2dBackward(up(dy), g.indices(), x.shape())), "dx " + p + ", gathered (indices made here)");
            assertArrayEquals(dx, down(gpu.maxPool2dBackward(up(dy), up(e.indices()), x.shape())), "dx " + p + ", scattered (indices from the host)");
        }
    }

    @Test void avgPoolForwardAndBackward() {
        for (Pool2dParams p : new Pool2dParams[] {Pool2dParams.of(2), Pool2dParams.of(3, 2, 1), new Pool2dParams(3, 3, 2, 2, 1, 1, true, false)}) {
            Tensor x = randn(16, 2, 3, 9, 10);
            Tensor y = CPU.avgPool2d(x, p), dy = randn(17, y.dims());
            close(y.toFloatArray(), down(gpu.avgPool2d(up(x), p)), 1e-6f, 1e-6f, "avg " + p);
            close(CPU.avgPool2dBackward(dy, x.shape(), p).toFloatArray(), down(gpu.avgPool2dBackward(up(dy), x.shape(), p)), 1e-6f, 1e-6f, "avg dx " + p);
        }
    }

    // ---- normalization ----

    @Test void batchNormForwardAndBackward() {
        Tensor x = randn(18, 4, 5, 7, 9).mul(2f).add(Tensor.scalar(1f)), gamma = randn(19, 5), beta = randn(20, 5), dy = randn(21, 4, 5, 7, 9);
        for (boolean affine : new boolean[] {true, false}) {
            Backend.NormResult e = CPU.batchNorm(x, affine ? gamma : null, affine ? beta : null, 1e-5f);
            Backend.NormResult g = gpu.batchNorm(up(x), affine ? up(gamma) : null, affine ? up(beta) : null, 1e-5f);
            close(e.output().toFloatArray(), down(g.output()), 1e-5f, 1e-5f, "bn y");
            close(e.mean().toFloatArray(), down(g.mean()), 1e-5f, 1e-6f, "bn mean");
            close(e.variance().toFloatArray(), down(g.variance()), 1e-5f, 1e-6f, "bn var");
            Tensor[] eb = CPU.batchNormBackward(dy, x, e.mean(), e.invStd(), affine ? gamma : null);
            Tensor[] gb = gpu.batchNormBackward(up(dy), up(x), g.mean(), g.invStd(), affine ? up(gamma) : null);
            for (int i = 0; i < 3; i++) close(eb[i].toFloatArray(), down(gb[i]), 1e-4f, 1e-5f, "bn backward " + i);
        }
    }

    @Test void layerNormForwardAndBackward() {
        Tensor x = randn(22, 6, 5, 40), gamma = randn(23, 5, 40), beta = randn(24, 5, 40), dy = randn(25, 6, 5, 40);
        Backend.NormResult e = CPU.layerNorm(x, 2, gamma, beta, 1e-5f), g = gpu.layerNorm(up(x), 2, up(gamma), up(beta), 1e-5f);
        close(e.output().toFloatArray(), down(g.output()), 1e-5f, 1e-5f, "ln y");
        Tensor[] eb = CPU.layerNormBackward(dy, x, e.mean(), e.invStd(), gamma, 2);
        Tensor[] gb = gpu.layerNormBackward(up(dy), up(x), g.mean(), g.invStd(), up(gamma), 2);
        for (int i = 0; i < 3; i++) close(eb[i].toFloatArray(), down(gb[i]), 1e-4f, 1e-5f, "ln backward " + i);
    }

    // ---- indexing ----

    @Test void oneHotAndItsBadLabelError() {
        Tensor labels = Tensor.ofLongs(new long[] {0, 3, 2, 3, 1, 0}, 2, 3);
        assertArrayEquals(CPU.oneHot(labels, 4).toFloatArray(), down(gpu.oneHot(up(labels), 4)));
        Tensor ints = Tensor.ofInts(new int[] {1, 4}, 2);
        ShapeException e = assertThrows(ShapeException.class, () -> gpu.oneHot(up(ints), 4));
        assertTrue(e.getMessage().contains("label 4"), e.getMessage());
    }

    // ---- in place ----

    @Test void axpyScaleFill() {
        Tensor y = randn(26, 33, 17), x = randn(27, 17, 33).transpose(0, 1);
        Tensor ey = y.copy(), gy = up(y);
        CPU.axpy(0.3f, x, ey);
        gpu.axpy(0.3f, up(x), gy);
        assertArrayEquals(ey.toFloatArray(), down(gy), "axpy");
        CPU.scale(ey, -1.5f);
        gpu.scale(gy, -1.5f);
        assertArrayEquals(ey.toFloatArray(), down(gy), "scale");
        gpu.fill(gy, 2.5f);
        for (float v : down(gy)) assertEquals(2.5f, v);
    }

    @Test void sgdStepsMatchTheCpuExactly() {
        for (SgdParams p : new SgdParams[] {new SgdParams(0.1f, 0f, 0f, 1e-4f, false, true), new SgdParams(0.1f, 0.9f, 0.1f, 1e-4f, false, true),
                new SgdParams(0.05f, 0.9f, 0f, 0f, true, false)}) {
            Tensor w = randn(28, 1031), g = randn(29, 1031), buf = randn(30, 1031);
            Tensor gw = up(w), gbuf = up(buf);
            CPU.sgdStep(w, g, p.momentum() == 0 ? null : buf, p);
            gpu.sgdStep(gw, up(g), p.momentum() == 0 ? null : gbuf, p);
            close(w.toFloatArray(), down(gw), 0f, 0f, "sgd param " + p);
            if (p.momentum() != 0) close(buf.toFloatArray(), down(gbuf), 0f, 0f, "sgd buffer " + p);
        }
    }

    @Test void adamAndAdamWStepsMatchTheCpuExactly() {
        for (boolean decoupled : new boolean[] {false, true}) {
            AdamParams p = new AdamParams(1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, decoupled, 3);
            Tensor w = randn(31, 1031), g = randn(32, 1031), m = randn(33, 1031).mul(0.1f), v = randn(34, 1031).abs();
            Tensor gw = up(w), gm = up(m), gv = up(v);
            CPU.adamStep(w, g, m, v, p);
            gpu.adamStep(gw, up(g), gm, gv, p);
            close(w.toFloatArray(), down(gw), 0f, 0f, "adam param " + p);
            close(m.toFloatArray(), down(gm), 0f, 0f, "adam m");
            close(v.toFloatArray(), down(gv), 0f, 0f, "adam v");
        }
    }

    @Test void theAllocatorReusesFreedBlocks() {
        CudaAllocator.Stats before = ((CudaBackend) gpu).allocatorStats();
        for (int i = 0; i < 50; i++) gpu.zeros(DType.FLOAT32, Shape.of(1000));
        System.gc();
        CudaAllocator.Stats after = ((CudaBackend) gpu).allocatorStats();
        assertTrue(after.hits() + after.misses() >= before.hits() + before.misses() + 50, after.toString());
    }
}
