package dev.ember.loaders.data;

import dev.ember.engine.CpuStorage;
import dev.ember.engine.EmberException;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import dev.ember.loaders.DataFormatException;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Reader for the IDX format of MNIST-style data sets, plain or gzip-compressed ({@code .gz}).
 *
 * <pre>
 * magic: 0x00 0x00 TYPE NDIMS    TYPE: 0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double
 * NDIMS big-endian int32 sizes, then the elements, big-endian, row-major
 * </pre>
 *
 * ubyte data becomes a uint8 tensor, integer types int32, floating types float32. The header's element count
 * is checked for overflow and, for plain files, against the file's size before anything is allocated; a
 * compressed stream is read in bounded chunks, so a lying header cannot make us allocate more than the data.
 */
public final class Idx {
    private static final int MAX_RANK = 8;
    private static final int CHUNK = 1 << 20;

    private Idx() {}

    public static Tensor read(Path file) {
        boolean gz = file.getFileName().toString().endsWith(".gz");
        long fileSize;
        try {
            fileSize = Files.size(file);
        } catch (NoSuchFileException e) {
            throw new DataFormatException(file, "no such file");
        } catch (IOException e) {
            throw new DataFormatException(file, "cannot read: " + e.getMessage(), e);
        }
        try (InputStream raw = Files.newInputStream(file);
             DataInputStream in = new DataInputStream(new BufferedInputStream(gz ? new GZIPInputStream(raw) : raw))) {
            return read(file, in, gz ? -1 : fileSize);
        } catch (EOFException e) {
            throw new DataFormatException(file, "truncated: the file ends inside the IDX header");
        } catch (IOException e) {
            throw new DataFormatException(file, "cannot read" + (gz ? " (bad gzip stream?)" : "") + ": " + e.getMessage(), e);
        }
    }

    private static Tensor read(Path file, DataInputStream in, long plainSize) throws IOException {
        int b0 = in.readUnsignedByte(), b1 = in.readUnsignedByte(), type = in.readUnsignedByte(), rank = in.readUnsignedByte();
        if (b0 != 0 || b1 != 0) {
            throw new DataFormatException(file, String.format("bad magic number 0x%02X%02X%02X%02X: an IDX file starts with two zero bytes", b0, b1, type, rank));
        }
        int elemSize = switch (type) {
            case 0x08, 0x09 -> 1;
            case 0x0B -> 2;
            case 0x0C, 0x0D -> 4;
            case 0x0E -> 8;
            default -> throw new DataFormatException(file, String.format("unknown IDX element type 0x%02X (expected 08, 09, 0B, 0C, 0D or 0E)", type));
        };
        if (rank < 1 || rank > MAX_RANK) throw new DataFormatException(file, "IDX rank " + rank + " is outside 1.." + MAX_RANK);
        long[] dims = new long[rank];
        for (int i = 0; i < rank; i++) dims[i] = in.readInt() & 0xFFFFFFFFL;
        Shape shape;
        try {
            shape = Shape.ofLongs(dims);
        } catch (EmberException e) {
            throw new DataFormatException(file, "header sizes are too large: " + e.getMessage());
        }
        long bytes = (long) shape.numel() * elemSize;
        long header = 4L + 4L * rank;
        if (plainSize >= 0 && plainSize - header < bytes) {
            throw new DataFormatException(file, "truncated: header " + shape + " needs " + bytes + " data bytes, the file has " + (plainSize - header));
        }
        if (bytes > Integer.MAX_VALUE - 8) throw new DataFormatException(file, "data of " + bytes + " bytes is too large to load");
        byte[] data = readExactly(file, in, (int) bytes, shape);
        return decode(data, type, shape);
    }

    /** Reads {@code n} bytes growing the buffer chunk by chunk, so allocation tracks the bytes actually present. */
    private static byte[] readExactly(Path file, InputStream in, int n, Shape shape) throws IOException {
        byte[] buf = new byte[Math.min(n, CHUNK)];
        int have = 0;
        while (have < n) {
            if (have == buf.length) buf = java.util.Arrays.copyOf(buf, (int) Math.min(n, 2L * buf.length));
            int r = in.read(buf, have, buf.length - have);
            if (r < 0) throw new DataFormatException(file, "truncated: header " + shape + " needs " + n + " data bytes, found " + have);
            have += r;
        }
        return buf;
    }

    private static Tensor decode(byte[] data, int type, Shape shape) {
        int n = shape.numel();
        if (type == 0x08) return Tensor.of(CpuStorage.wrap(data), shape);
        ByteBuffer bb = ByteBuffer.wrap(data).order(ByteOrder.BIG_ENDIAN);
        return switch (type) {
            case 0x09 -> {
                int[] a = new int[n];
                for (int i = 0; i < n; i++) a[i] = data[i];
                yield Tensor.of(CpuStorage.wrap(a), shape);
            }
            case 0x0B -> {
                int[] a = new int[n];
                for (int i = 0; i < n; i++) a[i] = bb.getShort();
                yield Tensor.of(CpuStorage.wrap(a), shape);
            }
            case 0x0C -> {
                int[] a = new int[n];
                bb.asIntBuffer().get(a);
                yield Tensor.of(CpuStorage.wrap(a), shape);
            }
            case 0x0D -> {
                float[] a = new float[n];
                bb.asFloatBuffer().get(a);
                yield Tensor.of(CpuStorage.wrap(a), shape);
            }
            default -> {
                float[] a = new float[n];
                for (int i = 0; i < n; i++) a[i] = (float) bb.getDouble();
                yield Tensor.of(CpuStorage.wrap(a), shape);
            }
        };
    }
}
