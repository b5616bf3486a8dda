package dev.ember.loaders.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.protobuf.ByteString;
import dev.ember.engine.CpuStorage;
import dev.ember.engine.DType;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.proto.OnnxProto.StringStringEntryProto;
import dev.ember.loaders.onnx.proto.OnnxProto.TensorProto;
import dev.ember.loaders.onnx.proto.OnnxProto.TensorProto.DataType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TensorProto decoding for every supported dtype, from raw_data, typed fields and external files; and its errors. */
class OnnxTensorsTest {
    @TempDir Path dir;

    private static TensorProto.Builder proto(String name, DataType type, long... dims) {
        TensorProto.Builder b = TensorProto.newBuilder().setName(name).setDataType(type.getNumber());
        for (long d : dims) b.addDims(d);
        return b;
    }

    private static ByteString le(int bytes, java.util.function.Consumer<ByteBuffer> fill) {
        ByteBuffer b = ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
        fill.accept(b);
        return ByteString.copyFrom(b.array());
    }

    private static byte[] bytesOf(Tensor t) {
        CpuStorage s = (CpuStorage) t.contiguous().storage();
        return java.util.Arrays.copyOfRange(s.bytes(), t.offset(), t.offset() + t.numel());
    }

    @Test void rawDataOfEveryFloatType() {
        Tensor f = OnnxTensors.fromProto(proto("f", DataType.FLOAT, 2).setRawData(le(8, b -> b.putFloat(1.5f).putFloat(-2f))).build(), null);
        assertEquals(DType.FLOAT32, f.dtype());
        assertArrayEquals(new float[] {1.5f, -2f}, f.toFloatArray());

        Tensor d = OnnxTensors.fromProto(proto("d", DataType.DOUBLE, 2).setRawData(le(16, b -> b.putDouble(0.1).putDouble(1e300))).build(), null);
        assertEquals(DType.FLOAT32, d.dtype());
        assertArrayEquals(new float[] {0.1f, Float.POSITIVE_INFINITY}, d.toFloatArray(), "double narrows to float32");

        Tensor h = OnnxTensors.fromProto(proto("h", DataType.FLOAT16, 3)
                .setRawData(le(6, b -> b.putShort(Float.floatToFloat16(0.5f)).putShort(Float.floatToFloat16(-3f)).putShort((short) 0x7C00))).build(), null);
        assertArrayEquals(new float[] {0.5f, -3f, Float.POSITIVE_INFINITY}, h.toFloatArray());

        Tensor bf = OnnxTensors.fromProto(proto("bf", DataType.BFLOAT16, 1)
                .setRawData(le(2, b -> b.putShort((short) (Float.floatToIntBits(-1.5f) >>> 16)))).build(), null);
        assertArrayEquals(new float[] {-1.5f}, bf.toFloatArray());
    }

    @Test void rawDataOfEveryIntegerType() {
        Tensor i8 = OnnxTensors.fromProto(proto("i8", DataType.INT8, 2).setRawData(ByteString.copyFrom(new byte[] {-128, 127})).build(), null);
        assertEquals(DType.INT32, i8.dtype());
        assertArrayEquals(new int[] {-128, 127}, i8.toIntArray());

        Tensor i16 = OnnxTensors.fromProto(proto("i16", DataType.INT16, 2).setRawData(le(4, b -> b.putShort((short) -300).putShort((short) 300))).build(), null);
        assertArrayEquals(new int[] {-300, 300}, i16.toIntArray());

        Tensor u16 = OnnxTensors.fromProto(proto("u16", DataType.UINT16, 1).setRawData(le(2, b -> b.putShort((short) 0xFFFF))).build(), null);
        assertArrayEquals(new int[] {65535}, u16.toIntArray());

        Tensor i32 = OnnxTensors.fromProto(proto("i32", DataType.INT32, 2, 1).setRawData(le(8, b -> b.putInt(7).putInt(-7))).build(), null);
        assertEquals(Shape.of(2, 1), i32.shape());
        assertArrayEquals(new int[] {7, -7}, i32.toIntArray());

        Tensor i64 = OnnxTensors.fromProto(proto("i64", DataType.INT64, 1).setRawData(le(8, b -> b.putLong(Long.MIN_VALUE))).build(), null);
        assertEquals(DType.INT64, i64.dtype());
        assertArrayEquals(new long[] {Long.MIN_VALUE}, i64.toLongArray());

        Tensor u32 = OnnxTensors.fromProto(proto("u32", DataType.UINT32, 1).setRawData(le(4, b -> b.putInt(-1))).build(), null);
        assertArrayEquals(new long[] {0xFFFF_FFFFL}, u32.toLongArray());

        Tensor u8 = OnnxTensors.fromProto(proto("u8", DataType.UINT8, 2).setRawData(ByteString.copyFrom(new byte[] {(byte) 200, 3})).build(), null);
        assertEquals(DType.UINT8, u8.dtype());
        assertArrayEquals(new float[] {200, 3}, u8.toFloatArray());

        Tensor bool = OnnxTensors.fromProto(proto("b", DataType.BOOL, 3).setRawData(ByteString.copyFrom(new byte[] {1, 0, 1})).build(), null);
        assertEquals(DType.BOOL, bool.dtype());
        assertArrayEquals(new byte[] {1, 0, 1}, bytesOf(bool));
    }

