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

    @Test void theCpuBackendIsTheDefaultAndTheReferenceIsChosenByName() {
        assumeTrue(System.getProperty("ember.backend") == null, "ember.backend is set: the default is overridden");
        assertInstanceOf(CpuBackend.class, Backends.of(Device.CPU));
        Backend ref = Backends.named("reference", Device.CPU);
        assertInstanceOf(ReferenceBackend.class, ref);
        assertEquals("reference", ref.name());
        assertEquals(Device.CPU, ref.device());
    }
}
