package dev.ember.loaders.onnx;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.ember.loaders.onnx.proto.OnnxProto.ModelProto;
import dev.ember.loaders.onnx.proto.OnnxProto.TensorProto;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded mutation fuzzing of the loader: each case takes a real model (the shared models, the node-test models,
 * one built here), applies one or two mutations (bit flips, boundary bytes, truncation, chunk duplication or
 * deletion, an inflated length varint; or a field-level mutation, {@link ProtoMutations}), then reads it (as if from
 * a folder holding an external data file and a symbolic link leading out) and builds a session with a resolver that accepts every
 * op. The only failure allowed is {@link OnnxException}; anything else (NPE, index errors, OOM, stack overflow,
 * IllegalArgumentException) fails the test with the case's seed.
 *
 * <p>{@code -Dember.fuzz.cases=N} sets the number of mutants (CI: 300; {@code tools/fuzz-onnx}: 10,000),
 * {@code -Dember.fuzz.seed=S} the base seed. Case {@code i} uses seed {@code S * 1_000_003 + i}; a failure
 * reported as case i replays alone with the same base seed and {@code -Dember.fuzz.case=i}.
 */
class OnnxFuzzTest {
    private static final int CASES = Integer.getInteger("ember.fuzz.cases", 300);
    private static final long SEED = Long.getLong("ember.fuzz.seed", 20_251_125L);
    /** Replays just this case index (with the same base seed) when set. */
    private static final int ONLY = Integer.getInteger("ember.fuzz.case", -1);
    private static final Path SHARED = Path.of(System.getProperty("ember.shared", "../shared"));
    private static final int LARGE = 4 << 20;   // files above this are mutated mostly near their structure

    private record Sample(String name, byte[] bytes) {}

    private record Mutant(byte[] bytes, String description) {}

