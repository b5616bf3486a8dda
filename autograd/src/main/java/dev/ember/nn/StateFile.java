package dev.ember.nn;

import dev.ember.engine.CpuStorage;
import dev.ember.engine.DType;
import dev.ember.engine.Device;
import dev.ember.engine.EmberException;
import dev.ember.engine.Shape;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * Named tensors on disk in a small format of our own (a later step moves to safetensors). Little-endian throughout:
 * <pre>
 *   magic    8 bytes  "EMBSTATE"
 *   version  u32      1
 *   count    u32      number of entries
 *   entry    count times:
 *     nameLen u32, name (UTF-8), dtype u8 (0 float32, 1 int32, 2 int64, 3 uint8), rank u8,
 *     dims i64 x rank, dataLen i64 (= numel * dtype size), data
 *   crc32    u32      CRC-32 of every byte before it
 * </pre>
 * {@link #write} is atomic: it writes a temporary file beside the target, forces it to disk and renames it over
 * the target, so a crash leaves either the old file or the new one. {@link #read} trusts no length it reads: each is
 * checked against the bytes left in the file before anything is allocated from it.
 */
public final class StateFile {
    private static final byte[] MAGIC = "EMBSTATE".getBytes(StandardCharsets.US_ASCII);
    private static final int VERSION = 1;
    private static final int MAX_NAME_BYTES = 1 << 16;
    private static final int MAX_RANK = 32;
    private static final int MIN_ENTRY_BYTES = 4 + 1 + 1 + 8;  // empty name, rank 0, no data
    private static final int CHUNK = 1 << 20;
    private static final DType[] DTYPES = {DType.FLOAT32, DType.INT32, DType.INT64, DType.UINT8, DType.BOOL};

    private StateFile() {}

    // ---- write ----

    /** Writes {@code tensors} (any device; entries keep the map's order) to {@code file}, atomically. */
    public static void write(Path file, Map<String, Tensor> tensors) throws IOException {
        Path target = file.toAbsolutePath();
        Path dir = target.getParent();
        Path tmp = dir.resolve("." + target.getFileName() + "." + ProcessHandle.current().pid() + "." + System.nanoTime() + ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                Out out = new Out(ch);
                out.bytes(MAGIC);
                out.u32(VERSION);
                out.u32(tensors.size());
                for (Map.Entry<String, Tensor> e : tensors.entrySet()) writeEntry(out, e.getKey(), e.getValue());
                out.flush();
                ByteBuffer crc = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) out.crc.getValue()).flip();
                while (crc.hasRemaining()) ch.write(crc);
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        forceDirectory(dir);
    }

    private static void writeEntry(Out out, String name, Tensor t) throws IOException {
        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        if (nameBytes.length == 0 || nameBytes.length > MAX_NAME_BYTES) throw new EmberException("state entry name must be 1.." + MAX_NAME_BYTES + " bytes, got '" + name + "'");
        if (t.rank() > MAX_RANK) throw new ShapeException("state entry '" + name + "' has rank " + t.rank() + ", more than " + MAX_RANK);
        out.u32(nameBytes.length);
        out.bytes(nameBytes);
        out.u8(Arrays.asList(DTYPES).indexOf(t.dtype()));
        out.u8(t.rank());
        for (int d : t.dims()) out.i64(d);
        out.i64((long) t.numel() * t.dtype().byteSize());
        Tensor host = t.to(Device.CPU).contiguous();
        CpuStorage s = (CpuStorage) host.storage();
        int off = host.offset(), n = host.numel();
        switch (t.dtype()) {
            case FLOAT32 -> { float[] a = s.floats(); for (int i = 0; i < n; i++) out.f32(a[off + i]); }
            case INT32 -> { int[] a = s.ints(); for (int i = 0; i < n; i++) out.u32(a[off + i]); }
            case INT64 -> { long[] a = s.longs(); for (int i = 0; i < n; i++) out.i64(a[off + i]); }
            case UINT8, BOOL -> { byte[] a = s.bytes(); for (int i = 0; i < n; i++) out.u8(a[off + i]); }
        }
    }

    /** Makes the rename durable. Some platforms cannot open a directory; there the rename is as durable as it gets. */
    private static void forceDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException notSupported) {
            // not supported here (Windows); nothing more to do
        }
    }

    /** A buffered little-endian writer that keeps a running CRC-32 of what it wrote. */
    private static final class Out {
        private final FileChannel ch;
        private final ByteBuffer buf = ByteBuffer.allocate(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
        final CRC32 crc = new CRC32();

        Out(FileChannel ch) { this.ch = ch; }

        void u8(int v) throws IOException { room(1); buf.put((byte) v); }
        void u32(int v) throws IOException { room(4); buf.putInt(v); }
        void i64(long v) throws IOException { room(8); buf.putLong(v); }
        void f32(float v) throws IOException { room(4); buf.putFloat(v); }

        void bytes(byte[] b) throws IOException {
            for (int at = 0; at < b.length; ) {
                room(1);
                int n = Math.min(buf.remaining(), b.length - at);
                buf.put(b, at, n);
                at += n;
            }
        }

        private void room(int n) throws IOException { if (buf.remaining() < n) flush(); }

        void flush() throws IOException {
            buf.flip();
            crc.update(buf.duplicate());
            while (buf.hasRemaining()) ch.write(buf);
            buf.clear();
        }
    }

    // ---- read ----

    /** The entries of {@code file} in file order, as CPU tensors. */
    public static Map<String, Tensor> read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            In in = new In(file, ch);
            byte[] magic = in.bytes(MAGIC.length, "the magic header");
            if (!Arrays.equals(magic, MAGIC)) throw in.error("not an ember state file: starts with " + hex(magic) + ", expected '" + new String(MAGIC, StandardCharsets.US_ASCII) + "'");
            int version = in.u32("the version");
            if (version != VERSION) throw in.error("format version " + Integer.toUnsignedString(version) + " is not supported (this build reads " + VERSION + ")");
            long count = Integer.toUnsignedLong(in.u32("the entry count"));
            if (count > in.left() / MIN_ENTRY_BYTES) throw in.error("claims " + count + " entries but only " + in.left() + " bytes follow");
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (long i = 0; i < count; i++) readEntry(in, out, i);
            long computed = in.crc.getValue();
            long stored = Integer.toUnsignedLong(in.u32("the CRC-32 trailer"));
            if (in.left() != 0) throw in.error(in.left() + " unexpected bytes after the trailer");
            if (computed != stored) throw in.error("checksum mismatch (stored " + Long.toHexString(stored) + ", computed " + Long.toHexString(computed) + "): the file is corrupted");
            return out;
        }
    }

    private static void readEntry(In in, Map<String, Tensor> out, long index) throws IOException {
        String where = "entry " + index;
        long nameLen = Integer.toUnsignedLong(in.u32(where + " name length"));
        if (nameLen == 0) throw in.error(where + " has an empty name");
        if (nameLen > MAX_NAME_BYTES || nameLen > in.left()) throw in.error(where + " claims a name of " + nameLen + " bytes (" + in.left() + " bytes left)");
        String name = new String(in.bytes((int) nameLen, where + " name"), StandardCharsets.UTF_8);
        where = "entry '" + name + "'";
        if (out.containsKey(name)) throw in.error(where + " appears twice");
        int code = in.u8(where + " dtype");
        if (code >= DTYPES.length) throw in.error(where + " has unknown dtype code " + code);
        DType dtype = DTYPES[code];
        int rank = in.u8(where + " rank");
        if (rank > MAX_RANK) throw in.error(where + " has rank " + rank + ", more than " + MAX_RANK);
        if ((long) rank * 8 > in.left()) throw in.error("truncated in " + where + " dims");
        long[] dims = new long[rank];
        for (int d = 0; d < rank; d++) dims[d] = in.i64(where + " dims");
        Shape shape;
        try {
            shape = Shape.ofLongs(dims);
        } catch (ShapeException e) {
            throw in.error(where + " has an impossible shape " + Arrays.toString(dims) + ": " + e.getMessage());
        }
        long dataLen = in.i64(where + " data length");
        long expected = (long) shape.numel() * dtype.byteSize();
        if (dataLen != expected) throw in.error(where + " " + dtype + " " + shape + " should hold " + expected + " bytes, header says " + dataLen);
        if (dataLen > in.left()) throw in.error("truncated in " + where + ": needs " + dataLen + " data bytes, " + in.left() + " left");
        int[] d = shape.dims();
        Tensor t = switch (dtype) {
            case FLOAT32 -> { float[] a = new float[shape.numel()]; in.floats(a, where); yield Tensor.of(a, d); }
            case INT32 -> { int[] a = new int[shape.numel()]; in.ints(a, where); yield Tensor.ofInts(a, d); }
            case INT64 -> { long[] a = new long[shape.numel()]; in.longs(a, where); yield Tensor.ofLongs(a, d); }
            case UINT8 -> { byte[] a = in.bytes(shape.numel(), where + " data"); yield Tensor.ofBytes(a, d); }
            case BOOL -> {
                byte[] a = in.bytes(shape.numel(), where + " data");
                for (byte b : a) if ((b & ~1) != 0) throw in.error(where + " bool data holds byte " + b + ", not 0 or 1");
                yield Tensor.of(CpuStorage.wrapBool(a), shape);
            }
        };
        out.put(name, t);
    }

    private static String hex(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b) s.append(String.format("%02x ", x & 0xFF));
        return s.toString().trim();
    }

    /**
     * A little-endian reader that knows the file size, so every length is checked against the bytes left (the
     * 4-byte trailer excluded) before it is used, and keeps a running CRC-32 of what it read.
     */
    private static final class In {
        private final Path file;
        private final FileChannel ch;
        private final long size;
        private long position;
        final CRC32 crc = new CRC32();

        In(Path file, FileChannel ch) throws IOException {
            this.file = file;
            this.ch = ch;
            this.size = ch.size();
        }

        /** Bytes left before the trailer. */
        long left() { return Math.max(0, size - 4 - position); }

        StateFileException error(String problem) { return new StateFileException(file, problem); }

        private ByteBuffer read(int n, String what) throws IOException {
            if (n > size - position) throw error("truncated: needs " + n + " bytes for " + what + " at offset " + position + ", the file has " + (size - position) + " left");
            ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining()) {
                if (ch.read(b, position + b.position()) < 0) throw error("truncated while reading " + what);
            }
            position += n;
            b.flip();
            crc.update(b.duplicate());
            return b;
        }

        int u8(String what) throws IOException { return read(1, what).get() & 0xFF; }
        int u32(String what) throws IOException { return read(4, what).getInt(); }
        long i64(String what) throws IOException { return read(8, what).getLong(); }

        byte[] bytes(int n, String what) throws IOException {
            byte[] out = new byte[n];
            for (int at = 0; at < n; ) {
                int k = Math.min(CHUNK, n - at);
                read(k, what).get(out, at, k);
                at += k;
            }
            return out;
        }

        void floats(float[] a, String what) throws IOException {
            for (int at = 0; at < a.length; ) {
                int k = Math.min(CHUNK / 4, a.length - at);
                read(k * 4, what + " data").asFloatBuffer().get(a, at, k);
                at += k;
            }
        }

        void ints(int[] a, String what) throws IOException {
            for (int at = 0; at < a.length; ) {
                int k = Math.min(CHUNK / 4, a.length - at);
                read(k * 4, what + " data").asIntBuffer().get(a, at, k);
                at += k;
            }
        }

        void longs(long[] a, String what) throws IOException {
            for (int at = 0; at < a.length; ) {
                int k = Math.min(CHUNK / 8, a.length - at);
                read(k * 8, what + " data").asLongBuffer().get(a, at, k);
                at += k;
            }
        }
    }
}
