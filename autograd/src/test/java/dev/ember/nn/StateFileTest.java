package dev.ember.nn;

import dev.ember.engine.DType;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StateFileTest {
    @TempDir Path dir;

    private static Map<String, Tensor> sample() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("layer1.0.conv1.weight", Tensor.of(new float[] {1.5f, -2f, Float.MIN_VALUE, Float.MAX_VALUE, -0f, 3f}, 1, 2, 3));
        m.put("labels", Tensor.ofInts(new int[] {0, -1, Integer.MAX_VALUE}, 3));
        m.put("bn.num_batches_tracked", Tensor.ofLongs(new long[] {1L << 40}));
        m.put("image", Tensor.ofBytes(new byte[] {0, (byte) 255, 7, 8}, 2, 2));
        m.put("empty", Tensor.zeros(0, 5));
        m.put("strided", Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3).mT());   // a non-contiguous view
        return m;
    }

    private Path written() throws IOException {
        Path f = dir.resolve("state.bin");
        StateFile.write(f, sample());
        return f;
    }

    @Test void roundTripsEveryDtypeShapeAndOrder() throws IOException {
        Map<String, Tensor> back = StateFile.read(written());
        Map<String, Tensor> want = sample();
        assertEquals(new ArrayList<>(want.keySet()), new ArrayList<>(back.keySet()));
        for (String k : want.keySet()) {
            Tensor w = want.get(k), g = back.get(k);
            assertEquals(w.shape(), g.shape(), k);
            assertEquals(w.dtype(), g.dtype(), k);
        }
        assertArrayEquals(want.get("layer1.0.conv1.weight").toFloatArray(), back.get("layer1.0.conv1.weight").toFloatArray(), 0f);
        assertArrayEquals(new int[] {0, -1, Integer.MAX_VALUE}, back.get("labels").toIntArray());
        assertEquals(1L << 40, back.get("bn.num_batches_tracked").toLongArray()[0]);
        assertEquals(Shape.SCALAR, back.get("bn.num_batches_tracked").shape());
        assertEquals(255f, back.get("image").get(0, 1));
        assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, back.get("strided").toFloatArray(), 0f);
        assertEquals(DType.UINT8, back.get("image").dtype());
    }

    @Test void writeReplacesAtomicallyAndLeavesNoTemporaryFile() throws IOException {
        Path f = written();
        StateFile.write(f, Map.of("only", Tensor.ones(2)));
        assertEquals(List.of("only"), new ArrayList<>(StateFile.read(f).keySet()));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(f.getFileName().toString()), files.map(p -> p.getFileName().toString()).toList());
        }
    }

    @Test void failedWriteKeepsTheOldFile() throws IOException {
        Path f = written();
        byte[] before = Files.readAllBytes(f);
        Map<String, Tensor> bad = new LinkedHashMap<>();
        bad.put("fine", Tensor.ones(3));
        bad.put("", Tensor.ones(1));                 // an empty name is refused mid-write
        assertThrows(RuntimeException.class, () -> StateFile.write(f, bad));
        assertArrayEquals(before, Files.readAllBytes(f));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(1, files.count());
        }
    }

    @Test void everyTruncationIsATypedError() throws IOException {
        Path f = written();
        byte[] bytes = Files.readAllBytes(f);
        Path cut = dir.resolve("cut.bin");
        for (int n = 0; n < bytes.length; n++) {
            Files.write(cut, Arrays.copyOf(bytes, n));
            StateFileException e = assertThrows(StateFileException.class, () -> StateFile.read(cut), "length " + n);
            assertEquals(cut, e.file());
            assertTrue(e.getMessage().startsWith(cut.toString()), e.getMessage());
        }
    }

    @Test void everyFlippedByteIsATypedError() throws IOException {
        Path f = written();
        byte[] bytes = Files.readAllBytes(f);
        Path bad = dir.resolve("bad.bin");
        for (int i = 0; i < bytes.length; i++) {
            byte[] b = bytes.clone();
            b[i] ^= 0x01;
            Files.write(bad, b);
            assertThrows(StateFileException.class, () -> StateFile.read(bad), "byte " + i);
        }
    }

    @Test void badMagicAndVersionAreNamed() throws IOException {
        Path f = dir.resolve("not.bin");
        Files.write(f, "\u0089PNG\r\n\u001a\n rest of an image".getBytes(StandardCharsets.ISO_8859_1));
        StateFileException magic = assertThrows(StateFileException.class, () -> StateFile.read(f));
        assertTrue(magic.getMessage().contains("not an ember state file"), magic.getMessage());

        byte[] bytes = Files.readAllBytes(written());
        bytes[8] = 9;   // version
        Files.write(f, bytes);
        StateFileException version = assertThrows(StateFileException.class, () -> StateFile.read(f));
        assertTrue(version.getMessage().contains("version 9"), version.getMessage());
    }

    @Test void absurdSizesAreRefusedBeforeAllocating() throws IOException {
        Path f = dir.resolve("absurd.bin");
        // a huge entry count
        Files.write(f, header(Integer.MAX_VALUE).array());
        assertMessage(f, "entries");
        // a name longer than the file
        Files.write(f, header(1).putInt(Integer.MAX_VALUE).array());
        assertMessage(f, "name of");
        // a float32 tensor of 2^31-9 elements whose data would be 8 GiB, in a tiny file
        ByteBuffer b = header(1).putInt(1).put((byte) 'w').put((byte) 0).put((byte) 1).putLong(Shape.MAX_NUMEL).putLong(4L * Shape.MAX_NUMEL);
        Files.write(f, Arrays.copyOf(b.array(), b.position() + 4));
        assertMessage(f, "truncated");
        // dims whose product overflows
        b = header(1).putInt(1).put((byte) 'w').put((byte) 0).put((byte) 2).putLong(1L << 20).putLong(1L << 20).putLong(0);
        Files.write(f, Arrays.copyOf(b.array(), b.position() + 4));
        assertMessage(f, "impossible shape");
        // a data length that disagrees with the shape
        b = header(1).putInt(1).put((byte) 'w').put((byte) 0).put((byte) 1).putLong(2).putLong(12).putFloat(1).putFloat(2).putFloat(3);
        Files.write(f, Arrays.copyOf(b.array(), b.position() + 4));
        assertMessage(f, "should hold 8 bytes");
    }

    @Test void aMissingFileIsAnIOException() {
        assertThrows(NoSuchFileException.class, () -> StateFile.read(dir.resolve("nope.bin")));
    }

    private static ByteBuffer header(int count) {
        ByteBuffer b = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);
        return b.put("EMBSTATE".getBytes(StandardCharsets.US_ASCII)).putInt(1).putInt(count);
    }

    private static void assertMessage(Path f, String part) {
        StateFileException e = assertThrows(StateFileException.class, () -> StateFile.read(f));
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }
}
