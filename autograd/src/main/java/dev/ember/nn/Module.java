package dev.ember.nn;

import dev.ember.autograd.Variable;
import dev.ember.engine.Device;
import dev.ember.engine.EmberException;
import dev.ember.engine.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A layer or a model: holds state (parameters, buffers, child modules) and maps an input to an output in
 * {@link #forward}; the math lives in {@link dev.ember.autograd.F}.
 *
 * <p>State is registered by name in insertion order, and names nest with dots, as in PyTorch:
 * {@code layer1.0.conv1.weight} is parameter {@code weight} of child {@code conv1} of child {@code 0} of child
 * {@code layer1}. Parameters are {@link Variable}s that require a gradient; buffers are plain {@link Tensor}s that
 * are saved but not trained (BatchNorm running statistics). Every listing walks the tree depth first, each module's
 * own entries before its children's, so {@link #stateDict()} has PyTorch's key order.
 *
 * <p>Order of use: build (constructors take an {@link dev.ember.engine.Rng} when they draw initial weights),
 * optionally {@link #loadStateDict} and {@link #freeze}, then per batch {@link #train()} + {@link #forward} +
 * backward + an optimizer step, and {@link #eval()} to validate.
 */
public abstract class Module {
    private final Map<String, Variable> parameters = new LinkedHashMap<>();
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    /** What the module computes. */
    public abstract Variable forward(Variable x);

    // ---- registration (for subclasses, in constructors) ----

    /** Registers {@code value} as a trainable parameter named {@code name} and returns its {@link Variable}. */
    protected final Variable registerParameter(String name, Tensor value) {
        checkNewName(name);
        Variable p = Variable.param(value);
        parameters.put(name, p);
        return p;
    }

    /**
     * Registers a buffer: state that is saved and loaded but not trained. It is updated in place, and replaced only by
     * {@link #to}: a subclass that keeps it in a field reads it again with {@link #registeredBuffer} in {@link #movedTo}.
     */
    protected final Tensor registerBuffer(String name, Tensor value) {
        checkNewName(name);
        buffers.put(name, value);
        return value;
    }

    protected final <M extends Module> M registerModule(String name, M module) {
        checkNewName(name);
        for (String own : ownNames()) {
            if (own.startsWith(name + ".")) throw new EmberException(typeName() + ": child module '" + name + "' would clash with the listed name '" + own + "'");
        }
        children.put(name, module);
        return module;
    }

    /**
     * Registers a trainable parameter under a name chosen elsewhere, such as an imported model's ({@code fc.weight},
     * {@code onnx::Conv_193}): dots are allowed and do not mean nesting, the name is listed exactly as given. It may not
     * start with a child module's name and a dot (the listed names would clash), nor may such a child come later.
     */
    protected final Variable registerImportedParameter(String name, Tensor value) {
        checkNewImportedName(name);
        Variable p = Variable.param(value);
        parameters.put(name, p);
        return p;
    }

    /** A buffer under a name chosen elsewhere, dots allowed (see {@link #registerImportedParameter}). */
    protected final Tensor registerImportedBuffer(String name, Tensor value) {
        checkNewImportedName(name);
        buffers.put(name, value);
        return value;
    }

    /** This module's own buffer {@code name}, as registered (or as {@link #to} last moved it). */
    protected final Tensor registeredBuffer(String name) {
        Tensor b = buffers.get(name);
        if (b == null) throw new EmberException(typeName() + " has no buffer '" + name + "'; it has " + buffers.keySet());
        return b;
    }

    /** Removes this module's own parameter {@code name} (the weights of a replaced layer) and returns it. */
    protected final Variable removeParameter(String name) {
        Variable p = parameters.remove(name);
        if (p == null) throw new EmberException(typeName() + " has no parameter '" + name + "' to remove; it has " + parameters.keySet());
        return p;
    }

    private void checkNewImportedName(String name) {
        if (name == null || name.isEmpty()) throw new EmberException(typeName() + ": a state name must be non-empty, got '" + name + "'");
        if (parameters.containsKey(name) || buffers.containsKey(name) || children.containsKey(name)) {
            throw new EmberException(typeName() + " already has a parameter, buffer or child named '" + name + "'");
        }
        int dot = name.indexOf('.');
        if (dot >= 0 && children.containsKey(name.substring(0, dot))) {
            throw new EmberException(typeName() + ": the name '" + name + "' would clash with the names of child module '" + name.substring(0, dot) + "'");
        }
    }

    private List<String> ownNames() {
        List<String> names = new ArrayList<>(parameters.keySet());
        names.addAll(buffers.keySet());
        return names;
    }

    /** Replaces the existing child {@code name}, keeping its place in the order. */
    protected final void replaceModule(String name, Module module) {
        if (!children.containsKey(name)) throw new EmberException(typeName() + " has no child module '" + name + "' to replace; it has " + children.keySet());
        children.put(name, module);
    }

    private void checkNewName(String name) {
        if (name == null || name.isEmpty() || name.contains(".")) {
            throw new EmberException(typeName() + ": a state name must be non-empty and contain no '.', got '" + name + "'");
        }
        if (parameters.containsKey(name) || buffers.containsKey(name) || children.containsKey(name)) {
            throw new EmberException(typeName() + " already has a parameter, buffer or child named '" + name + "'");
        }
    }

    // ---- listing ----

    /** Every parameter of this module and its descendants by dotted name; a parameter shared by two modules is listed once. */
    public final Map<String, Variable> namedParameters() {
        Map<String, Variable> out = new LinkedHashMap<>();
        Set<Variable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Map.Entry<String, Module> m : namedModules().entrySet()) {
            for (Map.Entry<String, Variable> p : m.getValue().parameters.entrySet()) {
                if (seen.add(p.getValue())) out.put(join(m.getKey(), p.getKey()), p.getValue());
            }
        }
        return out;
    }

    public final List<Variable> parameters() { return new ArrayList<>(namedParameters().values()); }

    /** Every buffer of this module and its descendants by dotted name. */
    public final Map<String, Tensor> namedBuffers() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Module> m : namedModules().entrySet()) {
            for (Map.Entry<String, Tensor> b : m.getValue().buffers.entrySet()) out.put(join(m.getKey(), b.getKey()), b.getValue());
        }
        return out;
    }

    /** The direct children in registration order. */
    public final List<Module> children() { return new ArrayList<>(children.values()); }

    public final Map<String, Module> namedChildren() { return new LinkedHashMap<>(children); }

    /** This module (named "") and every descendant by dotted name, parents before children. */
    public final Map<String, Module> namedModules() {
        Map<String, Module> out = new LinkedHashMap<>();
        collectModules("", out);
        return out;
    }

    private void collectModules(String prefix, Map<String, Module> out) {
        out.put(prefix, this);
        for (Map.Entry<String, Module> c : children.entrySet()) c.getValue().collectModules(join(prefix, c.getKey()), out);
    }

    private static String join(String prefix, String name) { return prefix.isEmpty() ? name : prefix + "." + name; }

    // ---- mode and gradients ----

    /** Sets training mode on this module and all descendants (dropout active, batch norm using batch statistics). */
    public final Module train(boolean on) {
        for (Module m : namedModules().values()) m.training = on;
        return this;
    }

    public final Module train() { return train(true); }

    public final Module eval() { return train(false); }

    public final boolean isTraining() { return training; }

    public final void zeroGrad() {
        for (Variable p : parameters()) p.zeroGrad();
    }

    /** Turns gradient tracking on or off for every parameter (off = frozen: optimizers skip it). */
    public final Module requiresGrad(boolean on) {
        for (Variable p : parameters()) p.requiresGrad(on);
        return this;
    }

    /**
     * Freezes the parameters whose full dotted name matches {@code glob}, a GLOB over the whole name: {@code *} is
     * any run of characters (dots included), {@code ?} one character, everything else literal. So {@code layer1.*}
     * is all of layer1 and {@code *.bn?.weight} the BatchNorm scales. Returns the names matched; a pattern that
     * matches nothing is an error (it is almost always a typo).
     */
    public final List<String> freeze(String glob) { return requiresGrad(Glob.toRegex(glob), false, "glob '" + glob + "'"); }

    /** Unfreezes the parameters whose full name matches {@code glob} (see {@link #freeze}). */
    public final List<String> unfreeze(String glob) { return requiresGrad(Glob.toRegex(glob), true, "glob '" + glob + "'"); }

    /** Sets gradient tracking on the parameters whose full name matches the REGEX {@code pattern} (whole-name match). */
    public final List<String> requiresGrad(Pattern pattern, boolean on) { return requiresGrad(pattern, on, "regex '" + pattern + "'"); }

    private List<String> requiresGrad(Pattern pattern, boolean on, String what) {
        List<String> matched = new ArrayList<>();
        Map<String, Variable> named = namedParameters();
        for (Map.Entry<String, Variable> p : named.entrySet()) {
            if (pattern.matcher(p.getKey()).matches()) {
                p.getValue().requiresGrad(on);
                matched.add(p.getKey());
            }
        }
        if (matched.isEmpty()) {
            List<String> some = new ArrayList<>(named.keySet()).subList(0, Math.min(5, named.size()));
            throw new EmberException(what + " matches no parameter of " + typeName() + "; names look like " + some);
        }
        return matched;
    }

    // ---- state ----

    /**
     * Parameters and buffers by dotted name, each module's parameters then its buffers, then its children's. The
     * values are the live tensors (as in PyTorch), not copies: write them out or copy them before training on.
     */
    public final Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Module> m : namedModules().entrySet()) {
            for (Map.Entry<String, Variable> p : m.getValue().parameters.entrySet()) out.put(join(m.getKey(), p.getKey()), p.getValue().data());
            for (Map.Entry<String, Tensor> b : m.getValue().buffers.entrySet()) out.put(join(m.getKey(), b.getKey()), b.getValue());
        }
        return out;
    }

    // ---- device ----

    /**
     * Moves every parameter and buffer of this module and its descendants to {@code device}, as PyTorch's
     * {@code module.to(device)}: a parameter keeps its {@link Variable} (an optimizer made over it stays valid; its
     * gradient is dropped), a buffer is replaced by its copy there. Build the optimizer's state after moving: state
     * that already exists stays where it is. Returns this module.
     */
    public final Module to(Device device) {
        zeroGrad();
        List<Module> modules = new ArrayList<>(namedModules().values());
        for (Module m : modules) {
            for (Variable p : m.parameters.values()) p.setData(p.data().to(device));
            m.buffers.replaceAll((name, t) -> t.to(device));
        }
        for (Module m : modules) m.movedTo(device);
        return this;
    }

    /** Called by {@link #to} once every parameter and buffer of the whole tree is on {@code device}. */
    protected void movedTo(Device device) {}

    /** Keys the module has that the loaded dict lacked, and keys of the dict the module does not have. */
    public record LoadResult(List<String> missingKeys, List<String> unexpectedKeys) {}

    /** Same as {@code loadStateDict(state, true)}. */
    public final LoadResult loadStateDict(Map<String, Tensor> state) { return loadStateDict(state, true); }

    /**
     * Copies {@code state} into this module's parameters and buffers (in place; the module never aliases the given
     * tensors). Everything is checked before anything is copied: a shape mismatch is always an error, missing and
     * unexpected keys are errors when {@code strict} and are reported in the result otherwise.
     *
     * @throws StateDictException listing every missing key, unexpected key and shape mismatch
     */
    public final LoadResult loadStateDict(Map<String, Tensor> state, boolean strict) {
        Map<String, Tensor> own = stateDict();
        List<String> missing = new ArrayList<>();
        List<StateDictException.Mismatch> mismatches = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : own.entrySet()) {
            Tensor src = state.get(e.getKey());
            if (src == null) missing.add(e.getKey());
            else if (!src.shape().equals(e.getValue().shape())) mismatches.add(new StateDictException.Mismatch(e.getKey(), e.getValue().shape(), src.shape()));
        }
        List<String> unexpected = new ArrayList<>();
        for (String k : state.keySet()) if (!own.containsKey(k)) unexpected.add(k);
        if (!mismatches.isEmpty() || (strict && (!missing.isEmpty() || !unexpected.isEmpty()))) {
            throw new StateDictException("cannot load state dict into " + typeName(), missing, unexpected, mismatches);
        }
        for (Map.Entry<String, Tensor> e : own.entrySet()) {
            Tensor src = state.get(e.getKey());
            if (src == null) continue;
            Tensor dst = e.getValue();
            dst.copyFrom(src.to(dst.device()));
        }
        return new LoadResult(List.copyOf(missing), List.copyOf(unexpected));
    }

    // ---- printing ----

    /** The arguments shown in {@link #toString()}, PyTorch style: {@code in_features=4, out_features=8, bias=True}. */
    protected String extraRepr() { return ""; }

    /** A tree like PyTorch's {@code print(model)}. */
    @Override public String toString() {
        StringBuilder b = new StringBuilder();
        appendTree(b, "");
        return b.toString();
    }

    private void appendTree(StringBuilder b, String indent) {
        b.append(typeName()).append('(');
        String extra = extraRepr();
        if (children.isEmpty()) {
            b.append(extra);
        } else {
            b.append('\n');
            if (!extra.isEmpty()) b.append(indent).append("  ").append(extra).append('\n');
            for (Map.Entry<String, Module> c : children.entrySet()) {
                b.append(indent).append("  (").append(c.getKey()).append("): ");
                c.getValue().appendTree(b, indent + "  ");
                b.append('\n');
            }
            b.append(indent);
        }
        b.append(')');
    }

    private String typeName() {
        String s = getClass().getSimpleName();
        return s.isEmpty() ? getClass().getName() : s;
    }

    /** A float as Python prints it ({@code 0.1}, {@code 1e-05}), so reprs read like PyTorch's. */
    static String pyFloat(float v) {
        String s = Float.toString(v);              // "0.1" or "1.0E-5"
        int e = s.indexOf('E');
        if (e < 0) return s;
        String mantissa = s.substring(0, e);
        if (mantissa.endsWith(".0")) mantissa = mantissa.substring(0, mantissa.length() - 2);
        int exp = Integer.parseInt(s.substring(e + 1));
        return mantissa + "e" + (exp < 0 ? "-" : "+") + String.format("%02d", Math.abs(exp));
    }

    static String pyBool(boolean b) { return b ? "True" : "False"; }
}
