package dev.ember.engine;

/**
 * Service-provider hook ({@code META-INF/services/dev.ember.engine.BackendProvider}) through which a
 * backend jar announces itself. {@link Backends} picks, per device kind, the available provider with the
 * highest priority, or the one named by the system property {@code ember.backend}.
 */
public interface BackendProvider {
    /** Short name, e.g. {@code cpu}, {@code reference}, {@code cuda}. */
    String name();

    Device.Kind deviceKind();

    /** Higher wins when several serve one device kind. */
    int priority();

    /** Whether this provider can run here (driver present, device found); never throws. */
    boolean isAvailable();

    /** A short reason when {@link #isAvailable()} is false. */
    default String unavailableReason() { return "unavailable"; }

    Backend create(Device device);
}
