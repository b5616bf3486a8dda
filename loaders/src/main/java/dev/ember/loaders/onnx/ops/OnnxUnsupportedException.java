package dev.ember.loaders.onnx.ops;

import dev.ember.loaders.onnx.OnnxException;

/**
 * A valid model that uses something ember does not implement: an op, an attribute value (a Resize mode, 3-D
 * pooling) or an element type. The conformance runner counts such cases as unsupported, not failed.
 */
public final class OnnxUnsupportedException extends OnnxException {
    public OnnxUnsupportedException(String message) { super(message); }
}
