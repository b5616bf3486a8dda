import com.google.protobuf.ByteString;
import dev.ember.loaders.onnx.proto.OnnxProto;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * {@code zero IN OUT} blanks every float initializer of an ONNX model, so it compresses to a few KB for a trip to a
 * GPU machine with a size limit; {@code random IN OUT} refills them there with He-uniform weights (fan-in: the
 * product of the dims after the first; biases within 0.01), seed 42. A training step's cost does not depend on the
 * values; its results do, so this is for timing only. Dev tool (tools/gpu-bundle), not part of the product.
 */
public class Weights {
    public static void main(String[] a) throws Exception {
        if (a.length != 3 || !(a[0].equals("zero") || a[0].equals("random"))) throw new IllegalArgumentException("usage: Weights zero|random IN OUT");
        OnnxProto.ModelProto m = OnnxProto.ModelProto.parseFrom(Files.readAllBytes(Path.of(a[1])));
        OnnxProto.GraphProto.Builder g = m.getGraph().toBuilder();
        Random r = new Random(42);
        for (int i = 0; i < g.getInitializerCount(); i++) {
            OnnxProto.TensorProto t = g.getInitializer(i);
            if (t.getDataType() != OnnxProto.TensorProto.DataType.FLOAT_VALUE) continue;
            long n = 1, fanIn = 1;
            for (int d = 0; d < t.getDimsCount(); d++) {
                n *= t.getDims(d);
                if (d > 0) fanIn *= t.getDims(d);
            }
            ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(n * 4)).order(ByteOrder.LITTLE_ENDIAN);
            double bound = t.getDimsCount() >= 2 ? Math.sqrt(6.0 / fanIn) : 0.01;
            for (long k = 0; k < n; k++) b.putFloat(a[0].equals("zero") ? 0f : (float) ((r.nextDouble() * 2 - 1) * bound));
            g.setInitializer(i, t.toBuilder().clearFloatData().setRawData(ByteString.copyFrom(b.array())).build());
        }
        Files.write(Path.of(a[2]), m.toBuilder().setGraph(g).build().toByteArray());
    }
}
