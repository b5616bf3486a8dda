package dev.ember.loaders.onnx.ops;

import dev.ember.autograd.Variable;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxException;
import dev.ember.loaders.onnx.OnnxNode;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * RNN, GRU and LSTM, unrolled over time with autograd ops (so an imported recurrent model trains). Axis legend:
 * T time steps, B batch, I input size, H hidden size, G gates (RNN 1, GRU 3, LSTM 4), D directions.
 * Gate order in W, R, B as the ONNX specification: GRU z, r, h; LSTM i, o, f, c.
 */
final class RecurrentOps {
    private RecurrentOps() {}

    static void register(OpTable t) {
        t.add("RNN", 1, (n, in, v) -> run(n, in, "RNN"));
        t.add("GRU", 1, (n, in, v) -> run(n, in, "GRU"));
        t.add("LSTM", 1, (n, in, v) -> run(n, in, "LSTM"));
    }

    private static Variable[] run(OnnxNode node, Variable[] in, String kind) {
        Variable x = Args.in(node, in, 0), w = Args.in(node, in, 1), r = Args.in(node, in, 2);
        Variable b = Args.opt(in, 3), lens = Args.opt(in, 4), h0 = Args.opt(in, 5);
        Variable c0 = kind.equals("LSTM") ? Args.opt(in, 6) : null, peep = kind.equals("LSTM") ? Args.opt(in, 7) : null;
        Args.requireFloat(node, x, "X");
        int gates = switch (kind) { case "RNN" -> 1; case "GRU" -> 3; default -> 4; };
        boolean batchFirst = node.attrInt("layout", 0) != 0;
        if (batchFirst) x = x.transpose(0, 1);   // x (T, B, I)
        String direction = node.attrString("direction", "forward");
        int dirs = direction.equals("bidirectional") ? 2 : 1;
        int steps = x.dim(0), batch = x.dim(1), hidden = Args.toInt(node, node.attrInt("hidden_size", r.dim(-1)), "hidden_size");
        if (w.rank() != 3 || w.dim(0) != dirs || w.dim(1) != gates * hidden || r.dim(1) != gates * hidden || r.dim(2) != hidden) {
            throw new OnnxException(node.describe() + ": W " + w.shape() + " / R " + r.shape() + " do not fit " + dirs + " direction(s), " + gates + " gates, hidden " + hidden);
        }
        int[] len = new int[batch];
        java.util.Arrays.fill(len, steps);
        if (lens != null) {
            long[] l = Args.longs(node, lens, "sequence_lens");
            for (int i = 0; i < batch; i++) len[i] = Math.clamp(l[i], 0, steps);
        }
        List<UnaryOperator<Variable>> acts = activations(node, kind);
        float clip = node.attrFloat("clip", Float.NaN);
        List<Variable> ys = new ArrayList<>(), hs = new ArrayList<>(), cs = new ArrayList<>();
        for (int d = 0; d < dirs; d++) {
            boolean reverse = direction.equals("reverse") || d == 1;
            if (reverse && lens != null && java.util.Arrays.stream(len).anyMatch(l -> l != steps)) {
                throw new OnnxUnsupportedException(node.describe() + ": reverse direction with unequal sequence_lens is not supported");
            }
            Variable wd = w.slice(0, d, d + 1, 1).reshape(gates * hidden, x.dim(2));     // wd (G*H, I)
            Variable rd = r.slice(0, d, d + 1, 1).reshape(gates * hidden, hidden);      // rd (G*H, H)
            Variable xw = x.matmul(wd.transpose(0, 1));                                   // xw (T, B, G*H)
            Variable rb = null;
            if (b != null) {
                Variable bd = b.slice(0, d, d + 1, 1).reshape(2 * gates * hidden);
                xw = xw.add(bd.slice(0, 0, gates * hidden, 1));
                rb = bd.slice(0, gates * hidden, 2 * gates * hidden, 1);                  // rb (G*H)
            }
            Variable h = h0 != null ? h0.slice(0, d, d + 1, 1).reshape(batch, hidden) : Variable.of(Tensor.zeros(batch, hidden));
            Variable c = c0 != null ? c0.slice(0, d, d + 1, 1).reshape(batch, hidden) : Variable.of(Tensor.zeros(batch, hidden));
            Variable p = peep != null ? peep.slice(0, d, d + 1, 1).reshape(3 * hidden) : null;
            Variable[] outs = new Variable[steps];
            for (int s = 0; s < steps; s++) {
                int t = reverse ? steps - 1 - s : s;
                Variable xt = xw.slice(0, t, t + 1, 1).reshape(batch, gates * hidden);   // xt (B, G*H)
                Variable[] next = switch (kind) {
                    case "RNN" -> new Variable[] {acts.get(0).apply(clip(node, pre(xt, h, rd, rb, 0, hidden), clip)), c};
                    case "GRU" -> new Variable[] {gru(node, xt, h, rd, rb, hidden, acts, clip), c};
                    default -> lstm(node, xt, h, c, rd, rb, p, hidden, acts, clip);
                };
                Variable keep = stepMask(len, t, batch);   // keep (B, 1): 1 while t is inside the sequence
                if (keep != null) {
                    Variable drop = Variable.of(keep.data().neg().add(1f));
                    next[0] = next[0].mul(keep).add(h.mul(drop));
                    next[1] = next[1].mul(keep).add(c.mul(drop));
                }
                h = next[0];
                c = next[1];
                outs[t] = keep == null ? h : h.mul(keep);   // Y is 0 past a sequence's end
            }
            for (int t = 0; t < steps; t++) outs[t] = outs[t].reshape(1, 1, batch, hidden);
            ys.add(Grad.concat(outs, 0));                                                  // (T, 1, B, H)
            hs.add(h.reshape(1, batch, hidden));
            cs.add(c.reshape(1, batch, hidden));
        }
        Variable y = dirs == 1 ? ys.get(0) : Grad.concat(ys.toArray(new Variable[0]), 1);   // y (T, D, B, H)
        Variable yh = dirs == 1 ? hs.get(0) : Grad.concat(hs.toArray(new Variable[0]), 0);  // yh (D, B, H)
        Variable yc = dirs == 1 ? cs.get(0) : Grad.concat(cs.toArray(new Variable[0]), 0);
        if (batchFirst) {
            y = y.permute(2, 0, 1, 3);      // (B, T, D, H)
            yh = yh.transpose(0, 1);        // (B, D, H)
            yc = yc.transpose(0, 1);
        }
        return kind.equals("LSTM") ? new Variable[] {y, yh, yc} : new Variable[] {y, yh};
    }

