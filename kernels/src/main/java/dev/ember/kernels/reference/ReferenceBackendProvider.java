package dev.ember.kernels.reference;

import dev.ember.engine.Backend;
import dev.ember.engine.BackendProvider;
import dev.ember.engine.Device;

/** Announces the reference backend ({@code reference}, CPU, lowest priority: chosen only by name). */
public final class ReferenceBackendProvider implements BackendProvider {
    public ReferenceBackendProvider() {}

    @Override public String name() { return "reference"; }

    @Override public Device.Kind deviceKind() { return Device.Kind.CPU; }

    @Override public int priority() { return 0; }

    @Override public boolean isAvailable() { return true; }

    @Override public Backend create(Device device) { return new ReferenceBackend(); }
}
