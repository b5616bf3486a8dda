package dev.ember.kernels.reference;

import dev.ember.engine.BackendException;
import dev.ember.engine.CpuStorage;
import dev.ember.engine.Tensor;

/** Maps a row-major element number of a strided CPU view to its position in the storage. */
final class Indexer {
    final CpuStorage storage;
    private final int[] dims;
    private final int[] strides;
    private final int offset;

    Indexer(Tensor t) {
        if (!(t.storage() instanceof CpuStorage c)) throw new BackendException("the reference backend needs CPU tensors, got one on " + t.device());
        this.storage = c;
        this.dims = t.dims();
        this.strides = t.strides();
        this.offset = t.offset();
    }

    /** Storage position of element number {@code flat} (row-major over the view's shape). */
    int at(int flat) {
        int pos = offset;
        for (int i = dims.length - 1; i >= 0; i--) {
            pos += (flat % dims[i]) * strides[i];
            flat /= dims[i];
        }
        return pos;
    }

    /** Element number {@code flat} widened to double. */
    double get(int flat) { return storage.getDouble(at(flat)); }
}
