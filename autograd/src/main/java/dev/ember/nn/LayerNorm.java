package dev.ember.nn;

import dev.ember.autograd.F;
import dev.ember.autograd.Variable;
import dev.ember.engine.EmberException;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;

import java.util.Arrays;

/**
 * Layer normalization over the trailing axes {@code normalizedShape} (mean and biased variance per sample), then
 * weight * x + bias elementwise (both shaped {@code normalizedShape}, when affine). As PyTorch's {@code nn.LayerNorm}.
 */
public final class LayerNorm extends Module {
    private final int[] normalizedShape;
    private final float eps;
    private final Variable weight;
    private final Variable bias;

    /** eps 1e-5 and an affine transform, PyTorch's defaults. */
    public LayerNorm(int... normalizedShape) { this(normalizedShape, 1e-5f, true); }

    public LayerNorm(int[] normalizedShape, float eps, boolean elementwiseAffine) {
        if (normalizedShape.length == 0) throw new EmberException("LayerNorm needs at least one normalized axis");
        for (int d : normalizedShape) if (d < 1) throw new EmberException("LayerNorm sizes must be >= 1, got " + Arrays.toString(normalizedShape));
        if (!(eps > 0)) throw new EmberException("LayerNorm eps must be > 0, got " + eps);
        this.normalizedShape = normalizedShape.clone();
        this.eps = eps;
        this.weight = elementwiseAffine ? registerParameter("weight", Tensor.ones(normalizedShape)) : null;
        this.bias = elementwiseAffine ? registerParameter("bias", Tensor.zeros(normalizedShape)) : null;
    }

    public float eps() { return eps; }

    /** Sizes of the trailing axes that are normalized. */
    public int[] normalizedShape() { return normalizedShape.clone(); }

    public Variable weight() { return weight; }

    public Variable bias() { return bias; }

    @Override public Variable forward(Variable x) {
        int k = normalizedShape.length;
        boolean fits = x.rank() >= k;
        for (int i = 0; fits && i < k; i++) fits = x.dim(x.rank() - k + i) == normalizedShape[i];
        if (!fits) throw new ShapeException("LayerNorm" + Arrays.toString(normalizedShape) + " needs input ending in those sizes, got " + x.shape());
        return F.layerNorm(x, k, weight, bias, eps);
    }

    @Override protected String extraRepr() {
        StringBuilder b = new StringBuilder("(");
        for (int d : normalizedShape) b.append(d).append(",");
        if (normalizedShape.length > 1) b.setLength(b.length() - 1);
        return b.append("), eps=").append(pyFloat(eps)).append(", elementwise_affine=").append(pyBool(weight != null)).toString();
    }
}
