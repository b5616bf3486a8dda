package dev.ember.engine;

import java.util.Arrays;

/**
 * An immutable list of dimension sizes. Sizes are checked once, here: non-negative, and the element count
 * must fit a Java array, so no allocation downstream is ever sized by an overflowed product.
 */
public final class Shape {
    /** Largest element count we allocate: the JVM's practical array limit. */
    public static final int MAX_NUMEL = Integer.MAX_VALUE - 8;

    private final int[] dims;
    private final int numel;

    private Shape(int[] dims) {
        long n = 1;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] < 0) throw new ShapeException("negative dimension " + dims[i] + " at axis " + i + " in " + Arrays.toString(dims));
            n *= dims[i];
            if (n > MAX_NUMEL) throw new ShapeException("shape " + Arrays.toString(dims) + " has more than " + MAX_NUMEL + " elements");
        }
        this.dims = dims;
        this.numel = (int) n;
    }

    public static Shape of(int... dims) { return new Shape(dims.clone()); }

    /** From 64-bit sizes (as a file stores them), refusing any that does not fit. */
    public static Shape ofLongs(long... dims) {
        int[] d = new int[dims.length];
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] < 0 || dims[i] > MAX_NUMEL) throw new ShapeException("dimension " + dims[i] + " at axis " + i + " is out of range");
            d[i] = (int) dims[i];
        }
        return new Shape(d);
    }

    public static final Shape SCALAR = new Shape(new int[0]);

    public int rank() { return dims.length; }

    public int numel() { return numel; }

    /** Size of axis {@code i}; negative counts from the end. */
    public int dim(int i) { return dims[axis(i)]; }

    public int[] dims() { return dims.clone(); }

    /** Normalizes a possibly negative axis, with an error naming the shape when it is out of range. */
    public int axis(int i) {
        int a = i < 0 ? i + dims.length : i;
        if (a < 0 || a >= dims.length) throw new ShapeException("axis " + i + " is out of range for shape " + this);
        return a;
    }

    /** Row-major (C order) strides for this shape. */
    public int[] contiguousStrides() {
        int[] s = new int[dims.length];
        int acc = 1;
        for (int i = dims.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= Math.max(dims[i], 1);
        }
        return s;
    }

    /** NumPy broadcasting: align from the right; sizes must match or one of them be 1. */
    public static Shape broadcast(Shape a, Shape b) {
        int r = Math.max(a.rank(), b.rank());
        int[] out = new int[r];
        for (int i = 0; i < r; i++) {
            int da = i < r - a.rank() ? 1 : a.dims[i - (r - a.rank())];
            int db = i < r - b.rank() ? 1 : b.dims[i - (r - b.rank())];
            if (da != db && da != 1 && db != 1) {
                throw new ShapeException("shapes " + a + " and " + b + " cannot be broadcast: axis " + i
                        + " (from the left of the result) has sizes " + da + " and " + db);
            }
            out[i] = da == 1 ? db : da;
        }
        return new Shape(out);
    }

    @Override public boolean equals(Object o) { return o instanceof Shape s && Arrays.equals(dims, s.dims); }

    @Override public int hashCode() { return Arrays.hashCode(dims); }

    @Override public String toString() { return Arrays.toString(dims); }
}
