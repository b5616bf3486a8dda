package dev.ember.benchmarks;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.NodeProfile;
import dev.ember.loaders.onnx.OnnxModel;
import dev.ember.loaders.onnx.OnnxNode;
import dev.ember.loaders.onnx.OnnxSession;
import dev.ember.loaders.onnx.ops.OnnxOps;
import java.io.IOException;
import java.io.Reader;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Where each side's inference time goes, node by node: ember's {@link NodeProfile} beside ONNX Runtime's own profiler
 * ({@code SessionOptions.enableProfiling}), same model, same input, same options as {@link InferenceComparison}.
 *
 * <p>Both sides first warm up and are timed whole as in {@code bin/bench inference} (the whole-call medians head the
 * table). Then both are profiled in alternating blocks ({@link #BLOCKS} of each, 0.1 s or {@link #BLOCK_CALLS} calls,
 * after a pause and one untimed call, as {@link Timing} alternates), and each row's figure is the median over the
 * profiled calls of its time in a call: a block's first calls after the other side's block run slow (small_cnn's
 * steps at batch 1 took twice their steady time in blocks' means), and a median does not follow them. ORT profiles a
 * second session of its own (its profiler cannot be switched on later), warmed up first; its warm-up runs and each
 * block's untimed run are left out.
 *
 * <p>The two engines fuse differently (ember runs a 3x3/2 conv and its 1x1/2 shortcut as one step; ORT fuses a conv's
 * residual Add and ReLU, and converts to and from its NCHWc layout in nodes of its own), so a row is the smallest run of
 * graph nodes that both sides start and finish together: ember's steps in the order it runs them, a row ending where
 * the next step's first node is also where one of ORT's kernels starts. ORT's kernels map to graph nodes by the value
 * they write (ORT names an NCHWc kernel after it, "{@code <value>_nchwc}", the value of the fused region's first node
 * or of its last) or by node name, then back through the ops it absorbs ({@link #ABSORBED}) to where the region
 * starts; those that map to none (its layout reorders) get rows of their own. What each side spends outside its nodes
 * is the whole call less the rows' sum.
 *
 * <p>Run: {@code bin/bench-nodes [CASE...] [--md FILE]}, a case as {@code resnet18:1x3x224x224} (default; the cases of
 * {@link InferenceComparison}). Models from {@code -Dember.shared} (default {@code ../shared}) {@code /models}.
 */
public final class NodeComparison {
    /** Profiled blocks per side. */
    static final int BLOCKS = 30;
    /** Calls of one block at most: ORT writes ~1 KB of JSON per node and call. */
    static final int BLOCK_CALLS = 50;
    /** Untimed calls of ORT's profiling session before its first block (its first runs are its slowest). */
    static final int ORT_WARM_CALLS = 20;

    private NodeComparison() {}

    public static void main(String[] args) throws OrtException, IOException {
        List<String> argv = new ArrayList<>(List.of(args));
        Path md = Markdown.mdOption(argv);
        argv = Markdown.withoutMdOption(argv);
        List<InferenceComparison.Case> cases = new ArrayList<>();
        for (String a : argv) {
            if (a.startsWith("-")) throw new IllegalArgumentException("unknown option '" + a + "': --md FILE, or cases such as resnet18:1x3x224x224");
            cases.add(InferenceComparison.find(a));
        }
        if (cases.isEmpty()) cases.add(InferenceComparison.find("resnet18:1x3x224x224"));
        StringBuilder out = new StringBuilder("### Node by node: ember vs ONNX Runtime\n\n").append(Machine.describe()).append("\n\n");
        for (InferenceComparison.Case c : cases) {
            String block = compare(InferenceComparison.models(), c);
            System.out.println(block);
            out.append(block).append('\n');
        }
        Markdown.writeBlock(md, out.toString());
    }

    /** One row: graph nodes both sides finish together, and each side's median time per call on them. */
    record Row(List<String> nodes, String emberOps, String ortOps, double emberUs, double ortUs) {}

    /** One case's table, with the whole-call medians above it. */
    static String compare(Path modelsDir, InferenceComparison.Case c) throws OrtException, IOException {
        Path file = modelsDir.resolve(c.model() + ".onnx");
        if (!Files.isRegularFile(file)) throw new IllegalStateException(file.toAbsolutePath() + " not found (set -Dember.shared to the shared folder)");
        OnnxModel model = OnnxModel.read(file);
        OnnxSession ember = new OnnxSession(model, OnnxOps.resolver());
        String inputName = model.graph().inputs().get(0).name();
        Tensor x = c.x();
        Map<String, Tensor> emberFeed = Map.of(inputName, x);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Path profileDir = Files.createTempDirectory("ember-ort-profile");
        try (OrtSession.SessionOptions plainOptions = InferenceComparison.ortOptions();
             OrtSession.SessionOptions profiledOptions = InferenceComparison.ortOptions();
             OnnxTensor input = OnnxTensor.createTensor(env, FloatBuffer.wrap(x.toFloatArray()), Arrays.stream(c.dims()).asLongStream().toArray())) {
            Map<String, OnnxTensor> feed = Map.of(inputName, input);
            double[] whole;
            try (OrtSession ort = env.createSession(file.toString(), plainOptions)) {
                whole = Timing.DEFAULT.alternatingMediansMs(() -> ember.run(emberFeed), () -> InferenceComparison.runOrt(ort, feed));
            }
            profiledOptions.enableProfiling(profileDir.resolve("ort").toString());
            NodeProfile profile = ember.newProfile();
            List<double[]> emberCalls = new ArrayList<>();   // each profiled call: its steps' nanoseconds, then the whole call's
            List<Integer> ortRuns = new ArrayList<>();       // each profiled run's index, counting the warm-up runs
            List<Double> ortWholeUs = new ArrayList<>();     // its wall time
            Path json;
            try (OrtSession ort = env.createSession(file.toString(), profiledOptions)) {
                int run = 0;
                for (; run < ORT_WARM_CALLS; run++) InferenceComparison.runOrt(ort, feed);
                for (int b = 0; b < BLOCKS; b++) {
                    emberCalls.addAll(emberBlock(ember, emberFeed, profile));
                    Timing.pause();
                    InferenceComparison.runOrt(ort, feed);   // untimed, as ember's first call of a block
                    run++;
                    int first = run;
                    long start = System.nanoTime();
                    do {
                        long t0 = System.nanoTime();
                        InferenceComparison.runOrt(ort, feed);
                        ortWholeUs.add((System.nanoTime() - t0) / 1e3);
                        ortRuns.add(run++);
                    } while (run - first < BLOCK_CALLS && System.nanoTime() - start < Timing.BLOCK_SECONDS * 1e9);
                }
                json = Path.of(ort.endProfiling());
            }
            List<OrtKernel> kernels = ortKernels(json);
            List<Row> rows = rows(model, profile.steps(), emberCalls, kernels, ortRuns);
            double[] between = {betweenEmberUs(emberCalls), betweenOrtUs(kernels, ortRuns, ortWholeUs)};
            return table(c, rows, whole, between);
        } finally {
            try (var files = Files.list(profileDir)) {
                for (Path p : files.toList()) Files.deleteIfExists(p);
            }
            Files.deleteIfExists(profileDir);
        }
    }

    /** One block of profiled ember calls: for each call, each step's nanoseconds, then the whole call's. */
    private static List<double[]> emberBlock(OnnxSession ember, Map<String, Tensor> feed, NodeProfile profile) {
        Timing.pause();
        ember.run(feed);   // untimed: the other side's block left its own data in the caches
        List<double[]> calls = new ArrayList<>();
        long[] before = nanos(profile);
        long start = System.nanoTime();
        do {
            long t0 = System.nanoTime();
            ember.run(feed, profile);
            long whole = System.nanoTime() - t0;
            long[] after = nanos(profile);
            double[] call = new double[after.length + 1];
            for (int i = 0; i < after.length; i++) call[i] = after[i] - before[i];
            call[after.length] = whole;
            calls.add(call);
            before = after;
        } while (calls.size() < BLOCK_CALLS && System.nanoTime() - start < Timing.BLOCK_SECONDS * 1e9);
        return calls;
    }

    private static long[] nanos(NodeProfile p) { return p.steps().stream().mapToLong(NodeProfile.Step::nanos).toArray(); }

    /** One kernel of ORT's profile: its node's name (ORT's), its op, the run it belongs to and its duration. */
    record OrtKernel(String node, String op, int run, long micros) {}

    /**
     * The kernels of an ORT profile (events of category "Node" named "{@code <node>_kernel_time}"), each assigned to the
     * run ("model_run" event, in the order they ran) whose interval holds it.
     */
    static List<OrtKernel> ortKernels(Path json) throws IOException {
        JsonElement root;
        try (Reader r = Files.newBufferedReader(json, StandardCharsets.UTF_8)) {
            root = JsonParser.parseReader(r);
        }
        List<long[]> runs = new ArrayList<>();   // {ts, ts + dur}
        List<JsonObject> kernels = new ArrayList<>();
        for (JsonElement e : root.getAsJsonArray()) {
            JsonObject o = e.getAsJsonObject();
            String name = o.get("name").getAsString();
            if (name.equals("model_run")) {
                long ts = o.get("ts").getAsLong();
                runs.add(new long[] {ts, ts + o.get("dur").getAsLong()});
            } else if ("Node".equals(o.get("cat").getAsString()) && name.endsWith("_kernel_time")) {
                kernels.add(o);
            }
        }
        runs.sort((a, b) -> Long.compare(a[0], b[0]));
        List<OrtKernel> out = new ArrayList<>();
        for (JsonObject k : kernels) {
            long ts = k.get("ts").getAsLong();
            int run = runOf(runs, ts);
            if (run < 0) continue;
            String name = k.get("name").getAsString();
            JsonObject args = k.getAsJsonObject("args");
            String op = args != null && args.has("op_name") ? args.get("op_name").getAsString() : "?";
            out.add(new OrtKernel(name.substring(0, name.length() - "_kernel_time".length()), op, run, k.get("dur").getAsLong()));
        }
        return out;
    }

    /** The index of the run whose [start, end] holds {@code ts}, or -1. */
    private static int runOf(List<long[]> runs, long ts) {
        int lo = 0, hi = runs.size() - 1, found = -1;
        while (lo <= hi) {   // last run starting at or before ts
            int mid = (lo + hi) >>> 1;
            if (runs.get(mid)[0] <= ts) {
                found = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return found >= 0 && ts <= runs.get(found)[1] ? found : -1;
    }

    /**
     * The graph node an ORT kernel stands for: the node of that name (a fusion of ORT's "fused {@code <name>}"), else
     * the producer of the value it is named after (with or without ORT's "_nchwc"), else null (a node ORT added).
     */
    static OnnxNode graphNode(String ortNode, Map<String, OnnxNode> byName, Map<String, OnnxNode> producer) {
        OnnxNode n = byName.get(ortNode);
        if (n == null && ortNode.startsWith("fused ")) n = byName.get(ortNode.substring("fused ".length()));
        if (n == null && ortNode.endsWith("_nchwc")) n = producer.get(ortNode.substring(0, ortNode.length() - "_nchwc".length()));
        if (n == null) n = producer.get(ortNode);
        return n;
    }

    /** Ops ORT runs inside the kernel before them (its Conv takes a Relu, an Add, ...): never a kernel's first node. */
    static final Set<String> ABSORBED = Set.of("Relu", "LeakyRelu", "Clip", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Add", "Sum",
            "Sub", "Mul", "Div", "Identity", "BatchNormalization");

    /**
     * Where the region of graph nodes an ORT kernel runs starts: ORT names a fused kernel after its first node's output
     * (Conv + Add + Relu) or its last's (Conv + Relu), so from the node found, back through absorbed ops to the node
     * making their latest-made input.
     */
    static OnnxNode anchor(OnnxNode n, Map<String, OnnxNode> producer, Map<String, Integer> position) {
        while (ABSORBED.contains(n.opType())) {
            OnnxNode latest = null;
            for (String in : n.inputs()) {
                OnnxNode p = producer.get(in);
                if (p != null && (latest == null || position.get(p.name()) > position.get(latest.name()))) latest = p;
            }
            if (latest == null) break;
            n = latest;
        }
        return n;
    }

    /**
     * Groups both sides' times into rows (see the class comment); each row's figure the median over the profiled calls.
     * {@code emberCalls}: per call, each step's nanoseconds (then the whole call's); {@code ortRuns}: the ORT runs to
     * count (the others', warm-up or untimed, kernels are left out of the times).
     */
    static List<Row> rows(OnnxModel model, List<NodeProfile.Step> steps, List<double[]> emberCalls, List<OrtKernel> kernels, List<Integer> ortRuns) {
        Map<String, OnnxNode> byName = new HashMap<>(), producer = new HashMap<>();
        Map<String, Integer> position = new HashMap<>();
        for (OnnxNode n : model.graph().order()) {
            byName.put(n.name(), n);
            position.put(n.name(), position.size());
            for (String v : n.outputs()) if (!v.isEmpty()) producer.put(v, n);
        }
        // where ORT's kernels start, and each profiled run's summed time per start node (or per node ORT added, by its name)
        Map<String, String> ortOp = new LinkedHashMap<>();
        Map<String, double[]> ortByNode = new LinkedHashMap<>();
        Map<Integer, Integer> profiled = indexOf(ortRuns);
        for (OrtKernel k : kernels) {
            OnnxNode n = graphNode(k.node(), byName, producer);
            String key = n == null ? "ORT:" + k.node() : anchor(n, producer, position).name();
            ortOp.merge(key, k.op(), (a, b) -> a.contains(b) ? a : a + "+" + b);
            Integer i = profiled.get(k.run());
            if (i != null) ortByNode.computeIfAbsent(key, _ -> new double[ortRuns.size()])[i] += k.micros();
        }

        List<Row> rows = new ArrayList<>();
        List<String> nodes = new ArrayList<>();
        Set<String> emberOps = new LinkedHashSet<>();
        double[] emberSum = new double[emberCalls.size()];
        for (int s = 0; s < steps.size(); s++) {
            NodeProfile.Step step = steps.get(s);
            nodes.addAll(step.nodes());
            emberOps.add(step.ops());
            for (int b = 0; b < emberCalls.size(); b++) emberSum[b] += emberCalls.get(b)[s] / 1e3;
            // a row ends where both sides start anew: ember's next step begins at a node where an ORT kernel does
            if (s < steps.size() - 1 && !ortOp.containsKey(steps.get(s + 1).nodes().getFirst())) continue;
            Set<String> ortOps = new LinkedHashSet<>();
            double[] ortSum = new double[ortRuns.size()];
            boolean timed = false;
            for (String n : nodes) {
                if (ortOp.containsKey(n)) ortOps.add(ortOp.get(n));
                double[] t = ortByNode.get(n);
                if (t == null) continue;
                timed = true;
                for (int b = 0; b < t.length; b++) ortSum[b] += t[b];
            }
            rows.add(new Row(List.copyOf(nodes), String.join(", ", emberOps), String.join(", ", ortOps), Timing.median(emberSum),
                    timed ? Timing.median(ortSum) : 0));
            nodes.clear();
            emberOps.clear();
            Arrays.fill(emberSum, 0);
        }
        for (Map.Entry<String, double[]> e : ortByNode.entrySet()) {
            if (!e.getKey().startsWith("ORT:")) continue;
            rows.add(new Row(List.of(e.getKey().substring(4)), "", ortOp.get(e.getKey()), 0, Timing.median(e.getValue())));
        }
        return rows;
    }

    /** The median over the calls of ember's whole call less its steps, µs: the time between steps. */
    static double betweenEmberUs(List<double[]> emberCalls) {
        double[] gap = new double[emberCalls.size()];
        for (int b = 0; b < gap.length; b++) {
            double[] call = emberCalls.get(b);
            double steps = 0;
            for (int s = 0; s < call.length - 1; s++) steps += call[s];
            gap[b] = (call[call.length - 1] - steps) / 1e3;
        }
        return Timing.median(gap);
    }

    /** The median over the profiled runs of ORT's run less its kernels, µs. */
    static double betweenOrtUs(List<OrtKernel> kernels, List<Integer> ortRuns, List<Double> wholeUs) {
        Map<Integer, Integer> profiled = indexOf(ortRuns);
        double[] gap = new double[ortRuns.size()];
        for (int i = 0; i < gap.length; i++) gap[i] = wholeUs.get(i);
        for (OrtKernel k : kernels) {
            Integer i = profiled.get(k.run());
            if (i != null) gap[i] -= k.micros();
        }
        return Timing.median(gap);
    }

    /** Each run's position in {@code runs}. */
    private static Map<Integer, Integer> indexOf(List<Integer> runs) {
        Map<Integer, Integer> at = new HashMap<>();
        for (int i = 0; i < runs.size(); i++) at.put(runs.get(i), i);
        return at;
    }

    /** "/layer1/layer1.0/conv1/Conv" as "/layer1/layer1.0/conv1": the op is in its own column. */
    static String shortName(String node) {
        int slash = node.lastIndexOf('/');
        return slash > 0 ? node.substring(0, slash) : node;
    }

    /** The Markdown of one case: whole-call medians, the time each side spends between nodes, then the rows. */
    static String table(InferenceComparison.Case c, List<Row> rows, double[] wholeMs, double[] betweenUs) {
        List<List<String>> cells = new ArrayList<>();
        double emberTotal = 0, ortTotal = 0;
        for (Row r : rows) {
            emberTotal += r.emberUs();
            ortTotal += r.ortUs();
            List<String> names = r.nodes().stream().map(NodeComparison::shortName).distinct().toList();
            if (names.size() > 4) {
                names = List.of(names.get(0), names.get(1), "… " + (names.size() - 4) + " more …", names.get(names.size() - 2), names.getLast());
            }
            cells.add(List.of(String.join(" + ", names), r.emberOps().isEmpty() ? "—" : r.emberOps(), Markdown.num(r.emberUs(), 1),
                    r.ortOps().isEmpty() ? "—" : r.ortOps(), Markdown.num(r.ortUs(), 1),
                    r.emberUs() > 0 && r.ortUs() > 0 ? Markdown.ratio(r.emberUs() / r.ortUs()) : "—"));
        }
        cells.add(List.of("**all nodes**", "", Markdown.num(emberTotal, 1), "", Markdown.num(ortTotal, 1), Markdown.ratio(emberTotal / ortTotal)));
        return String.format(Locale.ROOT, "#### %s %s%n%nWhole call (median, as `bin/bench inference`, before profiling): ember %.3f ms, "
                        + "ORT %.3f ms, ratio %.2f×. Rows: µs per call, each the median over the profiled calls (%d blocks a side, "
                        + "alternating; the sum of medians is not the whole call's median). Between nodes (a profiled call less "
                        + "its nodes, median over the calls): ember %.0f µs, ORT %.0f µs.%n%n", c.model(), c.input(), wholeMs[0],
                wholeMs[1], wholeMs[0] / wholeMs[1], BLOCKS, betweenUs[0], betweenUs[1])
                + Markdown.table(List.of("nodes", "ember step", "ember µs", "ORT kernels", "ORT µs", "ember / ORT"), cells);
    }
}