    /** Gate {@code g}'s pre-activation: x W_g^T + Wb_g (in xt) + h R_g^T + Rb_g. */
    private static Variable pre(Variable xt, Variable h, Variable rd, Variable rb, int g, int hidden) {
        Variable rg = rd.slice(0, g * hidden, (g + 1) * hidden, 1);                      // rg (H, H)
        Variable v = xt.slice(1, g * hidden, (g + 1) * hidden, 1).add(h.matmul(rg.transpose(0, 1)));
        return rb == null ? v : v.add(rb.slice(0, g * hidden, (g + 1) * hidden, 1));
    }

    private static Variable clip(OnnxNode node, Variable v, float clip) {
        if (Float.isNaN(clip)) return v;
        return ElementwiseOps.clip(node, v, -clip, clip);
    }

    /** z = f(.), r = f(.), h~ = g(x Wh + (r * h) Rh + b) or g(x Wh + r * (h Rh + Rbh) + Wbh); H = (1 - z) h~ + z h. */
    private static Variable gru(OnnxNode node, Variable xt, Variable h, Variable rd, Variable rb, int hidden,
                                List<UnaryOperator<Variable>> acts, float clip) {
        Variable z = acts.get(0).apply(clip(node, pre(xt, h, rd, rb, 0, hidden), clip));
        Variable rGate = acts.get(0).apply(clip(node, pre(xt, h, rd, rb, 1, hidden), clip));
        Variable rh = rd.slice(0, 2 * hidden, 3 * hidden, 1);                            // rh (H, H)
        Variable rbh = rb == null ? null : rb.slice(0, 2 * hidden, 3 * hidden, 1);
        Variable xh = xt.slice(1, 2 * hidden, 3 * hidden, 1);
        Variable cand;
        if (node.attrInt("linear_before_reset", 0) != 0) {
            Variable hr = h.matmul(rh.transpose(0, 1));
            if (rbh != null) hr = hr.add(rbh);
            cand = xh.add(rGate.mul(hr));
        } else {
            cand = xh.add(rGate.mul(h).matmul(rh.transpose(0, 1)));
            if (rbh != null) cand = cand.add(rbh);
        }
        Variable hTilde = acts.get(1).apply(clip(node, cand, clip));
        return z.neg().add(1f).mul(hTilde).add(z.mul(h));
    }

