package dev.ember.loaders.onnx;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.UnsafeByteOperations;
import dev.ember.engine.CpuStorage;
import dev.ember.engine.DType;
import dev.ember.engine.Device;
import dev.ember.engine.Shape;
import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;
import dev.ember.loaders.FileChunks;
import dev.ember.loaders.onnx.proto.OnnxProto.TensorProto;
import dev.ember.loaders.onnx.proto.OnnxProto.TensorProto.DataType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * ONNX TensorProto to engine {@link Tensor} and back.
 *
 * <p>Element types, and what they load as (the engine computes in float32 and indexes in int32/int64):
 * <pre>
 *   FLOAT                      -> float32
 *   DOUBLE                     -> float32   (narrowed: values beyond float range become +-inf, precision drops to 24 bits)
 *   FLOAT16, BFLOAT16          -> float32   (exact: every half value is a float)
 *   INT32, INT16, INT8, UINT16 -> int32     (exact)
 *   UINT32, INT64              -> int64     (exact)
 *   UINT8                      -> uint8
 *   BOOL                       -> bool      (bytes 0 / 1)
 * </pre>
 * Anything else (STRING, UINT64, COMPLEX, FLOAT8, INT4, ...) is an {@link OnnxException} naming the tensor.
 *
 * <p>Data comes from {@code raw_data} (fixed width, little-endian), from the typed field the specification gives
 * that type ({@code float_data}; {@code int32_data} for every type of 16 bits or fewer; {@code int64_data};
 * {@code double_data}; {@code uint64_data} for UINT32), or from an external file next to the model. Before any
 * allocation the dims are checked (non-negative, element count fits) and the number of stored values must equal
 * the element count, so no buffer is sized by a number the file merely claims.
 */
public final class OnnxTensors {
    private OnnxTensors() {}

    /** Reads a file holding one serialized TensorProto (the node tests' {@code input_0.pb}). */
    public static Tensor read(Path pbFile) {
        byte[] bytes;
        try {
            if (Files.size(pbFile) > Integer.MAX_VALUE - 8) throw new OnnxException(pbFile + ": larger than the 2 GiB a protobuf message may have");
            bytes = FileChunks.readAll(pbFile);
        } catch (IOException e) {
            throw new OnnxException(pbFile + ": cannot read: " + e.getMessage(), e);
        }
        TensorProto proto;
        try {
            CodedInputStream in = CodedInputStream.newInstance(bytes);
            in.setRecursionLimit(OnnxModel.RECURSION_LIMIT);
            proto = TensorProto.parseFrom(in);
        } catch (IOException | RuntimeException e) {
            throw new OnnxException(pbFile + ": not a valid TensorProto (" + e.getMessage() + ")", e);
        }
        Path folder = pbFile.toAbsolutePath().getParent();
        return decode(proto, folder, pbFile + ": tensor '" + proto.getName() + "'");
    }

    /**
     * Decodes {@code proto}; external data is looked up in {@code folder} (null: refuse external data).
     * The generated proto classes are internal to the loader; this is for the exporter and tests.
     */
    public static Tensor fromProto(TensorProto proto, Path folder) {
        return decode(proto, folder, "tensor '" + proto.getName() + "'");
    }

    /** {@code tensor} as a TensorProto named {@code name}, its elements in {@code raw_data}. */
    public static TensorProto toProto(String name, Tensor tensor) {
        Tensor t = tensor.to(Device.CPU).contiguous();
        int n = t.numel();
        long bytes = (long) n * t.dtype().byteSize();
        if (bytes > Integer.MAX_VALUE - 8) throw new OnnxException("tensor '" + name + "' " + t.shape() + " has " + bytes + " bytes, more than one protobuf message holds (2 GiB)");
        ByteBuffer raw = ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
        CpuStorage s = (CpuStorage) t.storage();
        switch (t.dtype()) {   // straight from the storage: one copy of the values, not three
            case FLOAT32 -> raw.asFloatBuffer().put(s.floats(), t.offset(), n);
            case INT32 -> raw.asIntBuffer().put(s.ints(), t.offset(), n);
            case INT64 -> raw.asLongBuffer().put(s.longs(), t.offset(), n);
            case UINT8, BOOL -> raw.put(s.bytes(), t.offset(), n);
        }
        TensorProto.Builder b = TensorProto.newBuilder().setName(name).setDataType(onnxType(t.dtype()));
        for (int d : t.dims()) b.addDims(d);
        return b.setRawData(UnsafeByteOperations.unsafeWrap(raw.array())).build();   // raw is ours alone and never written again
    }

    /** The ONNX element type code for an engine dtype. */
    public static int onnxType(DType dtype) {
        return switch (dtype) {
            case FLOAT32 -> DataType.FLOAT_VALUE;
            case INT32 -> DataType.INT32_VALUE;
            case INT64 -> DataType.INT64_VALUE;
            case UINT8 -> DataType.UINT8_VALUE;
            case BOOL -> DataType.BOOL_VALUE;
        };
    }

