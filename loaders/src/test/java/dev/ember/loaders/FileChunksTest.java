package dev.ember.loaders;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileChunksTest {
    @TempDir Path dir;

    private static byte[] random(int n) {
        byte[] b = new byte[n];
        new Random(3).nextBytes(b);
        return b;
    }

    /** This process's resident memory in bytes (Linux), or -1. */
    private static long residentBytes() throws Exception {
        Path status = Path.of("/proc/self/status");
        if (!Files.isReadable(status)) return -1;
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
        }
        return -1;
    }

    @Test void readsWholeFilesAndRangesAcrossChunks() throws Exception {
        byte[] content = random(3 * FileChunks.CHUNK + 123);
        Path file = Files.write(dir.resolve("f.bin"), content);
        assertArrayEquals(content, FileChunks.readAll(file));
        assertArrayEquals(new byte[0], FileChunks.readAll(Files.write(dir.resolve("empty"), new byte[0])));
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(2 * FileChunks.CHUNK + 7);
            int got = FileChunks.read(ch, b, 11);
            assertEquals(FileChunks.CHUNK, got, "one call moves at most a chunk");
            while (b.hasRemaining()) assertTrue(FileChunks.read(ch, b, 11 + b.position()) > 0);
            assertEquals(b.capacity(), b.limit(), "the buffer's limit is restored");
            for (int i = 0; i < b.capacity(); i++) assertEquals(content[11 + i], b.get(i));
        }
    }

    @Test void chunkedWritesKeepEveryByte() throws Exception {
        byte[] content = random(2 * FileChunks.CHUNK + 5);
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        int[] largest = {0};
        OutputStream counting = new OutputStream() {
            @Override public void write(int b) { sink.write(b); }
            @Override public void write(byte[] b, int off, int len) {
                largest[0] = Math.max(largest[0], len);
                sink.write(b, off, len);
            }
        };
        OutputStream out = FileChunks.chunked(counting);
        out.write(content, 0, 3);
        out.write(content, 3, content.length - 3);
        out.flush();
        assertArrayEquals(content, sink.toByteArray());
        assertEquals(FileChunks.CHUNK, largest[0]);
    }

    /**
     * The point of the class: reading a file leaves no native buffer as large as the file behind. Files.readAllBytes
     * of a 48 MiB file grows the process by about twice the file (the array, and a temporary native buffer the JDK
     * keeps for the thread, invisible to the direct-buffer pool's counters); this reads it for about the array alone.
     */
    @Test void leavesNoFileSizedNativeBufferBehind() throws Exception {
        Assumptions.assumeTrue(residentBytes() > 0, "no /proc/self/status (not Linux): resident memory not measurable here");
        int size = 48 << 20;
        Path file = Files.write(dir.resolve("big.bin"), random(size));
        long before = residentBytes();
        byte[] read = FileChunks.readAll(file);
        long grew = residentBytes() - before;
        assertEquals(size, read.length);
        assertTrue(grew < size + size / 2, "the process grew by " + (grew >> 20) + " MiB reading a 48 MiB file");
    }
}
