package dev.ember.loaders.onnx.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.autograd.Variable;
import dev.ember.engine.EmberException;
import dev.ember.engine.Tensor;
import dev.ember.nn.Module;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The Module registration that imported models need: names with dots listed as given, kept apart from the dotted
 * names of child modules, and removal of a replaced layer's parameter.
 */
class ImportedNamesTest {
    /** A module that exposes the protected registration calls to the test. */
    private static final class Holder extends Module {
        Variable param(String name) { return registerImportedParameter(name, Tensor.zeros(2)); }
        Tensor buffer(String name) { return registerImportedBuffer(name, Tensor.zeros(2)); }
        <M extends Module> M child(String name, M m) { return registerModule(name, m); }
        Variable remove(String name) { return removeParameter(name); }
        @Override public Variable forward(Variable x) { return x; }
    }

    @Test void dottedNamesAreListedAsGiven() {
        Holder h = new Holder();
        h.param("fc.weight");
        h.param("onnx::Conv_193");
        h.buffer("bn.running_mean");
        Holder inner = h.child("block", new Holder());
        inner.param("w");
        assertEquals(List.of("fc.weight", "onnx::Conv_193", "block.w"), new ArrayList<>(h.namedParameters().keySet()));
        assertEquals(List.of("fc.weight", "onnx::Conv_193", "bn.running_mean", "block.w"), new ArrayList<>(h.stateDict().keySet()));
        h.freeze("fc.*");
        assertTrue(!h.namedParameters().get("fc.weight").requiresGrad() && h.namedParameters().get("onnx::Conv_193").requiresGrad());
    }

    @Test void dottedNamesCannotClashWithChildren() {
        Holder h = new Holder();
        h.child("block", new Holder());
        assertThrows(EmberException.class, () -> h.param("block.w"), "would list as a child's parameter");
        h.param("fc.weight");
        assertThrows(EmberException.class, () -> h.child("fc", new Holder()), "a later child may not take the prefix either");
        assertThrows(EmberException.class, () -> h.param("fc.weight"), "twice");
        assertThrows(EmberException.class, () -> h.param(""));
    }

    @Test void removesAParameter() {
        Holder h = new Holder();
        Variable w = h.param("fc.weight");
        h.param("fc.bias");
        assertEquals(w, h.remove("fc.weight"));
        assertEquals(List.of("fc.bias"), new ArrayList<>(h.namedParameters().keySet()));
        EmberException e = assertThrows(EmberException.class, () -> h.remove("fc.weight"));
        assertTrue(e.getMessage().contains("fc.weight"), e.getMessage());
    }
}
