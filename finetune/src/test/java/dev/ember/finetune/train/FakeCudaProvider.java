package dev.ember.finetune.train;

import dev.ember.engine.Backend;
import dev.ember.engine.BackendException;
import dev.ember.engine.BackendProvider;
import dev.ember.engine.Backends;
import dev.ember.engine.CpuStorage;
import dev.ember.engine.Device;
import dev.ember.engine.ReleasedTensorException;
import dev.ember.engine.Storage;
import dev.ember.engine.Tensor;
import dev.ember.engine.TensorScope;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;

/**
 * A stand-in GPU for the finetune module's tests, so that the device plumbing (moving models and batches, checkpoints
 * written from the device, scopes releasing device memory) runs in CI, where no GPU is. It serves {@code cuda:N} with
 * the CPU backend's arithmetic, so a run on it must give the CPU's bits, but keeps its tensors in storage of its own
 * that reports a CUDA device: a host tensor handed to one of its ops is an error, as on a real GPU, and so is a tensor
 * its TensorScope released. Registered for this module's tests only, above the real CUDA provider.
 */
public final class FakeCudaProvider implements BackendProvider {
    @Override public String name() { return "fake-cuda"; }
    @Override public Device.Kind deviceKind() { return Device.Kind.CUDA; }
    @Override public int priority() { return 1000; }
    @Override public boolean isAvailable() { return true; }

    @Override public Backend create(Device device) {
        Backend cpu = Backends.named("cpu", Device.CPU);
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (proxy, m, args) -> {
            switch (m.getName()) {
                case "name": return "fake-cuda";
                case "device": return device;
                case "fromHost": return onDevice(device, cpu.copy((Tensor) args[0]));
                case "toHost": return cpu.copy(onHost(m, (Tensor) args[0]));
                default:
            }
            Object[] mapped = args == null ? null : args.clone();
            for (int i = 0; mapped != null && i < mapped.length; i++) if (mapped[i] instanceof Tensor t) mapped[i] = onHost(m, t);
            Object r;
            try {
                r = m.invoke(cpu, mapped);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
            return back(device, r);
        });
    }

    /** A result of the CPU backend as the fake device's: tensors (alone, in arrays, in the result records) wrapped. */
    private static Object back(Device device, Object r) {
        if (r instanceof Tensor t) return onDevice(device, t);
        if (r instanceof Tensor[] ts) {
            Tensor[] out = new Tensor[ts.length];
            for (int i = 0; i < ts.length; i++) out[i] = ts[i] == null ? null : onDevice(device, ts[i]);
            return out;
        }
        if (r instanceof Backend.MaxPoolResult p) return new Backend.MaxPoolResult(onDevice(device, p.output()), onDevice(device, p.indices()));
        if (r instanceof Backend.NormResult n) {
            return new Backend.NormResult(onDevice(device, n.output()), n.mean() == null ? null : onDevice(device, n.mean()),
                    n.variance() == null ? null : onDevice(device, n.variance()), n.invStd() == null ? null : onDevice(device, n.invStd()));
        }
        return r;
    }

    /** The CPU view the fake device computes on; a host tensor or a released one is refused, as a GPU would. */
    private static Tensor onHost(Method op, Tensor t) {
        if (!(t.storage() instanceof DeviceStorage d)) {
            throw new BackendException("fake-cuda " + op.getName() + ": tensor " + t.shape() + " is on " + t.device() + ", not on the device");
        }
        if (d.isReleased()) throw new ReleasedTensorException(d.size(), d.dtype());
        return Tensor.view(d.host, t.shape(), t.strides(), t.offset());
    }

    /** t's storage kept for the fake device: its host array is no scope's (the device storage is, like a GPU's). */
    private static Tensor onDevice(Device device, Tensor t) {
        TensorScope.detach(t);
        return Tensor.view(new DeviceStorage(device, (CpuStorage) t.storage()), t.shape(), t.strides(), t.offset());
    }

    static final class DeviceStorage extends Storage {
        private final Device device;
        private final CpuStorage host;

        DeviceStorage(Device device, CpuStorage host) {
            super(host.dtype());
            this.device = device;
            this.host = host;
            trackInScope();
        }

        @Override public Device device() { return device; }
        @Override public int size() { return host.size(); }
    }
}
