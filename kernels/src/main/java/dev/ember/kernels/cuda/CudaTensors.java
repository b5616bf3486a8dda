package dev.ember.kernels.cuda;

import dev.ember.engine.BackendException;
import dev.ember.engine.DType;
import dev.ember.engine.DTypeException;
import dev.ember.engine.Shape;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;

/** Device tensors for the op classes: allocation, addresses, contiguity, the checks of in-place destinations. */
final class CudaTensors {
    private CudaTensors() {}

    static Tensor empty(CudaContext cx, DType dtype, Shape shape) {
        return Tensor.of(CudaStorage.allocate(cx, dtype, shape.numel()), shape);
    }

    static Tensor zeros(CudaContext cx, DType dtype, Shape shape) {
        Tensor t = empty(cx, dtype, shape);
        CudaStorage s = (CudaStorage) t.storage();
        cx.zero(s.block(), (long) shape.numel() * dtype.byteSize());
        return t;
    }

    static CudaStorage storage(Tensor t) {
        if (!(t.storage() instanceof CudaStorage s)) throw new BackendException("cuda backend: tensor " + t.shape() + " is on " + t.device() + ", not a CUDA device");
        return s;
    }

    /** Storage base address (kernels taking a {@link Strided} add the view's offset themselves). */
    static long base(Tensor t) { return storage(t).address(); }

    /** Address of the view's first element (for contiguous operands). */
    static long address(Tensor t) { return storage(t).address() + (long) t.offset() * t.dtype().byteSize(); }

    static Tensor contiguous(CudaContext cx, Tensor t) {
        if (t.isContiguous()) return t;
        Tensor out = empty(cx, t.dtype(), t.shape());
        CudaElementwise.copyInto(cx, t, out);
        return out;
    }

    static void requireFloat(String what, Tensor t) {
        if (t.dtype() != DType.FLOAT32) throw new DTypeException(what + " must be float32, got " + t.dtype());
    }

    /** An in-place destination: contiguous float32 on a CUDA device. */
    static void requireDestination(String what, Tensor t) {
        requireFloat(what, t);
        storage(t);
        if (!t.isContiguous()) throw new ShapeException(what + " must be contiguous to be updated in place, got a view of " + t.shape());
    }

    static void requireSameShape(String what, Tensor t, Tensor like) {
        if (!t.shape().equals(like.shape())) throw new ShapeException(what + " has shape " + t.shape() + ", expected " + like.shape());
    }
}
