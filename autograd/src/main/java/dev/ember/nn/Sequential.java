package dev.ember.nn;

import dev.ember.autograd.Variable;
import dev.ember.engine.EmberException;

import java.util.List;

/** Children applied in order, each to the previous one's output; named 0, 1, 2, ... */
public final class Sequential extends Module {
    private int size;

    public Sequential(Module... modules) {
        for (Module m : modules) add(m);
    }

    public Sequential(List<? extends Module> modules) {
        for (Module m : modules) add(m);
    }

    /** Appends {@code module} as the next child. */
    public Sequential add(Module module) {
        registerModule(Integer.toString(size++), module);
        return this;
    }

    public Module get(int index) { return children().get(checkIndex(index)); }

    /** Replaces child {@code index} (swap a classifier head, say). */
    public void set(int index, Module module) { replaceModule(Integer.toString(checkIndex(index)), module); }

    public int size() { return size; }

    @Override public Variable forward(Variable x) {
        Variable y = x;
        for (Module m : children()) y = m.forward(y);
        return y;
    }

    private int checkIndex(int index) {
        if (index < 0 || index >= size) throw new EmberException("Sequential index " + index + " is out of range for " + size + " children");
        return index;
    }
}
