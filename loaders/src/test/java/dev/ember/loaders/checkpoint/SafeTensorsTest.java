package dev.ember.loaders.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.ember.engine.CpuStorage;
import dev.ember.engine.DType;
import dev.ember.engine.Device;
import dev.ember.engine.EmberException;
import dev.ember.engine.Rng;
import dev.ember.engine.Shape;
import dev.ember.engine.Storage;
import dev.ember.engine.Tensor;
import dev.ember.loaders.DataFormatException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {
    @TempDir Path dir;

    /** The byte-exact file huggingface/safetensors' own test_serialization expects (tensor.rs). */
    @Test
    void writesWhatTheReferenceWrites() throws IOException {
        Path f = dir.resolve("ref.safetensors");
        SafeTensors.write(f, Map.of("attn.0", Tensor.of(new float[] {0, 1, 2, 3, 4, 5}, 1, 2, 3)), null);
        byte[] expected = bytes(64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100,
                116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34,
                58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115,
                101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63,
                0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64);
        assertArrayEquals(expected, Files.readAllBytes(f));

        // test_empty with metadata {"framework": "pt"}: header padded with spaces to a multiple of 8
        SafeTensors.write(f, Map.of(), Map.of("framework", "pt"));
        byte[] withMeta = bytes(40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95,
                95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112,
                116, 34, 125, 125, 32, 32, 32, 32, 32);
        assertArrayEquals(withMeta, Files.readAllBytes(f));
        SafeTensors.write(f, Map.of(), null);
        assertArrayEquals(bytes(8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32), Files.readAllBytes(f));
    }

    @Test
    void roundTripsEveryDtypeAndKeepsTheReferenceOrder() throws IOException {
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("b.float", Tensor.of(new float[] {1.5f, -0f, Float.NaN, Float.MIN_VALUE, 3e38f, -7f}, 2, 3));
        in.put("a.float", Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 3, 2).mT());   // a strided view
        in.put("ints", Tensor.ofInts(new int[] {Integer.MIN_VALUE, -1, 0, Integer.MAX_VALUE}, 4));
        in.put("longs", Tensor.ofLongs(new long[] {Long.MIN_VALUE, 42, Long.MAX_VALUE}, 3, 1));
        in.put("bytes", Tensor.ofBytes(new byte[] {0, 127, (byte) 255}, 3));
        in.put("mask", Tensor.of(CpuStorage.wrapBool(new byte[] {1, 0, 1, 1}), Shape.of(2, 2)));
        in.put("scalar", Tensor.ofLongs(new long[] {7}));
        in.put("empty", Tensor.zeros(DType.FLOAT32, Shape.of(0, 5)));
        in.put("ünïcode \"quoted\"\n\u0001", Tensor.scalar(2f));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("note", "tab\there, slash \\, emoji \uD83D\uDE00");
        Path f = dir.resolve("all.safetensors");
        SafeTensors.write(f, in, meta);

        SafeTensors.Contents out = SafeTensors.read(f);
        assertEquals(meta, out.metadata());
        assertEquals(in.keySet(), out.tensors().keySet());
        for (Map.Entry<String, Tensor> e : in.entrySet()) {
            Tensor got = out.tensors().get(e.getKey());
            assertEquals(e.getValue().dtype(), got.dtype(), e.getKey());
            assertEquals(e.getValue().shape(), got.shape(), e.getKey());
        }
        assertArrayEquals(floatBits(in.get("b.float")), floatBits(out.tensors().get("b.float")), "float bits survive, NaN and -0 included");
        assertArrayEquals(new float[] {1, 3, 5, 2, 4, 6}, out.tensors().get("a.float").toFloatArray());
        assertArrayEquals(in.get("ints").toIntArray(), out.tensors().get("ints").toIntArray());
        assertArrayEquals(in.get("longs").toLongArray(), out.tensors().get("longs").toLongArray());
        assertArrayEquals(new byte[] {0, 127, (byte) 255}, ((CpuStorage) out.tensors().get("bytes").storage()).bytes());
        assertArrayEquals(new byte[] {1, 0, 1, 1}, ((CpuStorage) out.tensors().get("mask").storage()).bytes());

        // buffer order: I64 first, then F32, I32, U8, BOOL; names in UTF-8 byte order within a dtype
        assertEquals(List.of("longs", "scalar", "a.float", "b.float", "empty", "ünïcode \"quoted\"\n\u0001", "ints", "bytes", "mask"),
                new ArrayList<>(out.tensors().keySet()));
        String header = headerText(Files.readAllBytes(f));
        assertTrue(header.startsWith("{\"__metadata__\":{\"format\":\"pt\",\"note\":\"tab\\there, slash \\\\, emoji \uD83D\uDE00\"},\"longs\":{\"dtype\":\"I64\",\"shape\":[3,1],\"data_offsets\":[0,24]}"), header);
        assertTrue(header.contains("\"\u00fcn\u00efcode \\\"quoted\\\"\\n\\u0001\""), "escaped as serde_json does: " + header);
        assertEquals(0, headerLength(Files.readAllBytes(f)) % 8, "data starts 8-byte aligned");
        assertEquals(Map.copyOf(meta), SafeTensors.readMetadata(f));

        Map<String, String> reversed = new LinkedHashMap<>();
        reversed.put("note", meta.get("note"));
        reversed.put("format", "pt");
        Path g = dir.resolve("again.safetensors");
        SafeTensors.write(g, in, reversed);
        assertArrayEquals(Files.readAllBytes(f), Files.readAllBytes(g), "same contents, same bytes, whatever the map order");
    }

    @Test
    void refusesNamesItCannotWrite() {
        Path f = dir.resolve("x.safetensors");
        assertThrows(EmberException.class, () -> SafeTensors.write(f, Map.of("__metadata__", Tensor.scalar(1)), null));
        assertFalse(Files.exists(f));
    }

    // ---- hostile input ----

    @Test
    void truncatedFilesAreTypedErrors() throws IOException {
        byte[] good = sample();
        for (int n = 0; n < good.length; n++) {
            Path f = dir.resolve("t.safetensors");
            Files.write(f, java.util.Arrays.copyOf(good, n));
            assertThrows(DataFormatException.class, () -> SafeTensors.read(f), "prefix of " + n + " bytes");
        }
        Path f = dir.resolve("long.safetensors");
        byte[] longer = java.util.Arrays.copyOf(good, good.length + 4);
        Files.write(f, longer);
        assertMessage(f, "buffer after the header has");
    }

    @Test
    void hostileHeadersAreTypedErrorsNamingTheTensor() throws IOException {
        String ok = "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
        assertMessage(file(hugeLength(-1L)), "over the");                       // 2^64 - 1
        assertMessage(file(hugeLength(SafeTensors.MAX_HEADER_BYTES + 1)), "over the");
        assertMessage(file(hugeLength(1000)), "truncated");
        assertMessage(file(header(" {" + ok + "}", 8)), "must start with '{'");
        assertMessage(file(header("[" + ok + "]", 8)), "must start with '{'");
        assertMessage(file(concat(le(4), new byte[] {'{', (byte) 0xC3, '}', ' '})), "UTF-8");
        assertMessage(file(header("{" + ok + ",}", 8)), "expected a string");
        assertMessage(file(header("{" + ok + "} x", 8)), "after the header");
        assertMessage(file(header("{" + ok + "," + ok + "}", 8)), "'w' appears twice");
        assertMessage(file(header("{\"w\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4)), "tensor 'w' has dtype 'F16'");
        assertMessage(file(header("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8)), "tensor 'w' F32 [3] needs 12 bytes");
        assertMessage(file(header("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8)), "negative");
        assertMessage(file(header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8)), "fraction");
        assertMessage(file(header("{\"w\":{\"dtype\":\"F32\",\"shape\":[02],\"data_offsets\":[0,8]}}", 8)), "leading zero");
        assertMessage(file(header("{\"w\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,8]}}", 8)), "too large");
        assertMessage(file(header("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", 8)), "tensor 'w'");
        assertMessage(file(header("{\"w\":{\"dtype\":\"F32\",\"shape\":[0,4294967296],\"data_offsets\":[0,0]}}", 0)), "has a dimension over");
        assertMessage(file(header("{\"w\":{\"dtype\":\"U8\",\"shape\":[2000000000,2000000000,2000000000],\"data_offsets\":[0,8]}}", 8)), "more elements than a long");
        assertMessage(file(header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,9]}}", 8)), "more than 2");
        assertMessage(file(header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8)), "end before they begin");
        assertMessage(file(header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12)), "gap of 4 bytes");
        assertMessage(file(header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"v\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8)), "tensor 'v' data_offsets [4, 8] overlaps");
        assertMessage(file(header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4)), "tensor 'w' data_offsets [0, 8] reach past");
        assertMessage(file(header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8)), "lacks data_offsets");
        assertMessage(file(header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"extra\":1}}", 8)), "unknown field 'extra'");
        assertMessage(file(header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"__metadata__\":{\"k\":1}}", 8)), "values must be strings");
        assertMessage(file(header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"__metadata__\":[]}", 8)), "to open __metadata__");
        assertMessage(file(header("{\"w\\ud800\":{}}", 0)), "unpaired surrogate");
        assertMessage(file(header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]", 8)), "ends where");
        assertMessage(file(header("{\"w\u0001\":{}}", 0)), "control character");
        assertMessage(file(header("{\"b\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2, (byte) 1, (byte) 2)), "tensor 'b' is BOOL but element 1 is byte 2");
    }

    /** Nesting and repetition cannot exhaust the stack or memory: the schema fixes the depth, arrays are capped. */
    @Test
    void deepOrLongHeadersFailFast() throws IOException {
        String deep = "{\"w\":{\"dtype\":\"F32\",\"shape\":" + "[".repeat(200_000) + "}}";
        assertMessage(file(header(deep, 0)), "expected an integer");
        String wide = "{\"w\":{\"dtype\":\"F32\",\"shape\":[" + "1,".repeat(200_000) + "1],\"data_offsets\":[0,4]}}";
        assertMessage(file(header(wide, 4)), "more than 64 entries");
        String deepMeta = "{\"__metadata__\":" + "{\"a\":".repeat(100_000) + "}";
        assertMessage(file(header(deepMeta, 0)), "values must be strings");
    }

    /** Random byte mutations of a valid file either still parse or give a DataFormatException, nothing else. */
    @Test
    void mutatedFilesNeverFailUntyped() throws IOException {
        byte[] good = sample();
        Rng rng = new Rng(2024);
        Path f = dir.resolve("m.safetensors");
        int parsed = 0, typed = 0;
        for (int round = 0; round < 1500; round++) {
            byte[] b = good.clone();
            int edits = 1 + rng.nextInt(4);
            for (int e = 0; e < edits; e++) {
                int at = rng.nextInt(Math.min(b.length, round % 3 == 0 ? b.length : 8 + headerLength(good)));
                b[at] = switch (rng.nextInt(4)) {
                    case 0 -> (byte) rng.nextInt(256);
                    case 1 -> (byte) (b[at] ^ (1 << rng.nextInt(8)));
                    case 2 -> (byte) "{}[],:\"0123456789-.e \\u".charAt(rng.nextInt(23));
                    default -> (byte) (b[at] + 1);
                };
            }
            Files.write(f, b);
            try {
                SafeTensors.read(f);
                parsed++;
            } catch (DataFormatException expected) {
                typed++;
            } catch (RuntimeException untyped) {
                fail("mutant " + round + " gave an untyped " + untyped, untyped);
            }
        }
        assertEquals(1500, parsed + typed);
        assertTrue(typed > 500, "most mutants are rejected, got " + typed);
    }

    // ---- atomic writes ----

    @Test
    void aFailedWriteLeavesThePreviousFileIntact() throws IOException {
        Path f = dir.resolve("ckpt.safetensors");
        SafeTensors.write(f, Map.of("w", Tensor.of(new float[] {1, 2}, 2)), Map.of("v", "1"));
        byte[] before = Files.readAllBytes(f);

        // the second tensor (in file order) lives on a device nobody can read: the write fails after the header
        Map<String, Tensor> broken = new LinkedHashMap<>();
        broken.put("a", Tensor.of(new float[] {3, 4}, 2));
        broken.put("b", Tensor.of(new UnreachableStorage(4), Shape.of(4)));
        assertThrows(RuntimeException.class, () -> SafeTensors.write(f, broken, Map.of("v", "2")));
        assertArrayEquals(before, Files.readAllBytes(f));
        assertEquals(Map.of("v", "1"), SafeTensors.read(f).metadata());
        assertOnlyFile(f);

        assertThrows(IOException.class, () -> AtomicFile.write(f, out -> {
            out.write(new byte[3 << 20]);   // past the buffer, so bytes reach the temporary file
            throw new IOException("disk full (simulated)");
        }));
        assertArrayEquals(before, Files.readAllBytes(f));
        assertOnlyFile(f);
    }

    /** Storage on a device with no backend: reading it to the host throws. */
    private static final class UnreachableStorage extends Storage {
        private final int size;

        UnreachableStorage(int size) {
            super(DType.FLOAT32);
            this.size = size;
        }

        @Override public Device device() { return Device.cuda(97); }

        @Override public int size() { return size; }
    }

    // ---- helpers ----

    private void assertOnlyFile(Path f) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(f.getFileName().toString()), s.map(p -> p.getFileName().toString()).toList(), "no temporary file left behind");
        }
    }

    private static void assertMessage(Path f, String fragment) {
        DataFormatException e = assertThrows(DataFormatException.class, () -> SafeTensors.read(f));
        assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage() + "' should contain '" + fragment + "'");
        assertTrue(e.getMessage().startsWith(f.toString()), "names the file: " + e.getMessage());
    }

    private byte[] sample() throws IOException {
        Path f = dir.resolve("sample.safetensors");
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("w", Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
        t.put("n", Tensor.ofLongs(new long[] {5}));
        t.put("m", Tensor.of(CpuStorage.wrapBool(new byte[] {0, 1}), Shape.of(2)));
        SafeTensors.write(f, t, Map.of("k", "v"));
        return Files.readAllBytes(f);
    }

    private Path file(byte[] contents) throws IOException {
        Path f = dir.resolve("h" + System.nanoTime() + ".safetensors");
        Files.write(f, contents);
        return f;
    }

    /** A file with header {@code json} followed by {@code dataBytes} bytes (given ones first, then zeros). */
    private static byte[] header(String json, int dataBytes, byte... data) {
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        byte[] d = java.util.Arrays.copyOf(data, dataBytes);
        return concat(concat(le(h.length), h), d);
    }

    private static byte[] hugeLength(long n) { return concat(le(n), "{}      ".getBytes(StandardCharsets.US_ASCII)); }

    private static byte[] le(long n) { return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(n).array(); }

    private static byte[] concat(byte[] a, byte[] b) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.writeBytes(a);
        o.writeBytes(b);
        return o.toByteArray();
    }

    private static int headerLength(byte[] file) { return (int) ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong(); }

    private static String headerText(byte[] file) { return new String(file, 8, headerLength(file), StandardCharsets.UTF_8).stripTrailing(); }

    private static int[] floatBits(Tensor t) {
        float[] a = t.toFloatArray();
        int[] b = new int[a.length];
        for (int i = 0; i < a.length; i++) b[i] = Float.floatToRawIntBits(a[i]);
        return b;
    }

    private static byte[] bytes(int... v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) b[i] = (byte) v[i];
        return b;
    }
}