    @Test void typedFields() {
        assertArrayEquals(new float[] {1, 2}, OnnxTensors.fromProto(proto("f", DataType.FLOAT, 2).addFloatData(1).addFloatData(2).build(), null).toFloatArray());
        assertArrayEquals(new float[] {0.25f}, OnnxTensors.fromProto(proto("d", DataType.DOUBLE, 1).addDoubleData(0.25).build(), null).toFloatArray());
        assertArrayEquals(new long[] {-5, 9}, OnnxTensors.fromProto(proto("l", DataType.INT64, 2).addInt64Data(-5).addInt64Data(9).build(), null).toLongArray());
        assertArrayEquals(new long[] {4000000000L}, OnnxTensors.fromProto(proto("u32", DataType.UINT32, 1).addUint64Data(4000000000L).build(), null).toLongArray());
        assertArrayEquals(new int[] {-3}, OnnxTensors.fromProto(proto("i8", DataType.INT8, 1).addInt32Data(-3).build(), null).toIntArray());
        assertArrayEquals(new int[] {65535}, OnnxTensors.fromProto(proto("u16", DataType.UINT16, 1).addInt32Data(65535).build(), null).toIntArray());
        assertArrayEquals(new float[] {255}, OnnxTensors.fromProto(proto("u8", DataType.UINT8, 1).addInt32Data(255).build(), null).toFloatArray());
        assertArrayEquals(new byte[] {0, 1}, bytesOf(OnnxTensors.fromProto(proto("b", DataType.BOOL, 2).addInt32Data(0).addInt32Data(1).build(), null)));
        // float16 travels as its bit pattern in int32_data
        Tensor h = OnnxTensors.fromProto(proto("h", DataType.FLOAT16, 1).addInt32Data(Float.floatToFloat16(-0.75f) & 0xFFFF).build(), null);
        assertArrayEquals(new float[] {-0.75f}, h.toFloatArray());
        // a scalar: no dims, one value
        Tensor s = OnnxTensors.fromProto(proto("s", DataType.FLOAT).addFloatData(4).build(), null);
        assertEquals(0, s.rank());
        assertEquals(4f, s.item());
    }

