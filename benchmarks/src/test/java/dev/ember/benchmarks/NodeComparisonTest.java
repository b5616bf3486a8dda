package dev.ember.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ember.loaders.onnx.NodeProfile;
import dev.ember.loaders.onnx.OnnxModel;
import dev.ember.loaders.onnx.OnnxNode;
import dev.ember.loaders.onnx.OnnxSession;
import dev.ember.loaders.onnx.ops.OnnxOps;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link NodeComparison}'s reading of ONNX Runtime's profile and its rows, on made-up times (no timing here). */
class NodeComparisonTest {
    private static String event(String cat, String name, long ts, long dur, String op) {
        return "{\"cat\" : \"" + cat + "\",\"pid\" :1,\"tid\" :2,\"dur\" :" + dur + ",\"ts\" :" + ts + ",\"ph\" : \"X\",\"name\" :\"" + name
                + "\",\"args\" : {" + (op == null ? "" : "\"op_name\" : \"" + op + "\"") + "}}";
    }

    @Test void readsOrtKernelsIntoTheirRuns(@TempDir Path dir) throws IOException {
        Path json = dir.resolve("ort.json");
        Files.writeString(json, "[\n" + String.join(",\n",
                event("Node", "early_kernel_time", 5, 3, "Conv"),                         // before any run: not counted
                event("Session", "model_run", 10, 100, null),
                event("Node", "/a/Conv_output_0_nchwc_fence_before", 19, 0, "Conv"),
                event("Node", "/a/Conv_output_0_nchwc_kernel_time", 20, 30, "Conv"),
                event("Session", "model_run", 200, 100, null),
                event("Node", "ReorderOutput_kernel_time", 250, 40, "ReorderOutput")) + "\n]\n");
        List<NodeComparison.OrtKernel> k = NodeComparison.ortKernels(json);
        assertEquals(List.of(new NodeComparison.OrtKernel("/a/Conv_output_0_nchwc", "Conv", 0, 30),
                new NodeComparison.OrtKernel("ReorderOutput", "ReorderOutput", 1, 40)), k);
    }

    /**
     * resnet18's steps against kernels named as ORT names them: the stem's Conv + Relu after its Relu's output, layer1.0's
     * conv2 (with its Add and Relu) after the conv's; each lands in the row of the step that starts where it starts.
     */
    @Test void rowsStartWhereBothSidesStart() {
        Path file = InferenceComparison.models().resolve("resnet18.onnx");
        assumeTrue(Files.isRegularFile(file), "shared models not found at " + file + "; skipping");
        OnnxModel model = OnnxModel.read(file);
        List<NodeProfile.Step> steps = new OnnxSession(model, OnnxOps.resolver()).newProfile().steps();
        List<double[]> emberCalls = new ArrayList<>();
        for (int b = 0; b < 2; b++) {   // step s: (s + 1) us in call 0, 3 (s + 1) in call 1; the whole call last
            double[] call = new double[steps.size() + 1];
            for (int s = 0; s < steps.size(); s++) call[s] = (s + 1) * 1000.0 * (1 + 2 * b);
            emberCalls.add(call);
        }
        List<NodeComparison.OrtKernel> kernels = List.of(
                new NodeComparison.OrtKernel("/relu/Relu_output_0_nchwc", "Conv", 0, 700),
                new NodeComparison.OrtKernel("/relu/Relu_output_0_nchwc", "Conv", 1, 900),
                new NodeComparison.OrtKernel("/maxpool/MaxPool_output_0_nchwc", "MaxPool", 0, 100),
                new NodeComparison.OrtKernel("/maxpool/MaxPool_output_0_nchwc", "MaxPool", 1, 100),
                new NodeComparison.OrtKernel("/layer1/layer1.0/conv2/Conv_output_0_nchwc", "Conv", 0, 500),
                new NodeComparison.OrtKernel("/layer1/layer1.0/conv2/Conv_output_0_nchwc", "Conv", 1, 500),
                new NodeComparison.OrtKernel("ReorderOutput", "ReorderOutput", 0, 10),
                new NodeComparison.OrtKernel("ReorderOutput", "ReorderOutput", 1, 30),
                new NodeComparison.OrtKernel("fused /fc/Gemm", "FusedGemm", 5, 1_000_000));   // a warm-up run: in no call
        List<NodeComparison.Row> rows = NodeComparison.rows(model, steps, emberCalls, kernels, List.of(0, 1));

        NodeComparison.Row stem = row(rows, "/conv1/Conv");
        assertTrue(stem.nodes().containsAll(List.of("/conv1/Conv", "/relu/Relu", "/maxpool/MaxPool")), stem.toString());
        assertEquals(900, stem.ortUs(), 1e-9, "median of 700 + 100 and 900 + 100");
        assertEquals("Conv, MaxPool", stem.ortOps());
        NodeComparison.Row conv2 = row(rows, "/layer1/layer1.0/conv2/Conv");
        assertEquals(500, conv2.ortUs(), 1e-9);
        assertTrue(conv2.nodes().contains("/layer1/layer1.0/relu_1/Relu"), "its Add and Relu are in its row: " + conv2);
        assertEquals(0, row(rows, "/fc/Gemm").ortUs(), "a warm-up run's kernel counts in no call");
        assertEquals("FusedGemm", row(rows, "/fc/Gemm").ortOps(), "ORT's \"fused <node>\" is that node's");
        NodeComparison.Row reorder = row(rows, "ReorderOutput");
        assertEquals(20, reorder.ortUs(), 1e-9);
        assertEquals(0, reorder.emberUs());

        List<String> seen = new ArrayList<>();
        double ember = 0;
        for (NodeComparison.Row r : rows) {
            if (!r.emberOps().isEmpty()) seen.addAll(r.nodes());
            ember += r.emberUs();
        }
        assertEquals(model.graph().order().size(), seen.size(), "every node in one row");
        assertEquals(new HashSet<>(model.graph().order().stream().map(OnnxNode::name).toList()), new HashSet<>(seen));
        double want = 0;
        for (int s = 0; s < steps.size(); s++) want += (s + 1) * 2.0;   // each step's median over the two calls: 2 (s + 1) us
        assertEquals(want, ember, 1e-6, "ember's rows add up to its steps");
        // ORT kernels start at /conv1, layer1.0's conv2 and /fc only: the Identities, the stem with layer1.0's conv1 (ORT
        // has no kernel starting there in this made-up profile), conv2 to the Flatten, the Gemm, and ORT's reorder
        assertEquals(5, rows.size(), rows.toString());
        assertTrue(stem.nodes().contains("/layer1/layer1.0/conv1/Conv"), stem.toString());
    }

    @Test void betweenIsTheWholeCallLessItsNodes() {
        assertEquals(0.7, NodeComparison.betweenEmberUs(List.of(new double[] {100, 200, 1000}, new double[] {100, 200, 1000})), 1e-9);
        List<NodeComparison.OrtKernel> kernels = List.of(new NodeComparison.OrtKernel("a", "Conv", 0, 30), new NodeComparison.OrtKernel("a", "Conv", 1, 50));
        assertEquals(10, NodeComparison.betweenOrtUs(kernels, List.of(0, 1), List.of(40.0, 60.0)), 1e-9, "runs of 40 and 60 us, 30 and 50 of kernels");
    }

    private static NodeComparison.Row row(List<NodeComparison.Row> rows, String node) {
        for (NodeComparison.Row r : rows) if (r.nodes().contains(node)) return r;
        throw new AssertionError("no row holds " + node + ": " + rows);
    }
}
