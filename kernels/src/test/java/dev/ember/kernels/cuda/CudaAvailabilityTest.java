package dev.ember.kernels.cuda;

import dev.ember.engine.BackendException;
import dev.ember.engine.Backends;
import dev.ember.engine.Device;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Without a driver or a device (CI, developer machines) the cuda provider says so and never throws, auto picks the
 * CPU and says why, and asking for cuda is a clear {@link BackendException}. The pure selection rules are tested
 * with the probe's outcome given, so they run everywhere.
 */
class CudaAvailabilityTest {
    private static final CudaBackendProvider PROVIDER = new CudaBackendProvider();

    @Test void theProviderIsRegisteredAndNamed() {
        assertEquals("cuda", PROVIDER.name());
        assertEquals(Device.Kind.CUDA, PROVIDER.deviceKind());
        assertTrue(Backends.names().stream().anyMatch(n -> n.startsWith("cuda(cuda")), "providers: " + Backends.names());
    }

    @Test void withoutADriverTheProviderIsUnavailableWithAReasonAndCudaIsAClearError() {
        assumeTrue(!PROVIDER.isAvailable(), "a CUDA device is present here: the no-driver path is not exercised");
        String why = PROVIDER.unavailableReason();
        assertTrue(why.startsWith("no CUDA") || why.contains("cuInit") || why.contains("JCuda"), why);
        assertFalse(Backends.isAvailable(Device.Kind.CUDA));
        BackendException e = assertThrows(BackendException.class, () -> Backends.of(Device.cuda(0)));
        assertTrue(e.getMessage().contains(why), e.getMessage());
        BackendException direct = assertThrows(BackendException.class, () -> CudaContext.open(0));
        assertTrue(direct.getMessage().contains("cuda:0 requested but " + why), direct.getMessage());
        // asking twice neither crashes nor changes the answer (JCuda's class is poisoned after the first failure)
        assertEquals(why, new CudaBackendProvider().unavailableReason());
    }

    @Test void autoPicksTheCpuHereAndSaysWhy() {
        assumeTrue(!PROVIDER.isAvailable(), "a CUDA device is present here");
        DeviceSelection.Choice c = DeviceSelection.resolve("auto");
        assertEquals(Device.CPU, c.device());
        assertTrue(c.message().startsWith("device auto: using cpu because ") && c.message().contains(PROVIDER.unavailableReason()), c.message());
        BackendException e = assertThrows(BackendException.class, () -> DeviceSelection.resolve("cuda"));
        assertTrue(e.getMessage().contains("device cuda:0 requested but " + PROVIDER.unavailableReason()), e.getMessage());
    }

    @Test void selectionRules() {
        DeviceSelection.Choice gpu = DeviceSelection.resolve("AUTO", null, 2);
        assertEquals(Device.cuda(0), gpu.device());
        assertTrue(gpu.message().contains("2 CUDA device(s)"), gpu.message());
        assertEquals(Device.CPU, DeviceSelection.resolve("cpu", null, 2).device());
        assertEquals(Device.cuda(1), DeviceSelection.resolve("cuda:1", null, 2).device());
        assertEquals(Device.CPU, DeviceSelection.resolve(null, "no CUDA driver (libcuda.so.1 not found)", 0).device());
        BackendException missing = assertThrows(BackendException.class, () -> DeviceSelection.resolve("cuda:2", null, 2));
        assertTrue(missing.getMessage().contains("has 2 CUDA device(s)"), missing.getMessage());
        BackendException noDriver = assertThrows(BackendException.class, () -> DeviceSelection.resolve("cuda", "no CUDA driver (libcuda.so.1 not found)", 0));
        assertTrue(noDriver.getMessage().contains("libcuda.so.1 not found"), noDriver.getMessage());
        assertThrows(BackendException.class, () -> DeviceSelection.resolve("tpu", null, 0));
    }

    @Test void aMissingDriverLibraryIsDescribedInOneLine() {
        UnsatisfiedLinkError e = new UnsatisfiedLinkError("Error while loading native library \"JCudaDriver-12.0.0-linux-x86_64\"\n...\n"
                + "/tmp/libJCudaDriver-12.0.0-linux-x86_64.so: libcuda.so.1: cannot open shared object file");
        assertEquals("no CUDA driver (libcuda.so.1 not found)", CudaDriver.describeLoadFailure(e));
        assertTrue(CudaDriver.describeLoadFailure(new NoClassDefFoundError("Could not initialize class jcuda.driver.JCudaDriver"))
                .startsWith("no CUDA driver (JCuda's native library failed to load earlier"));
    }
}
