package dev.ember.engine;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;

/**
 * Finds the backend for a device through {@link ServiceLoader}. Set {@code -Dember.backend=NAME} to force one
 * (the tests use {@code reference} to run a model on the scalar oracle).
 */
public final class Backends {
    private static final Map<Device, Backend> CACHE = new ConcurrentHashMap<>();
    private static volatile List<BackendProvider> providers;

    private Backends() {}

    public static Backend of(Device device) {
        return CACHE.computeIfAbsent(device, Backends::create);
    }

    /**
     * For profilers and tracers: from now on {@link #of}{@code (device)} (and so every tensor op on that device) goes
     * through {@code wrap} applied to the device's backend, which it must delegate to. Returns that backend. Nothing
     * in the product calls it; {@code tools/gpu/StepProfile} times each backend call with it.
     */
    public static Backend instrument(Device device, UnaryOperator<Backend> wrap) {
        Backend inner = of(device);
        CACHE.put(device, wrap.apply(inner));
        return inner;
    }

    /** The backend named {@code name} for {@code device}, ignoring priorities (for tests and benchmarks). */
    public static Backend named(String name, Device device) {
        for (BackendProvider p : providers()) {
            if (p.name().equals(name) && p.deviceKind() == device.kind()) {
                if (!p.isAvailable()) throw new BackendException("backend '" + name + "' is unavailable: " + p.unavailableReason());
                return p.create(device);
            }
        }
        throw new BackendException("no backend named '" + name + "' for " + device + "; found " + names());
    }

    /** All providers on the class path, as {@code name(kind)}, for messages and environment reports. */
    public static List<String> names() {
        List<String> out = new ArrayList<>();
        for (BackendProvider p : providers()) out.add(p.name() + "(" + p.deviceKind().name().toLowerCase() + (p.isAvailable() ? "" : ", unavailable") + ")");
        return out;
    }

    /** Whether an available backend serves {@code kind}. */
    public static boolean isAvailable(Device.Kind kind) {
        for (BackendProvider p : providers()) if (p.deviceKind() == kind && p.isAvailable()) return true;
        return false;
    }

    private static Backend create(Device device) {
        String forced = System.getProperty("ember.backend");
        if (forced != null && !forced.isBlank() && device.kind() == Device.Kind.CPU) return named(forced.trim(), device);
        List<BackendProvider> fit = new ArrayList<>();
        List<String> why = new ArrayList<>();
        for (BackendProvider p : providers()) {
            if (p.deviceKind() != device.kind()) continue;
            if (p.isAvailable()) fit.add(p);
            else why.add(p.name() + ": " + p.unavailableReason());
        }
        if (fit.isEmpty()) {
            throw new BackendException("no backend for device " + device + (why.isEmpty()
                    ? " on the class path (add the dev.ember:kernels jar)" : "; " + String.join("; ", why)));
        }
        fit.sort(Comparator.comparingInt(BackendProvider::priority).reversed());
        BackendProvider chosen = fit.get(0);
        if (!why.isEmpty()) {
            // A faster backend exists but cannot run: say so once, instead of silently running slow.
            System.getLogger("dev.ember.engine").log(System.Logger.Level.WARNING,
                    "using backend '" + chosen.name() + "' for " + device + " because " + String.join("; ", why));
        }
        return chosen.create(device);
    }

    private static List<BackendProvider> providers() {
        List<BackendProvider> ps = providers;
        if (ps == null) {
            ps = new ArrayList<>();
            for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) ps.add(p);
            providers = ps;
        }
        return ps;
    }
}
