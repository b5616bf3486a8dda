package dev.ember.benchmarks;

import dev.ember.autograd.Loss;
import dev.ember.autograd.Variable;
import dev.ember.engine.Backend;
import dev.ember.engine.Backends;
import dev.ember.engine.Device;
import dev.ember.engine.EmberException;
import dev.ember.engine.Rng;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import dev.ember.engine.TensorScope;
import dev.ember.kernels.cuda.CudaBackend;
import dev.ember.kernels.cuda.DeviceSelection;
import dev.ember.loaders.onnx.OnnxModel;
import dev.ember.loaders.onnx.train.OnnxModule;
import dev.ember.optim.Adam;

import java.io.IOException;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The GPU benchmark of {@code tools/gpu-check} (issue 7): SGEMM n³ through cuBLAS and through our own tiled kernel
 * (sgemm.cu, forced with {@code -Dember.cuda.gemm=own}), in TFLOP/s, and a resnet18 training step (resnet18.onnx with a
 * new 10-class head, every parameter trained, Adam lr 1e-3, one fixed random batch), in images/s; beside PyTorch on the
 * same GPU ({@link GpuBenchmarkPeer}) when {@code python3} there has torch with CUDA. Prints one Markdown table with the
 * ratios ember / PyTorch (both are rates: above 1 is faster) under the GPU's name and the date, and writes it to
 * {@code --out} for BENCHMARKS.md.
 *
 * <p>Protocol, the same in the peer: {@code --warmup} untimed runs, then the median of {@code --steps} timed ones, each
 * bracketed by device synchronizations (ops return once launched). Each GEMM's result is checked at a few entries
 * against a double-precision dot product on the host, so a wrong kernel never reports a speed.
 *
 * <p>Defaults on a GPU: 20 warm-up runs (a JVM reaches its steady state only after ~15 resnet18 steps, H200, 2026-11-26), median of 30. {@code --device cpu} runs the same logic at tiny sizes (SGEMM 256³ on the cpu and reference backends, resnet18
 * batch 2 at 64x64, 2 steps) so it is tested without a GPU; its numbers mean nothing.
 *
 * <p>Run: {@code tools/gpu-check}, or after {@code mvn -q install -DskipTests}:
 * {@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar
 * dev.ember.benchmarks.GpuBenchmark [--device cuda] [--out target/gpu-check.md]}. Exit status: 0 when every row was
 * measured or skipped for a missing model file, 1 when a row failed, 2 for a bad option or no device.
 */
public final class GpuBenchmark {
    /** What to run; {@link #parse} fills the sizes the device calls for. */
    record Options(Device device, String deviceMessage, int sgemm, int batch, int image, int classes, int warmup, int steps,
                   Path model, String python, Path peerScript, boolean peer, Path out) {
        boolean cuda() { return device.kind() == Device.Kind.CUDA; }
    }

    /** One table row: {@code value} in {@code unit} (NaN when not measured, then {@code note} says why) and its median time. */
    record Row(String key, String label, String unit, double value, double medianMs, String note) {
        boolean measured() { return !Double.isNaN(value); }
    }

    /** What {@link #run} measured, the Markdown it wrote, and whether every row that should run did. */
    record Report(List<Row> rows, GpuBenchmarkPeer.Result peer, String markdown, boolean ok) {}

    private static final String USAGE = "options: --device cuda|cuda:N|cpu|auto, --sgemm N, --batch B, --image S, --classes C, --warmup W,"
            + " --steps S, --model FILE.onnx, --python CMD, --peer-script FILE.py, --no-peer, --out FILE.md";

    private GpuBenchmark() {}

    public static void main(String[] args) {
        int status;
        try {
            status = run(parse(args), System.out).ok() ? 0 : 1;
        } catch (EmberException e) {   // a bad option, no driver or device, a backend that does not start
            System.err.println("gpu-benchmark: " + e.getMessage());
            status = 2;
        }
        System.exit(status);
    }

    // ---- options ----

