package dev.ember.kernels.cuda;

import dev.ember.engine.AdamParams;
import dev.ember.engine.SgdParams;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;

/**
 * optim.cu from Java: one fused SGD or Adam/AdamW step per parameter, the CPU backend's rule element for element
 * (the scalars it derives, the Adam bias corrections in double, are derived here the same way).
 */
final class CudaOptimizerSteps {
    private CudaOptimizerSteps() {}

    static void sgd(CudaContext cx, Tensor param, Tensor grad, Tensor momentumBuf, SgdParams p) {
        CudaTensors.requireDestination("sgdStep param", param);
        CudaTensors.requireFloat("sgdStep grad", grad);
        CudaTensors.requireSameShape("sgdStep grad", grad, param);
        boolean momentum = p.momentum() != 0;
        long buf = 0;
        if (momentum) {
            if (momentumBuf == null) throw new ShapeException("sgdStep: momentum " + p.momentum() + " needs a momentum buffer, got null");
            CudaTensors.requireDestination("sgdStep momentumBuf", momentumBuf);
            CudaTensors.requireSameShape("sgdStep momentumBuf", momentumBuf, param);
            buf = CudaTensors.address(momentumBuf);
        }
        Tensor g = CudaTensors.contiguous(cx, grad);
        long n = param.numel();
        if (n == 0) return;
        int[] args = {bits(p.lr()), bits(p.weightDecay()), bits(p.momentum()), bits(1 - p.dampening()),
                momentum ? 1 : 0, p.nesterov() ? 1 : 0, p.firstStep() ? 1 : 0};
        cx.launch1d(Kernel.SGD_STEP, n, new KernelArgs().address(CudaTensors.address(param)).address(CudaTensors.address(g)).address(buf).words(args).i64(n));
    }

    static void adam(CudaContext cx, Tensor param, Tensor grad, Tensor m, Tensor v, AdamParams p) {
        CudaTensors.requireDestination("adamStep param", param);
        CudaTensors.requireDestination("adamStep m", m);
        CudaTensors.requireDestination("adamStep v", v);
        CudaTensors.requireFloat("adamStep grad", grad);
        CudaTensors.requireSameShape("adamStep grad", grad, param);
        CudaTensors.requireSameShape("adamStep m", m, param);
        CudaTensors.requireSameShape("adamStep v", v, param);
        if (p.step() < 1) throw new ShapeException("adamStep: step counts from 1, got " + p.step());
        Tensor g = CudaTensors.contiguous(cx, grad);
        long n = param.numel();
        if (n == 0) return;
        boolean decoupled = p.decoupled();
        float l2 = decoupled ? 0f : p.weightDecay();
        float shrink = decoupled ? (float) (1 - (double) p.lr() * p.weightDecay()) : 1f;
        float stepSize = (float) (p.lr() / (1 - Math.pow(p.beta1(), p.step())));
        float bias2Sqrt = (float) Math.sqrt(1 - Math.pow(p.beta2(), p.step()));
        int[] args = {bits(l2), bits(shrink), bits(p.beta1()), bits(p.beta2()), bits(p.eps()), bits(stepSize), bits(bias2Sqrt)};
        cx.launch1d(Kernel.ADAM_STEP, n, new KernelArgs().address(CudaTensors.address(param)).address(CudaTensors.address(g))
                .address(CudaTensors.address(m)).address(CudaTensors.address(v)).words(args).i64(n));
    }

    private static int bits(float f) { return Float.floatToRawIntBits(f); }
}
