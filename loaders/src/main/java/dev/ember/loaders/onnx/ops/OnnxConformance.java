package dev.ember.loaders.onnx.ops;

import dev.ember.engine.DType;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxException;
import dev.ember.loaders.onnx.OnnxGraph;
import dev.ember.loaders.onnx.OnnxModel;
import dev.ember.loaders.onnx.OnnxNode;
import dev.ember.loaders.onnx.OnnxSession;
import dev.ember.loaders.onnx.OnnxTensors;
import dev.ember.loaders.onnx.OnnxValueInfo;
import dev.ember.loaders.onnx.proto.OnnxProto.ModelProto;
import dev.ember.loaders.onnx.proto.OnnxProto.NodeProto;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * The ONNX backend node tests, run on ember: each case folder ({@code <case>/model.onnx} and
 * {@code test_data_set_0/input_N.pb, output_N.pb}) passes, fails (wrong values, dtype or shape, or an error) or is
 * unsupported (an op, attribute value or element type ember does not implement). A case belongs to the op types of
 * its model; a function-expanded case ({@code *_expanded}) belongs to the op of the case it expands.
 *
 * <p>Comparison: same shape, same dtype as the expected tensor loads ({@link OnnxTensors}: DOUBLE and FLOAT16
 * narrow to float32), integers and bools exactly, floats within {@code |actual - expected| <= ATOL + RTOL |expected|}
 * (NaN matches NaN, infinities must be equal).
 *
 * <p>Order of use: {@link #run(Path)} over the {@code onnx-node-tests} folder, then {@link Report#markdown()};
 * {@link #main} does both and writes the report file.
 */
public final class OnnxConformance {
    /** Relative tolerance of the float comparison, as onnx's backend tests. */
    public static final double RTOL = 1e-3;
    /** Absolute tolerance: looser than onnx's 1e-7, since every float op here computes in float32 (also DOUBLE cases). */
    public static final double ATOL = 1e-5;

    /**
     * Ops whose every case passes (a function op's expanded cases included); OnnxConformanceTest fails when one of
     * their cases stops passing. Not claimed: ops with a case ember cannot run (a STRING, UINT64, sequence or optional
     * value, a random output, a Loop in an expanded case) or whose test data is inconsistent.
     */
    public static final Set<String> CLAIMED = Set.of(
            "Abs", "Acos", "Acosh", "Add", "And", "ArgMax", "ArgMin", "Asin", "Asinh", "Atan", "Atanh", "AveragePool",
            "BatchNormalization", "BlackmanWindow", "Ceil", "Celu", "Clip", "Compress", "Concat", "Constant",
            "ConstantOfShape", "Conv", "ConvInteger", "ConvTranspose", "Cos", "Cosh", "CumSum", "DFT", "DepthToSpace",
            "DequantizeLinear", "Det", "Div", "DynamicQuantizeLinear", "Einsum", "Elu", "Equal", "Erf", "Exp", "Expand",
            "EyeLike", "Flatten", "Floor", "GRU", "Gather", "GatherElements", "GatherND", "Gemm", "GlobalAveragePool",
            "GlobalMaxPool", "Greater", "GreaterOrEqual", "GridSample", "HammingWindow", "HannWindow", "HardSigmoid",
            "HardSwish", "Hardmax", "InstanceNormalization", "IsInf", "IsNaN", "LRN", "LSTM", "LayerNormalization",
            "LeakyRelu", "Less", "LessOrEqual", "Log", "LogSoftmax", "MatMul", "MatMulInteger", "MaxPool", "MaxUnpool", "Mean",
            "MeanVarianceNormalization", "MelWeightMatrix", "Mul", "Neg", "NegativeLogLikelihoodLoss", "NonMaxSuppression",
            "NonZero", "Not", "OneHot", "Or", "PRelu", "Pad", "QLinearConv", "QLinearMatMul", "QuantizeLinear", "RNN",
            "Reciprocal", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin",
            "ReduceProd", "ReduceSum", "ReduceSumSquare", "Relu", "Reshape", "Resize", "ReverseSequence", "RoiAlign", "Round",
            "STFT", "Scatter", "ScatterElements", "ScatterND", "Selu", "Shape", "Shrink", "Sigmoid", "Sign", "Sin", "Sinh",
            "Size", "Slice", "Softmax", "SoftmaxCrossEntropyLoss", "Softplus", "Softsign", "SpaceToDepth", "Split", "Sqrt",
            "Squeeze", "Sub", "Sum", "Tan", "Tanh", "TfIdfVectorizer", "ThresholdedRelu", "Tile", "TopK", "Transpose", "Trilu",
            "Unique", "Unsqueeze", "Upsample", "Where", "Xor", "ai.onnx.preview.training::Adagrad",
            "ai.onnx.preview.training::Momentum");

    /** Cases whose expected data contradicts their own model (onnx 1.12 test generator bugs), with the explanation. */
    static final Map<String, String> DATA_ISSUES = Map.of(
            "test_adam_multiple", "the expected values use epsilon 1e-2, the node has no epsilon (default 1e-6)",
            "test_castlike_BFLOAT16_to_FLOAT", "input 'like' is declared [3, 4], its data is [1]",
            "test_castlike_BFLOAT16_to_FLOAT_expanded", "input 'like' is declared [3, 4], its data is [1]",
            "test_castlike_FLOAT_to_BFLOAT16", "input 'like' is declared [3, 4], its data is [1]",
            "test_castlike_FLOAT_to_BFLOAT16_expanded", "input 'like' is declared [3, 4], its data is [1]");

    public enum Status { PASS, FAIL, UNSUPPORTED }

    /** One case: its ops, its status and, unless it passed, why (the error, or the largest deviation). */
    public record CaseResult(String name, List<String> ops, Status status, String detail) {}

    private OnnxConformance() {}

    /** Runs every case folder under {@code root} (sorted by name). */
    public static Report run(Path root) {
        List<Path> dirs;
        try (Stream<Path> s = Files.list(root)) {
            dirs = s.filter(p -> Files.isRegularFile(p.resolve("model.onnx"))).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + root, e);
        }
        Map<String, List<String>> ops = new LinkedHashMap<>();
        for (Path d : dirs) ops.put(d.getFileName().toString(), opTypes(d.resolve("model.onnx")));
        List<CaseResult> results = new ArrayList<>();
        for (Path d : dirs) {
            String name = d.getFileName().toString();
            String base = name.endsWith("_expanded") ? name.substring(0, name.length() - "_expanded".length()) : null;
            List<String> owner = base != null && ops.containsKey(base) ? ops.get(base) : ops.get(name);
            results.add(runCase(d, owner));
        }
        return new Report(results);
    }

    /** The distinct op types of a model ("domain::Op" outside the default domain), read straight from the protobuf. */
    static List<String> opTypes(Path model) {
        try {
            ModelProto m = ModelProto.parseFrom(Files.readAllBytes(model));
            Set<String> ops = new LinkedHashSet<>();
            for (NodeProto n : m.getGraph().getNodeList()) ops.add(OpTable.key(n.getDomain(), n.getOpType()));
            return List.copyOf(ops);
        } catch (IOException | RuntimeException e) {
            return List.of("(unreadable model)");
        }
    }

    /** Loads, runs and checks one case folder. */
    public static CaseResult runCase(Path dir, List<String> ops) {
        String name = dir.getFileName().toString();
        try {
            OnnxModel model;
            try {
                model = OnnxModel.read(dir.resolve("model.onnx"));
            } catch (OnnxException e) {
                return result(name, ops, isUnsupported(e) ? Status.UNSUPPORTED : Status.FAIL, "load: " + e.getMessage());
            }
            OnnxGraph graph = model.graph();
            for (List<OnnxValueInfo> values : List.of(graph.inputs(), graph.outputs())) {
                for (OnnxValueInfo v : values) {
                    if (v.kind() != OnnxValueInfo.Kind.TENSOR) return result(name, ops, Status.UNSUPPORTED, "value '" + v.name() + "' is a " + v.kind() + ", not a tensor");
                    if (v.dtype() == null) return result(name, ops, Status.UNSUPPORTED, "value '" + v.name() + "' has element type " + OnnxTensors.typeName(v.elemType()));
                }
            }
            Set<String> missing = new TreeSet<>();
            for (OnnxNode n : graph.nodes()) {
                if (!OnnxOps.supports(n.domain(), n.opType(), model.opset(n.domain()))) {
                    missing.add(OpTable.key(n.domain(), n.opType()) + " (opset " + model.opset(n.domain()) + ")");
                }
            }
            if (!missing.isEmpty()) return result(name, ops, Status.UNSUPPORTED, "op not implemented: " + String.join(", ", missing));
            OnnxSession session = new OnnxSession(model, OnnxOps.resolver());

            Path data = dir.resolve("test_data_set_0");
            Map<String, Tensor> inputs = new LinkedHashMap<>();
            for (int i = 0; i < graph.inputs().size(); i++) {
                Path pb = data.resolve("input_" + i + ".pb");
                if (!Files.exists(pb)) return result(name, ops, Status.FAIL, "missing " + pb.getFileName() + " for input '" + graph.inputs().get(i).name() + "'");
                inputs.put(graph.inputs().get(i).name(), bfloat16Bits(graph.inputs().get(i).elemType(), OnnxTensors.read(pb)));
            }
            Map<String, Tensor> outputs = session.run(inputs);
            List<String> problems = new ArrayList<>();
            int i = 0;
            for (Map.Entry<String, Tensor> e : outputs.entrySet()) {
                Path pb = data.resolve("output_" + i++ + ".pb");
                if (!Files.exists(pb)) continue;
                String problem = compare(e.getValue(), bfloat16Bits(graph.outputs().get(i - 1).elemType(), OnnxTensors.read(pb)));
                if (problem != null) problems.add("output '" + e.getKey() + "': " + problem);
            }
            return problems.isEmpty() ? result(name, ops, Status.PASS, "") : result(name, ops, Status.FAIL, String.join("; ", problems));
        } catch (OnnxUnsupportedException e) {
            return result(name, ops, Status.UNSUPPORTED, e.getMessage());
        } catch (RuntimeException | StackOverflowError e) {
            Throwable cause = e;
            while (cause.getCause() != null && cause.getCause() != cause) cause = cause.getCause();
            if (cause instanceof OnnxUnsupportedException u) return result(name, ops, Status.UNSUPPORTED, u.getMessage());
            return result(name, ops, Status.FAIL, e.getMessage() != null ? e.getMessage() : e.toString());
        }
    }

    /**
     * numpy has no bfloat16, so onnx writes the test data of a BFLOAT16 value as UINT16 bit patterns (which load as
     * int32): turn those back into the floats they encode.
     */
    static Tensor bfloat16Bits(int declaredType, Tensor t) {
        if (declaredType != 16 || t.dtype() != DType.INT32) return t;
        int[] bits = t.toIntArray();
        float[] f = new float[bits.length];
        for (int k = 0; k < f.length; k++) f[k] = Float.intBitsToFloat(bits[k] << 16);
        return Tensor.of(f, t.dims());
    }

    private static boolean isUnsupported(OnnxException e) {
        String m = e.getMessage();
        return m != null && m.contains("not supported");
    }

    private static CaseResult result(String name, List<String> ops, Status status, String detail) {
        String oneLine = detail.replace('\n', ' ').replace('|', '/');
        if (oneLine.length() > 300) oneLine = oneLine.substring(0, 297) + "...";
        return new CaseResult(name, ops, status, oneLine);
    }

    /** Null when {@code actual} matches {@code expected}, else what differs. */
    static String compare(Tensor actual, Tensor expected) {
        if (actual.dtype() != expected.dtype()) return "dtype " + actual.dtype() + ", expected " + expected.dtype();
        if (!actual.shape().equals(expected.shape())) return "shape " + actual.shape() + ", expected " + expected.shape();
        if (expected.dtype() != DType.FLOAT32) {
            long[] a = actual.toLongArray(), e = expected.toLongArray();
            for (int k = 0; k < a.length; k++) if (a[k] != e[k]) return "element " + k + " is " + a[k] + ", expected " + e[k];
            return null;
        }
        float[] a = actual.toFloatArray(), e = expected.toFloatArray();
        double worst = 0;
        int worstAt = -1;
        for (int k = 0; k < a.length; k++) {
            if (Float.isNaN(e[k]) || Float.isInfinite(e[k])) {
                if (Float.compare(a[k], e[k]) != 0 && !(Float.isNaN(a[k]) && Float.isNaN(e[k]))) return "element " + k + " is " + a[k] + ", expected " + e[k];
                continue;
            }
            double err = Math.abs((double) a[k] - e[k]);
            if (Double.isNaN(err)) err = Double.POSITIVE_INFINITY;
            double excess = err - (ATOL + RTOL * Math.abs(e[k]));
            if (excess > 0 && (worstAt < 0 || err > worst)) {
                worst = err;
                worstAt = k;
            }
        }
        if (worstAt < 0) return null;
        return String.format(Locale.ROOT, "max error %.3g at element %d (%s, expected %s)", worst, worstAt, a[worstAt], e[worstAt]);
    }

    /** All case results, with the per-op summary and the markdown report. */
    public record Report(List<CaseResult> cases) {
        public long count(Status s) { return cases.stream().filter(c -> c.status() == s).count(); }

        public double passRate() { return cases.isEmpty() ? 0 : (double) count(Status.PASS) / cases.size(); }

        /** Cases by op (a case counts once for each op it belongs to), ops sorted. */
        public Map<String, List<CaseResult>> byOp() {
            Map<String, List<CaseResult>> m = new TreeMap<>();
            for (CaseResult c : cases) for (String op : c.ops()) m.computeIfAbsent(op, k -> new ArrayList<>()).add(c);
            return m;
        }

        /** The ops whose every case passes. */
        public Set<String> fullyPassingOps() {
            Set<String> r = new TreeSet<>();
            byOp().forEach((op, cs) -> { if (cs.stream().allMatch(c -> c.status() == Status.PASS)) r.add(op); });
            return r;
        }

        public String markdown() {
            StringBuilder b = new StringBuilder();
            b.append("# ONNX conformance\n\n");
            b.append("Generated by `dev.ember.loaders.onnx.ops.OnnxConformance` (do not edit by hand) over the ").append(cases.size())
                    .append(" ONNX backend node-test cases in `../shared/onnx-node-tests` (onnx 1.12, opsets 1-17).\n");
            b.append("Regenerate: `mvn -q -pl loaders test -Dtest=OnnxConformanceTest -Dember.conformance.report=$PWD/docs/onnx-conformance.md`.\n\n");
            b.append(String.format(Locale.ROOT, "**Totals: %d pass (%.1f%%), %d fail, %d unsupported, of %d cases.**%n%n",
                    count(Status.PASS), 100 * passRate(), count(Status.FAIL), count(Status.UNSUPPORTED), cases.size()));
            b.append("A case passes when every output has the expected shape and dtype (as loaded: DOUBLE and FLOAT16 narrow to float32,\n")
                    .append("INT8/INT16/UINT16 widen to int32, UINT32 to int64), integers and bools match exactly and floats within\n")
                    .append(String.format(Locale.ROOT, "|actual - expected| <= %.0e + %.0e |expected| (onnx's rtol; a looser atol than its 1e-7,\n", ATOL, RTOL))
                    .append("as ember computes in float32). Unsupported: an op, attribute value or element type ember does not implement.\n")
                    .append("A case belongs to the op types of its model; a `*_expanded` case to the op it expands.\n\n");
            b.append("Claimed ops (all their cases pass; `OnnxConformanceTest` fails if one stops passing): ")
                    .append(CLAIMED.isEmpty() ? "none" : String.join(", ", new TreeSet<>(CLAIMED))).append(".\n\n");
            b.append("| op | cases | pass | fail | unsupported | claimed | reasons |\n|---|---:|---:|---:|---:|---|---|\n");
            byOp().forEach((op, cs) -> {
                long pass = cs.stream().filter(c -> c.status() == Status.PASS).count();
                long fail = cs.stream().filter(c -> c.status() == Status.FAIL).count();
                Set<String> reasons = new LinkedHashSet<>();
                for (CaseResult c : cs) if (c.status() != Status.PASS) reasons.add(shortReason(c));
                String why = String.join("; ", reasons);
                if (why.length() > 200) why = why.substring(0, 197) + "...";
                b.append("| ").append(op).append(" | ").append(cs.size()).append(" | ").append(pass).append(" | ").append(fail)
                        .append(" | ").append(cs.size() - pass - fail).append(" | ").append(CLAIMED.contains(op) ? "yes" : "")
                        .append(" | ").append(why).append(" |\n");
            });
            b.append("\n## Cases that do not pass\n\n| case | status | detail |\n|---|---|---|\n");
            for (CaseResult c : cases) {
                if (c.status() == Status.PASS) continue;
                String issue = DATA_ISSUES.containsKey(c.name()) ? " (test data issue: " + DATA_ISSUES.get(c.name()) + ")" : "";
                b.append("| ").append(c.name()).append(" | ").append(c.status().name().toLowerCase(Locale.ROOT)).append(" | ").append(c.detail())
                        .append(issue).append(" |\n");
            }
            return b.toString();
        }

        /** A reason short enough for the per-op table: the error's gist without values. */
        private static String shortReason(CaseResult c) {
            String d = c.detail();
            if (c.status() == Status.FAIL && d.contains("max error")) return "values differ";
            int colon = d.indexOf(": ");
            String gist = d.startsWith("op not implemented") || d.startsWith("value '") ? d : colon > 0 && d.length() > 80 ? d.substring(colon + 2) : d;
            return gist.length() > 80 ? gist.substring(0, 77) + "..." : gist;
        }
    }

    /**
     * Runs the cases and writes the report. Arguments: [node-tests folder] [report file]; defaults
     * {@code <ember.shared or ../shared>/onnx-node-tests} and {@code docs/onnx-conformance.md}.
     */
    public static void main(String[] args) throws IOException {
        Path root = args.length > 0 ? Path.of(args[0]) : Path.of(System.getProperty("ember.shared", "../shared"), "onnx-node-tests");
        Path out = args.length > 1 ? Path.of(args[1]) : Path.of("docs", "onnx-conformance.md");
        Report r = run(root);
        if (out.toAbsolutePath().getParent() != null) Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, r.markdown());
        System.out.printf(Locale.ROOT, "%d cases: %d pass (%.1f%%), %d fail, %d unsupported; report in %s%n", r.cases().size(),
                r.count(Status.PASS), 100 * r.passRate(), r.count(Status.FAIL), r.count(Status.UNSUPPORTED), out);
    }
}