    /** i, o, f gates (with peepholes), c~ = g(.), C = f C + i c~, H = o h(C). Returns {H, C}. */
    private static Variable[] lstm(OnnxNode node, Variable xt, Variable h, Variable c, Variable rd, Variable rb, Variable p, int hidden,
                                   List<UnaryOperator<Variable>> acts, float clip) {
        Variable preI = pre(xt, h, rd, rb, 0, hidden), preO = pre(xt, h, rd, rb, 1, hidden), preF = pre(xt, h, rd, rb, 2, hidden);
        if (p != null) {
            preI = preI.add(p.slice(0, 0, hidden, 1).mul(c));
            preF = preF.add(p.slice(0, 2 * hidden, 3 * hidden, 1).mul(c));
        }
        Variable i = acts.get(0).apply(clip(node, preI, clip));
        Variable f = node.attrInt("input_forget", 0) != 0 ? i.neg().add(1f) : acts.get(0).apply(clip(node, preF, clip));
        Variable cand = acts.get(1).apply(clip(node, pre(xt, h, rd, rb, 3, hidden), clip));
        Variable cNew = f.mul(c).add(i.mul(cand));
        if (p != null) preO = preO.add(p.slice(0, hidden, 2 * hidden, 1).mul(cNew));
        Variable o = acts.get(0).apply(clip(node, preO, clip));
        return new Variable[] {o.mul(acts.get(2).apply(cNew)), cNew};
    }

    /** (B, 1) mask of the batch entries still inside their sequence at step t, or null when all are. */
    private static Variable stepMask(int[] len, int t, int batch) {
        boolean all = true;
        float[] m = new float[batch];
        for (int i = 0; i < batch; i++) {
            m[i] = t < len[i] ? 1f : 0f;
            all &= t < len[i];
        }
        return all ? null : Variable.of(Tensor.of(m, batch, 1));
    }

    /** The activation functions of one direction (the forward one's list, the defaults per kind otherwise). */
    private static List<UnaryOperator<Variable>> activations(OnnxNode node, String kind) {
        List<String> names = new ArrayList<>(switch (kind) {
            case "RNN" -> List.of("Tanh");
            case "GRU" -> List.of("Sigmoid", "Tanh");
            default -> List.of("Sigmoid", "Tanh", "Tanh");
        });
        String[] given = node.has("activations") ? node.attributes().get("activations").strings() : null;
        if (given != null) for (int i = 0; i < names.size() && i < given.length; i++) names.set(i, given[i]);
        float[] alpha = node.attrFloats("activation_alpha", new float[0]), beta = node.attrFloats("activation_beta", new float[0]);
        List<UnaryOperator<Variable>> acts = new ArrayList<>();
        int ai = 0, bi = 0;
        for (String name : names) {
            float a = ai < alpha.length ? alpha[ai] : Float.NaN, b = bi < beta.length ? beta[bi] : Float.NaN;
            boolean usesAlpha = List.of("LeakyRelu", "ThresholdedRelu", "ScaledTanh", "HardSigmoid", "Elu", "Affine").contains(name);
            boolean usesBeta = List.of("ScaledTanh", "HardSigmoid", "Affine").contains(name);
            if (usesAlpha) ai++;
            if (usesBeta) bi++;
            acts.add(activation(node, name, a, b));
        }
        return acts;
    }

    private static UnaryOperator<Variable> activation(OnnxNode node, String name, float alpha, float beta) {
        return switch (name) {
            case "Sigmoid" -> Variable::sigmoid;
            case "Tanh" -> Variable::tanh;
            case "Relu" -> Variable::relu;
            case "LeakyRelu" -> v -> ActivationOps.leakyRelu(v, Float.isNaN(alpha) ? 0.01f : alpha);
            case "HardSigmoid" -> v -> ActivationOps.hardSigmoid(v, Float.isNaN(alpha) ? 0.2f : alpha, Float.isNaN(beta) ? 0.5f : beta);
            case "Elu" -> v -> ActivationOps.elu(v, Float.isNaN(alpha) ? 1f : alpha);
            case "Softsign" -> v -> v.div(v.abs().add(1f));
            case "Softplus" -> ActivationOps::softplus;
            case "Affine" -> v -> v.mul(Float.isNaN(alpha) ? 1f : alpha).add(Float.isNaN(beta) ? 0f : beta);
            case "ScaledTanh" -> v -> v.mul(Float.isNaN(beta) ? 1f : beta).tanh().mul(Float.isNaN(alpha) ? 1f : alpha);
            default -> throw new OnnxUnsupportedException(node.describe() + ": activation '" + name + "' is not supported");
        };
    }
}
