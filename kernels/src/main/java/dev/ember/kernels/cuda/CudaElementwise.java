package dev.ember.kernels.cuda;

import dev.ember.engine.BackendException;
import dev.ember.engine.BinaryOp;
import dev.ember.engine.CpuStorage;
import dev.ember.engine.DType;
import dev.ember.engine.Shape;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;
import dev.ember.engine.UnaryOp;
import jcuda.Pointer;

/**
 * elementwise.cu from Java: unary and broadcast binary ops, dtype-converting copies between views, host transfers,
 * and the in-place fill / scale / axpy. Op codes are the .cu enums' positions, mapped here explicitly.
 */
final class CudaElementwise {
    private CudaElementwise() {}

    static Tensor unary(CudaContext cx, UnaryOp op, Tensor x) {
        CudaTensors.requireFloat("unary " + op + " input", x);
        Tensor y = CudaTensors.empty(cx, DType.FLOAT32, x.shape());
        long n = x.numel();
        if (n > 0) cx.launch1d(Kernel.UNARY, n, new KernelArgs().i32(code(op)).strided(Strided.of(x)).address(CudaTensors.base(x)).address(CudaTensors.address(y)).i64(n));
        return y;
    }

    /** y (N, C, ...) = act(y + bias[c]) in place, y contiguous; {@code act} null for none. */
    static Tensor biasActivationInPlace(CudaContext cx, Tensor y, Tensor bias, UnaryOp act) {
        CudaTensors.requireFloat("bias", bias);
        if (y.rank() < 2 || bias.numel() != y.dim(1)) {
            throw new ShapeException("bias " + bias.shape() + " does not give one value per channel of " + y.shape());
        }
        long n = y.numel();
        if (n == 0) return y;
        Tensor b = CudaTensors.contiguous(cx, bias);
        int inner = (int) (n / ((long) y.dim(0) * y.dim(1)));
        cx.launch1d(Kernel.BIAS_ACTIVATION, n, new KernelArgs().address(CudaTensors.address(y)).address(CudaTensors.address(b))
                .address(CudaTensors.address(y)).i32(y.dim(1)).i32(inner).i32(act == null ? -1 : code(act)).i64(n));
        return y;
    }

    static Tensor binary(CudaContext cx, BinaryOp op, Tensor a, Tensor b, Shape outShape) {
        CudaTensors.requireFloat("binary " + op + " left operand", a);
        CudaTensors.requireFloat("binary " + op + " right operand", b);
        return binary(cx, code(op), a, b, outShape);
    }

    /** dy * [x > 0] in one pass (elementwise.cu's B_RELU_GRAD): the bits of dy * STEP(x), without the STEP tensor. */
    static Tensor reluBackward(CudaContext cx, Tensor dy, Tensor x) {
        CudaTensors.requireFloat("reluBackward gradient", dy);
        CudaTensors.requireFloat("reluBackward input", x);
        CudaTensors.requireSameShape("reluBackward input", x, dy);
        return binary(cx, RELU_GRAD, dy, x, dy.shape());
    }

    private static final int RELU_GRAD = 10;

    private static Tensor binary(CudaContext cx, int code, Tensor a, Tensor b, Shape outShape) {
        Tensor y = CudaTensors.empty(cx, DType.FLOAT32, outShape);
        long n = outShape.numel();
        if (n > 0) {
            cx.launch1d(Kernel.BINARY, n, new KernelArgs().i32(code).strided(Strided.of(a.expand(outShape))).address(CudaTensors.base(a))
                    .strided(Strided.of(b.expand(outShape))).address(CudaTensors.base(b)).address(CudaTensors.address(y)).i64(n));
        }
        return y;
    }

    /** dst view = src view, converting dtype with Java's rules. */
    static void copyInto(CudaContext cx, Tensor src, Tensor dst) {
        CudaTensors.requireSameShape("copyInto source", src, dst);
        long n = dst.numel();
        if (n == 0) return;
        cx.launch1d(Kernel.COPY, n, new KernelArgs().strided(Strided.of(src)).address(CudaTensors.base(src)).i32(src.dtype().ordinal())
                .strided(Strided.of(dst)).address(CudaTensors.base(dst)).i32(dst.dtype().ordinal()).i64(n));
    }

