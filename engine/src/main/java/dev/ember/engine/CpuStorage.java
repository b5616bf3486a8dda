package dev.ember.engine;

/**
 * Storage in a Java array on the heap: {@code float[]} for float32, {@code int[]} for int32,
 * {@code long[]} for int64, {@code byte[]} for uint8 (read as unsigned) and for bool (0 or 1).
 */
public final class CpuStorage extends Storage {
    private Object array;        // null once released (its TensorScope closed, or TensorScope.releaseIfMadeSince)
    private final int size;

    private CpuStorage(DType dtype, Object array, int size) {
        super(dtype);
        this.array = array;
        this.size = size;
        TensorScope.track(this);
    }

    public static CpuStorage allocate(DType dtype, int size) {
        if (size < 0 || size > Shape.MAX_NUMEL) throw new ShapeException("cannot allocate " + size + " elements");
        return switch (dtype) {
            case FLOAT32 -> new CpuStorage(dtype, BufferPool.zeroed(size), size);
            case INT32 -> new CpuStorage(dtype, new int[size], size);
            case INT64 -> new CpuStorage(dtype, new long[size], size);
            case UINT8, BOOL -> new CpuStorage(dtype, new byte[size], size);
        };
    }

    public static CpuStorage wrap(float[] a) { return new CpuStorage(DType.FLOAT32, a, a.length); }
    public static CpuStorage wrap(int[] a) { return new CpuStorage(DType.INT32, a, a.length); }
    public static CpuStorage wrap(long[] a) { return new CpuStorage(DType.INT64, a, a.length); }
    public static CpuStorage wrap(byte[] a) { return new CpuStorage(DType.UINT8, a, a.length); }

    /** A bool storage over {@code a}, whose bytes must be 0 or 1. */
    public static CpuStorage wrapBool(byte[] a) {
        for (int i = 0; i < a.length; i++) if ((a[i] & ~1) != 0) throw new DTypeException("bool byte " + a[i] + " at " + i + " is not 0 or 1");
        return new CpuStorage(DType.BOOL, a, a.length);
    }

    @Override public Device device() { return Device.CPU; }

    @Override public int size() { return size; }

    public float[] floats() { return (float[]) checked(DType.FLOAT32); }
    public int[] ints() { return (int[]) checked(DType.INT32); }
    public long[] longs() { return (long[]) checked(DType.INT64); }
    /** The bytes of a uint8 or bool storage. */
    public byte[] bytes() {
        if (dtype() == DType.BOOL) return (byte[]) array();
        return (byte[]) checked(DType.UINT8);
    }

    @Override public boolean isReleased() { return array == null; }

    private Object checked(DType want) {
        if (dtype() != want) throw new DTypeException("storage holds " + dtype() + ", not " + want);
        return array();
    }

    private Object array() {
        Object a = array;
        if (a == null) throw new ReleasedTensorException(size, dtype());
        return a;
    }

    /** Ends this storage's use (its scope closed) and hands back its array, or null if it was detached or released. */
    Object release() {
        if (detached) return null;
        Object a = array;
        array = null;
        return a;
    }

    /** Keeps this storage past every scope; its array (null if already released). */
    Object detach() {
        keepPastScopes();
        return array;
    }

    /** Element {@code i} widened to double, whatever the dtype (uint8 read as unsigned). */
    public double getDouble(int i) {
        Object a = array();
        return switch (dtype()) {
            case FLOAT32 -> ((float[]) a)[i];
            case INT32 -> ((int[]) a)[i];
            case INT64 -> ((long[]) a)[i];
            case UINT8 -> ((byte[]) a)[i] & 0xFF;
            case BOOL -> ((byte[]) a)[i];
        };
    }

    /** Stores {@code v} at {@code i}, converting to the dtype (integers truncate toward zero, uint8 wraps, bool is v != 0). */
    public void setDouble(int i, double v) {
        Object a = array();
        switch (dtype()) {
            case FLOAT32 -> ((float[]) a)[i] = (float) v;
            case INT32 -> ((int[]) a)[i] = (int) v;
            case INT64 -> ((long[]) a)[i] = (long) v;
            case UINT8 -> ((byte[]) a)[i] = (byte) (long) v;
            case BOOL -> ((byte[]) a)[i] = (byte) (v != 0 ? 1 : 0);
        }
    }
}
