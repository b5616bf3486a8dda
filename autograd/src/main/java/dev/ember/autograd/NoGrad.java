package dev.ember.autograd;

/**
 * A scope in which ops record no graph: {@code try (NoGrad g = NoGrad.enter()) { ... }}. Per thread and nestable:
 * recording resumes when the outermost scope of this thread closes. Use it for evaluation, optimizer updates and
 * running-statistics bookkeeping.
 */
public final class NoGrad implements AutoCloseable {
    private static final ThreadLocal<int[]> DEPTH = ThreadLocal.withInitial(() -> new int[1]);

    private boolean closed;

    private NoGrad() {}

    public static NoGrad enter() {
        DEPTH.get()[0]++;
        return new NoGrad();
    }

    /** True while this thread is inside a NoGrad scope, i.e. while ops record nothing. */
    public static boolean isEnabled() { return DEPTH.get()[0] > 0; }

    /** Leaves the scope; closing one scope twice has no further effect. */
    @Override public void close() {
        if (closed) return;
        closed = true;
        int[] depth = DEPTH.get();
        if (depth[0] > 0) depth[0]--;
    }
}
