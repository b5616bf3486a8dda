package dev.ember.optim;

import dev.ember.autograd.Variable;
import dev.ember.engine.EmberException;
import dev.ember.engine.Tensor;

import java.util.List;

/** Gradient clipping, as torch.nn.utils.clip_grad_norm_. */
public final class GradClip {
    private GradClip() {}

    /**
     * Scales every gradient by maxNorm / (total + 1e-6) when that is below 1, where total is the L2 norm of all
     * gradients together (as if concatenated). Only parameters that require a gradient and have one take part.
     * Returns the total norm before clipping; when it is not finite the gradients are left alone, so the caller
     * can see it and skip the step.
     */
    public static float clipGlobalNorm(List<Variable> params, float maxNorm) {
        if (!(maxNorm > 0)) throw new EmberException("clipGlobalNorm maxNorm must be > 0, got " + maxNorm);
        double sumOfSquares = 0;
        for (Variable p : params) {
            Tensor g = p.grad();
            if (p.requiresGrad() && g != null) sumOfSquares += g.square().sum().item();
        }
        float total = (float) Math.sqrt(sumOfSquares);
        float coef = maxNorm / (total + 1e-6f);
        if (coef < 1) {
            // a new tensor rather than scaling in place: a gradient tensor may be shared by several variables
            for (Variable p : params) {
                Tensor g = p.grad();
                if (p.requiresGrad() && g != null) p.setGrad(g.mul(coef));
            }
        }
        return total;
    }
}
