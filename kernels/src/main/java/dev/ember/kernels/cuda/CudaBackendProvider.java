package dev.ember.kernels.cuda;

import dev.ember.engine.Backend;
import dev.ember.engine.BackendException;
import dev.ember.engine.BackendProvider;
import dev.ember.engine.Device;

/**
 * Announces the CUDA backend ({@code cuda}, device kind CUDA). Available when JCuda's native library and the NVIDIA
 * driver load and the driver shows a device; otherwise {@link #unavailableReason()} says which is missing. Checking
 * never throws and never crashes the JVM: the first JCuda touch is guarded in {@link CudaDriver}.
 */
public final class CudaBackendProvider implements BackendProvider {
    public CudaBackendProvider() {}

    @Override public String name() { return "cuda"; }

    @Override public Device.Kind deviceKind() { return Device.Kind.CUDA; }

    @Override public int priority() { return 100; }

    @Override public boolean isAvailable() { return CudaDriver.problem() == null; }

    @Override public String unavailableReason() {
        String p = CudaDriver.problem();
        return p == null ? "available" : p;
    }

    @Override public Backend create(Device device) {
        if (device.kind() != Device.Kind.CUDA) throw new BackendException("the cuda backend serves CUDA devices, not " + device);
        return new CudaBackend(CudaContext.open(device.index()));
    }
}