    @Test void roundTripThroughRawData() {
        Tensor[] tensors = {
            Tensor.of(new float[] {1, -2, 3.5f, 0}, 2, 2),
            Tensor.ofInts(new int[] {1, -2, 3}, 3),
            Tensor.ofLongs(new long[] {Long.MAX_VALUE, -1}, 1, 2),
            Tensor.ofBytes(new byte[] {(byte) 255, 0}, 2),
            Tensor.of(CpuStorage.wrapBool(new byte[] {1, 0, 0}), Shape.of(3)),
            Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3).transpose(0, 1),   // not contiguous
            Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3).slice(0, 1, 2),   // contiguous, at an offset in its storage
            Tensor.ofInts(new int[] {1, 2, 3, 4}, 4).slice(0, 2, 4),
        };
        for (Tensor t : tensors) {
            TensorProto p = OnnxTensors.toProto("t", t);
            assertTrue(p.hasRawData());
            Tensor back = OnnxTensors.fromProto(p, null);
            assertEquals(t.dtype(), back.dtype());
            assertEquals(t.shape(), back.shape());
            assertArrayEquals(t.toFloatArray(), back.toFloatArray(), 0f, t.toString());
        }
    }

    @Test void rawDataLengthMismatchNamesTensorAndCounts() {
        TensorProto p = proto("conv.weight", DataType.FLOAT, 2, 3).setRawData(ByteString.copyFrom(new byte[20])).build();
        OnnxException e = assertThrows(OnnxException.class, () -> OnnxTensors.fromProto(p, null));
        assertTrue(e.getMessage().contains("conv.weight") && e.getMessage().contains("20 bytes") && e.getMessage().contains("expected 24"), e.getMessage());
    }

    @Test void typedCountMismatch() {
        TensorProto p = proto("w", DataType.INT64, 3).addInt64Data(1).build();
        OnnxException e = assertThrows(OnnxException.class, () -> OnnxTensors.fromProto(p, null));
        assertTrue(e.getMessage().contains("'w'") && e.getMessage().contains("int64_data has 1 values, expected 3"), e.getMessage());
    }

    @Test void hugeOrNegativeDimsAreRefusedBeforeAllocating() {
        TensorProto huge = proto("huge", DataType.FLOAT, 1L << 40).setRawData(ByteString.copyFrom(new byte[4])).build();
        OnnxException e = assertThrows(OnnxException.class, () -> OnnxTensors.fromProto(huge, null));
        assertTrue(e.getMessage().contains("'huge'") && e.getMessage().contains("1099511627776"), e.getMessage());

        // each dim fits, the product does not
        TensorProto product = proto("product", DataType.FLOAT, 1L << 20, 1L << 20).build();
        e = assertThrows(OnnxException.class, () -> OnnxTensors.fromProto(product, null));
        assertTrue(e.getMessage().contains("'product'"), e.getMessage());

        TensorProto negative = proto("neg", DataType.FLOAT, -1).build();
        e = assertThrows(OnnxException.class, () -> OnnxTensors.fromProto(negative, null));
        assertTrue(e.getMessage().contains("'neg'"), e.getMessage());

        // a plausible shape with no data behind it: refused by the count check, not allocated
        TensorProto empty = proto("empty", DataType.FLOAT, 1 << 30).build();
        e = assertThrows(OnnxException.class, () -> OnnxTensors.fromProto(empty, null));
        assertTrue(e.getMessage().contains("float_data has 0 values"), e.getMessage());
    }

    @Test void unsupportedTypesAreNamed() {
        OnnxException e = assertThrows(OnnxException.class,
                () -> OnnxTensors.fromProto(proto("words", DataType.STRING, 1).addStringData(ByteString.copyFromUtf8("hi")).build(), null));
        assertTrue(e.getMessage().contains("'words'") && e.getMessage().contains("STRING"), e.getMessage());
        e = assertThrows(OnnxException.class, () -> OnnxTensors.fromProto(TensorProto.newBuilder().setName("x").setDataType(99).build(), null));
        assertTrue(e.getMessage().contains("type code 99"), e.getMessage());
    }

    @Test void boolBytesMustBeZeroOrOne() {
        TensorProto p = proto("mask", DataType.BOOL, 2).setRawData(ByteString.copyFrom(new byte[] {1, 2})).build();
        OnnxException e = assertThrows(OnnxException.class, () -> OnnxTensors.fromProto(p, null));
        assertTrue(e.getMessage().contains("'mask'") && e.getMessage().contains("element 1 is 2"), e.getMessage());
    }

    // ---- external data ----

    private static TensorProto external(String name, String location, String offset, String length, long... dims) {
        TensorProto.Builder b = proto(name, DataType.FLOAT, dims).setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(StringStringEntryProto.newBuilder().setKey("location").setValue(location));
        if (offset != null) b.addExternalData(StringStringEntryProto.newBuilder().setKey("offset").setValue(offset));
        if (length != null) b.addExternalData(StringStringEntryProto.newBuilder().setKey("length").setValue(length));
        return b.build();
    }

    private Path weightsFile() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        b.putFloat(9).putFloat(1).putFloat(2).putFloat(3);
        Path f = dir.resolve("weights.bin");
        Files.write(f, b.array());
        return f;
    }

    @Test void externalDataWithOffsetAndLength() throws IOException {
        weightsFile();
        Tensor t = OnnxTensors.fromProto(external("w", "weights.bin", "4", "12", 3), dir);
        assertArrayEquals(new float[] {1, 2, 3}, t.toFloatArray());
        Files.createDirectory(dir.resolve("sub"));
        Files.copy(dir.resolve("weights.bin"), dir.resolve("sub/w.bin"));
        Tensor all = OnnxTensors.fromProto(external("w", "sub/./w.bin", null, null, 4), dir);
        assertArrayEquals(new float[] {9, 1, 2, 3}, all.toFloatArray());
    }

    @Test void externalDataMayNotLeaveTheModelFolder() throws IOException {
        Path model = Files.createDirectory(dir.resolve("model"));
        Path outside = weightsFile();
        OnnxException e = assertThrows(OnnxException.class, () -> OnnxTensors.fromProto(external("w", "../weights.bin", null, null, 4), model));
        assertTrue(e.getMessage().contains("leaves the model's folder"), e.getMessage());
        e = assertThrows(OnnxException.class, () -> OnnxTensors.fromProto(external("w", "a/../../weights.bin", null, null, 4), model));
        assertTrue(e.getMessage().contains("leaves the model's folder"), e.getMessage());
        e = assertThrows(OnnxException.class, () -> OnnxTensors.fromProto(external("w", outside.toString(), null, null, 4), model));
        assertTrue(e.getMessage().contains("absolute"), e.getMessage());
        Files.createSymbolicLink(model.resolve("link.bin"), outside);
        e = assertThrows(OnnxException.class, () -> OnnxTensors.fromProto(external("w", "link.bin", null, null, 4), model));
        assertTrue(e.getMessage().contains("symbolic link"), e.getMessage());
        e = assertThrows(OnnxException.class, () -> OnnxTensors.fromProto(external("w", "weights.bin", null, null, 4), null));
        assertTrue(e.getMessage().contains("no folder"), e.getMessage());
    }

    @Test void externalDataRangeMustLieInsideTheFile() throws IOException {
        weightsFile();
        OnnxException e = assertThrows(OnnxException.class, () -> OnnxTensors.fromProto(external("w", "weights.bin", "64", "4", 1), dir));
        assertTrue(e.getMessage().contains("offset 64 is beyond the end") && e.getMessage().contains("16 bytes"), e.getMessage());
        e = assertThrows(OnnxException.class, () -> OnnxTensors.fromProto(external("w", "weights.bin", "8", "12", 3), dir));
        assertTrue(e.getMessage().contains("beyond the end"), e.getMessage());
        e = assertThrows(OnnxException.class, () -> OnnxTensors.fromProto(external("w", "weights.bin", "0", "8", 3), dir));
        assertTrue(e.getMessage().contains("8 bytes, expected 12"), e.getMessage());
        e = assertThrows(OnnxException.class, () -> OnnxTensors.fromProto(external("w", "weights.bin", "x", null, 3), dir));
        assertTrue(e.getMessage().contains("'offset' is 'x'"), e.getMessage());
        e = assertThrows(OnnxException.class, () -> OnnxTensors.fromProto(external("w", "missing.bin", null, null, 3), dir));
        assertTrue(e.getMessage().contains("missing.bin"), e.getMessage());
    }

    // ---- node-test files ----

    @Test void readsNodeTestTensorFiles() {
        Path abs = Path.of(System.getProperty("ember.shared", "../shared"), "onnx-node-tests", "test_abs", "test_data_set_0");
        assumeTrue(Files.isDirectory(abs), "shared ONNX node tests not found at " + abs + "; skipping");
        Tensor x = OnnxTensors.read(abs.resolve("input_0.pb"));
        Tensor y = OnnxTensors.read(abs.resolve("output_0.pb"));
        assertEquals(DType.FLOAT32, x.dtype());
        assertEquals(x.shape(), y.shape());
        assertTrue(x.numel() > 1);
        float[] xs = x.toFloatArray(), ys = y.toFloatArray();
        for (int i = 0; i < xs.length; i++) assertEquals(Math.abs(xs[i]), ys[i], 0f);
    }

    @Test void unreadableTensorFileIsNamed() throws IOException {
        Path f = dir.resolve("bad.pb");
        Files.write(f, new byte[] {(byte) 0x0A, (byte) 0xFF});   // field 1, length-delimited... truncated
        OnnxException e = assertThrows(OnnxException.class, () -> OnnxTensors.read(f));
        assertTrue(e.getMessage().contains("bad.pb"), e.getMessage());
    }
}
