package dev.ember.loaders.data;

import dev.ember.engine.CpuStorage;
import dev.ember.engine.DType;
import dev.ember.engine.EmberException;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import dev.ember.loaders.DataFormatException;
import dev.ember.loaders.FileChunks;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reader for NumPy's {@code .npy} files (format versions 1.0, 2.0 and 3.0), as {@code numpy.save} writes them.
 *
 * <pre>
 * "\x93NUMPY" major minor    header length: uint16 LE (v1) or uint32 LE (v2, v3)
 * header: a Python dict literal {'descr': '&lt;f4', 'fortran_order': False, 'shape': (2, 3), }, space padded, '\n'
 * then the elements, little-endian, C order, exactly numel * itemsize bytes
 * </pre>
 *
 * Element types: {@code <f4} float32, {@code <f8} float64 (loaded as float32, the engine's one float type),
 * {@code <i8} int64, {@code <i4} int32, {@code |u1} uint8, {@code |b1} bool. The header is parsed strictly (exactly
 * those three keys, each once, with values of the right kind); a big-endian or Fortran-order array, an unknown
 * type, or a file whose length differs from what the header promises is a {@link DataFormatException} naming the
 * file. The data size is checked against the file's length before anything is allocated.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final int MAX_RANK = 32;   // NumPy's own limit (NPY_MAXDIMS)
    private static final long MAX_HEADER = 1 << 20;   // NumPy's own headers are < 100 bytes; a huge one is a lie

    private Npy() {}

    /** The array in {@code file} as a CPU tensor of its shape (a 0-d array has shape []). */
    public static Tensor read(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return read(file, ch, ch.size());
        } catch (NoSuchFileException e) {
            throw new DataFormatException(file, "no such file");
        } catch (EOFException e) {
            throw new DataFormatException(file, "truncated: " + e.getMessage());
        } catch (IOException e) {
            throw new DataFormatException(file, "cannot read: " + e.getMessage(), e);
        }
    }

    private static Tensor read(Path file, FileChannel ch, long fileSize) throws IOException {
        ByteBuffer prelude = readExactly(ch, 8, "the file ends inside the 8-byte magic and version");
        byte[] magic = new byte[6];
        prelude.get(magic);
        for (int i = 0; i < 6; i++) {
            if (magic[i] != MAGIC[i]) throw new DataFormatException(file, "bad magic: a .npy file starts with \\x93NUMPY");
        }
        int major = prelude.get() & 0xFF, minor = prelude.get() & 0xFF;
        if (major < 1 || major > 3 || minor != 0) throw new DataFormatException(file, "unknown .npy format version " + major + "." + minor + " (expected 1.0, 2.0 or 3.0)");
        int lengthBytes = major == 1 ? 2 : 4;
        ByteBuffer lengthField = readExactly(ch, lengthBytes, "the file ends inside the header length").order(ByteOrder.LITTLE_ENDIAN);
        long headerLength = major == 1 ? lengthField.getShort() & 0xFFFFL : lengthField.getInt() & 0xFFFFFFFFL;
        long dataStart = 8L + lengthBytes + headerLength;
        if (headerLength > MAX_HEADER) throw new DataFormatException(file, "header length " + headerLength + " is more than " + MAX_HEADER + " bytes");
        if (dataStart > fileSize) throw new DataFormatException(file, "truncated: the header claims " + headerLength + " bytes, the file has " + (fileSize - 8 - lengthBytes) + " after the length field");
        byte[] headerBytes = new byte[(int) headerLength];
        readExactly(ch, headerBytes.length, "header").get(headerBytes);
        String header = new String(headerBytes, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);

        Header h = Header.parse(file, header);
        Shape shape;
        try {
            shape = Shape.ofLongs(h.shape);
        } catch (EmberException e) {
            throw new DataFormatException(file, "shape " + h.shapeText() + " is too large: " + e.getMessage());
        }
        long dataBytes = (long) shape.numel() * h.itemSize;
        long present = fileSize - dataStart;
        if (present < dataBytes) throw new DataFormatException(file, "truncated: shape " + h.shapeText() + " of " + h.descr + " needs " + dataBytes + " data bytes, the file has " + present);
        if (present > dataBytes) throw new DataFormatException(file, (present - dataBytes) + " bytes follow the " + dataBytes + " data bytes of shape " + h.shapeText() + " of " + h.descr);
        if (dataBytes > Integer.MAX_VALUE - 8) throw new DataFormatException(file, "data of " + dataBytes + " bytes is too large to load");
        ByteBuffer data = readExactly(ch, (int) dataBytes, "data").order(ByteOrder.LITTLE_ENDIAN);
        return decode(file, data, h.descr, shape);
    }

    private static ByteBuffer readExactly(FileChannel ch, int n, String what) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (FileChunks.read(ch, b) < 0) throw new EOFException("the file ends inside the " + what);
        }
        return b.flip();
    }

    private static Tensor decode(Path file, ByteBuffer data, String descr, Shape shape) {
        int n = shape.numel();
        return switch (descr.substring(1)) {
            case "f4" -> {
                float[] a = new float[n];
                data.asFloatBuffer().get(a);
                yield Tensor.of(CpuStorage.wrap(a), shape);
            }
            case "f8" -> {
                float[] a = new float[n];
                for (int i = 0; i < n; i++) a[i] = (float) data.getDouble();
                yield Tensor.of(CpuStorage.wrap(a), shape);
            }
            case "i8" -> {
                long[] a = new long[n];
                data.asLongBuffer().get(a);
                yield Tensor.of(CpuStorage.wrap(a), shape);
            }
            case "i4" -> {
                int[] a = new int[n];
                data.asIntBuffer().get(a);
                yield Tensor.of(CpuStorage.wrap(a), shape);
            }
            case "u1" -> {
                byte[] a = new byte[n];
                data.get(a);
                yield Tensor.of(CpuStorage.wrap(a), shape);
            }
            default -> {   // b1
                byte[] a = new byte[n];
                data.get(a);
                for (int i = 0; i < n; i++) {
                    if (a[i] != 0 && a[i] != 1) throw new DataFormatException(file, "bool element " + i + " is " + (a[i] & 0xFF) + ", expected 0 or 1");
                }
                yield Tensor.of(CpuStorage.wrapBool(a), shape);
            }
        };
    }

    /** The three header entries, from a strict parse of the dict literal. */
    private record Header(String descr, int itemSize, long[] shape) {
        String shapeText() {
            StringBuilder b = new StringBuilder("(");
            for (int i = 0; i < shape.length; i++) b.append(i > 0 ? ", " : "").append(shape[i]);
            return b.append(shape.length == 1 ? ",)" : ")").toString();
        }

        static Header parse(Path file, String text) {
            Map<String, Object> dict = new HeaderParser(file, text).dict();
            for (String key : List.of("descr", "fortran_order", "shape")) {
                if (!dict.containsKey(key)) throw new DataFormatException(file, "header lacks '" + key + "': " + text.strip());
            }
            if (!(dict.get("descr") instanceof String descr)) throw new DataFormatException(file, "header 'descr' must be a string, got " + dict.get("descr"));
            if (!(dict.get("fortran_order") instanceof Boolean fortran)) throw new DataFormatException(file, "header 'fortran_order' must be True or False");
            if (!(dict.get("shape") instanceof long[] shape)) throw new DataFormatException(file, "header 'shape' must be a tuple of integers");
            if (fortran) throw new DataFormatException(file, "Fortran-order arrays are not supported; save with numpy.ascontiguousarray first");
            int itemSize = switch (descr) {
                case "<f4", "<i4" -> 4;
                case "<f8", "<i8" -> 8;
                case "|u1", "|b1", "<u1", "<b1" -> 1;
                default -> throw new DataFormatException(file, "unsupported dtype '" + descr + "' (expected little-endian <f4, <f8, <i8, <i4, |u1 or |b1"
                        + (descr.startsWith(">") ? "; this array is big-endian" : "") + ")");
            };
            if (shape.length > MAX_RANK) throw new DataFormatException(file, "rank " + shape.length + " is more than " + MAX_RANK);
            return new Header(descr, itemSize, shape);
        }
    }

    /**
     * The header's dict literal: {@code {'key': value, ...}} with an optional trailing comma, then only spaces and a
     * final newline. Values are a quoted string, True/False, or a tuple of non-negative integers. Anything else,
     * including a repeated or unknown key, is an error.
     */
    private static final class HeaderParser {
        private final Path file;
        private final String s;
        private int at;

        HeaderParser(Path file, String s) {
            this.file = file;
            this.s = s;
        }

        Map<String, Object> dict() {
            skipSpaces();
            expect('{');
            Map<String, Object> out = new LinkedHashMap<>();
            skipSpaces();
            while (peek() != '}') {
                String key = string();
                if (!List.of("descr", "fortran_order", "shape").contains(key)) throw error("unknown key '" + key + "'");
                skipSpaces();
                expect(':');
                skipSpaces();
                Object value = value();
                if (out.put(key, value) != null) throw error("key '" + key + "' appears twice");
                skipSpaces();
                if (peek() == ',') {
                    at++;
                    skipSpaces();
                } else if (peek() != '}') {
                    throw error("expected ',' or '}'");
                }
            }
            at++;
            while (at < s.length() && s.charAt(at) == ' ') at++;
            if (at != s.length() - 1 || s.charAt(at) != '\n') throw error("the header must end with spaces and one newline");
            return out;
        }

        private Object value() {
            char c = peek();
            if (c == '\'' || c == '"') return string();
            if (c == '(') return tuple();
            if (s.startsWith("True", at)) {
                at += 4;
                return Boolean.TRUE;
            }
            if (s.startsWith("False", at)) {
                at += 5;
                return Boolean.FALSE;
            }
            throw error("expected a string, a tuple, True or False");
        }

        private String string() {
            char quote = peek();
            if (quote != '\'' && quote != '"') throw error("expected a quoted string");
            int end = s.indexOf(quote, at + 1);
            if (end < 0) throw error("unterminated string");
            String v = s.substring(at + 1, end);
            if (v.indexOf('\\') >= 0) throw error("escapes in strings are not supported");
            at = end + 1;
            return v;
        }

        /** {@code ()}, {@code (n,)} or {@code (a, b, ...)} with an optional trailing comma. */
        private long[] tuple() {
            expect('(');
            List<Long> dims = new ArrayList<>();
            skipSpaces();
            boolean trailingComma = false;
            while (peek() != ')') {
                int start = at;
                while (at < s.length() && Character.isDigit(s.charAt(at))) at++;
                if (at == start) throw error("expected a non-negative integer in the shape");
                if (at - start > 18) throw error("shape entry " + s.substring(start, at) + " is too large");
                dims.add(Long.parseLong(s.substring(start, at)));
                // NumPy writes a trailing 'L' for longs in Python 2 files
                if (peek() == 'L') at++;
                skipSpaces();
                trailingComma = false;
                if (peek() == ',') {
                    at++;
                    trailingComma = true;
                    skipSpaces();
                } else if (peek() != ')') {
                    throw error("expected ',' or ')' in the shape");
                }
            }
            if (dims.size() == 1 && !trailingComma) throw error("a one-element shape must be written (n,)");
            at++;
            long[] out = new long[dims.size()];
            for (int i = 0; i < out.length; i++) out[i] = dims.get(i);
            return out;
        }

        private void skipSpaces() {
            while (at < s.length() && s.charAt(at) == ' ') at++;
        }

        private char peek() {
            if (at >= s.length()) throw error("the header ends early");
            return s.charAt(at);
        }

        private void expect(char c) {
            if (peek() != c) throw error("expected '" + c + "'");
            at++;
        }

        private DataFormatException error(String what) {
            return new DataFormatException(file, "bad .npy header at character " + at + ": " + what + " in " + s.strip());
        }
    }
}
