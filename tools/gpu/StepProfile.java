import dev.ember.autograd.Loss;
import dev.ember.autograd.Variable;
import dev.ember.engine.Backend;
import dev.ember.engine.Backends;
import dev.ember.engine.Device;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.engine.TensorScope;
import dev.ember.kernels.cuda.CudaBackend;
import dev.ember.loaders.onnx.OnnxModel;
import dev.ember.loaders.onnx.train.OnnxModule;
import dev.ember.optim.Adam;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Where a resnet18 training step's time goes, per backend call: {@code sync} mode synchronizes the GPU before and
 * after each call (device time plus ~25 us a call), {@code async} mode does not (host time to enqueue, and where the
 * host waits). Steps as GpuBenchmark's, each in a TensorScope. Dev tool (tools/gpu-bundle), not part of the product.
 * Usage: StepProfile MODEL.onnx BATCH IMAGE STEPS [cpu]; -Dmodes=warm,sync,async,sync picks the passes.
 */
public class StepProfile {
    private static final Map<String, long[]> STATS = new HashMap<>();   // method -> {calls, nanos}
    private static boolean on, sync;
    private static int depth;

    public static void main(String[] a) throws Exception {
        Device dev = a.length > 4 && a[4].equals("cpu") ? Device.CPU : Device.cuda(0);
        Backend real = Backends.of(dev);
        CudaBackend gpu = real instanceof CudaBackend c ? c : null;
        Backends.instrument(dev, inner -> (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                (proxy, m, args) -> {
                    boolean top = on && depth == 0;   // a backend calling itself is counted in its caller
                    if (top && sync && gpu != null) gpu.synchronize();
                    long t0 = System.nanoTime();
                    depth++;
                    try {
                        return m.invoke(inner, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    } finally {
                        depth--;
                        if (top) {
                            if (sync && gpu != null) gpu.synchronize();
                            long[] s = STATS.computeIfAbsent(m.getName(), k -> new long[2]);
                            s[0]++;
                            s[1] += System.nanoTime() - t0;
                        }
                    }
                }));

        int batch = Integer.parseInt(a[1]), image = Integer.parseInt(a[2]), steps = Integer.parseInt(a[3]);
        OnnxModule model = new OnnxModule(OnnxModel.read(Path.of(a[0])));
        model.replaceHead(10, new Rng(7));
        model.to(dev);
        Rng rng = new Rng(1);
        Tensor x = Tensor.randn(rng, 1f, batch, 3, image, image).to(dev);   // x (N, 3, S, S)
        long[] y = new long[batch];
        for (int i = 0; i < y.length; i++) y[i] = rng.nextInt(10);
        Tensor labels = Tensor.ofLongs(y, batch);
        Adam opt = new Adam(model.parameters(), Adam.options(1e-3f));
        for (String mode : System.getProperty("modes", "warm,sync,async,sync").split(",")) {
            on = !mode.equals("warm");
            sync = mode.equals("sync");
            STATS.clear();
            long[] ns = new long[steps];
            for (int i = 0; i < steps; i++) {
                if (gpu != null) gpu.synchronize();
                long t0 = System.nanoTime();
                float loss;
                try (TensorScope step = TensorScope.open()) {
                    opt.zeroGrad();
                    Variable l = Loss.crossEntropy(model.forward(Variable.of(x)), labels);
                    l.backward();
                    opt.step();
                    loss = l.item();
                }
                if (gpu != null) gpu.synchronize();
                ns[i] = System.nanoTime() - t0;
                if (!Float.isFinite(loss)) throw new IllegalStateException("loss " + loss + " at step " + i);
            }
            Arrays.sort(ns);
            System.out.printf(Locale.ROOT, "%n== %s: step median %.2f ms (min %.2f)%n", mode, ns[steps / 2] / 1e6, ns[0] / 1e6);
            if (!on) continue;
            long total = STATS.values().stream().mapToLong(s -> s[1]).sum();
            System.out.printf(Locale.ROOT, "backend calls total %.2f ms per step%n", total / 1e6 / steps);
            STATS.entrySet().stream().sorted((p, q) -> Long.compare(q.getValue()[1], p.getValue()[1])).forEach(e -> System.out.printf(Locale.ROOT,
                    "  %-28s %6d calls/step %9.3f ms/step %8.1f us/call%n", e.getKey(), e.getValue()[0] / steps, e.getValue()[1] / 1e6 / steps,
                    e.getValue()[1] / 1e3 / e.getValue()[0]));
        }
    }
}