    static Tensor fromHost(CudaContext cx, Tensor host) {
        if (!(host.storage() instanceof CpuStorage)) throw new BackendException("fromHost needs a CPU tensor, got one on " + host.device());
        Tensor h = host.contiguous();
        Tensor out = CudaTensors.empty(cx, h.dtype(), h.shape());
        long bytes = (long) h.numel() * h.dtype().byteSize();
        cx.copyHostToDevice(CudaTensors.storage(out).block(), 0, hostPointer((CpuStorage) h.storage(), h.offset()), bytes);
        return out;
    }

    static Tensor toHost(CudaContext cx, Tensor t) {
        Tensor c = CudaTensors.contiguous(cx, t);
        CpuStorage host = CpuStorage.allocate(c.dtype(), c.numel());
        long bytes = (long) c.numel() * c.dtype().byteSize();
        cx.copyDeviceToHost(hostPointer(host, 0), CudaTensors.storage(c).block(), (long) c.offset() * c.dtype().byteSize(), bytes);
        return Tensor.of(host, c.shape());
    }

    private static Pointer hostPointer(CpuStorage s, int offset) {
        long byteOffset = (long) offset * s.dtype().byteSize();
        Pointer p = switch (s.dtype()) {
            case FLOAT32 -> Pointer.to(s.floats());
            case INT32 -> Pointer.to(s.ints());
            case INT64 -> Pointer.to(s.longs());
            case UINT8, BOOL -> Pointer.to(s.bytes());
        };
        return byteOffset == 0 ? p : p.withByteOffset(byteOffset);
    }

    // ---- in place ----

    static void fill(CudaContext cx, Tensor y, float value) {
        CudaTensors.requireDestination("fill y", y);
        if (y.numel() > 0) cx.launch1d(Kernel.FILL, y.numel(), new KernelArgs().address(CudaTensors.address(y)).f32(value).i64(y.numel()));
    }

    static void scale(CudaContext cx, Tensor y, float alpha) {
        CudaTensors.requireDestination("scale y", y);
        if (y.numel() > 0) cx.launch1d(Kernel.SCALE, y.numel(), new KernelArgs().address(CudaTensors.address(y)).f32(alpha).i64(y.numel()));
    }

    /** y += alpha * x. */
    static void axpy(CudaContext cx, float alpha, Tensor x, Tensor y) {
        CudaTensors.requireDestination("axpy y", y);
        CudaTensors.requireFloat("axpy x", x);
        CudaTensors.requireSameShape("axpy x", x, y);
        if (y.numel() > 0) {
            cx.launch1d(Kernel.AXPY, y.numel(), new KernelArgs().f32(alpha).strided(Strided.of(x)).address(CudaTensors.base(x))
                    .address(CudaTensors.address(y)).i64(y.numel()));
        }
    }

    // ---- op codes: the order of the enums in elementwise.cu ----

    static int code(UnaryOp op) {
        return switch (op) {
            case NEG -> 0;
            case ABS -> 1;
            case SQUARE -> 2;
            case SQRT -> 3;
            case RECIPROCAL -> 4;
            case EXP -> 5;
            case LOG -> 6;
            case RELU -> 7;
            case STEP -> 8;
            case SIGN -> 9;
            case SIGMOID -> 10;
            case TANH -> 11;
            case ERF -> 12;
            case GELU -> 13;
            case GELU_GRAD -> 14;
        };
    }

    static int code(BinaryOp op) {
        return switch (op) {
            case ADD -> 0;
            case SUB -> 1;
            case MUL -> 2;
            case DIV -> 3;
            case POW -> 4;
            case MAX -> 5;
            case MIN -> 6;
            case EQ -> 7;
            case LT -> 8;
            case GT -> 9;
        };
    }
}
