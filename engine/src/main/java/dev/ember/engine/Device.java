package dev.ember.engine;

import java.util.Locale;

/**
 * Where a tensor's storage lives. {@link #CPU} is the default; {@code cuda:N} names a GPU.
 * A device says nothing of how ops run on it: that is the {@link Backend} registered for it.
 */
public record Device(Kind kind, int index) {
    public enum Kind { CPU, CUDA }

    public static final Device CPU = new Device(Kind.CPU, 0);

    public Device {
        if (index < 0) throw new IllegalArgumentException("device index must be >= 0, got " + index);
    }

    public static Device cuda(int index) { return new Device(Kind.CUDA, index); }

    /** Parses {@code cpu}, {@code cuda} or {@code cuda:N}. */
    public static Device parse(String text) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        if (s.equals("cpu")) return CPU;
        if (s.equals("cuda")) return cuda(0);
        if (s.startsWith("cuda:")) {
            try {
                int index = Integer.parseInt(s.substring(5));
                if (index >= 0) return cuda(index);
            } catch (NumberFormatException e) {
                // falls through to the error below
            }
        }
        throw new BackendException("bad device '" + text + "': expected cpu, cuda or cuda:N with N >= 0");
    }

    @Override public String toString() {
        return kind == Kind.CPU ? "cpu" : "cuda:" + index;
    }
}
