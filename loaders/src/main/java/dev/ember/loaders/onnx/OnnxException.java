package dev.ember.loaders.onnx;

import dev.ember.engine.EmberException;

/**
 * Anything wrong with an ONNX model: malformed bytes, a graph that cannot run (cycle, dangling input), an op or
 * attribute we do not support (named with its opset), a tensor of the wrong type or shape. The message names the
 * file, node, tensor or field and what was expected.
 */
public class OnnxException extends EmberException {
    public OnnxException(String message) { super(message); }
    public OnnxException(String message, Throwable cause) { super(message, cause); }
}