    @Test void mutantsFailOnlyWithTypedErrors(@TempDir Path dir) throws IOException {
        // a folder for external data to be looked up in: one real file inside, one outside, a link leading out
        Path modelDir = Files.createDirectory(dir.resolve("model"));
        Files.write(modelDir.resolve("weights.bin"), new byte[4096]);
        Files.write(dir.resolve("escape.bin"), new byte[4096]);
        Files.createSymbolicLink(modelDir.resolve("link.bin"), dir.resolve("escape.bin"));

        Corpus corpus = corpus();
        assumeTrue(!corpus.nodeModels().isEmpty(), "shared models not found under " + SHARED + "; the fuzz test needs them (skipping)");

        long start = System.nanoTime();
        int accepted = 0, typed = 0;
        List<String> failures = new ArrayList<>();
        for (int c = ONLY >= 0 ? ONLY : 0; c < (ONLY >= 0 ? ONLY + 1 : CASES); c++) {
            long seed = SEED * 1_000_003L + c;
            Random r = new Random(seed);
            Sample s = corpus.pick(r);
            Mutant m = r.nextInt(3) == 0 ? mutateFields(s.bytes(), r) : mutate(s.bytes(), r);
            try {
                OnnxModel model = OnnxModel.read(m.bytes(), modelDir);
                new OnnxSession(model, OnnxTestModels::anyOp);
                accepted++;
            } catch (OnnxException e) {
                typed++;
            } catch (Throwable t) {   // includes OutOfMemoryError and StackOverflowError: exactly what we hunt
                String line = "case " + c + " (seed " + seed + ") " + s.name() + " " + m.description() + ": " + t;
                failures.add(line);
                if (failures.size() <= 5) System.err.println("OnnxFuzzTest non-typed failure: " + line + "\n" + stackTrace(t));
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("OnnxFuzzTest: %d mutants (base seed %d, corpus %s): %d accepted, %d typed OnnxException, "
                + "%d non-typed failures, %.1f s%n", CASES, SEED, corpus, accepted, typed, failures.size(), seconds);
        assertTrue(failures.isEmpty(), failures.size() + " mutants failed with a non-typed error:\n" + String.join("\n", failures.subList(0, Math.min(20, failures.size()))));
    }

    /**
     * Seeds in four pools, each sorted so that a seed means the same thing everywhere: structure-rich models
     * (built here, small_cnn), node-test tensors wrapped as initializers, node-test models, and large models.
     */
    private record Corpus(List<Sample> featured, List<Sample> tensors, List<Sample> nodeModels, List<Sample> large) {
        /** Large models one case in fifty (each costs a full read of tens of MB); then 2:2:6. */
        Sample pick(Random r) {
            if (!large.isEmpty() && r.nextInt(50) == 0) return large.get(r.nextInt(large.size()));
            int k = r.nextInt(10);
            List<Sample> pool = k < 2 ? featured : k < 4 && !tensors.isEmpty() ? tensors : nodeModels;
            return pool.get(r.nextInt(pool.size()));
        }

        @Override public String toString() {
            return featured.size() + " featured, " + tensors.size() + " tensor, " + nodeModels.size() + " node-test and " + large.size() + " large models";
        }
    }

    private static Corpus corpus() throws IOException {
        List<Sample> featured = new ArrayList<>(List.of(
                new Sample("built:add_relu", OnnxTestModels.addRelu().toByteArray()),
                new Sample("built:kitchen_sink", OnnxTestModels.kitchenSink().toByteArray())));
        List<Sample> large = new ArrayList<>();
        for (String m : List.of("small_cnn.onnx", "resnet18.onnx")) {
            Path f = SHARED.resolve("models").resolve(m);
            if (!Files.isRegularFile(f)) continue;
            Sample s = new Sample("models/" + m, Files.readAllBytes(f));
            (s.bytes().length > LARGE ? large : featured).add(s);
        }
        List<Sample> tensors = new ArrayList<>(), nodeModels = new ArrayList<>();
        Path nodeTests = SHARED.resolve("onnx-node-tests");
        if (Files.isDirectory(nodeTests)) {
            List<Path> cases;
            try (Stream<Path> list = Files.list(nodeTests)) {
                cases = list.filter(Files::isDirectory).sorted().toList();
            }
            for (Path c : cases) {
                Path model = c.resolve("model.onnx");
                if (Files.isRegularFile(model)) nodeModels.add(new Sample(nodeTests.relativize(model).toString(), Files.readAllBytes(model)));
                Path input = c.resolve("test_data_set_0").resolve("input_0.pb");
                if (Files.isRegularFile(input)) {
                    TensorProto t = TensorProto.parseFrom(Files.readAllBytes(input));
                    tensors.add(new Sample(nodeTests.relativize(input) + " as initializer", OnnxTestModels.wrapTensor(t).toByteArray()));
                }
            }
        }
        return new Corpus(featured, tensors, nodeModels, large);
    }

    // ---- mutations ----

    /** A field-level mutation of the parsed sample (see {@link ProtoMutations}), then maybe a byte mutation on top. */
    private static Mutant mutateFields(byte[] original, Random r) {
        ModelProto parsed;
        try {
            parsed = ModelProto.parseFrom(original);
        } catch (InvalidProtocolBufferException e) {
            throw new AssertionError("a corpus model does not parse", e);
        }
        StringBuilder how = new StringBuilder("field mutation: ");
        byte[] b = ProtoMutations.mutate(parsed, r, how).toByteArray();
        if (r.nextInt(4) == 0) {
            Mutant more = mutate(b, r);
            return new Mutant(more.bytes(), how + " + " + more.description());
        }
        return new Mutant(b, how.toString());
    }

    private static final byte[] BOUNDARY = {0x00, (byte) 0xFF, 0x7F, (byte) 0x80, 0x01, (byte) 0xFE, 0x08, 0x0A, 0x12};
    private static final long[] HUGE_VARINTS = {Integer.MAX_VALUE, 1L << 31, 0xFFFF_FFFFL, Long.MAX_VALUE, -1L, 1L << 28};

    private static Mutant mutate(byte[] original, Random r) {
        byte[] b = original;
        StringBuilder how = new StringBuilder();
        int steps = 1 + r.nextInt(2);
        for (int i = 0; i < steps && b.length > 0; i++) {
            // large files: mostly mutate the first 64 KiB (model header, node list) or the last 16 KiB (inputs, outputs, opsets)
            int lo = 0, hi = b.length;
            if (b.length > LARGE) {
                int w = r.nextInt(4);
                if (w == 0) hi = 64 << 10;
                else if (w == 1) lo = b.length - (16 << 10);
            }
            int at = lo + r.nextInt(hi - lo);
            if (i > 0) how.append(" + ");
            switch (r.nextInt(6)) {
                case 0 -> {
                    b = b.clone();
                    int flips = 1 + r.nextInt(8);
                    for (int k = 0; k < flips; k++) {
                        int p = lo + r.nextInt(hi - lo);
                        b[p] ^= (byte) (1 << r.nextInt(8));
                    }
                    how.append(flips).append(" bit flips near ").append(at);
                }
                case 1 -> {
                    b = b.clone();
                    int n = 1 + r.nextInt(4);
                    for (int k = 0; k < n; k++) b[Math.min(b.length - 1, at + k * (1 + r.nextInt(8)))] = BOUNDARY[r.nextInt(BOUNDARY.length)];
                    how.append(n).append(" boundary bytes at ").append(at);
                }
                case 2 -> {
                    b = Arrays.copyOf(b, at);
                    how.append("truncated to ").append(at);
                }
                case 3 -> {
                    int len = 1 + r.nextInt(Math.min(512, b.length - at));
                    int to = lo + r.nextInt(hi - lo + 1);
                    b = insert(b, to, Arrays.copyOfRange(b, at, at + len));
                    how.append("chunk [").append(at).append(", +").append(len).append(") copied to ").append(to);
                }
                case 4 -> {
                    int len = 1 + r.nextInt(Math.min(512, b.length - at));
                    b = delete(b, at, len);
                    how.append("chunk [").append(at).append(", +").append(len).append(") deleted");
                }
                default -> {
                    b = inflateVarint(b, at, r, how);
                }
            }
        }
        return new Mutant(b, how.toString());
    }

    /**
     * Finds a length-delimited field tag at or after {@code at} and replaces the length varint behind it: by a huge
     * value, by the exact remaining size plus one, or by the same value in an over-long (padded) encoding.
     */
    private static byte[] inflateVarint(byte[] b, int at, Random r, StringBuilder how) {
        int tag = at;
        while (tag < b.length - 1 && tag < at + 64 && (b[tag] & 0x07) != 2) tag++;
        int start = tag + 1, end = start;
        long value = 0;
        for (int shift = 0; end < b.length && shift < 64; shift += 7) {
            value |= (long) (b[end] & 0x7F) << shift;
            if ((b[end++] & 0x80) == 0) break;
        }
        long replacement;
        byte[] encoded;
        switch (r.nextInt(3)) {
            case 0 -> {
                replacement = HUGE_VARINTS[r.nextInt(HUGE_VARINTS.length)];
                encoded = varint(replacement, 0);
            }
            case 1 -> {
                replacement = b.length - end + 1;
                encoded = varint(replacement, 0);
            }
            default -> {
                replacement = value;
                encoded = varint(value, 1 + r.nextInt(4));
            }
        }
        how.append("varint after byte ").append(tag).append(" (").append(value).append(") -> ").append(replacement)
                .append(" in ").append(encoded.length).append(" bytes");
        byte[] out = new byte[b.length - (end - start) + encoded.length];
        System.arraycopy(b, 0, out, 0, start);
        System.arraycopy(encoded, 0, out, start, encoded.length);
        System.arraycopy(b, end, out, start + encoded.length, b.length - end);
        return out;
    }

    /** Base-128 varint of {@code v}, padded with {@code extra} redundant continuation bytes (still the same value). */
    private static byte[] varint(long v, int extra) {
        byte[] out = new byte[10 + extra];
        int n = 0;
        while ((v & ~0x7FL) != 0) {
            out[n++] = (byte) ((v & 0x7F) | 0x80);
            v >>>= 7;
        }
        out[n++] = (byte) v;
        for (int i = 0; i < extra && n < 10; i++) {   // turn the last byte into a continuation, then add 0x00 ... 0x00
            out[n - 1] |= (byte) 0x80;
            out[n++] = 0;
        }
        return Arrays.copyOf(out, n);
    }

    private static byte[] insert(byte[] b, int at, byte[] chunk) {
        byte[] out = new byte[b.length + chunk.length];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(chunk, 0, out, at, chunk.length);
        System.arraycopy(b, at, out, at + chunk.length, b.length - at);
        return out;
    }

    private static byte[] delete(byte[] b, int at, int len) {
        byte[] out = new byte[b.length - len];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(b, at + len, out, at, b.length - at - len);
        return out;
    }

    private static String stackTrace(Throwable t) {
        StringWriter w = new StringWriter();
        t.printStackTrace(new PrintWriter(w));
        String s = w.toString();
        return s.length() > 4000 ? s.substring(0, 4000) + "..." : s;
    }
}