    /** The engine dtype an ONNX element type loads as, or null when the engine cannot hold it. */
    public static DType engineType(int onnxType) {
        return switch (onnxType) {
            case DataType.FLOAT_VALUE, DataType.DOUBLE_VALUE, DataType.FLOAT16_VALUE, DataType.BFLOAT16_VALUE -> DType.FLOAT32;
            case DataType.INT32_VALUE, DataType.INT16_VALUE, DataType.INT8_VALUE, DataType.UINT16_VALUE -> DType.INT32;
            case DataType.INT64_VALUE, DataType.UINT32_VALUE -> DType.INT64;
            case DataType.UINT8_VALUE -> DType.UINT8;
            case DataType.BOOL_VALUE -> DType.BOOL;
            default -> null;
        };
    }

    /** "FLOAT", "INT64", ... or "type code N" for a code the specification does not define. */
    public static String typeName(int onnxType) {
        DataType t = DataType.forNumber(onnxType);
        return t == null ? "type code " + onnxType : t.name();
    }

    // ---- decoding ----

    /** Decodes {@code p}; {@code what} names it in errors ("initializer 'conv1.weight'"). */
    static Tensor decode(TensorProto p, Path folder, String what) {
        int type = p.getDataType();
        if (engineType(type) == null) throw new OnnxException(what + ": element type " + typeName(type) + " is not supported");
        if (p.hasSegment()) throw new OnnxException(what + ": segmented tensors (TensorProto.segment) are not supported");
        Shape shape = shapeOf(p, what);
        int n = shape.numel();
        long expectBytes = (long) n * byteWidth(type);
        if (p.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
            byte[] bytes = ExternalData.read(p, folder, what, expectBytes);
            return fromRaw(ByteBuffer.wrap(bytes), type, shape, what);
        }
        if (p.hasRawData()) {
            ByteString raw = p.getRawData();
            if (raw.size() != expectBytes) {
                throw new OnnxException(what + ": raw_data has " + raw.size() + " bytes, expected " + expectBytes
                        + " (" + n + " elements of " + typeName(type) + " for shape " + shape + ")");
            }
            return fromRaw(raw.asReadOnlyByteBuffer(), type, shape, what);
        }
        return fromTyped(p, type, shape, what);
    }

    private static Shape shapeOf(TensorProto p, String what) {
        long[] dims = new long[p.getDimsCount()];
        for (int i = 0; i < dims.length; i++) dims[i] = p.getDims(i);
        try {
            return Shape.ofLongs(dims);
        } catch (ShapeException e) {
            throw new OnnxException(what + ": bad dims " + Arrays.toString(dims) + ": " + e.getMessage(), e);
        }
    }

    /** Bytes per element in raw_data. */
    private static int byteWidth(int type) {
        return switch (type) {
            case DataType.UINT8_VALUE, DataType.INT8_VALUE, DataType.BOOL_VALUE -> 1;
            case DataType.UINT16_VALUE, DataType.INT16_VALUE, DataType.FLOAT16_VALUE, DataType.BFLOAT16_VALUE -> 2;
            case DataType.FLOAT_VALUE, DataType.INT32_VALUE, DataType.UINT32_VALUE -> 4;
            case DataType.INT64_VALUE, DataType.DOUBLE_VALUE -> 8;
            default -> throw new IllegalStateException("no width for supported type " + type);
        };
    }

    /** {@code buffer} holds exactly numel fixed-width little-endian elements (checked by the caller). */
    private static Tensor fromRaw(ByteBuffer buffer, int type, Shape shape, String what) {
        ByteBuffer b = buffer.slice().order(ByteOrder.LITTLE_ENDIAN);   // absolute indexing from 0 below
        int n = shape.numel();
        return switch (type) {
            case DataType.FLOAT_VALUE -> {
                float[] a = new float[n];
                b.asFloatBuffer().get(a);
                yield Tensor.of(CpuStorage.wrap(a), shape);
            }
            case DataType.DOUBLE_VALUE -> {
                float[] a = new float[n];
                for (int i = 0; i < n; i++) a[i] = (float) b.getDouble(8 * i);
                yield Tensor.of(CpuStorage.wrap(a), shape);
            }
            case DataType.FLOAT16_VALUE -> {
                float[] a = new float[n];
                for (int i = 0; i < n; i++) a[i] = Float.float16ToFloat(b.getShort(2 * i));
                yield Tensor.of(CpuStorage.wrap(a), shape);
            }
            case DataType.BFLOAT16_VALUE -> {
                float[] a = new float[n];
                for (int i = 0; i < n; i++) a[i] = bfloat16ToFloat(b.getShort(2 * i));
                yield Tensor.of(CpuStorage.wrap(a), shape);
            }
            case DataType.INT32_VALUE -> {
                int[] a = new int[n];
                b.asIntBuffer().get(a);
                yield Tensor.of(CpuStorage.wrap(a), shape);
            }
            case DataType.INT16_VALUE, DataType.UINT16_VALUE -> {
                boolean unsigned = type == DataType.UINT16_VALUE;
                int[] a = new int[n];
                for (int i = 0; i < n; i++) a[i] = unsigned ? b.getShort(2 * i) & 0xFFFF : b.getShort(2 * i);
                yield Tensor.of(CpuStorage.wrap(a), shape);
            }
            case DataType.INT8_VALUE -> {
                int[] a = new int[n];
                for (int i = 0; i < n; i++) a[i] = b.get(i);
                yield Tensor.of(CpuStorage.wrap(a), shape);
            }
            case DataType.INT64_VALUE -> {
                long[] a = new long[n];
                b.asLongBuffer().get(a);
                yield Tensor.of(CpuStorage.wrap(a), shape);
            }
            case DataType.UINT32_VALUE -> {
                long[] a = new long[n];
                for (int i = 0; i < n; i++) a[i] = b.getInt(4 * i) & 0xFFFF_FFFFL;
                yield Tensor.of(CpuStorage.wrap(a), shape);
            }
            case DataType.UINT8_VALUE -> {
                byte[] a = new byte[n];
                b.get(0, a);
                yield Tensor.of(CpuStorage.wrap(a), shape);
            }
            case DataType.BOOL_VALUE -> {
                byte[] a = new byte[n];
                b.get(0, a);
                yield Tensor.of(bools(a, what), shape);
            }
            default -> throw new IllegalStateException("unhandled supported type " + type);
        };
    }

