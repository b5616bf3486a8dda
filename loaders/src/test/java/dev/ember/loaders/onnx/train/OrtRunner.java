package dev.ember.loaders.onnx.train;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.ember.engine.Tensor;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;

/** Runs an ONNX file with ONNX Runtime (one thread, so the test does not fight the build for cores). */
final class OrtRunner {
    private OrtRunner() {}

    /** The first output of {@code file} on float32 input {@code x} fed to {@code inputName}. */
    static Tensor run(Path file, String inputName, Tensor x) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long[] shape = new long[x.rank()];
        for (int i = 0; i < shape.length; i++) shape[i] = x.dim(i);
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(1);
            try (OrtSession session = env.createSession(file.toString(), options);
                 OnnxTensor input = OnnxTensor.createTensor(env, FloatBuffer.wrap(x.toFloatArray()), shape);
                 OrtSession.Result result = session.run(Map.of(inputName, input))) {
                OnnxTensor out = (OnnxTensor) result.get(0);
                long[] dims = out.getInfo().getShape();
                FloatBuffer fb = out.getFloatBuffer();
                float[] values = new float[fb.remaining()];
                fb.get(values);
                int[] d = new int[dims.length];
                for (int i = 0; i < d.length; i++) d[i] = Math.toIntExact(dims[i]);
                return Tensor.of(values, d);
            }
        }
    }

    /** The largest absolute difference; NaN anywhere gives NaN. */
    static float maxAbsDiff(Tensor a, Tensor b) {
        float[] x = a.toFloatArray(), y = b.toFloatArray();
        float worst = 0;
        for (int i = 0; i < x.length; i++) {
            float d = Math.abs(x[i] - y[i]);
            if (Float.isNaN(d)) return Float.NaN;
            worst = Math.max(worst, d);
        }
        return worst;
    }
}
