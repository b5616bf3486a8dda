package dev.ember.kernels.cuda;

import dev.ember.engine.BackendException;
import dev.ember.engine.Device;

import java.util.Locale;

/**
 * The launcher's {@code --device} choice: {@code auto} picks {@code cuda:0} when the driver loads and shows a device,
 * else the CPU; {@code cpu}, {@code cuda} and {@code cuda:N} are taken as asked, and a CUDA device that is not there is a
 * {@link BackendException} saying why. The result carries a one-line message saying which device and why.
 */
public final class DeviceSelection {
    /** The device picked and why, for the launcher to print. */
    public record Choice(Device device, String message) {}

    private DeviceSelection() {}

    public static Choice resolve(String requested) { return resolve(requested, CudaDriver.problem(), CudaDriver.problem() == null ? CudaDriver.deviceCount() : 0); }

    /** {@link #resolve(String)} with the CUDA probe's outcome given (null problem: {@code deviceCount} devices). */
    static Choice resolve(String requested, String cudaProblem, int deviceCount) {
        String r = requested == null ? "auto" : requested.trim().toLowerCase(Locale.ROOT);
        if (r.equals("auto")) {
            if (cudaProblem == null && deviceCount > 0) return new Choice(Device.cuda(0), "device auto: using cuda:0 (" + deviceCount + " CUDA device(s) found)");
            return new Choice(Device.CPU, "device auto: using cpu because " + (cudaProblem != null ? cudaProblem : "no CUDA device was found"));
        }
        Device d = Device.parse(r);
        if (d.kind() == Device.Kind.CPU) return new Choice(d, "device cpu: as requested");
        if (cudaProblem != null) throw new BackendException("device " + d + " requested but " + cudaProblem + "; use --device cpu or auto");
        if (d.index() >= deviceCount) throw new BackendException("device " + d + " requested but this machine has " + deviceCount + " CUDA device(s)");
        return new Choice(d, "device " + d + ": as requested");
    }
}
