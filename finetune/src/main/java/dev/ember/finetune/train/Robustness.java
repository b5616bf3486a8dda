package dev.ember.finetune.train;

import dev.ember.autograd.Loss;
import dev.ember.autograd.NoGrad;
import dev.ember.autograd.Variable;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.engine.TensorScope;
import dev.ember.loaders.data.DataLoader;
import dev.ember.loaders.data.LabeledData;
import dev.ember.nn.Module;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Accuracy under perturbed inputs, the robustness report. Perturbations are made in the data's own units (pixels in
 * [0, 1], say) and clipped to the range the clean inputs span, then {@code toModel} (the normalization) is applied, as
 * for clean evaluation. The model runs in eval mode; its training mode and parameters' gradient flags are restored.
 * <ul>
 *   <li>Gaussian noise: x + N(0, sigma^2) per element, drawn from {@code new Rng(seed)}, the same draws for every
 *       sigma (scaled), so the curve is smooth in sigma;</li>
 *   <li>FGSM (Goodfellow et al. 2015): x + epsilon * sign(dL/dx), with L the cross-entropy at the clean input and the
 *       gradient from autograd. Normalization is a positive per-channel scale, so the sign is the same before and after
 *       it. Epsilon 0 is the clean accuracy.</li>
 * </ul>
 */
public final class Robustness {
    private Robustness() {}

    /** Accuracy by noise sigma, in the order given. */
    public static Map<Double, Double> noise(Module model, LabeledData data, UnaryOperator<Tensor> toModel, List<Double> sigmas,
                                            long seed, int batchSize) {
        float[] range = range(data.inputs());
        long[] correct = new long[sigmas.size()];
        Rng rng = new Rng(seed);
        boolean wasTraining = model.isTraining();
        model.eval();
        try (NoGrad g = NoGrad.enter()) {
            for (DataLoader.Batch b : new DataLoader(data, batchSize, false, null)) {
                float[] x = b.inputs().toFloatArray();   // x (B, ...)
                float[] unit = new float[x.length];      // unit (B, ...): N(0, 1) draws shared by every sigma
                for (int i = 0; i < unit.length; i++) unit[i] = (float) rng.nextGaussian();
                for (int s = 0; s < sigmas.size(); s++) {
                    float sigma = sigmas.get(s).floatValue();
                    float[] noisy = new float[x.length];
                    for (int i = 0; i < x.length; i++) noisy[i] = clamp(x[i] + sigma * unit[i], range);
                    try (TensorScope scope = TensorScope.open()) {
                        correct[s] += hits(model, toModel.apply(Tensor.of(noisy, b.inputs().dims())), b.labels());
                    }
                }
            }
        } finally {
            model.train(wasTraining);
        }
        return byKey(sigmas, correct, data.size());
    }

    /** Accuracy by FGSM epsilon, in the order given. */
    public static Map<Double, Double> fgsm(Module model, LabeledData data, UnaryOperator<Tensor> toModel, List<Double> epsilons, int batchSize) {
        float[] range = range(data.inputs());
        long[] correct = new long[epsilons.size()];
        boolean wasTraining = model.isTraining();
        List<Variable> params = model.parameters();
        List<Boolean> flags = new ArrayList<>();
        for (Variable p : params) {
            flags.add(p.requiresGrad());
            p.requiresGrad(false);   // only the input's gradient is wanted
        }
        model.eval();
        try {
            for (DataLoader.Batch b : new DataLoader(data, batchSize, false, null)) {
                float[] x = b.inputs().toFloatArray();   // x (B, ...)
                float[] grad;                            // grad (B, ...): dL/d(model input)
                try (TensorScope scope = TensorScope.open()) {
                    Variable input = Variable.param(toModel.apply(b.inputs()));
                    Loss.crossEntropy(model.forward(input), b.labels()).backward();
                    grad = input.grad().toFloatArray();
                }
                for (int e = 0; e < epsilons.size(); e++) {
                    float eps = epsilons.get(e).floatValue();
                    float[] adv = new float[x.length];
                    for (int i = 0; i < x.length; i++) adv[i] = clamp(x[i] + eps * Math.signum(grad[i]), range);
                    try (NoGrad g = NoGrad.enter(); TensorScope scope = TensorScope.open()) {
                        correct[e] += hits(model, toModel.apply(Tensor.of(adv, b.inputs().dims())), b.labels());
                    }
                }
            }
        } finally {
            for (int i = 0; i < params.size(); i++) params.get(i).requiresGrad(flags.get(i));
            model.train(wasTraining);
        }
        return byKey(epsilons, correct, data.size());
    }

    private static long hits(Module model, Tensor inputs, Tensor labels) {
        long[] predicted = model.forward(Variable.of(inputs)).data().argMax(1).toLongArray();
        long[] y = labels.toLongArray();
        long n = 0;
        for (int i = 0; i < y.length; i++) if (predicted[i] == y[i]) n++;
        return n;
    }

    /** {min, max} of the clean inputs. */
    private static float[] range(Tensor inputs) {
        float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
        for (float v : inputs.toFloatArray()) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        return new float[] {lo, hi};
    }

    private static float clamp(float v, float[] range) { return Math.min(range[1], Math.max(range[0], v)); }

    private static Map<Double, Double> byKey(List<Double> keys, long[] correct, int total) {
        Map<Double, Double> out = new LinkedHashMap<>();
        for (int i = 0; i < keys.size(); i++) out.put(keys.get(i), total == 0 ? Double.NaN : (double) correct[i] / total);
        return out;
    }
}
