package dev.ember.loaders;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * File reads and writes through heap buffers, at most {@link #CHUNK} bytes a call. A {@code FileChannel} moves a
 * heap buffer through a temporary direct buffer as large as the request, and the JDK keeps that buffer for the
 * thread's life ({@code jdk.nio.maxCachedBufferSize} is unlimited unless set): {@code Files.readAllBytes} of
 * resnet18.onnx left 45 MB of native memory in the process for good, a tenth of a fine-tuning run's peak RSS.
 */
public final class FileChunks {
    /** The most bytes one channel call moves. */
    public static final int CHUNK = 1 << 20;

    private FileChunks() {}

    /** The whole file; the caller has checked that its size fits an array. Stops early if the file shrinks meanwhile. */
    public static byte[] readAll(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > Integer.MAX_VALUE - 8) throw new IOException(file + ": " + size + " bytes do not fit one array");
            byte[] bytes = new byte[(int) size];
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) {
                if (read(ch, b) < 0) return Arrays.copyOf(bytes, b.position());
            }
            return bytes;
        }
    }

    /** {@link FileChannel#read(ByteBuffer)}, at most {@link #CHUNK} bytes. */
    public static int read(FileChannel ch, ByteBuffer dst) throws IOException { return atMostAChunk(dst, () -> ch.read(dst)); }

    /** {@link FileChannel#read(ByteBuffer, long)}, at most {@link #CHUNK} bytes. */
    public static int read(FileChannel ch, ByteBuffer dst, long position) throws IOException {
        return atMostAChunk(dst, () -> ch.read(dst, position));
    }

    private interface Read {
        int run() throws IOException;
    }

    /** Runs {@code read} with dst's limit lowered to a chunk past its position, then restores the limit. */
    private static int atMostAChunk(ByteBuffer dst, Read read) throws IOException {
        if (dst.remaining() <= CHUNK) return read.run();
        int limit = dst.limit();
        dst.limit(dst.position() + CHUNK);
        try {
            return read.run();
        } finally {
            dst.limit(limit);
        }
    }

    /** {@code out} with every write split into pieces of at most {@link #CHUNK} bytes (for a channel's stream). */
    public static OutputStream chunked(OutputStream out) {
        return new FilterOutputStream(out) {
            @Override public void write(byte[] b, int off, int len) throws IOException {
                for (int at = 0; at < len; at += CHUNK) out.write(b, off + at, Math.min(CHUNK, len - at));
            }
        };
    }
}
