package dev.ember.finetune.train;

import dev.ember.engine.EmberException;

/**
 * How a run counters class imbalance, parsed from a spec: {@code none}; {@code weighted} or {@code weighted-inverse}
 * (cross-entropy weighted by inverse class frequency); {@code weighted-effective[:beta]} (weighted by the effective
 * number of samples, Cui et al. 2019, beta 0.999 by default); {@code focal[:gamma]} (focal loss, gamma 2 by default);
 * {@code oversample} / {@code undersample} (the sampler draws every class equally often).
 */
public record Balance(Kind kind, double parameter) {
    public enum Kind { NONE, WEIGHTED_INVERSE, WEIGHTED_EFFECTIVE, FOCAL, OVERSAMPLE, UNDERSAMPLE }

    public static Balance parse(String spec) {
        String s = spec == null ? "none" : spec.trim().toLowerCase();
        int colon = s.indexOf(':');
        String name = colon < 0 ? s : s.substring(0, colon);
        String arg = colon < 0 ? null : s.substring(colon + 1);
        Balance b = switch (name) {
            case "", "none" -> new Balance(Kind.NONE, Double.NaN);
            case "weighted", "weighted-inverse" -> new Balance(Kind.WEIGHTED_INVERSE, Double.NaN);
            case "weighted-effective" -> new Balance(Kind.WEIGHTED_EFFECTIVE, number(spec, arg, 0.999));
            case "focal" -> new Balance(Kind.FOCAL, number(spec, arg, 2));
            case "oversample" -> new Balance(Kind.OVERSAMPLE, Double.NaN);
            case "undersample" -> new Balance(Kind.UNDERSAMPLE, Double.NaN);
            default -> throw new EmberException("balance '" + spec + "' is not one of none, weighted, weighted-inverse,"
                    + " weighted-effective[:beta], focal[:gamma], oversample, undersample");
        };
        if (arg != null && Double.isNaN(b.parameter)) throw new EmberException("balance '" + spec + "' takes no argument");
        if (b.kind == Kind.WEIGHTED_EFFECTIVE && !(b.parameter >= 0 && b.parameter < 1)) {
            throw new EmberException("balance '" + spec + "': beta must be in [0, 1)");
        }
        if (b.kind == Kind.FOCAL && !(b.parameter >= 0)) throw new EmberException("balance '" + spec + "': gamma must be >= 0");
        return b;
    }

    private static double number(String spec, String arg, double fallback) {
        if (arg == null) return fallback;
        try {
            return Double.parseDouble(arg);
        } catch (NumberFormatException e) {
            throw new EmberException("balance '" + spec + "': '" + arg + "' is not a number");
        }
    }
}
