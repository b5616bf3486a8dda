package dev.ember.engine;

/** No backend for a device, a device that is not there, or tensors on two different devices in one op. */
public class BackendException extends EmberException {
    public BackendException(String message) { super(message); }
    public BackendException(String message, Throwable cause) { super(message, cause); }
}
