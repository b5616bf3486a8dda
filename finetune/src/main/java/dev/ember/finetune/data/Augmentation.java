package dev.ember.finetune.data;

import dev.ember.engine.EmberException;
import dev.ember.engine.Rng;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Seeded, on-the-fly data augmentation, parsed from a spec such as {@code "flip,rotate:10,noise:0.05"}.
 *
 * <pre>
 * flip[:P]            horizontal mirror with probability P (default 0.5)
 * rotate:DEG          rotation by an angle uniform in [-DEG, DEG] degrees about the center, bilinear, zero fill
 * crop:PIXELS         random crop of the image zero-padded by PIXELS (torchvision RandomCrop(size, padding)),
 * translate:PIXELS      which is the same thing as a shift by dy, dx uniform in [-PIXELS, PIXELS]: use either name
 * brightness:D        x * f, f uniform in [max(0, 1-D), 1+D], then clamped to [0, 1]
 * contrast:D          (x - m) * f + m, m the sample's mean, f as for brightness, then clamped to [0, 1]
 * noise:SIGMA         x + N(0, SIGMA^2) per element, not clamped
 * normalize:MEAN,STD  (x - MEAN) / STD; per channel with '/' lists: normalize:0.485/0.456/0.406,0.229/0.224/0.225;
 * normalize:imagenet    those ImageNet statistics
 * none                no augmentation (an empty spec too)
 * </pre>
 *
 * Steps run in the fixed order of this table whatever the spec's order (geometry, then photometry, noise, and
 * normalization last, so the model always sees normalized inputs); each name at most once. Random draws per
 * sample, in step order, from the given {@link Rng}: the same seed gives the same output. Geometric steps need
 * images (B, C, H, W); the others also accept features (B, F). For validation and test use
 * {@link #forEvaluation()}, which keeps only the normalization.
 */
public final class Augmentation {
    /** One augmentation; a sample is (C, H, W), or (F) seen as c = 1, h = 1, w = F. */
    private sealed interface Step {
        boolean geometric();
    }

    private record Flip(double p) implements Step {
        public boolean geometric() { return true; }
    }

    private record Rotate(double degrees) implements Step {
        public boolean geometric() { return true; }
    }

    private record Shift(int pixels, String name) implements Step {
        public boolean geometric() { return true; }
    }

    private record Brightness(double delta) implements Step {
        public boolean geometric() { return false; }
    }

    private record Contrast(double delta) implements Step {
        public boolean geometric() { return false; }
    }

    private record Noise(double sigma) implements Step {
        public boolean geometric() { return false; }
    }

    private record Normalize(float[] mean, float[] std) implements Step {
        public boolean geometric() { return false; }
    }

    private static final List<String> ORDER = List.of("flip", "rotate", "crop", "translate", "brightness", "contrast", "noise", "normalize");

    public static final Augmentation NONE = new Augmentation(List.of(), "none");

    private final List<Step> steps;
    private final String spec;

    private Augmentation(List<Step> steps, String spec) {
        this.steps = List.copyOf(steps);
        this.spec = spec;
    }

    /** Parses a spec (see the class comment); errors name the spec, the item and what was expected. */
    public static Augmentation parse(String spec) {
        String text = spec == null ? "" : spec.strip();
        if (text.isEmpty() || text.equals("none")) return NONE;
        // "normalize:0.5,0.25" splits into "normalize:0.5" and "0.25": a bare number continues the item before it
        List<String> items = new ArrayList<>();
        for (String raw : text.split(",", -1)) {
            String item = raw.strip();
            if (!items.isEmpty() && !item.isEmpty() && (Character.isDigit(item.charAt(0)) || item.charAt(0) == '.' || item.charAt(0) == '-')) {
                items.set(items.size() - 1, items.getLast() + "," + item);
            } else {
                items.add(item);
            }
        }
        Step[] byOrder = new Step[ORDER.size()];
        for (String item : items) {
            if (item.isEmpty()) throw error(spec, item, "an empty item (two commas in a row?)");
            int colon = item.indexOf(':');
            String name = (colon < 0 ? item : item.substring(0, colon)).strip().toLowerCase(Locale.ROOT);
            String arg = colon < 0 ? null : item.substring(colon + 1).strip();
            int slot = ORDER.indexOf(name);
            if (slot < 0) throw error(spec, item, "an unknown augmentation '" + name + "' (known: flip, rotate, crop, translate, brightness, contrast, noise, normalize)");
            int sameAs = name.equals("crop") ? ORDER.indexOf("translate") : name.equals("translate") ? ORDER.indexOf("crop") : slot;
            if (byOrder[slot] != null || byOrder[sameAs] != null) throw error(spec, item, "'" + name + "' given twice (crop and translate are the same step)");
            byOrder[slot] = switch (name) {
                case "flip" -> new Flip(arg == null ? 0.5 : number(spec, item, arg, 0, 1));
                case "rotate" -> new Rotate(number(spec, item, required(spec, item, arg, "DEG"), 0, 180));
                case "crop", "translate" -> new Shift((int) integer(spec, item, required(spec, item, arg, "PIXELS")), name);
                case "brightness" -> new Brightness(number(spec, item, required(spec, item, arg, "D"), 0, 1));
                case "contrast" -> new Contrast(number(spec, item, required(spec, item, arg, "D"), 0, 1));
                case "noise" -> new Noise(number(spec, item, required(spec, item, arg, "SIGMA"), 0, Double.MAX_VALUE));
                default -> normalize(spec, item, required(spec, item, arg, "MEAN,STD"));
            };
        }
        List<Step> steps = new ArrayList<>();
        List<String> canonical = new ArrayList<>();
        for (int i = 0; i < byOrder.length; i++) {
            if (byOrder[i] == null) continue;
            steps.add(byOrder[i]);
            canonical.add(describe(byOrder[i]));
        }
        return new Augmentation(steps, String.join(",", canonical));
    }

    /** Only the deterministic part (normalization), for validation and test inputs. */
    public Augmentation forEvaluation() {
        List<Step> kept = steps.stream().filter(s -> s instanceof Normalize).toList();
        return kept.isEmpty() ? NONE : new Augmentation(kept, describe(kept.getFirst()));
    }

    /** True when {@link #apply} returns a copy of its input. */
    public boolean isIdentity() { return steps.isEmpty(); }

    /** The spec in canonical order, e.g. {@code flip:0.5,rotate:10,noise:0.05}. */
    @Override public String toString() { return spec; }

    /**
     * The augmented batch, a new float32 tensor of the same shape; {@code batch} is left untouched.
     * {@code batch} is (B, C, H, W), or (B, F) when no step is geometric.
     */
    public Tensor apply(Tensor batch, Rng rng) {
        int[] dims = batch.dims();
        int b, c, h, w;
        if (batch.rank() == 4) {
            b = dims[0];
            c = dims[1];
            h = dims[2];
            w = dims[3];
        } else if (batch.rank() == 2) {
            for (Step s : steps) {
                if (s.geometric()) throw new ShapeException("augmentation '" + describe(s) + "' needs images (B, C, H, W), got a batch of shape " + batch.shape());
            }
            b = dims[0];
            c = 1;
            h = 1;
            w = dims[1];
        } else {
            throw new ShapeException("augmentation needs a batch (B, C, H, W) or (B, F), got shape " + batch.shape());
        }
        float[] all = batch.toFloatArray();   // all (B, C, H, W): a copy, so the input stays untouched
        int per = c * h * w;
        float[] x = new float[per], tmp = new float[per];
        for (int i = 0; i < b; i++) {
            System.arraycopy(all, i * per, x, 0, per);
            for (Step s : steps) {
                if (applyStep(s, x, tmp, c, h, w, batch.rank() == 4, rng)) {
                    float[] t = x;
                    x = tmp;
                    tmp = t;
                }
            }
            System.arraycopy(x, 0, all, i * per, per);
        }
        return Tensor.of(all, dims);
    }

    /** Runs one step on sample {@code x}; returns true when the result was written to {@code out} instead. */
    private static boolean applyStep(Step step, float[] x, float[] out, int c, int h, int w, boolean images, Rng rng) {
        switch (step) {
            case Flip f -> {
                if (rng.nextDouble() >= f.p()) return false;
                ImageOps.flipHorizontal(x, out, c, h, w);
                return true;
            }
            case Rotate r -> {
                double degrees = (2 * rng.nextDouble() - 1) * r.degrees();
                if (degrees == 0) return false;
                ImageOps.rotate(x, out, c, h, w, Math.toRadians(degrees));
                return true;
            }
            case Shift s -> {
                int dy = rng.nextInt(2 * s.pixels() + 1) - s.pixels();
                int dx = rng.nextInt(2 * s.pixels() + 1) - s.pixels();
                if (dy == 0 && dx == 0) return false;
                ImageOps.shift(x, out, c, h, w, dy, dx);
                return true;
            }
            case Brightness br -> {
                float f = (float) factor(br.delta(), rng);
                for (int i = 0; i < x.length; i++) x[i] = clamp01(x[i] * f);
                return false;
            }
            case Contrast ct -> {
                float f = (float) factor(ct.delta(), rng);
                double sum = 0;
                for (float v : x) sum += v;
                float mean = (float) (sum / x.length);
                for (int i = 0; i < x.length; i++) x[i] = clamp01((x[i] - mean) * f + mean);
                return false;
            }
            case Noise n -> {
                for (int i = 0; i < x.length; i++) x[i] += (float) (n.sigma() * rng.nextGaussian());
                return false;
            }
            case Normalize nz -> {
                int channels = images ? c : 1;
                if (nz.mean().length != 1 && nz.mean().length != channels) {
                    throw new ShapeException("normalize has " + nz.mean().length + " per-channel values, the batch has " + channels + " channels");
                }
                int plane = images ? h * w : x.length;
                for (int ch = 0; ch < channels; ch++) {
                    float m = nz.mean()[nz.mean().length == 1 ? 0 : ch], s = nz.std()[nz.std().length == 1 ? 0 : ch];
                    for (int i = ch * plane; i < (ch + 1) * plane; i++) x[i] = (x[i] - m) / s;
                }
                return false;
            }
        }
    }

    /** A factor uniform in [max(0, 1 - delta), 1 + delta]. */
    private static double factor(double delta, Rng rng) {
        double lo = Math.max(0, 1 - delta), hi = 1 + delta;
        return lo + (hi - lo) * rng.nextDouble();
    }

    private static float clamp01(float v) { return Math.min(1f, Math.max(0f, v)); }

    private static Normalize normalize(String spec, String item, String arg) {
        if (arg.equalsIgnoreCase("imagenet")) return new Normalize(new float[] {0.485f, 0.456f, 0.406f}, new float[] {0.229f, 0.224f, 0.225f});
        String[] parts = arg.split(",", -1);
        if (parts.length != 2) throw error(spec, item, "normalize:MEAN,STD (two numbers or two '/' lists of equal length, or normalize:imagenet)");
        float[] mean = list(spec, item, parts[0], false), std = list(spec, item, parts[1], true);
        if (mean.length != std.length) throw error(spec, item, "as many means as standard deviations, got " + mean.length + " and " + std.length);
        return new Normalize(mean, std);
    }

    private static float[] list(String spec, String item, String text, boolean positive) {
        String[] parts = text.split("/", -1);
        float[] out = new float[parts.length];
        for (int i = 0; i < parts.length; i++) {
            out[i] = (float) number(spec, item, parts[i].strip(), positive ? Double.MIN_VALUE : -Double.MAX_VALUE, Double.MAX_VALUE);
        }
        return out;
    }

    private static String required(String spec, String item, String arg, String what) {
        if (arg == null || arg.isEmpty()) throw error(spec, item, "a value: " + item.strip() + ":" + what);
        return arg;
    }

    private static double number(String spec, String item, String text, double lo, double hi) {
        double v;
        try {
            v = Double.parseDouble(text);
        } catch (NumberFormatException e) {
            throw error(spec, item, "a number, got '" + text + "'");
        }
        if (!(v >= lo && v <= hi)) throw error(spec, item, "a number in [" + fmt(lo) + ", " + fmt(hi) + "], got " + text);
        return v;
    }

    private static long integer(String spec, String item, String text) {
        try {
            long v = Long.parseLong(text);
            if (v < 0 || v > 1024) throw error(spec, item, "a pixel count in [0, 1024], got " + text);
            return v;
        } catch (NumberFormatException e) {
            throw error(spec, item, "a whole number of pixels, got '" + text + "'");
        }
    }

    private static String fmt(double v) {
        if (v == Double.MAX_VALUE) return "inf";
        if (v == -Double.MAX_VALUE) return "-inf";
        if (v == Double.MIN_VALUE) return "0 (exclusive)";
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    private static EmberException error(String spec, String item, String expected) {
        return new EmberException("augmentation \"" + spec + "\": item '" + item + "': expected " + expected);
    }

    private static String describe(Step s) {
        return switch (s) {
            case Flip f -> "flip:" + f.p();
            case Rotate r -> "rotate:" + r.degrees();
            case Shift sh -> sh.name() + ":" + sh.pixels();
            case Brightness br -> "brightness:" + br.delta();
            case Contrast ct -> "contrast:" + ct.delta();
            case Noise n -> "noise:" + n.sigma();
            case Normalize nz -> "normalize:" + join(nz.mean()) + "," + join(nz.std());
        };
    }

    private static String join(float[] values) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < values.length; i++) b.append(i > 0 ? "/" : "").append(values[i]);
        return b.toString();
    }
}
