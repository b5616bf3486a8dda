package dev.ember.loaders.checkpoint;

import dev.ember.engine.CpuStorage;
import dev.ember.engine.DType;
import dev.ember.engine.Device;
import dev.ember.engine.EmberException;
import dev.ember.engine.Tensor;
import dev.ember.loaders.DataFormatException;
import dev.ember.loaders.FileChunks;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Named tensors in the safetensors format (huggingface/safetensors), readable by its Python and Rust libraries:
 * <pre>
 *   u64 (little-endian)  N, the header's length in bytes
 *   N bytes              the JSON header (UTF-8; see {@link SafeTensorsHeader}), space-padded to a multiple of 8
 *   the buffer           each tensor's elements, row-major, little-endian, back to back, no gaps
 * </pre>
 * Tensors are laid out as the reference orders them: by dtype, widest alignment first (I64, F32, I32, U8, BOOL),
 * then by name (UTF-8 byte order). dtypes: F32, I32, I64, U8 and BOOL (one byte, 0 or 1).
 *
 * <p>{@link #write} is atomic ({@link AtomicFile}). {@link #read} trusts nothing it reads: the header length is
 * capped by the file size and by {@link #MAX_HEADER_BYTES}, the header is parsed by a strict parser of this one
 * schema, and every tensor's dtype, shape and offsets are checked against each other and the file before anything
 * is allocated from them. Every problem is a {@link DataFormatException} naming the file and the tensor.
 */
public final class SafeTensors {
    /** Largest header we read (the reference's limit). */
    public static final long MAX_HEADER_BYTES = 100_000_000;
    private static final int CHUNK = 1 << 20;

    /** What a file holds: tensors in buffer order, and the {@code __metadata__} strings (empty when absent). */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {
        public Contents {
            tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
            metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        }
    }

    private SafeTensors() {}

    // ---- write ----

    /**
     * Writes {@code tensors} (any device, any layout) and {@code metadata} (may be null or empty: no
     * {@code __metadata__}) to {@code file}, atomically. Tensors are copied to the host one at a time while writing.
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        List<SafeTensorsHeader.Entry> entries = layout(tensors);
        if (metadata != null) {
            for (Map.Entry<String, String> m : metadata.entrySet()) {
                if (m.getKey() == null || m.getValue() == null) throw new EmberException("safetensors metadata must not hold null keys or values: " + m);
            }
        }
        byte[] header = SafeTensorsHeader.encode(entries, metadata).getBytes(StandardCharsets.UTF_8);
        AtomicFile.write(file, out -> {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).array());
            out.write(header);
            ByteBuffer buf = ByteBuffer.allocate(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
            for (SafeTensorsHeader.Entry e : entries) writeData(out, buf, tensors.get(e.name()));
        });
    }

    /** Entries in the reference's order with their byte ranges. */
    private static List<SafeTensorsHeader.Entry> layout(Map<String, Tensor> tensors) {
        List<String> names = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if (e.getKey() == null) throw new EmberException("safetensors tensor names must not be null");
            if (e.getKey().equals(SafeTensorsHeader.METADATA_KEY)) throw new EmberException("'" + SafeTensorsHeader.METADATA_KEY + "' is reserved and cannot name a tensor");
            if (e.getValue() == null) throw new EmberException("tensor '" + e.getKey() + "' is null");
            names.add(e.getKey());
        }
        Comparator<String> byDtype = Comparator.comparingInt(n -> -SafeTensorsHeader.dtypeRank(tensors.get(n).dtype()));
        names.sort(byDtype.thenComparing(SafeTensorsHeader::compareUtf8));
        List<SafeTensorsHeader.Entry> entries = new ArrayList<>(names.size());
        long offset = 0;
        for (String n : names) {
            Tensor t = tensors.get(n);
            long bytes = (long) t.numel() * t.dtype().byteSize();
            entries.add(new SafeTensorsHeader.Entry(n, t.dtype(), t.shape(), offset, offset + bytes));
            offset += bytes;
        }
        return entries;
    }

    private static void writeData(OutputStream out, ByteBuffer buf, Tensor t) throws IOException {
        Tensor host = t.to(Device.CPU).contiguous();   // (numel) row-major on the heap
        CpuStorage s = (CpuStorage) host.storage();
        int off = host.offset(), n = host.numel();
        int per = t.dtype().byteSize(), step = CHUNK / per;
        for (int at = 0; at < n; at += step) {
            int k = Math.min(step, n - at);
            buf.clear();
            switch (t.dtype()) {
                case FLOAT32 -> buf.asFloatBuffer().put(s.floats(), off + at, k);
                case INT32 -> buf.asIntBuffer().put(s.ints(), off + at, k);
                case INT64 -> buf.asLongBuffer().put(s.longs(), off + at, k);
                case UINT8, BOOL -> buf.put(s.bytes(), off + at, k);
            }
            out.write(buf.array(), 0, k * per);
        }
    }

    // ---- read ----

    /** The tensors (as CPU tensors, in buffer order) and metadata of {@code file}. */
    public static Contents read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            SafeTensorsHeader.Parsed header = readHeader(file, ch, size);
            long dataStart = size - bufferBytes(header);
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (SafeTensorsHeader.Entry e : header.entries()) tensors.put(e.name(), readTensor(file, ch, dataStart, e));
            return new Contents(tensors, header.metadata());
        }
    }

    /** Only the {@code __metadata__} of {@code file} (the whole header is still checked; the buffer is not read). */
    public static Map<String, String> readMetadata(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return Collections.unmodifiableMap(new LinkedHashMap<>(readHeader(file, ch, ch.size()).metadata()));
        }
    }

    private static long bufferBytes(SafeTensorsHeader.Parsed header) {
        List<SafeTensorsHeader.Entry> e = header.entries();
        return e.isEmpty() ? 0 : e.get(e.size() - 1).end();
    }

    private static SafeTensorsHeader.Parsed readHeader(Path file, FileChannel ch, long size) throws IOException {
        if (size < 8) throw new DataFormatException(file, "a safetensors file starts with an 8-byte header length; this file has " + size + " bytes");
        long n = readFully(file, ch, 0, 8, "the header length").order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (n < 0 || n > MAX_HEADER_BYTES) throw new DataFormatException(file, "header length " + Long.toUnsignedString(n) + " is over the " + MAX_HEADER_BYTES + "-byte limit");
        if (n > size - 8) throw new DataFormatException(file, "header length " + n + " is more than the " + (size - 8) + " bytes after it (file truncated?)");
        ByteBuffer raw = readFully(file, ch, 8, (int) n, "the header");
        String text;
        try {
            CharBuffer chars = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(raw);
            text = chars.toString();
        } catch (CharacterCodingException e) {
            throw new DataFormatException(file, "safetensors header is not valid UTF-8", e);
        }
        return SafeTensorsHeader.parse(file, text, size - 8 - n);
    }

    private static Tensor readTensor(Path file, FileChannel ch, long dataStart, SafeTensorsHeader.Entry e) throws IOException {
        int n = e.shape().numel();
        int[] dims = e.shape().dims();
        int per = e.dtype().byteSize(), step = CHUNK / per;
        long pos = dataStart + e.begin();
        String what = "tensor '" + e.name() + "'";
        return switch (e.dtype()) {
            case FLOAT32 -> {
                float[] a = new float[n];
                for (int at = 0; at < n; at += step) {
                    int k = Math.min(step, n - at);
                    readFully(file, ch, pos + (long) at * per, k * per, what).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(a, at, k);
                }
                yield Tensor.of(a, dims);
            }
            case INT32 -> {
                int[] a = new int[n];
                for (int at = 0; at < n; at += step) {
                    int k = Math.min(step, n - at);
                    readFully(file, ch, pos + (long) at * per, k * per, what).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(a, at, k);
                }
                yield Tensor.ofInts(a, dims);
            }
            case INT64 -> {
                long[] a = new long[n];
                for (int at = 0; at < n; at += step) {
                    int k = Math.min(step, n - at);
                    readFully(file, ch, pos + (long) at * per, k * per, what).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(a, at, k);
                }
                yield Tensor.ofLongs(a, dims);
            }
            case UINT8, BOOL -> {
                byte[] a = new byte[n];
                for (int at = 0; at < n; at += step) {
                    int k = Math.min(step, n - at);
                    readFully(file, ch, pos + at, k, what).get(a, at, k);
                }
                if (e.dtype() == DType.UINT8) yield Tensor.ofBytes(a, dims);
                for (int i = 0; i < n; i++) {
                    if ((a[i] & ~1) != 0) throw new DataFormatException(file, what + " is BOOL but element " + i + " is byte " + (a[i] & 0xFF) + ", not 0 or 1");
                }
                yield Tensor.of(CpuStorage.wrapBool(a), e.shape());
            }
        };
    }

    /** {@code n} bytes at {@code position}; the callers have checked they lie inside the file. */
    private static ByteBuffer readFully(Path file, FileChannel ch, long position, int n, String what) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (FileChunks.read(ch, b, position + b.position()) < 0) throw new DataFormatException(file, "file ended while reading " + what + " (it shrank while being read?)");
        }
        return b.flip();
    }
}
