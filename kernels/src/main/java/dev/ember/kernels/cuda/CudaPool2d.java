package dev.ember.kernels.cuda;

import dev.ember.engine.Backend;
import dev.ember.engine.DType;
import dev.ember.engine.Pool2dParams;
import dev.ember.engine.Shape;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;

import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;

/** pool.cu from Java: max / average pooling over NCHW and their (gathering, deterministic) backward passes. */
final class CudaPool2d {
    /**
     * The geometry each max-pool index tensor was made with, by its storage (held weakly: an entry goes with its
     * tensor). Such indices are backpropagated by gathering, a thread per input cell, with no check to read back;
     * indices from anywhere else are scattered one plane per thread and checked, which waits for the GPU.
     */
    private static final Map<CudaStorage, Made> MADE = Collections.synchronizedMap(new WeakHashMap<>());

    private record Made(Shape input, Shape output, Pool2dParams params) {}

    private CudaPool2d() {}

    static Backend.MaxPoolResult max(CudaContext cx, Tensor x, Pool2dParams p) {
        Shape outShape = p.outputShape(x.shape());
        Tensor xc = CudaTensors.contiguous(cx, x);
        Tensor y = CudaTensors.empty(cx, DType.FLOAT32, outShape), idx = CudaTensors.empty(cx, DType.INT32, outShape);
        long total = outShape.numel();
        if (total > 0) {
            cx.launch1d(Kernel.MAX_POOL_FORWARD, total, new KernelArgs().address(CudaTensors.address(xc)).address(CudaTensors.address(y))
                    .address(CudaTensors.address(idx)).words(words(x.shape(), outShape, p)).i64(total));
        }
        MADE.put(CudaTensors.storage(idx), new Made(x.shape(), outShape, p));
        return new Backend.MaxPoolResult(y, idx);
    }

    static Tensor maxBackward(CudaContext cx, Tensor dy, Tensor indices, Shape inputShape) {
        if (indices.dtype() != DType.INT32) throw new ShapeException("maxPool2dBackward indices must be int32, got " + indices.dtype());
        if (!indices.shape().equals(dy.shape())) throw new ShapeException("maxPool2dBackward: indices " + indices.shape() + " and dy " + dy.shape() + " differ");
        Tensor g = CudaTensors.contiguous(cx, dy);
        Made made = MADE.get(CudaTensors.storage(indices));
        if (made != null && indices.offset() == 0 && indices.isContiguous() && made.output().equals(indices.shape()) && made.input().equals(inputShape)) {
            Tensor dx = CudaTensors.empty(cx, DType.FLOAT32, inputShape);
            long total = inputShape.numel();
            if (total > 0) {
                cx.launch1d(Kernel.MAX_POOL_BACKWARD_GATHER, total, new KernelArgs().address(CudaTensors.address(g)).address(CudaTensors.address(indices))
                        .address(CudaTensors.address(dx)).words(words(inputShape, made.output(), made.params())).i64(total));
            }
            return dx;
        }
        Tensor ic = CudaTensors.contiguous(cx, indices);
        Tensor dx = CudaTensors.zeros(cx, DType.FLOAT32, inputShape);
        int planes = inputShape.dim(0) * inputShape.dim(1), planeSize = inputShape.dim(2) * inputShape.dim(3), outPlane = dy.dim(2) * dy.dim(3);
        if (planes == 0 || outPlane == 0) return dx;
        Tensor bad = CudaElementwise.fromHost(cx, Tensor.ofInts(new int[] {Integer.MAX_VALUE}, 1));
        cx.launch1d(Kernel.MAX_POOL_BACKWARD, planes, new KernelArgs().address(CudaTensors.address(g)).address(CudaTensors.address(ic))
                .address(CudaTensors.address(dx)).i32(planes).i32(planeSize).i32(outPlane).address(CudaTensors.address(bad)));
        int first = CudaElementwise.toHost(cx, bad).toIntArray()[0];
        if (first != Integer.MAX_VALUE) {
            throw new ShapeException("maxPool2dBackward: the index at flat position " + first + " of " + indices.shape()
                    + " is outside a plane of " + planeSize + " cells of " + inputShape);
        }
        return dx;
    }

    static Tensor avg(CudaContext cx, Tensor x, Pool2dParams p) {
        Shape outShape = p.outputShape(x.shape());
        Tensor xc = CudaTensors.contiguous(cx, x);
        Tensor y = CudaTensors.empty(cx, DType.FLOAT32, outShape);
        long total = outShape.numel();
        if (total > 0) {
            cx.launch1d(Kernel.AVG_POOL_FORWARD, total, new KernelArgs().address(CudaTensors.address(xc)).address(CudaTensors.address(y))
                    .words(words(x.shape(), outShape, p)).i64(total));
        }
        return y;
    }

    static Tensor avgBackward(CudaContext cx, Tensor dy, Shape inputShape, Pool2dParams p) {
        Tensor g = CudaTensors.contiguous(cx, dy);
        Tensor dx = CudaTensors.empty(cx, DType.FLOAT32, inputShape);
        long total = inputShape.numel();
        if (total > 0) {
            cx.launch1d(Kernel.AVG_POOL_BACKWARD, total, new KernelArgs().address(CudaTensors.address(g)).address(CudaTensors.address(dx))
                    .words(words(inputShape, dy.shape(), p)).i64(total));
        }
        return dx;
    }

    /** The {@code Pool} struct of pool.cu. */
    private static int[] words(Shape in, Shape out, Pool2dParams p) {
        return new int[] {in.dim(2), in.dim(3), out.dim(2), out.dim(3), p.kernelH(), p.kernelW(), p.strideH(), p.strideW(), p.padH(), p.padW(),
                p.countIncludePad() ? 1 : 0};
    }
}
