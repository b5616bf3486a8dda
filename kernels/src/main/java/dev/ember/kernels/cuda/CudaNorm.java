package dev.ember.kernels.cuda;

import dev.ember.engine.Backend;
import dev.ember.engine.DType;
import dev.ember.engine.Shape;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;

import java.util.Arrays;

/** norm.cu from Java: batch norm over x (N, C, S) per channel and layer norm over x (R, D) per row, forward and backward. */
final class CudaNorm {
    private static final int MAX_GRID = 65_535;

    private CudaNorm() {}

    static Backend.NormResult batchNorm(CudaContext cx, Tensor x, Tensor gamma, Tensor beta, float eps) {
        int[] ncs = channelLayout(x);
        int n = ncs[0], c = ncs[1], s = ncs[2];
        Tensor xc = CudaTensors.contiguous(cx, x);
        Tensor y = CudaTensors.empty(cx, DType.FLOAT32, x.shape());
        Tensor mean = vector(cx, c), variance = vector(cx, c), invStd = vector(cx, c);
        if (c > 0) {
            cx.launch(Kernel.BATCH_NORM_FORWARD, Math.min(c, MAX_GRID), 1, 1, new KernelArgs().address(CudaTensors.address(xc))
                    .address(optional(cx, "gamma", gamma, Shape.of(c))).address(optional(cx, "beta", beta, Shape.of(c))).address(CudaTensors.address(y))
                    .address(CudaTensors.address(mean)).address(CudaTensors.address(variance)).address(CudaTensors.address(invStd)).i32(n).i32(c).i32(s).f32(eps));
        }
        return new Backend.NormResult(y, mean, variance, invStd);
    }

    static Tensor[] batchNormBackward(CudaContext cx, Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor gamma) {
        int[] ncs = channelLayout(x);
        int n = ncs[0], c = ncs[1], s = ncs[2];
        CudaTensors.requireSameShape("batchNormBackward dy", dy, x);
        Tensor xc = CudaTensors.contiguous(cx, x), dyc = CudaTensors.contiguous(cx, dy);
        Tensor dx = CudaTensors.empty(cx, DType.FLOAT32, x.shape()), dgamma = vector(cx, c), dbeta = vector(cx, c);
        if (c > 0) {
            cx.launch(Kernel.BATCH_NORM_BACKWARD, Math.min(c, MAX_GRID), 1, 1, new KernelArgs().address(CudaTensors.address(dyc)).address(CudaTensors.address(xc))
                    .address(required(cx, "mean", mean, Shape.of(c))).address(required(cx, "invStd", invStd, Shape.of(c)))
                    .address(optional(cx, "gamma", gamma, Shape.of(c))).address(CudaTensors.address(dx)).address(CudaTensors.address(dgamma))
                    .address(CudaTensors.address(dbeta)).i32(n).i32(c).i32(s));
        }
        return new Tensor[] {dx, dgamma, dbeta};
    }

    static Backend.NormResult layerNorm(CudaContext cx, Tensor x, int normalizedAxes, Tensor gamma, Tensor beta, float eps) {
        Shape normalized = normalizedShape(x, normalizedAxes);
        int d = normalized.numel(), rows = x.numel() / Math.max(1, d);
        Tensor xc = CudaTensors.contiguous(cx, x);
        Tensor y = CudaTensors.empty(cx, DType.FLOAT32, x.shape());
        Tensor mean = vector(cx, rows), variance = vector(cx, rows), invStd = vector(cx, rows);
        if (rows > 0 && d > 0) {
            cx.launch(Kernel.LAYER_NORM_FORWARD, Math.min(rows, MAX_GRID), 1, 1, new KernelArgs().address(CudaTensors.address(xc))
                    .address(optional(cx, "gamma", gamma, normalized)).address(optional(cx, "beta", beta, normalized)).address(CudaTensors.address(y))
                    .address(CudaTensors.address(mean)).address(CudaTensors.address(variance)).address(CudaTensors.address(invStd)).i32(rows).i32(d).f32(eps));
        }
        return new Backend.NormResult(y, mean, variance, invStd);
    }

    static Tensor[] layerNormBackward(CudaContext cx, Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor gamma, int normalizedAxes) {
        Shape normalized = normalizedShape(x, normalizedAxes);
        int d = normalized.numel(), rows = x.numel() / Math.max(1, d);
        CudaTensors.requireSameShape("layerNormBackward dy", dy, x);
        Tensor xc = CudaTensors.contiguous(cx, x), dyc = CudaTensors.contiguous(cx, dy);
        Tensor dx = CudaTensors.empty(cx, DType.FLOAT32, x.shape());
        Tensor dgamma = CudaTensors.zeros(cx, DType.FLOAT32, normalized), dbeta = CudaTensors.zeros(cx, DType.FLOAT32, normalized);
        if (rows > 0 && d > 0) {
            long m = required(cx, "mean", mean, Shape.of(rows)), inv = required(cx, "invStd", invStd, Shape.of(rows));
            cx.launch(Kernel.LAYER_NORM_BACKWARD_INPUT, Math.min(rows, MAX_GRID), 1, 1, new KernelArgs().address(CudaTensors.address(dyc))
                    .address(CudaTensors.address(xc)).address(m).address(inv).address(optional(cx, "gamma", gamma, normalized))
                    .address(CudaTensors.address(dx)).i32(rows).i32(d));
            cx.launch1d(Kernel.LAYER_NORM_BACKWARD_AFFINE, d, new KernelArgs().address(CudaTensors.address(dyc)).address(CudaTensors.address(xc))
                    .address(m).address(inv).address(CudaTensors.address(dgamma)).address(CudaTensors.address(dbeta)).i32(rows).i32(d));
        }
        return new Tensor[] {dx, dgamma, dbeta};
    }

    private static Tensor vector(CudaContext cx, int n) { return CudaTensors.zeros(cx, DType.FLOAT32, Shape.of(n)); }

    /** Address of a contiguous float32 parameter of {@code shape}, or 0 (the kernels' null) when absent. */
    private static long optional(CudaContext cx, String what, Tensor t, Shape shape) {
        return t == null ? 0 : required(cx, what, t, shape);
    }

    private static long required(CudaContext cx, String what, Tensor t, Shape shape) {
        if (t == null) throw new ShapeException(what + " is required, got null");
        CudaTensors.requireFloat(what, t);
        if (t.numel() != shape.numel()) throw new ShapeException(what + " has shape " + t.shape() + ", expected " + shape);
        return CudaTensors.address(CudaTensors.contiguous(cx, t));
    }

    private static int[] channelLayout(Tensor x) {
        if (x.rank() < 2) throw new ShapeException("batchNorm input must be (N, C, ...), got " + x.shape());
        int s = 1;
        for (int a = 2; a < x.rank(); a++) s *= x.dim(a);
        return new int[] {x.dim(0), x.dim(1), s};
    }

    private static Shape normalizedShape(Tensor x, int normalizedAxes) {
        if (normalizedAxes < 1 || normalizedAxes > x.rank()) {
            throw new ShapeException("layerNorm normalizes 1 to " + x.rank() + " trailing axes of " + x.shape() + ", got " + normalizedAxes);
        }
        return Shape.of(Arrays.copyOfRange(x.dims(), x.rank() - normalizedAxes, x.rank()));
    }
}
