package dev.ember.loaders.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.engine.DType;
import dev.ember.engine.Tensor;
import dev.ember.loaders.DataFormatException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** .npy files written here byte for byte as numpy.save writes them, read back; and every kind of bad file refused. */
class NpyTest {
    @TempDir Path dir;

    /** A .npy file: magic, version, header length, header padded with spaces to a multiple of 64 ending in '\n', data. */
    private Path npy(String name, int major, String header, byte[] data) throws IOException {
        int lengthBytes = major == 1 ? 2 : 4;
        StringBuilder h = new StringBuilder(header);
        while ((8 + lengthBytes + h.length() + 1) % 64 != 0) h.append(' ');
        h.append('\n');
        byte[] hb = h.toString().getBytes(major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        ByteBuffer len = ByteBuffer.allocate(lengthBytes).order(ByteOrder.LITTLE_ENDIAN);
        if (major == 1) len.putShort((short) hb.length); else len.putInt(hb.length);
        out.write(len.array());
        out.write(hb);
        out.write(data);
        Path f = dir.resolve(name);
        Files.write(f, out.toByteArray());
        return f;
    }

    private static String header(String descr, String shape) {
        return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    }

    private static byte[] le(int bytes, java.util.function.Consumer<ByteBuffer> fill) {
        ByteBuffer b = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
        fill.accept(b);
        return b.array();
    }

    private DataFormatException bad(Path f) { return assertThrows(DataFormatException.class, () -> Npy.read(f)); }

    @Test void readsFloat32InCOrder() throws IOException {
        float[] v = {1.5f, -2f, 3.25f, 0f, Float.MIN_VALUE, -1e30f};
        Path f = npy("f4.npy", 1, header("<f4", "(2, 3)"), le(24, b -> { for (float x : v) b.putFloat(x); }));
        Tensor t = Npy.read(f);
        assertEquals(DType.FLOAT32, t.dtype());
        assertArrayEquals(new int[] {2, 3}, t.dims());
        assertArrayEquals(v, t.toFloatArray(), 0f);
        assertEquals(3.25f, t.get(0, 2));
        assertEquals(-1e30f, t.get(1, 2));
    }

    @Test void readsFloat64AsFloat32() throws IOException {
        double[] v = {0.1, -1e300 * 0, 123456.789};
        Tensor t = Npy.read(npy("f8.npy", 1, header("<f8", "(3,)"), le(24, b -> { for (double x : v) b.putDouble(x); })));
        assertEquals(DType.FLOAT32, t.dtype());
        assertArrayEquals(new float[] {0.1f, 0f, 123456.79f}, t.toFloatArray(), 0f);
    }

    @Test void readsIntegerAndBoolTypes() throws IOException {
        Tensor i8 = Npy.read(npy("i8.npy", 1, header("<i8", "(2,)"), le(16, b -> b.putLong(Long.MIN_VALUE).putLong(7))));
        assertEquals(DType.INT64, i8.dtype());
        assertArrayEquals(new long[] {Long.MIN_VALUE, 7}, i8.toLongArray());

        Tensor i4 = Npy.read(npy("i4.npy", 1, header("<i4", "(1, 2)"), le(8, b -> b.putInt(-3).putInt(1 << 30))));
        assertEquals(DType.INT32, i4.dtype());
        assertArrayEquals(new int[] {-3, 1 << 30}, i4.toIntArray());

        Tensor u1 = Npy.read(npy("u1.npy", 1, header("|u1", "(3,)"), new byte[] {0, (byte) 200, 255 - 256}));
        assertEquals(DType.UINT8, u1.dtype());
        assertArrayEquals(new int[] {0, 200, 255}, u1.toIntArray());

        Tensor b1 = Npy.read(npy("b1.npy", 1, header("|b1", "(2, 2)"), new byte[] {1, 0, 0, 1}));
        assertEquals(DType.BOOL, b1.dtype());
        assertArrayEquals(new int[] {1, 0, 0, 1}, b1.toIntArray());
    }

    @Test void readsScalarsAndEmptyArrays() throws IOException {
        Tensor scalar = Npy.read(npy("s.npy", 1, header("<f4", "()"), le(4, b -> b.putFloat(42f))));
        assertEquals(0, scalar.rank());
        assertEquals(42f, scalar.item());

        Tensor empty = Npy.read(npy("e.npy", 1, header("<f4", "(0, 3)"), new byte[0]));
        assertArrayEquals(new int[] {0, 3}, empty.dims());
    }

    @Test void readsVersions2And3() throws IOException {
        byte[] data = le(8, b -> b.putFloat(1f).putFloat(2f));
        assertArrayEquals(new float[] {1f, 2f}, Npy.read(npy("v2.npy", 2, header("<f4", "(2,)"), data)).toFloatArray(), 0f);
        // v3 headers are UTF-8; the order of keys is free
        String h3 = "{'shape': (1, 2), 'fortran_order': False, 'descr': '<f4'}";
        Tensor t = Npy.read(npy("v3.npy", 3, h3, data));
        assertArrayEquals(new int[] {1, 2}, t.dims());
    }

    @Test void refusesFortranOrder() throws IOException {
        Path f = npy("fortran.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", new byte[16]);
        assertTrue(bad(f).getMessage().contains("Fortran"));
    }

    @Test void refusesBadMagicAndVersion() throws IOException {
        Path f = npy("magic.npy", 1, header("<f4", "(1,)"), new byte[4]);
        byte[] b = Files.readAllBytes(f);
        b[1] = 'X';
        Files.write(f, b);
        assertTrue(bad(f).getMessage().contains("magic"), "names the magic");

        b[1] = 'N';
        b[6] = 4;
        Files.write(f, b);
        assertTrue(bad(f).getMessage().contains("version 4.0"));

        Path tiny = dir.resolve("tiny.npy");
        Files.write(tiny, new byte[] {(byte) 0x93, 'N', 'U'});
        assertTrue(bad(tiny).getMessage().contains("truncated"));
    }

    @Test void refusesTruncatedOrOverlongData() throws IOException {
        Path f = npy("short.npy", 1, header("<f4", "(2, 3)"), new byte[23]);
        DataFormatException e = bad(f);
        assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains("24") && e.getMessage().contains("short.npy"), e.getMessage());

        Path longer = npy("long.npy", 1, header("<f4", "(2,)"), new byte[9]);
        assertTrue(bad(longer).getMessage().contains("1 bytes follow"));

        // the header length field points past the end of the file
        Path cut = npy("cut.npy", 1, header("<f4", "(1,)"), new byte[4]);
        Files.write(cut, Arrays.copyOf(Files.readAllBytes(cut), 30));
        assertTrue(bad(cut).getMessage().contains("truncated"));
    }

