package dev.ember.engine;

/**
 * Element types. float32 carries all math; the integer types hold labels, indices and raw image bytes; bool
 * (one byte, 0 or 1) holds masks and ONNX comparison results.
 */
public enum DType {
    FLOAT32(4), INT32(4), INT64(8), UINT8(1), BOOL(1);

    private final int byteSize;

    DType(int byteSize) { this.byteSize = byteSize; }

    public int byteSize() { return byteSize; }

    public boolean isFloating() { return this == FLOAT32; }
}
