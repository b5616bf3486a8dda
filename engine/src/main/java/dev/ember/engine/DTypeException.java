package dev.ember.engine;

/** An operand of the wrong element type, e.g. an int64 label tensor where float32 logits were expected. */
public class DTypeException extends EmberException {
    public DTypeException(String message) { super(message); }
}
