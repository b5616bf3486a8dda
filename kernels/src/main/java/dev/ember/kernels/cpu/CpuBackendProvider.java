package dev.ember.kernels.cpu;

import dev.ember.engine.Backend;
import dev.ember.engine.BackendProvider;
import dev.ember.engine.Device;

/** Announces the CPU backend ({@code cpu}, priority 100); available when the JVM has the Vector API module. */
public final class CpuBackendProvider implements BackendProvider {
    /** Null when the Vector API loads, else why not. */
    private static final String PROBLEM = probeVectorApi();

    public CpuBackendProvider() {}

    @Override public String name() { return "cpu"; }

    @Override public Device.Kind deviceKind() { return Device.Kind.CPU; }

    @Override public int priority() { return 100; }

    @Override public boolean isAvailable() { return PROBLEM == null; }

    @Override public String unavailableReason() {
        return PROBLEM == null ? "available" : PROBLEM;
    }

    @Override public Backend create(Device device) { return new CpuBackend(); }

    private static String probeVectorApi() {
        try {
            // initializing the class loads the module's species tables, the first thing the kernels need
            Class.forName("jdk.incubator.vector.FloatVector", true, CpuBackendProvider.class.getClassLoader());
            return null;
        } catch (Throwable t) {
            return "the Vector API (jdk.incubator.vector) does not load (" + t + "); start the JVM with --add-modules jdk.incubator.vector";
        }
    }
}
