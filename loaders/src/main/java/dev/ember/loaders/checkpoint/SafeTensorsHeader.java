package dev.ember.loaders.checkpoint;

import dev.ember.engine.DType;
import dev.ember.engine.Shape;
import dev.ember.loaders.DataFormatException;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The JSON header of a safetensors file, both ways:
 * <pre>
 *   {"__metadata__": {"key": "value", ...},
 *    "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
 * </pre>
 * Offsets are bytes into the buffer after the header. {@link #encode} writes what the reference implementation
 * (huggingface/safetensors) writes: compact JSON, {@code __metadata__} first, tensors in buffer order, padded with
 * spaces to a multiple of 8 bytes. Metadata keys are sorted (the reference keeps them in a hash map, in no set
 * order), so the same contents always give the same bytes. {@link #parse} accepts exactly this schema and checks the entries against each
 * other and the buffer length, so the caller may trust every offset and size it returns.
 */
final class SafeTensorsHeader {
    static final String METADATA_KEY = "__metadata__";
    private static final int MAX_RANK = 64;

    /** One tensor's place in the buffer; {@code end - begin} is numel times the dtype's size. */
    record Entry(String name, DType dtype, Shape shape, long begin, long end) {}

    record Parsed(List<Entry> entries, Map<String, String> metadata) {}

    private SafeTensorsHeader() {}

    // ---- names of dtypes ----

    static String dtypeName(DType t) {
        return switch (t) {
            case FLOAT32 -> "F32";
            case INT32 -> "I32";
            case INT64 -> "I64";
            case UINT8 -> "U8";
            case BOOL -> "BOOL";
        };
    }

    private static DType dtypeOf(String name) {
        return switch (name) {
            case "F32" -> DType.FLOAT32;
            case "I32" -> DType.INT32;
            case "I64" -> DType.INT64;
            case "U8" -> DType.UINT8;
            case "BOOL" -> DType.BOOL;
            default -> null;
        };
    }

    /** The reference's dtype order (its enum order: BOOL, U8, ..., I32, U32, F32, F64, I64, U64), for sorting. */
    static int dtypeRank(DType t) {
        return switch (t) {
            case BOOL -> 0;
            case UINT8 -> 1;
            case INT32 -> 2;
            case FLOAT32 -> 3;
            case INT64 -> 4;
        };
    }

    // ---- write ----

    /** The header text for {@code entries} (already in buffer order), padded with spaces to a multiple of 8 bytes. */
    static String encode(List<Entry> entries, Map<String, String> metadata) {
        StringBuilder b = new StringBuilder("{");
        boolean first = true;
        if (metadata != null && !metadata.isEmpty()) {
            b.append(quote(METADATA_KEY)).append(":{");
            List<String> keys = new ArrayList<>(metadata.keySet());
            keys.sort(SafeTensorsHeader::compareUtf8);
            for (int i = 0; i < keys.size(); i++) {
                b.append(i == 0 ? "" : ",").append(quote(keys.get(i))).append(':').append(quote(metadata.get(keys.get(i))));
            }
            b.append('}');
            first = false;
        }
        for (Entry e : entries) {
            if (!first) b.append(',');
            b.append(quote(e.name())).append(":{\"dtype\":").append(quote(dtypeName(e.dtype()))).append(",\"shape\":[");
            int[] dims = e.shape().dims();
            for (int i = 0; i < dims.length; i++) b.append(i == 0 ? "" : ",").append(dims[i]);
            b.append("],\"data_offsets\":[").append(e.begin()).append(',').append(e.end()).append("]}");
            first = false;
        }
        b.append('}');
        int bytes = utf8Length(b);
        b.append(" ".repeat((8 - bytes % 8) % 8));
        return b.toString();
    }

    /** Byte order of the UTF-8 encodings, as Rust compares strings. */
    static int compareUtf8(String a, String b) {
        return Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
    }

    /** A JSON string literal escaped as serde_json escapes it: quote, backslash and control characters only. */
    static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\b' -> b.append("\\b");
                case '\f' -> b.append("\\f");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        return b.append('"').toString();
    }

    private static int utf8Length(CharSequence s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) n += 1;
            else if (c < 0x800) n += 2;
            else if (Character.isHighSurrogate(c)) { n += 4; i++; }
            else n += 3;
        }
        return n;
    }

    // ---- read ----

    /**
     * Parses {@code text} and checks it against a buffer of {@code bufferBytes}: every dtype known, every shape's
     * element count matching its byte range, the ranges in offset order tiling [0, bufferBytes) with no gap or overlap.
     * Entries come back in buffer order.
     */
    static Parsed parse(Path file, String text, long bufferBytes) {
        JsonCursor in = new JsonCursor(file, text);
        if (text.isEmpty() || text.charAt(0) != '{') throw new DataFormatException(file, "safetensors header must start with '{'");
        in.expect('{', "to open the header");
        List<Entry> entries = new ArrayList<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        Set<String> seen = new HashSet<>();
        boolean sawMetadata = false;
        if (!in.consume('}')) {
            do {
                String name = in.string("a tensor name");
                if (!seen.add(name)) throw in.error("tensor '" + name + "' appears twice");
                in.expect(':', "after '" + name + "'");
                if (name.equals(METADATA_KEY)) {
                    sawMetadata = true;
                    parseMetadata(in, metadata);
                } else {
                    entries.add(parseEntry(in, file, name));
                }
            } while (in.consume(','));
            in.expect('}', "to close the header");
        }
        in.skipWhitespace();
        if (!in.atEnd()) throw in.error("unexpected text after the header object");
        if (!sawMetadata) metadata = Map.of();
        return new Parsed(checkLayout(file, entries, bufferBytes), metadata);
    }

    private static void parseMetadata(JsonCursor in, Map<String, String> out) {
        in.expect('{', "to open " + METADATA_KEY);
        if (in.consume('}')) return;
        do {
            String key = in.string(METADATA_KEY + " key");
            if (out.containsKey(key)) throw in.error(METADATA_KEY + " key '" + key + "' appears twice");
            in.expect(':', "after " + METADATA_KEY + " key '" + key + "'");
            out.put(key, in.string(METADATA_KEY + " value of '" + key + "' (values must be strings)"));
        } while (in.consume(','));
        in.expect('}', "to close " + METADATA_KEY);
    }

    private static Entry parseEntry(JsonCursor in, Path file, String name) {
        String where = "tensor '" + name + "'";
        String dtypeName = null;
        long[] shape = null, offsets = null;
        in.expect('{', "to open " + where);
        if (!in.consume('}')) {
            do {
                String key = in.string(where + " field name");
                in.expect(':', "after " + where + " field '" + key + "'");
                switch (key) {
                    case "dtype" -> {
                        if (dtypeName != null) throw in.error(where + " has two dtype fields");
                        dtypeName = in.string(where + " dtype");
                    }
                    case "shape" -> {
                        if (shape != null) throw in.error(where + " has two shape fields");
                        shape = integers(in, where + " shape", MAX_RANK);
                    }
                    case "data_offsets" -> {
                        if (offsets != null) throw in.error(where + " has two data_offsets fields");
                        offsets = integers(in, where + " data_offsets", 2);
                    }
                    default -> throw in.error(where + " has unknown field '" + key + "' (expected dtype, shape, data_offsets)");
                }
            } while (in.consume(','));
            in.expect('}', "to close " + where);
        }
        if (dtypeName == null || shape == null || offsets == null) throw in.error(where + " lacks " + (dtypeName == null ? "dtype" : shape == null ? "shape" : "data_offsets"));
        if (offsets.length != 2) throw in.error(where + " data_offsets must be [begin, end], got " + offsets.length + " numbers");
        DType dtype = dtypeOf(dtypeName);
        if (dtype == null) throw new DataFormatException(file, where + " has dtype '" + dtypeName + "'; supported are F32, I32, I64, U8, BOOL");
        long begin = offsets[0], end = offsets[1];
        if (end < begin) throw new DataFormatException(file, where + " data_offsets [" + begin + ", " + end + "] end before they begin");
        long numel = 1;
        for (long d : shape) {
            if (d > Shape.MAX_NUMEL) throw new DataFormatException(file, where + " shape " + Arrays.toString(shape) + " has a dimension over " + Shape.MAX_NUMEL);
            try {
                numel = Math.multiplyExact(numel, d);
            } catch (ArithmeticException overflow) {
                throw new DataFormatException(file, where + " shape " + Arrays.toString(shape) + " has more elements than a long can count");
            }
        }
        long bytes;
        try {
            bytes = Math.multiplyExact(numel, (long) dtype.byteSize());
        } catch (ArithmeticException overflow) {
            throw new DataFormatException(file, where + " shape " + Arrays.toString(shape) + " is too large");
        }
        if (bytes != end - begin) {
            throw new DataFormatException(file, where + " " + dtypeName + " " + Arrays.toString(shape) + " needs " + bytes + " bytes, data_offsets [" + begin + ", " + end + "] hold " + (end - begin));
        }
        if (numel > Shape.MAX_NUMEL) throw new DataFormatException(file, where + " has " + numel + " elements, more than this engine holds in one tensor (" + Shape.MAX_NUMEL + ")");
        return new Entry(name, dtype, Shape.ofLongs(shape), begin, end);
    }

    /** A JSON array of at most {@code max} non-negative integers (more is an error before anything is stored). */
    private static long[] integers(JsonCursor in, String what, int max) {
        in.expect('[', "to open " + what);
        long[] out = new long[max];
        int n = 0;
        if (!in.consume(']')) {
            do {
                if (n == max) throw in.error(what + " has more than " + max + " entries");
                out[n++] = in.nonNegativeLong(what);
            } while (in.consume(','));
            in.expect(']', "to close " + what);
        }
        return Arrays.copyOf(out, n);
    }

    private static List<Entry> checkLayout(Path file, List<Entry> entries, long bufferBytes) {
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long expect = 0;
        for (Entry e : sorted) {
            if (e.begin() != expect) {
                String problem = e.begin() < expect ? "overlaps the tensor before it" : "leaves a gap of " + (e.begin() - expect) + " bytes before it";
                throw new DataFormatException(file, "tensor '" + e.name() + "' data_offsets [" + e.begin() + ", " + e.end() + "] " + problem + " (expected to begin at " + expect + ")");
            }
            if (e.end() > bufferBytes) {
                throw new DataFormatException(file, "tensor '" + e.name() + "' data_offsets [" + e.begin() + ", " + e.end() + "] reach past the end of the " + bufferBytes + "-byte buffer (file truncated?)");
            }
            expect = e.end();
        }
        if (expect != bufferBytes) {
            throw new DataFormatException(file, "the tensors cover " + expect + " bytes but the buffer after the header has " + bufferBytes + " (trailing garbage or a wrong header)");
        }
        return sorted;
    }
}
