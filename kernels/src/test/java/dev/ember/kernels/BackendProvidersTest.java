package dev.ember.kernels;

import dev.ember.engine.Backend;
import dev.ember.engine.BackendProvider;
import dev.ember.engine.Backends;
import dev.ember.engine.Device;
import dev.ember.kernels.cpu.CpuBackend;
import dev.ember.kernels.cpu.CpuBackendProvider;
import dev.ember.kernels.reference.ReferenceBackend;
import dev.ember.kernels.reference.ReferenceBackendProvider;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Both backends are registered through ServiceLoader; the CPU one wins by priority, the reference one by name. */
class BackendProvidersTest {
    @Test void bothProvidersAreRegistered() {
        List<String> names = new ArrayList<>();
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) names.add(p.name());
        assertTrue(names.contains("cpu") && names.contains("reference"), "providers found: " + names);
        CpuBackendProvider cpu = new CpuBackendProvider();
        assertTrue(cpu.isAvailable(), "the tests run with --add-modules jdk.incubator.vector: " + cpu.unavailableReason());
        assertEquals(100, cpu.priority());
        assertEquals(0, new ReferenceBackendProvider().priority());
        assertEquals(Device.Kind.CPU, cpu.deviceKind());
    }

    /** A profiler's wrapper sees every op of the device's tensors until the backend is put back. */
    @Test void instrumentRoutesTheDevicesOpsThroughAWrapper() {
        Backend original = Backends.of(Device.CPU);
        List<String> calls = new ArrayList<>();
        Backend inner = Backends.instrument(Device.CPU, b -> (Backend) java.lang.reflect.Proxy.newProxyInstance(Backend.class.getClassLoader(),
                new Class<?>[] {Backend.class}, (proxy, m, args) -> {
                    calls.add(m.getName());
                    try {
                        return m.invoke(b, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                }));
        try {
            assertEquals(original, inner);
            float[] y = dev.ember.engine.Tensor.of(new float[] {1, -2}, 2).relu().toFloatArray();
            assertEquals(2, y.length);
            assertEquals(1f, y[0]);
            assertEquals(0f, y[1]);
            assertTrue(calls.contains("unary"), "calls seen: " + calls);
        } finally {
            Backends.instrument(Device.CPU, b -> original);
        }
        assertEquals(original, Backends.of(Device.CPU));
    }

    @Test void theCpuBackendIsTheDefaultAndTheReferenceIsChosenByName() {
        assumeTrue(System.getProperty("ember.backend") == null, "ember.backend is set: the default is overridden");
        assertInstanceOf(CpuBackend.class, Backends.of(Device.CPU));
        Backend ref = Backends.named("reference", Device.CPU);
        assertInstanceOf(ReferenceBackend.class, ref);
        assertEquals("reference", ref.name());
        assertEquals(Device.CPU, ref.device());
    }
}
