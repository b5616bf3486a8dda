package dev.ember.engine;

/**
 * A flat buffer of elements of one dtype on one device. Tensors are views into a storage
 * (shape, strides, offset), so reshape/permute/slice/expand never copy.
 */
public abstract class Storage {
    private final DType dtype;

    protected Storage(DType dtype) { this.dtype = dtype; }

    public DType dtype() { return dtype; }

    public abstract Device device();

    /** Number of elements (not bytes). */
    public abstract int size();
}