    @Test void refusesHugeShapesBeforeAllocating() throws IOException {
        // 400 MB promised by a 132-byte file: refused from the header alone; 2^40 elements do not fit an array
        assertTrue(bad(npy("big.npy", 1, header("<f4", "(100000, 1000)"), new byte[4])).getMessage().contains("needs 400000000"));
        assertTrue(bad(npy("huge.npy", 1, header("<f4", "(1048576, 1048576)"), new byte[4])).getMessage().contains("too large"));
        assertTrue(bad(npy("huge2.npy", 1, header("<f4", "(99999999999999,)"), new byte[4])).getMessage().contains("too large"));
        assertTrue(bad(npy("huge3.npy", 1, header("<f4", "(9999999999999999999999,)"), new byte[4])).getMessage().contains("too large"));
    }

    @Test void refusesUnsupportedTypes() throws IOException {
        assertTrue(bad(npy("be.npy", 1, header(">f4", "(1,)"), new byte[4])).getMessage().contains("big-endian"));
        assertTrue(bad(npy("c8.npy", 1, header("<c8", "(1,)"), new byte[8])).getMessage().contains("<c8"));
        assertTrue(bad(npy("bool2.npy", 1, header("|b1", "(2,)"), new byte[] {1, 2})).getMessage().contains("expected 0 or 1"));
    }

    @Test void parsesTheHeaderStrictly() throws IOException {
        byte[] four = new byte[4];
        String[] headers = {
            "{'descr': '<f4', 'fortran_order': False}",                                     // no shape
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}",          // unknown key
            "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}",      // repeated key
            "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}",                          // not a bool
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1)}",                       // (1) is not a tuple
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}",                     // negative
            "{'descr': '<f4', 'fortran_order': False, 'shape': [1]}",                       // a list
            "{'descr': <f4, 'fortran_order': False, 'shape': (1,)}",                        // unquoted
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} junk",                 // trailing junk
            "{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}",                       // missing comma
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)",                       // unclosed
        };
        for (int i = 0; i < headers.length; i++) {
            Path f = npy("h" + i + ".npy", 1, headers[i], four);
            DataFormatException e = assertThrows(DataFormatException.class, () -> Npy.read(f), headers[i]);
            assertTrue(e.getMessage().contains("h" + i + ".npy"), "names the file: " + e.getMessage());
        }
    }

    @Test void namesAMissingFile() {
        DataFormatException e = assertThrows(DataFormatException.class, () -> Npy.read(dir.resolve("absent.npy")));
        assertTrue(e.getMessage().contains("absent.npy") && e.getMessage().contains("no such file"));
    }
}
