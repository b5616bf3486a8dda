package dev.ember.nn;

import dev.ember.autograd.F;
import dev.ember.autograd.Variable;
import dev.ember.engine.DType;
import dev.ember.engine.Device;
import dev.ember.engine.EmberException;
import dev.ember.engine.Shape;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;

/**
 * Batch normalization per channel of x (N, C, H, W), PyTorch's {@code nn.BatchNorm2d}. Training normalizes with
 * the batch statistics and moves the running ones toward them (running = (1 - momentum) * running + momentum *
 * batch, unbiased variance); eval normalizes with the running ones. State names as in PyTorch: parameters
 * {@code weight}, {@code bias} (when affine), buffers {@code running_mean}, {@code running_var},
 * {@code num_batches_tracked} (int64, counts training batches).
 */
public final class BatchNorm2d extends Module {
    private final int numFeatures;
    private final float eps;
    private final float momentum;
    private final Variable weight;
    private final Variable bias;
    private Tensor runningMean;              // (C)
    private Tensor runningVar;               // (C)
    private Tensor numBatchesTracked;        // () int64

    /** eps 1e-5, momentum 0.1, affine: PyTorch's defaults. */
    public BatchNorm2d(int numFeatures) { this(numFeatures, 1e-5f, 0.1f, true); }

    public BatchNorm2d(int numFeatures, float eps, float momentum, boolean affine) {
        if (numFeatures < 1) throw new EmberException("BatchNorm2d needs numFeatures >= 1, got " + numFeatures);
        if (!(eps > 0)) throw new EmberException("BatchNorm2d eps must be > 0, got " + eps);
        if (!(momentum >= 0 && momentum <= 1)) throw new EmberException("BatchNorm2d momentum must be in [0, 1], got " + momentum);
        this.numFeatures = numFeatures;
        this.eps = eps;
        this.momentum = momentum;
        this.weight = affine ? registerParameter("weight", Tensor.ones(numFeatures)) : null;
        this.bias = affine ? registerParameter("bias", Tensor.zeros(numFeatures)) : null;
        this.runningMean = registerBuffer("running_mean", Tensor.zeros(numFeatures));
        this.runningVar = registerBuffer("running_var", Tensor.ones(numFeatures));
        this.numBatchesTracked = registerBuffer("num_batches_tracked", Tensor.zeros(DType.INT64, Shape.SCALAR));
    }

    /** The scale (gamma), or null when not affine. */
    public float eps() { return eps; }

    public float momentum() { return momentum; }

    public Variable weight() { return weight; }

    /** The shift (beta), or null when not affine. */
    public Variable bias() { return bias; }

    public Tensor runningMean() { return runningMean; }

    public Tensor runningVar() { return runningVar; }

    public long numBatchesTracked() { return numBatchesTracked.toLongArray()[0]; }

    @Override public Variable forward(Variable x) {
        if (x.rank() != 4 || x.dim(1) != numFeatures) throw new ShapeException("BatchNorm2d(" + numFeatures + ") needs input (N, " + numFeatures + ", H, W), got " + x.shape());
        Variable y = F.batchNorm2d(x, runningMean, runningVar, weight, bias, isTraining(), momentum, eps);
        if (isTraining()) {
            long n = numBatchesTracked() + 1;
            numBatchesTracked.copyFrom(Tensor.ofLongs(new long[] {n}).to(numBatchesTracked.device()));
        }
        return y;
    }

    @Override protected void movedTo(Device device) {
        runningMean = registeredBuffer("running_mean");
        runningVar = registeredBuffer("running_var");
        numBatchesTracked = registeredBuffer("num_batches_tracked");
    }

    @Override protected String extraRepr() {
        return numFeatures + ", eps=" + pyFloat(eps) + ", momentum=" + pyFloat(momentum) + ", affine=" + pyBool(weight != null)
                + ", track_running_stats=True";
    }
}
