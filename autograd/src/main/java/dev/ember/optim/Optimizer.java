package dev.ember.optim;

import dev.ember.autograd.Variable;
import dev.ember.engine.DType;
import dev.ember.engine.EmberException;
import dev.ember.engine.Shape;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;
import dev.ember.engine.TensorScope;
import dev.ember.nn.StateDictException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Updates parameters from their gradients. An optimizer sees only its {@link ParamGroup}s, the gradients, and its
 * own per-parameter state; the arithmetic runs in the parameter's backend ({@code sgdStep}, {@code adamStep}).
 *
 * <p>Order of use, per batch: {@link #zeroGrad()}, forward, backward, (clip,) (schedule.apply,) {@link #step()}.
 * {@link #step()} skips a parameter that does not require a gradient (frozen) or has none (unused this batch), and
 * leaves its state untouched.
 *
 * <p>{@link #stateDict()} is flat, so it can be written by {@link dev.ember.nn.StateFile}. Parameters are numbered
 * in group order (0, 1, ...), and the keys are {@code param_groups.G.params} (int64 indices of group G),
 * {@code param_groups.G.initial_lr} and {@code param_groups.G.<hyperparameter>} (float32 scalars),
 * {@code state.I.step} (int64 scalar) and {@code state.I.<buffer>} (float32, shaped like parameter I).
 */
public abstract class Optimizer {
    private static final String GROUPS = "param_groups.";
    private static final String STATE = "state.";
    private static final String INITIAL_LR = "initial_lr";
    private static final String PARAMS = "params";
    private static final String STEP = "step";

    private final Map<String, Float> defaults;
    private final List<ParamGroup> groups = new ArrayList<>();
    private final Map<Variable, ParamState> state = new IdentityHashMap<>();

    Optimizer(Map<String, Float> defaults, List<ParamGroup> groups) {
        this.defaults = new LinkedHashMap<>(defaults);
        if (groups.isEmpty()) throw new EmberException(name() + " needs at least one parameter group");
        for (ParamGroup g : groups) addParamGroup(g);
    }

    /** Adds a group (to unfreeze more layers mid-run, say); unset hyperparameters take the defaults. */
    public final void addParamGroup(ParamGroup group) {
        Set<Variable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (ParamGroup g : groups) seen.addAll(g.params());
        for (Variable p : group.params()) {
            if (!seen.add(p)) throw new EmberException(name() + ": a parameter of shape " + p.shape() + " appears in more than one group (or twice in one)");
        }
        group.join(defaults, name());
        validate(group);
        groups.add(group);
    }

    public final List<ParamGroup> groups() { return Collections.unmodifiableList(groups); }

    /** One update of every parameter that requires a gradient and has one. */
    public final void step() {
        for (ParamGroup g : groups) {
            validate(g);
            for (Variable p : g.params()) {
                Tensor grad = p.grad();
                if (!p.requiresGrad() || grad == null) continue;
                if (!grad.shape().equals(p.shape())) throw new ShapeException(name() + ": gradient " + grad.shape() + " does not match parameter " + p.shape());
                update(g, p, grad, state.computeIfAbsent(p, k -> new ParamState()));
            }
        }
    }

    /**
     * Backpropagates from the one-element {@code loss} and updates each parameter as soon as the pass has its whole
     * gradient, PyTorch's "optimizer step in backward": the same values as {@code loss.backward(); step(); zeroGrad()}
     * to the bit, but the pass never holds every parameter's gradient at once (resnet18's training step at batch 16:
     * peak RSS 354 → 328 MiB). Afterwards no parameter of this optimizer keeps a gradient; one it had from an earlier
     * backward is added in first, and one the pass did not reach is applied as {@link #step()} would. Not for recipes
     * that need every gradient before any update (global-norm clipping, a check of all gradients): run
     * {@code backward} and {@link #step()} there.
     */
    public final void backwardAndStep(Variable loss) {
        Map<Variable, ParamGroup> owner = new IdentityHashMap<>();
        for (ParamGroup g : groups) {
            validate(g);
            for (Variable p : g.params()) owner.put(p, g);
        }
        loss.backward((p, grad) -> {
            ParamGroup g = owner.get(p);
            if (g == null) return false;   // a leaf this optimizer does not update keeps its gradient
            Tensor total = p.grad() == null ? grad : p.grad().add(grad);
            update(g, p, total, state.computeIfAbsent(p, k -> new ParamState()));
            p.zeroGrad();
            return true;
        });
        step();   // only parameters the pass did not reach can still hold a gradient
        zeroGrad();
    }

    /** Clears the gradient of every parameter in every group. */
    public final void zeroGrad() {
        for (ParamGroup g : groups) for (Variable p : g.params()) p.zeroGrad();
    }

    /** Checks a group's hyperparameters, with an error naming the bad one. */
    abstract void validate(ParamGroup g);

    /** Updates {@code param} in place from {@code grad}, using and updating {@code s}. */
    abstract void update(ParamGroup g, Variable param, Tensor grad, ParamState s);

    /** The per-parameter buffers this optimizer keeps, by name. */
    abstract Set<String> bufferNames();

    final String name() { return getClass().getSimpleName(); }

    // ---- state ----

    /** Group hyperparameters and per-parameter state, as fresh tensors (see the class comment for the keys). */
    public final Map<String, Tensor> stateDict() { return state(true); }

    /**
     * The entries of {@link #stateDict()} with the per-parameter buffers this optimizer's own tensors instead of copies,
     * for writing a checkpoint: Adam's copies were twice the model's size of garbage each epoch. They change at the
     * next {@link #step()}; do not write to them.
     */
    public final Map<String, Tensor> stateView() { return state(false); }

    private Map<String, Tensor> state(boolean copies) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        int index = 0;
        for (int gi = 0; gi < groups.size(); gi++) {
            ParamGroup g = groups.get(gi);
            long[] ids = new long[g.params().size()];
            for (int j = 0; j < ids.length; j++) ids[j] = index++;
            out.put(GROUPS + gi + "." + PARAMS, Tensor.ofLongs(ids, ids.length));
            out.put(GROUPS + gi + "." + INITIAL_LR, Tensor.scalar(g.baseLr()));
            for (Map.Entry<String, Float> h : g.hyperparameters().entrySet()) out.put(GROUPS + gi + "." + h.getKey(), Tensor.scalar(h.getValue()));
        }
        List<Variable> flat = flatParams();
        for (int i = 0; i < flat.size(); i++) {
            ParamState s = state.get(flat.get(i));
            if (s == null) continue;
            out.put(STATE + i + "." + STEP, Tensor.ofLongs(new long[] {s.step}));
            for (Map.Entry<String, Tensor> b : s.buffers.entrySet()) out.put(STATE + i + "." + b.getKey(), copies ? b.getValue().copy() : b.getValue());
        }
        return out;
    }

    /**
     * Restores what {@link #stateDict()} saved, into an optimizer of the same kind over parameters laid out the same
     * way (same groups, same count and shapes). Buffers are copied to each parameter's device. All of it is checked
     * before anything changes.
     *
     * @throws StateDictException naming missing and unexpected keys and shape mismatches
     */
    public final void loadStateDict(Map<String, Tensor> dict) {
        List<Variable> flat = flatParams();
        List<String> missing = new ArrayList<>();
        List<String> unexpected = new ArrayList<>();
        List<StateDictException.Mismatch> mismatches = new ArrayList<>();
        Set<String> used = new TreeSet<>();

        // groups: same layout, same hyperparameter names
        int index = 0;
        for (int gi = 0; gi < groups.size(); gi++) {
            ParamGroup g = groups.get(gi);
            String prefix = GROUPS + gi + ".";
            long[] want = new long[g.params().size()];
            for (int j = 0; j < want.length; j++) want[j] = index++;
            Tensor ids = dict.get(prefix + PARAMS);
            if (ids == null) missing.add(prefix + PARAMS);
            else if (ids.dtype() != DType.INT64 || !Arrays.equals(ids.toLongArray(), want)) {
                throw new StateDictException(name() + ": " + prefix + PARAMS + " lists different parameters than this optimizer's group " + gi
                        + " (" + want.length + " parameters): the optimizer was built over a different model or grouping");
            }
            used.add(prefix + PARAMS);
            List<String> keys = new ArrayList<>(g.hyperparameters().keySet());
            keys.add(INITIAL_LR);
            for (String k : keys) {
                Tensor v = dict.get(prefix + k);
                if (v == null) missing.add(prefix + k);
                else if (v.numel() != 1) mismatches.add(new StateDictException.Mismatch(prefix + k, Shape.SCALAR, v.shape()));
                used.add(prefix + k);
            }
        }

        // per-parameter state: known buffer names, shapes of their parameter
        for (String k : dict.keySet()) {
            if (!k.startsWith(STATE)) continue;
            String[] parts = k.substring(STATE.length()).split("\\.", 2);
            int i = parseIndex(parts[0]);
            if (parts.length < 2 || i < 0 || i >= flat.size() || !(parts[1].equals(STEP) || bufferNames().contains(parts[1]))) continue;
            Tensor t = dict.get(k);
            Shape want = parts[1].equals(STEP) ? Shape.SCALAR : flat.get(i).shape();
            if (!t.shape().equals(want)) mismatches.add(new StateDictException.Mismatch(k, want, t.shape()));
            if (!dict.containsKey(STATE + i + "." + STEP) && !missing.contains(STATE + i + "." + STEP)) missing.add(STATE + i + "." + STEP);
            used.add(k);
        }
        for (String k : dict.keySet()) if (!used.contains(k)) unexpected.add(k);
        if (!missing.isEmpty() || !unexpected.isEmpty() || !mismatches.isEmpty()) {
            throw new StateDictException("cannot load optimizer state into " + name(), missing, unexpected, mismatches);
        }

        // apply
        for (int gi = 0; gi < groups.size(); gi++) {
            ParamGroup g = groups.get(gi);
            String prefix = GROUPS + gi + ".";
            for (String k : new ArrayList<>(g.hyperparameters().keySet())) g.set(k, dict.get(prefix + k).item());
            g.setBaseLr(dict.get(prefix + INITIAL_LR).item());
        }
        state.clear();
        for (int i = 0; i < flat.size(); i++) {
            Variable p = flat.get(i);
            Tensor step = dict.get(STATE + i + "." + STEP);
            if (step == null) continue;
            ParamState s = new ParamState();
            s.step = step.toLongArray()[0];
            for (String b : bufferNames()) {
                Tensor src = dict.get(STATE + i + "." + b);
                if (src == null) continue;
                Tensor dst = zerosLike(p);
                dst.copyFrom(src.to(dst.device()));
                s.buffers.put(b, dst);
            }
            state.put(p, s);
        }
    }

    private List<Variable> flatParams() {
        List<Variable> flat = new ArrayList<>();
        for (ParamGroup g : groups) flat.addAll(g.params());
        return flat;
    }

    private static int parseIndex(String s) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /**
     * A new float32 buffer of zeros shaped and placed like {@code param}, for state that lives as long as the
     * optimizer: detached from any {@link TensorScope} the step that made it runs in.
     */
    static Tensor zerosLike(Variable param) { return TensorScope.detach(param.data().backend().zeros(DType.FLOAT32, param.shape())); }

    static void require(boolean ok, String what) {
        if (!ok) throw new EmberException(what);
    }
}
