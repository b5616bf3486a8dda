package dev.ember.engine;

/** A shape that does not fit: mismatched operands, a bad reshape, an axis out of range. Names both shapes. */
public class ShapeException extends EmberException {
    public ShapeException(String message) { super(message); }
}