    /** Elements from the typed field the specification assigns to {@code type}; its length must equal numel. */
    private static Tensor fromTyped(TensorProto p, int type, Shape shape, String what) {
        int n = shape.numel();
        switch (type) {
            case DataType.FLOAT_VALUE -> {
                requireCount(p.getFloatDataCount(), n, "float_data", shape, what);
                float[] a = new float[n];
                for (int i = 0; i < n; i++) a[i] = p.getFloatData(i);
                return Tensor.of(CpuStorage.wrap(a), shape);
            }
            case DataType.DOUBLE_VALUE -> {
                requireCount(p.getDoubleDataCount(), n, "double_data", shape, what);
                float[] a = new float[n];
                for (int i = 0; i < n; i++) a[i] = (float) p.getDoubleData(i);
                return Tensor.of(CpuStorage.wrap(a), shape);
            }
            case DataType.INT64_VALUE -> {
                requireCount(p.getInt64DataCount(), n, "int64_data", shape, what);
                long[] a = new long[n];
                for (int i = 0; i < n; i++) a[i] = p.getInt64Data(i);
                return Tensor.of(CpuStorage.wrap(a), shape);
            }
            case DataType.UINT32_VALUE -> {
                requireCount(p.getUint64DataCount(), n, "uint64_data", shape, what);
                long[] a = new long[n];
                for (int i = 0; i < n; i++) a[i] = p.getUint64Data(i) & 0xFFFF_FFFFL;
                return Tensor.of(CpuStorage.wrap(a), shape);
            }
            default -> {
                // Every remaining type is 16 bits or narrower and lives in int32_data, one value per element.
                requireCount(p.getInt32DataCount(), n, "int32_data", shape, what);
                return fromInt32Data(p, type, shape, what);
            }
        }
    }

    private static Tensor fromInt32Data(TensorProto p, int type, Shape shape, String what) {
        int n = shape.numel();
        switch (type) {
            case DataType.FLOAT16_VALUE, DataType.BFLOAT16_VALUE -> {
                float[] a = new float[n];
                for (int i = 0; i < n; i++) {
                    short bits = (short) p.getInt32Data(i);   // the half's bit pattern in the low 16 bits
                    a[i] = type == DataType.FLOAT16_VALUE ? Float.float16ToFloat(bits) : bfloat16ToFloat(bits);
                }
                return Tensor.of(CpuStorage.wrap(a), shape);
            }
            case DataType.UINT8_VALUE, DataType.BOOL_VALUE -> {
                byte[] a = new byte[n];
                for (int i = 0; i < n; i++) a[i] = (byte) p.getInt32Data(i);
                return Tensor.of(type == DataType.BOOL_VALUE ? bools(a, what) : CpuStorage.wrap(a), shape);
            }
            default -> {
                // INT32, INT16, INT8, UINT16: reduce to the declared width, as raw_data would store it.
                int[] a = new int[n];
                for (int i = 0; i < n; i++) {
                    int v = p.getInt32Data(i);
                    a[i] = switch (type) {
                        case DataType.INT16_VALUE -> (short) v;
                        case DataType.INT8_VALUE -> (byte) v;
                        case DataType.UINT16_VALUE -> v & 0xFFFF;
                        default -> v;
                    };
                }
                return Tensor.of(CpuStorage.wrap(a), shape);
            }
        }
    }

    private static void requireCount(int have, int n, String field, Shape shape, String what) {
        if (have != n) throw new OnnxException(what + ": " + field + " has " + have + " values, expected " + n + " for shape " + shape);
    }

    private static CpuStorage bools(byte[] a, String what) {
        for (int i = 0; i < a.length; i++) {
            if ((a[i] & ~1) != 0) throw new OnnxException(what + ": BOOL element " + i + " is " + (a[i] & 0xFF) + ", expected 0 or 1");
        }
        return CpuStorage.wrapBool(a);
    }

    /** bfloat16 is the upper half of a float32: shift the 16 bits back into place. */
    private static float bfloat16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }
}
