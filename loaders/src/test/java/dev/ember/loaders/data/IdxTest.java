package dev.ember.loaders.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.engine.DType;
import dev.ember.engine.Tensor;
import dev.ember.loaders.DataFormatException;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxTest {
    @TempDir Path dir;

    private static byte[] idx(int type, int[] dims, byte[] payload) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bos);
        out.write(new byte[] {0, 0, (byte) type, (byte) dims.length});
        for (int d : dims) out.writeInt(d);
        out.write(payload);
        return bos.toByteArray();
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        if (name.endsWith(".gz")) {
            try (OutputStream o = new GZIPOutputStream(Files.newOutputStream(p))) { o.write(bytes); }
        } else {
            Files.write(p, bytes);
        }
        return p;
    }

    @Test
    void readsUnsignedBytesPlainAndGzipped() throws IOException {
        byte[] f = idx(0x08, new int[] {2, 3}, new byte[] {0, 1, 2, (byte) 200, (byte) 255, 5});
        for (String name : new String[] {"a-idx2-ubyte", "a-idx2-ubyte.gz"}) {
            Tensor t = Idx.read(write(name, f));
            assertEquals(DType.UINT8, t.dtype());
            assertArrayEquals(new int[] {2, 3}, t.dims());
            assertEquals(200f, t.get(1, 0));
            assertEquals(255f, t.get(1, 1));
        }
    }

    @Test
    void readsBigEndianIntsAndFloats() throws IOException {
        ByteArrayOutputStream p = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(p);
        d.writeFloat(1.5f);
        d.writeFloat(-2f);
        Tensor f = Idx.read(write("f.idx", idx(0x0D, new int[] {2}, p.toByteArray())));
        assertArrayEquals(new float[] {1.5f, -2f}, f.toFloatArray());
        p.reset();
        d.writeInt(-7);
        Tensor i = Idx.read(write("i.idx", idx(0x0C, new int[] {1}, p.toByteArray())));
        assertEquals(DType.INT32, i.dtype());
        assertEquals(-7f, i.get(0));
    }

    @Test
    void badMagicNamesTheFile() throws IOException {
        byte[] f = idx(0x08, new int[] {1}, new byte[] {1});
        f[0] = 0x1F;
        Path p = write("bad-magic", f);
        DataFormatException e = assertThrows(DataFormatException.class, () -> Idx.read(p));
        assertTrue(e.getMessage().contains("bad-magic") && e.getMessage().contains("magic"), e.getMessage());
    }

    @Test
    void unknownTypeAndBadRankAreRefused() throws IOException {
        Path t = write("type", idx(0x07, new int[] {1}, new byte[] {1}));
        assertTrue(assertThrows(DataFormatException.class, () -> Idx.read(t)).getMessage().contains("element type"));
        Path r = write("rank", new byte[] {0, 0, 8, 0});
        assertTrue(assertThrows(DataFormatException.class, () -> Idx.read(r)).getMessage().contains("rank"));
    }

    @Test
    void truncatedFilesAreReportedNotPadded() throws IOException {
        byte[] full = idx(0x08, new int[] {10, 10}, new byte[100]);
        byte[] cut = Arrays.copyOf(full, full.length - 1);
        for (String name : new String[] {"cut", "cut.gz"}) {
            Path p = write(name, cut);
            DataFormatException e = assertThrows(DataFormatException.class, () -> Idx.read(p));
            assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        }
        Path header = write("header-only", Arrays.copyOf(full, 6));
        assertTrue(assertThrows(DataFormatException.class, () -> Idx.read(header)).getMessage().contains("truncated"));
    }

    @Test
    void lyingHeaderDoesNotAllocateItsClaim() throws IOException {
        // Claims 2 billion bytes but carries 10: must fail as truncated, fast, without a 2 GB allocation.
        Path p = write("liar.gz", idx(0x08, new int[] {46340, 46340}, new byte[10]));
        long before = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
        DataFormatException e = assertThrows(DataFormatException.class, () -> Idx.read(p));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        long after = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
        assertTrue(after - before < 64L << 20, "allocated " + (after - before) + " bytes for a 10-byte payload");
        Path huge = write("overflow", idx(0x0E, new int[] {65536, 65536, 65536}, new byte[0]));
        assertThrows(DataFormatException.class, () -> Idx.read(huge));
    }

    @Test
    void missingFileIsTyped() {
        assertThrows(DataFormatException.class, () -> Idx.read(dir.resolve("nope")));
    }
}
