package dev.ember.engine;

/** Root of every error the engine throws on purpose; catch this to tell our errors from bugs. */
public class EmberException extends RuntimeException {
    public EmberException(String message) { super(message); }
    public EmberException(String message, Throwable cause) { super(message, cause); }
}
