package dev.ember.loaders.onnx.ops;

import dev.ember.loaders.onnx.OnnxOp;

import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * (domain, op type, since-version) -> implementation. An op registered since version v serves every opset >= v
 * until a newer registration of the same op takes over, as in the ONNX operator changelog.
 */
final class OpTable {
    static final String ONNX = "";   // "" and "ai.onnx" are the same default domain

    private final Map<String, NavigableMap<Integer, OnnxOp>> ops = new TreeMap<>();

    static String domainOf(String domain) { return domain == null || domain.equals("ai.onnx") ? ONNX : domain; }

    static String key(String domain, String opType) {
        String d = domainOf(domain);
        return d.isEmpty() ? opType : d + "::" + opType;
    }

    /** Registers {@code op} for the default domain from opset {@code since} on. */
    void add(String opType, int since, OnnxOp op) { add(ONNX, opType, since, op); }

    void add(String domain, String opType, int since, OnnxOp op) {
        NavigableMap<Integer, OnnxOp> versions = ops.computeIfAbsent(key(domain, opType), k -> new TreeMap<>());
        if (versions.put(since, op) != null) throw new IllegalStateException(key(domain, opType) + " since " + since + " registered twice");
    }

    /** The implementation serving {@code opset}, or null. */
    OnnxOp find(String domain, String opType, int opset) {
        NavigableMap<Integer, OnnxOp> versions = ops.get(key(domain, opType));
        if (versions == null) return null;
        Map.Entry<Integer, OnnxOp> e = versions.floorEntry(opset);
        return e == null ? null : e.getValue();
    }

    /** Keys ("Conv", "ai.onnx.preview.training::Adam") of every registered op, sorted. */
    java.util.Set<String> keys() { return java.util.Collections.unmodifiableSet(ops.keySet()); }
}
