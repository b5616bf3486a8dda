package dev.ember.autograd;

/**
 * A scope in which ops record no graph: {@code try (NoGrad g = NoGrad.enter()) { ... }}. Per thread, nestable.
 * (Skeleton: being written.)
 */
public final class NoGrad implements AutoCloseable {
    public static NoGrad enter() { throw new UnsupportedOperationException("autograd is being written"); }

    public static boolean isEnabled() { throw new UnsupportedOperationException("autograd is being written"); }

    @Override public void close() { throw new UnsupportedOperationException("autograd is being written"); }
}