    static Options parse(String... args) {
        String device = "cuda", model = null, python = "python3", script = "benchmarks/peers/pytorch_gpu_bench.py", out = "target/gpu-check.md";
        Integer sgemm = null, batch = null, image = null, warmup = null, steps = null;
        int classes = 10;
        boolean peer = true;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--no-peer")) {
                peer = false;
                continue;
            }
            if (i + 1 >= args.length) throw new EmberException("option " + a + " needs a value; " + USAGE);
            String v = args[++i];
            switch (a) {
                case "--device" -> device = v;
                case "--sgemm" -> sgemm = count(a, v, 1);
                case "--batch" -> batch = count(a, v, 1);
                case "--image" -> image = count(a, v, 1);
                case "--classes" -> classes = count(a, v, 1);
                case "--warmup" -> warmup = count(a, v, 0);
                case "--steps" -> steps = count(a, v, 1);
                case "--model" -> model = v;
                case "--python" -> python = v;
                case "--peer-script" -> script = v;
                case "--out" -> out = v;
                default -> throw new EmberException("unknown option " + a + "; " + USAGE);
            }
        }
        DeviceSelection.Choice choice = DeviceSelection.resolve(device);   // a clear BackendException without driver or device
        boolean gpu = choice.device().kind() == Device.Kind.CUDA;
        Path modelFile = model != null ? Path.of(model) : InferenceComparison.models().resolve("resnet18.onnx");
        return new Options(choice.device(), choice.message(), sgemm != null ? sgemm : gpu ? 4096 : 256, batch != null ? batch : gpu ? 64 : 2,
                image != null ? image : gpu ? 224 : 64, classes, warmup != null ? warmup : gpu ? 20 : 1, steps != null ? steps : gpu ? 30 : 2,
                modelFile, python, Path.of(script), peer, Path.of(out));
    }

    private static int count(String option, String value, int least) {
        try {
            int n = Integer.parseInt(value.trim());
            if (n >= least) return n;
        } catch (NumberFormatException e) {
            // falls through to the message
        }
        throw new EmberException("option " + option + " needs an integer >= " + least + ", got '" + value + "'");
    }

    // ---- the run ----

    /** Measures every row, runs the peer, prints progress and the table to {@code log}, writes the table to {@code o.out()}. */
    static Report run(Options o, PrintStream log) {
        log.println(o.deviceMessage());
        List<Row> rows = new ArrayList<>();
        String engine;
        if (o.cuda()) {
            CudaBackend cublas = (CudaBackend) Backends.named("cuda", o.device());
            CudaBackend own = ownGemmBackend(o.device());
            engine = cublas.libraries();
            boolean hasCublas = engine.contains("GEMM: cuBLAS");
            rows.add(sgemmRow("sgemm", hasCublas ? "cuBLAS" : "no cuBLAS here: own kernel", cublas, o, log));
            if (own.libraries().contains("GEMM: own kernel")) rows.add(sgemmRow("sgemm-own", "own tiled kernel (sgemm.cu)", own, o, log));
            else rows.add(failed("sgemm-own", "SGEMM " + o.sgemm() + "³ fp32, own tiled kernel (sgemm.cu)", "TFLOP/s", "not forced: " + own.libraries(), log));
        } else {
            engine = "cpu backend (Vector API), " + Runtime.getRuntime().availableProcessors() + " threads at most";
            rows.add(sgemmRow("sgemm", "cpu backend (Vector API)", Backends.named("cpu", Device.CPU), o, log));
            rows.add(sgemmRow("sgemm-own", "reference backend (scalar)", Backends.named("reference", Device.CPU), o, log));
        }
        rows.add(resnet18Row(o, log));
        if (o.peer() && Backends.of(o.device()) instanceof CudaBackend cuda) {
            // what our runs left cached would otherwise stay ours while the peer runs (it ran out of memory once)
            log.printf(Locale.ROOT, "gave %d MiB of cached device memory back before the peer runs%n", cuda.emptyCache() >> 20);
        }
        GpuBenchmarkPeer.Result peer = o.peer() ? GpuBenchmarkPeer.run(o, log) : GpuBenchmarkPeer.Result.unavailable("peer not run (--no-peer)");
        String markdown = table(o, deviceName(o), engine, rows, peer);
        log.println();
        log.print(markdown);
        try {
            Path parent = o.out().toAbsolutePath().getParent();
            if (parent != null) Files.createDirectories(parent);
            Files.writeString(o.out(), markdown);
            log.println("written to " + o.out());
        } catch (IOException e) {
            log.println("gpu-benchmark: cannot write " + o.out() + ": " + e.getMessage());
            return new Report(rows, peer, markdown, false);
        }
        boolean ok = rows.stream().allMatch(r -> r.measured() || r.note().startsWith("skipped"));
        return new Report(rows, peer, markdown, ok);
    }

    /** A second CUDA backend whose GEMM skips cuBLAS: the property is read when a backend is made, so set it only then. */
    private static CudaBackend ownGemmBackend(Device device) {
        String before = System.getProperty("ember.cuda.gemm");
        System.setProperty("ember.cuda.gemm", "own");
        try {
            return (CudaBackend) Backends.named("cuda", device);
        } finally {
            if (before == null) System.clearProperty("ember.cuda.gemm");
            else System.setProperty("ember.cuda.gemm", before);
        }
    }

    /** Waits for the device: a no-op on the CPU, where every op has finished when it returns. */
    private static void sync(Backend b) {
        if (b instanceof CudaBackend c) c.synchronize();
    }

    // ---- SGEMM ----

    /** C (n, n) = A (n, n) B (n, n) through {@code backend}: 2n³ flops per product, in TFLOP/s. */
    static Row sgemmRow(String key, String how, Backend backend, Options o, PrintStream log) {
        int n = o.sgemm();
        String label = "SGEMM " + n + "³ fp32, " + how;
        try {
            Tensor aHost = Tensor.randn(new Rng(1), 1f, n, n), bHost = Tensor.randn(new Rng(2), 1f, n, n);
            Tensor a = backend.fromHost(aHost), b = backend.fromHost(bHost);
            Shape outShape = Shape.of(n, n);
            double[] ms = new double[o.steps()];
            Tensor c = null;
            for (int i = 0; i < o.warmup() + o.steps(); i++) {
                c = null;   // the previous product may go back to the allocator
                sync(backend);
                long t0 = System.nanoTime();
                c = backend.matmul(a, b, outShape);
                sync(backend);
                long t1 = System.nanoTime();
                if (i >= o.warmup()) ms[i - o.warmup()] = (t1 - t0) / 1e6;
            }
            String wrong = checkProduct(aHost.toFloatArray(), bHost.toFloatArray(), backend.toHost(c).toFloatArray(), n);
            if (wrong != null) return failed(key, label, "TFLOP/s", "wrong result: " + wrong, log);
            double median = median(ms);
            Row r = new Row(key, label, "TFLOP/s", 2.0 * n * n * n / (median * 1e-3) / 1e12, median, "");
            log.printf(Locale.ROOT, "ember\t%s\t%s TFLOP/s\t%s ms median of %d%n", label, num(r.value()), num(median), o.steps());
            return r;
        } catch (RuntimeException e) {
            e.printStackTrace(log);
            return failed(key, label, "TFLOP/s", e.toString(), log);
        }
    }

    /**
     * Null when C agrees with a double-precision A·B at a few entries (corners, middle, an odd one) within 1e-3 of the sum
     * of |a_ik b_kj| (float32 summation error grows with n; a wrong kernel is off by O(1) of it); else what differs.
     */
    static String checkProduct(float[] a, float[] b, float[] c, int n) {
        int[][] at = {{0, 0}, {n - 1, n - 1}, {n / 2, n / 3}, {Math.min(7, n - 1), n - 1 - Math.min(5, n - 1)}, {n - 1, 0}};
        for (int[] ij : at) {
            int i = ij[0], j = ij[1];
            double dot = 0, abs = 0;
            for (int k = 0; k < n; k++) {
                double p = (double) a[i * n + k] * b[k * n + j];
                dot += p;
                abs += Math.abs(p);
            }
            double got = c[i * n + j];
            if (!(Math.abs(got - dot) <= 1e-3 * abs + 1e-6)) return "C[" + i + "," + j + "] = " + got + ", expected " + dot;
        }
        return null;
    }

    // ---- resnet18 training step ----

    /** One Adam step of resnet18 on a fixed batch, every parameter trained: batch / median step time, in images/s. */
    static Row resnet18Row(Options o, PrintStream log) {
        String label = "resnet18 training step, batch " + o.batch() + ", 3x" + o.image() + "x" + o.image() + ", " + o.classes() + "-class head, Adam";
        if (!Files.isRegularFile(o.model())) {
            String why = "skipped: " + o.model() + " not found (resnet18.onnx comes from the shared folder ../shared/models)";
            log.println("ember\t" + label + "\t" + why);
            return new Row("resnet18", label, "images/s", Double.NaN, Double.NaN, why);
        }
        try {
            OnnxModule model = new OnnxModule(OnnxModel.read(o.model()));
            model.replaceHead(o.classes(), new Rng(7));
            // resnet18.onnx has BatchNorm folded into its convolutions: parameters only, no buffers to move
            for (Variable p : model.parameters()) p.setData(p.data().to(o.device()));
            Rng rng = new Rng(1);
            Tensor x = Tensor.randn(rng, 1f, o.batch(), 3, o.image(), o.image()).to(o.device());   // x (N, 3, S, S)
            long[] y = new long[o.batch()];
            for (int i = 0; i < y.length; i++) y[i] = rng.nextInt(o.classes());
            Tensor labels = Tensor.ofLongs(y, o.batch());   // labels (N) on the host: Loss.crossEntropy reads them there
            Adam opt = new Adam(model.parameters(), Adam.options(1e-3f));
            Backend backend = Backends.of(o.device());
            double[] ms = new double[o.steps()];
            for (int i = 0; i < o.warmup() + o.steps(); i++) {
                sync(backend);
                long t0 = System.nanoTime();
                float value;
                try (TensorScope step = TensorScope.open()) {   // the step's tensors go back to the allocator as it ends
                    opt.zeroGrad();
                    Variable loss = Loss.crossEntropy(model.forward(Variable.of(x)), labels);
                    loss.backward();
                    opt.step();
                    value = loss.item();
                }
                sync(backend);
                long t1 = System.nanoTime();
                if (!Float.isFinite(value)) return failed("resnet18", label, "images/s", "loss " + value + " at step " + i, log);
                if (i >= o.warmup()) ms[i - o.warmup()] = (t1 - t0) / 1e6;
            }
            double median = median(ms);
            Row r = new Row("resnet18", label, "images/s", o.batch() / (median * 1e-3), median, "");
            log.printf(Locale.ROOT, "ember\t%s\t%s images/s\t%s ms median of %d%n", label, num(r.value()), num(median), o.steps());
            if (backend instanceof CudaBackend cuda) log.println("ember\tafter the resnet18 steps: " + cuda.memoryReport());
            return r;
        } catch (RuntimeException e) {
            e.printStackTrace(log);
            return failed("resnet18", label, "images/s", e.toString(), log);
        }
    }

    private static Row failed(String key, String label, String unit, String why, PrintStream log) {
        log.println("ember\t" + label + "\tFAILED: " + why);
        return new Row(key, label, unit, Double.NaN, Double.NaN, "FAILED: " + why);
    }

    static double median(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        int m = s.length / 2;
        return s.length % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2;
    }

    // ---- the table ----

    /** The Markdown block for BENCHMARKS.md: heading with the device and date, setup lines, one table, notes. */
    static String table(Options o, String deviceName, String engine, List<Row> rows, GpuBenchmarkPeer.Result peer) {
        StringBuilder md = new StringBuilder();
        md.append("### ").append(o.cuda() ? "GPU benchmark: " : "GPU benchmark logic on the CPU (tiny sizes, numbers mean nothing): ")
                .append(deviceName).append(", ").append(LocalDate.now()).append("\n\n");
        md.append("- ember: ").append(engine).append('\n');
        md.append("- PyTorch: ").append(peer.available() ? peer.description() : "n/a (" + peer.reason() + ")").append('\n');
        md.append("- protocol: warm-up runs: ").append(o.warmup()).append(", then the median of ").append(o.steps())
                .append(" runs, each bracketed by device synchronizations; fp32 throughout (TF32 off in PyTorch)\n\n");
        md.append("| benchmark | unit | ember (median) | PyTorch (median) | ember / PyTorch |\n");
        md.append("|---|---|---|---|---|\n");
        String peerNa = o.cuda() ? "n/a (no torch with CUDA)" : "n/a (" + peer.reason() + ")";
        for (Row r : rows) {
            GpuBenchmarkPeer.Measurement p = peer.available() ? peer.results().get(r.key().equals("sgemm-own") ? "sgemm" : r.key()) : null;
            String ours = r.measured() ? num(r.value()) + " (" + num(r.medianMs()) + " ms)" : r.note();
            String theirs = p != null ? num(p.value()) + " (" + num(p.medianMs()) + " ms)" : peer.available() ? "n/a (peer reported none)" : peerNa;
            String ratio = r.measured() && p != null ? num(r.value() / p.value()) : "n/a";
            md.append("| ").append(r.label()).append(" | ").append(r.unit()).append(" | ").append(ours).append(" | ").append(theirs)
                    .append(" | ").append(ratio).append(" |\n");
        }
        md.append('\n');
        Row lib = rows.get(0), own = rows.get(1);
        if (lib.measured() && own.measured()) {
            md.append(o.cuda() ? "- own GEMM kernel / cuBLAS: " : "- reference backend / cpu backend (GEMM): ").append(num(own.value() / lib.value())).append('\n');
        }
        GpuBenchmarkPeer.Measurement tf32 = peer.available() ? peer.results().get("sgemm_tf32") : null;
        if (tf32 != null) md.append("- PyTorch matmul with TF32 on (not comparable: 10-bit mantissa): ").append(num(tf32.value())).append(" TFLOP/s\n");
        if (!peer.available() && o.peer()) md.append("- PyTorch peer: ").append(peer.reason()).append('\n');
        return md.toString();
    }

    /** The GPU's name from the driver, or the CPU's model name in cpu mode. */
    private static String deviceName(Options o) {
        if (o.cuda()) return ((CudaBackend) Backends.of(o.device())).deviceName() + " (" + o.device() + ")";
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) return "CPU " + line.substring(line.indexOf(':') + 1).trim();
            }
        } catch (IOException e) {
            // not Linux: fall back to the architecture
        }
        return "CPU " + System.getProperty("os.arch");
    }

    /** Three significant digits, never in scientific notation (48.1, 0.0123, 2310). */
    static String num(double v) {
        if (!Double.isFinite(v)) return String.valueOf(v);
        return new BigDecimal(v).round(new MathContext(3)).stripTrailingZeros().toPlainString();
    }
}
