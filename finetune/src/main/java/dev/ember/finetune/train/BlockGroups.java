package dev.ember.finetune.train;

import dev.ember.autograd.Variable;
import dev.ember.engine.EmberException;
import dev.ember.loaders.onnx.OnnxNode;
import dev.ember.loaders.onnx.train.OnnxModule;
import dev.ember.nn.BatchNorm2d;
import dev.ember.nn.LayerNorm;
import dev.ember.nn.Module;
import dev.ember.nn.Sequential;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A model's parameters split into ordered groups, input side first, the head always last: the units of gradual
 * unfreezing (the last group first) and of discriminative learning rates. Every parameter is in exactly one group.
 *
 * <p>How {@link #of} splits:
 * <ul>
 *   <li>a {@link Sequential} by its children (nested Sequentials are opened), one group per child that holds
 *       parameters, except that a normalization layer joins the group before it (a conv and its BatchNorm are one
 *       block);</li>
 *   <li>an {@link OnnxModule} by node-name prefix: torch exports name nodes {@code /layer4/layer4.0/conv1/Conv}, so
 *       {@code /conv1/}, {@code /layer1/}, ..., {@code /layer4/} each make a group, ordered by their first node; the
 *       replaced head ({@link OnnxModule#head()}) is the last. Graphs without such names (or with more than
 *       {@value #MAX_PREFIX_GROUPS} prefixes) fall back to chunks;</li>
 *   <li>anything else by {@link #chunks}: the head is the last module's parameters, the rest split into contiguous
 *       runs in {@link Module#namedParameters()} order.</li>
 * </ul>
 */
public record BlockGroups(List<BlockGroup> groups) {
    static final int MAX_PREFIX_GROUPS = 12;
    private static final int DEFAULT_CHUNKS = 4;

    public BlockGroups {
        groups = List.copyOf(groups);
        if (groups.isEmpty()) throw new EmberException("a model needs at least one parameter group (it has no parameters?)");
        Set<Variable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (BlockGroup g : groups) {
            for (Map.Entry<String, Variable> p : g.parameters().entrySet()) {
                if (!seen.add(p.getValue())) throw new EmberException("parameter '" + p.getKey() + "' is in more than one block group");
            }
        }
    }

    /** Splits {@code model} as the class comment says. */
    public static BlockGroups of(Module model) {
        if (model instanceof Sequential s) return ofSequential(s);
        if (model instanceof OnnxModule m) return ofOnnx(m);
        return chunks(model, DEFAULT_CHUNKS);
    }

    public int size() { return groups.size(); }

    public BlockGroup head() { return groups.getLast(); }

    public List<String> names() { return groups.stream().map(BlockGroup::name).toList(); }

    /** Every parameter, group by group. */
    public List<Variable> parameters() {
        List<Variable> all = new ArrayList<>();
        for (BlockGroup g : groups) all.addAll(g.parameters().values());
        return all;
    }

    /** Makes the last {@code count} groups trainable and freezes the others. */
    public void setTrainable(int count) {
        for (int i = 0; i < groups.size(); i++) groups.get(i).setTrainable(i >= groups.size() - count);
    }

    /**
     * After {@code model.train()}: puts the normalization layers of the frozen groups (all but the last {@code count})
     * back in eval mode, so they normalize with, and do not update, their running statistics.
     */
    public void freezeNormStatistics(int count) {
        for (int i = 0; i < groups.size() - count; i++) for (Module m : groups.get(i).normLayers()) m.eval();
    }

    // ---- Sequential ----

    static BlockGroups ofSequential(Sequential model) {
        List<GroupBuilder> out = new ArrayList<>();
        collect("", model, out);
        return build(out);
    }

    private static void collect(String path, Module m, List<GroupBuilder> out) {
        if (m instanceof Sequential s) {
            for (Map.Entry<String, Module> c : s.namedChildren().entrySet()) collect(join(path, c.getKey()), c.getValue(), out);
            return;
        }
        if (m.namedParameters().isEmpty()) return;
        boolean norm = m instanceof BatchNorm2d || m instanceof LayerNorm;
        GroupBuilder g = norm && !out.isEmpty() ? out.getLast() : null;
        if (g == null) {
            g = new GroupBuilder(path);
            out.add(g);
        }
        for (Map.Entry<String, Variable> p : m.namedParameters().entrySet()) g.parameters.put(join(path, p.getKey()), p.getValue());
        for (Module sub : m.namedModules().values()) if (sub instanceof BatchNorm2d) g.norms.add(sub);
    }

    // ---- OnnxModule ----

    static BlockGroups ofOnnx(OnnxModule model) {
        Map<String, Variable> all = model.namedParameters();
        Set<String> headNames = new java.util.HashSet<>();
        String headChild = null;
        for (Map.Entry<String, Module> c : model.namedChildren().entrySet()) if (c.getValue() == model.head()) headChild = c.getKey();
        if (headChild != null) for (String n : all.keySet()) if (n.startsWith(headChild + ".")) headNames.add(n);

        Map<String, GroupBuilder> byPrefix = new LinkedHashMap<>();
        Set<String> claimed = new java.util.HashSet<>(headNames);
        for (OnnxNode n : model.model().graph().order()) {
            String prefix = prefix(n.name());
            if (prefix == null || byPrefix.containsKey(prefix)) continue;
            GroupBuilder g = new GroupBuilder(prefix);
            for (String p : model.parametersOfNodes(prefix + "*")) if (claimed.add(p)) g.parameters.put(p, all.get(p));
            if (!g.parameters.isEmpty()) byPrefix.put(prefix, g);
            if (byPrefix.size() > MAX_PREFIX_GROUPS) return chunks(model, DEFAULT_CHUNKS);
        }
        if (byPrefix.isEmpty()) return chunks(model, DEFAULT_CHUNKS);
        List<GroupBuilder> out = new ArrayList<>(byPrefix.values());
        for (Map.Entry<String, Variable> p : all.entrySet()) if (claimed.add(p.getKey())) out.getFirst().parameters.put(p.getKey(), p.getValue());   // unread
        if (!headNames.isEmpty()) {
            GroupBuilder head = new GroupBuilder(headChild);
            for (String n : headNames) head.parameters.put(n, all.get(n));
            out.add(head);
        }
        return build(out);
    }

    /** "/layer1/" for "/layer1/layer1.0/conv1/Conv"; null for names without a leading path segment. */
    private static String prefix(String nodeName) {
        if (!nodeName.startsWith("/")) return null;
        int end = nodeName.indexOf('/', 1);
        if (end < 0) return null;
        String p = nodeName.substring(0, end + 1);
        return p.contains("*") || p.contains("?") ? null : p;
    }

    // ---- chunks ----

    /**
     * The head (the parameters of the module that registered the last parameter) and the rest in {@code chunks}
     * contiguous runs of about equal parameter count, in {@link Module#namedParameters()} order.
     */
    public static BlockGroups chunks(Module model, int chunks) {
        if (chunks < 1) throw new EmberException("chunks must be >= 1, got " + chunks);
        List<Map.Entry<String, Variable>> params = new ArrayList<>(model.namedParameters().entrySet());
        if (params.isEmpty()) throw new EmberException("the model has no parameters to group");
        String last = params.getLast().getKey();
        String headPrefix = last.contains(".") ? last.substring(0, last.lastIndexOf('.') + 1) : last;
        int headStart = params.size() - 1;
        while (headStart > 0 && params.get(headStart - 1).getKey().startsWith(headPrefix) && headPrefix.endsWith(".")) headStart--;
        long body = 0;
        for (int i = 0; i < headStart; i++) body += params.get(i).getValue().shape().numel();
        List<GroupBuilder> out = new ArrayList<>();
        long done = 0;
        for (int i = 0; i < headStart; i++) {
            int chunk = body == 0 ? 0 : (int) Math.min(chunks - 1, done * chunks / body);
            while (out.size() <= chunk) out.add(new GroupBuilder("chunk" + out.size()));
            out.get(chunk).parameters.put(params.get(i).getKey(), params.get(i).getValue());
            done += params.get(i).getValue().shape().numel();
        }
        out.removeIf(g -> g.parameters.isEmpty());
        GroupBuilder head = new GroupBuilder(headPrefix.endsWith(".") ? headPrefix.substring(0, headPrefix.length() - 1) : "head");
        for (int i = headStart; i < params.size(); i++) head.parameters.put(params.get(i).getKey(), params.get(i).getValue());
        out.add(head);
        Map<Variable, Module> owners = new IdentityHashMap<>();
        for (Module m : model.namedModules().values()) {
            if (m instanceof BatchNorm2d bn && bn.weight() != null) owners.put(bn.weight(), bn);
        }
        for (GroupBuilder g : out) for (Variable p : g.parameters.values()) if (owners.containsKey(p)) g.norms.add(owners.get(p));
        return build(out);
    }

    // ---- helpers ----

    private static final class GroupBuilder {
        final String name;
        final Map<String, Variable> parameters = new LinkedHashMap<>();
        final List<Module> norms = new ArrayList<>();

        GroupBuilder(String name) { this.name = name; }
    }

    private static BlockGroups build(List<GroupBuilder> builders) {
        List<BlockGroup> groups = new ArrayList<>();
        for (GroupBuilder b : builders) groups.add(new BlockGroup(b.name.isEmpty() ? "model" : b.name, b.parameters, b.norms));
        return new BlockGroups(groups);
    }

    private static String join(String prefix, String name) { return prefix.isEmpty() ? name : prefix + "." + name; }
}
