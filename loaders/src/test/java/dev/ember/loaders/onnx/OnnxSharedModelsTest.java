package dev.ember.loaders.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ember.engine.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The shared torch-exported models read as models_summary.json describes them: node and initializer counts,
 * op types, parameter count, opset, declared input. Skips when ../shared is absent.
 */
class OnnxSharedModelsTest {
    private static final Path MODELS = Path.of(System.getProperty("ember.shared", "../shared"), "models");

    private static String summary() throws IOException {
        Path f = MODELS.resolve("models_summary.json");
        assumeTrue(Files.isRegularFile(f), "shared models not found at " + MODELS + "; skipping");
        return Files.readString(f);
    }

    /** The JSON object text after {@code "key": {} up to its matching brace (the summary is plain, no braces in strings). */
    private static String object(String json, String key) {
        int at = json.indexOf("\"" + key + "\"");
        assertTrue(at >= 0, key + " missing from summary");
        int open = json.indexOf('{', at), depth = 0;
        for (int i = open; i < json.length(); i++) {
            if (json.charAt(i) == '{') depth++;
            if (json.charAt(i) == '}' && --depth == 0) return json.substring(open + 1, i);
        }
        throw new AssertionError("unbalanced summary");
    }

    private static long number(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\"\\s*:\\s*(\\d+)").matcher(json);
        assertTrue(m.find(), key + " missing from summary");
        return Long.parseLong(m.group(1));
    }

    private static Map<String, Integer> counts(String objectText) {
        Map<String, Integer> c = new TreeMap<>();
        Matcher m = Pattern.compile("\"(\\w+)\"\\s*:\\s*(\\d+)").matcher(objectText);
        while (m.find()) c.put(m.group(1), Integer.parseInt(m.group(2)));
        return c;
    }

    private static void check(String name, List<Object> expectInputDims) throws IOException {
        String s = object(summary(), name);
        OnnxModel model = OnnxModel.read(MODELS.resolve(name + ".onnx"));
        OnnxGraph g = model.graph();

        assertEquals(number(s, "ir_version"), model.irVersion());
        assertEquals((int) number(s, "ai.onnx"), model.opset(""));
        assertEquals(number(s, "nodes"), g.nodes().size());
        assertEquals(number(s, "initializers"), g.initializers().size());
        Map<String, Integer> ops = new TreeMap<>();
        for (OnnxNode n : g.nodes()) ops.merge(n.opType(), 1, Integer::sum);
        assertEquals(counts(object(s, "op_types")), ops);
        long params = 0;
        for (Tensor t : g.initializers().values()) params += t.numel();
        assertEquals(number(s, "params"), params);
        assertEquals(g.nodes().size(), g.order().size());

        assertEquals(1, g.inputs().size());
        OnnxValueInfo in = g.inputs().get(0);
        assertEquals("input", in.name());
        assertEquals(expectInputDims.size(), in.shape().size());
        for (int i = 0; i < expectInputDims.size(); i++) {
            Object want = expectInputDims.get(i);
            OnnxValueInfo.Dim d = in.shape().get(i);
            if (want instanceof String p) assertEquals(p, d.param(), "axis " + i);
            else assertEquals(((Integer) want).longValue(), d.value(), "axis " + i);
        }
        assertEquals(List.of("output"), g.outputs().stream().map(OnnxValueInfo::name).toList());
        new OnnxSession(model, OnnxTestModels::anyOp);   // every node resolvable and scheduled
    }

    @Test void smallCnnMatchesSummary() throws IOException {
        check("small_cnn", List.of("batch", 1, 28, 28));
    }

    @Test void resnet18MatchesSummary() throws IOException {
        check("resnet18", List.of("batch", 3, "height", "width"));
    }
}
