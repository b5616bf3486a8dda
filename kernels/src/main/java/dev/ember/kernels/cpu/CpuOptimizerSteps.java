package dev.ember.kernels.cpu;

import dev.ember.engine.AdamParams;
import dev.ember.engine.SgdParams;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Fused optimizer updates, one pass over the parameter and its state, with PyTorch's rules
 * (torch.optim.SGD, Adam, AdamW; see {@link SgdParams} and {@link AdamParams}). Parameter and state are
 * contiguous float32; the gradient may be any view (made contiguous first).
 */
final class CpuOptimizerSteps {
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

    private CpuOptimizerSteps() {}

    /** g' = g + wd*p; buf = momentum*buf + (1-dampening)*g' (g' on the first step); d = nesterov ? g' + momentum*buf : buf; p -= lr*d. */
    static void sgd(Tensor param, Tensor grad, Tensor momentumBuf, SgdParams p) {
        float[] w = CpuInPlace.destination("sgdStep param", param);
        CpuInPlace.sameShape("sgdStep grad", grad, param);
        boolean momentum = p.momentum() != 0;
        float[] buf;
        int bo;
        if (momentum) {
            if (momentumBuf == null) throw new ShapeException("sgdStep: momentum " + p.momentum() + " needs a momentum buffer, got null");
            buf = CpuInPlace.destination("sgdStep momentumBuf", momentumBuf);
            CpuInPlace.sameShape("sgdStep momentumBuf", momentumBuf, param);
            bo = momentumBuf.offset();
        } else {
            buf = null;
            bo = 0;
        }
        Tensor gc = CpuCopy.contiguous(grad);
        float[] gs = CpuCopy.floats(gc);
        int go = gc.offset(), wo = param.offset();
        float lr = p.lr(), wd = p.weightDecay(), mu = p.momentum(), keep = 1 - p.dampening();
        boolean first = p.firstStep(), nesterov = p.nesterov();
        FloatVector vwd = FloatVector.broadcast(SPECIES, wd), vmu = FloatVector.broadcast(SPECIES, mu), vneglr = FloatVector.broadcast(SPECIES, -lr);
        Parallel.forRange(param.numel(), CpuInPlace.GRAIN, (lo, hi) -> {
            int i = lo;
            if (!momentum) {
                for (int bound = lo + SPECIES.loopBound(hi - lo); i < bound; i += SPECIES.length()) {
                    FloatVector pv = FloatVector.fromArray(SPECIES, w, wo + i);
                    FloatVector d = pv.fma(vwd, FloatVector.fromArray(SPECIES, gs, go + i));
                    d.fma(vneglr, pv).intoArray(w, wo + i);
                }
                for (; i < hi; i++) w[wo + i] = Math.fma(Math.fma(w[wo + i], wd, gs[go + i]), -lr, w[wo + i]);
                return;
            }
            for (int bound = lo + SPECIES.loopBound(hi - lo); i < bound; i += SPECIES.length()) {
                FloatVector pv = FloatVector.fromArray(SPECIES, w, wo + i);
                FloatVector g = pv.fma(vwd, FloatVector.fromArray(SPECIES, gs, go + i));
                FloatVector b = first ? g : FloatVector.fromArray(SPECIES, buf, bo + i).mul(mu).add(g.mul(keep));
                b.intoArray(buf, bo + i);
                FloatVector d = nesterov ? b.fma(vmu, g) : b;
                d.fma(vneglr, pv).intoArray(w, wo + i);
            }
            for (; i < hi; i++) {
                float g = Math.fma(w[wo + i], wd, gs[go + i]);
                float b = first ? g : buf[bo + i] * mu + g * keep;
                buf[bo + i] = b;
                float d = nesterov ? Math.fma(b, mu, g) : b;
                w[wo + i] = Math.fma(d, -lr, w[wo + i]);
            }
        });
    }

    /**
     * Adam: g += wd*p. AdamW: p *= 1 - lr*wd. Then m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
     * p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps), the bias corrections in double as PyTorch does.
     */
    static void adam(Tensor param, Tensor grad, Tensor m, Tensor v, AdamParams p) {
        float[] w = CpuInPlace.destination("adamStep param", param);
        float[] ms = CpuInPlace.destination("adamStep m", m);
        float[] vs = CpuInPlace.destination("adamStep v", v);
        CpuInPlace.sameShape("adamStep grad", grad, param);
        CpuInPlace.sameShape("adamStep m", m, param);
        CpuInPlace.sameShape("adamStep v", v, param);
        if (p.step() < 1) throw new ShapeException("adamStep: step counts from 1, got " + p.step());
        Tensor gc = CpuCopy.contiguous(grad);
        float[] gs = CpuCopy.floats(gc);
        int go = gc.offset(), wo = param.offset(), mo = m.offset(), vo = v.offset();
        boolean decoupled = p.decoupled();
        float b1 = p.beta1(), b2 = p.beta2(), eps = p.eps();
        float l2 = decoupled ? 0f : p.weightDecay();
        float shrink = decoupled ? (float) (1 - (double) p.lr() * p.weightDecay()) : 1f;
        float stepSize = (float) (p.lr() / (1 - Math.pow(b1, p.step())));
        float bc2Sqrt = (float) Math.sqrt(1 - Math.pow(b2, p.step()));
        FloatVector vl2 = FloatVector.broadcast(SPECIES, l2);
        Parallel.forRange(param.numel(), CpuInPlace.GRAIN, (lo, hi) -> {
            int i = lo;
            for (int bound = lo + SPECIES.loopBound(hi - lo); i < bound; i += SPECIES.length()) {
                FloatVector pv = FloatVector.fromArray(SPECIES, w, wo + i);
                FloatVector g = pv.fma(vl2, FloatVector.fromArray(SPECIES, gs, go + i));
                pv = pv.mul(shrink);
                FloatVector mv = FloatVector.fromArray(SPECIES, ms, mo + i).mul(b1).add(g.mul(1 - b1));
                FloatVector vv = FloatVector.fromArray(SPECIES, vs, vo + i).mul(b2).add(g.mul(g).mul(1 - b2));
                mv.intoArray(ms, mo + i);
                vv.intoArray(vs, vo + i);
                FloatVector denom = vv.sqrt().div(bc2Sqrt).add(eps);
                pv.sub(mv.div(denom).mul(stepSize)).intoArray(w, wo + i);
            }
            for (; i < hi; i++) {
                float pw = w[wo + i];
                float g = Math.fma(pw, l2, gs[go + i]);
                pw *= shrink;
                float mv = ms[mo + i] * b1 + g * (1 - b1);
                float vv = vs[vo + i] * b2 + g * g * (1 - b2);
                ms[mo + i] = mv;
                vs[vo + i] = vv;
                float denom = (float) Math.sqrt(vv) / bc2Sqrt + eps;
                w[wo + i] = pw - mv / denom * stepSize;
            }
        });
    }
}
