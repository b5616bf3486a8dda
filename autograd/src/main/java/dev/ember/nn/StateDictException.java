package dev.ember.nn;

import dev.ember.engine.EmberException;
import dev.ember.engine.Shape;

import java.util.List;

/**
 * A state dict that does not fit its module or optimizer: keys it lacks, keys nobody asked for, and entries whose
 * shape differs. Every problem found is listed, not only the first, and nothing was loaded when this is thrown.
 */
public class StateDictException extends EmberException {
    /** An entry whose shape differs from the one it is loaded into. */
    public record Mismatch(String name, Shape expected, Shape got) {
        @Override public String toString() { return name + ": expected " + expected + ", got " + got; }
    }

    private final List<String> missingKeys;
    private final List<String> unexpectedKeys;
    private final List<Mismatch> mismatches;

    public StateDictException(String what, List<String> missingKeys, List<String> unexpectedKeys, List<Mismatch> mismatches) {
        super(message(what, missingKeys, unexpectedKeys, mismatches));
        this.missingKeys = List.copyOf(missingKeys);
        this.unexpectedKeys = List.copyOf(unexpectedKeys);
        this.mismatches = List.copyOf(mismatches);
    }

    /** A problem that is neither a key nor a shape (a wrong dtype, an inconsistent layout). */
    public StateDictException(String message) {
        this(message, List.of(), List.of(), List.of());
    }

    public List<String> missingKeys() { return missingKeys; }
    public List<String> unexpectedKeys() { return unexpectedKeys; }
    public List<Mismatch> mismatches() { return mismatches; }

    private static String message(String what, List<String> missing, List<String> unexpected, List<Mismatch> mismatches) {
        StringBuilder b = new StringBuilder(what);
        if (!missing.isEmpty()) b.append("; missing keys ").append(missing);
        if (!unexpected.isEmpty()) b.append("; unexpected keys ").append(unexpected);
        if (!mismatches.isEmpty()) b.append("; shape mismatches ").append(mismatches);
        return b.toString();
    }
}
