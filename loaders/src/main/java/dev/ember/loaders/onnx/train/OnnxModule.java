package dev.ember.loaders.onnx.train;

import dev.ember.autograd.Variable;
import dev.ember.engine.DType;
import dev.ember.engine.Device;
import dev.ember.engine.EmberException;
import dev.ember.engine.Rng;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxException;
import dev.ember.loaders.onnx.OnnxGraph;
import dev.ember.loaders.onnx.OnnxModel;
import dev.ember.loaders.onnx.OnnxNode;
import dev.ember.loaders.onnx.OnnxSession;
import dev.ember.loaders.onnx.OnnxValueInfo;
import dev.ember.loaders.onnx.OpResolver;
import dev.ember.loaders.onnx.ops.OnnxOps;
import dev.ember.nn.Linear;
import dev.ember.nn.Module;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * An imported ONNX graph as a trainable {@link Module}. Every float32 initializer becomes a parameter under its ONNX
 * name ({@code fc.weight}, {@code onnx::Conv_193}: {@link #namedParameters()} lists them in file order), except
 * <ul>
 *   <li>BatchNormalization's running mean and variance (inputs 3 and 4), which become buffers: saved, not trained;</li>
 *   <li>float settings that are no weights: Resize roi/scales, Upsample scales, Dropout ratio, Pad's constant value,
 *       Clip's bounds; they stay constants, as do all non-float initializers (shapes, indices).</li>
 * </ul>
 * {@link #forward} runs the graph with {@link OnnxSession#runVariables}, the parameters in place of the initializers, so
 * a backward pass reaches every parameter through the differentiable ops; an op that cannot pass a gradient refuses with
 * an {@link OnnxException} naming its node (freeze what lies behind it, or run under NoGrad).
 *
 * <p>Modes: in training mode an inference-form BatchNormalization node (opset 9+) uses batch statistics and updates its
 * running-statistic buffers; in eval mode it uses them as they are. Dropout nodes are the identity in both modes (the
 * ops have no random training form). Like every module, a new one starts in training mode: call {@link #eval()} for
 * inference. Initializers that one node shares with others through Identity nodes (PyTorch's exporter deduplicates
 * equal tensors, e.g. resnet18.onnx's zero conv biases) are one tied parameter.
 *
 * <p>Order of use: {@code new OnnxModule(OnnxModel.read(file))}; optionally {@link #replaceHead} and
 * {@link #freeze}/{@link #unfreeze} by parameter name or {@link #freezeNodes}/{@link #unfreezeNodes} by the names of the
 * nodes that read them (torch exports name initializers {@code onnx::Conv_NNN} but nodes {@code /layer4/layer4.0/...});
 * train as any module; write it back with {@link OnnxModuleExport}.
 */
public final class OnnxModule extends Module {
    /** Inputs (by op type) that take settings, not weights: a float initializer read only there stays a constant. */
    private static final Map<String, Set<Integer>> SETTING_INPUTS = Map.of(
            "Resize", Set.of(1, 2), "Upsample", Set.of(1), "Dropout", Set.of(1), "Pad", Set.of(2), "Clip", Set.of(1, 2));
    /** BatchNormalization's running mean and variance. */
    private static final Set<Integer> STATISTIC_INPUTS = Set.of(3, 4);

    private final OpResolver resolver;
    private final Map<String, Variable> parametersByInitializer = new LinkedHashMap<>();   // graph name -> parameter
    private final Map<String, Tensor> statistics = new LinkedHashMap<>();                  // graph name -> buffer
    private OnnxModel model;
    private OnnxSession session;
    private String headName;   // the child holding the replaced head, or null
    private Linear head;

    /** Imports {@code model} with the standard ops ({@link OnnxOps#resolver()}). */
    public OnnxModule(OnnxModel model) { this(model, OnnxOps.resolver()); }

    /** Imports {@code model}, resolving its ops with {@code resolver}; an op it cannot run is an error now, not at forward. */
    public OnnxModule(OnnxModel model, OpResolver resolver) {
        this.resolver = resolver;
        OnnxGraph g = model.graph();
        Map<String, List<int[]>> reads = reads(g);
        for (Map.Entry<String, Tensor> e : g.initializers().entrySet()) {
            String name = e.getKey();
            Tensor t = e.getValue();
            if (t.dtype() != DType.FLOAT32) continue;
            List<int[]> at = reads.getOrDefault(name, List.of());
            if (!at.isEmpty() && at.stream().allMatch(r -> isStatistic(g, r))) statistics.put(name, registerImportedBuffer(name, t.copy()));
            else if (at.isEmpty() || !at.stream().allMatch(r -> isSetting(g, r))) parametersByInitializer.put(name, registerImportedParameter(name, t.copy()));
        }
        Map<String, Tensor> own = ownTensors(model, Map.of());
        this.model = model.withInitializers(own);   // the module holds its weights once, not beside the file's copies
        this.session = newSession(this.model, own.keySet());
    }

    /**
     * After {@link #to}: the statistics are the moved buffers, and the graph and session hold the moved tensors (not the
     * old ones, which would stay alive beside them).
     */
    @Override protected void movedTo(Device device) {
        statistics.replaceAll((name, old) -> registeredBuffer(name));
        Map<String, Tensor> own = ownTensors(model, Map.of());
        this.model = model.withInitializers(own);
        this.session = newSession(this.model, own.keySet());
    }

    /** The graph this module runs: the imported one, or its rewrite after {@link #replaceHead}. */
    public OnnxModel model() { return model; }

    /** The Linear that {@link #replaceHead} put in, or null. */
    public Linear head() { return head; }

    // ---- forward ----

    /** Runs a graph with one input and one output. */
    @Override public Variable forward(Variable x) {
        List<OnnxValueInfo> ins = model.graph().inputs(), outs = model.graph().outputs();
        if (ins.size() != 1 || outs.size() != 1) {
            throw new OnnxException("graph '" + model.graph().name() + "' has inputs " + names(ins) + " and outputs " + names(outs)
                    + "; forward(Variable) needs exactly one of each, use forward(Map)");
        }
        return forward(Map.of(ins.get(0).name(), x)).get(outs.get(0).name());
    }

    /** Runs the graph on {@code inputs} (every graph input by name); returns every graph output by name. */
    public Map<String, Variable> forward(Map<String, Variable> inputs) {
        Map<String, Variable> bound = new LinkedHashMap<>(parametersByInitializer);
        for (Map.Entry<String, Tensor> s : statistics.entrySet()) bound.put(s.getKey(), Variable.of(s.getValue()));
        return session.runVariables(inputs, bound);
    }

    // ---- freezing by node ----

    /**
     * The parameters read by the nodes whose name matches {@code nodeGlob} ({@code *} any run of characters, {@code ?}
     * one, the rest literal), directly or through Identity nodes; in {@link #namedParameters()} order.
     */
    public List<String> parametersOfNodes(String nodeGlob) {
        Pattern p = globToRegex(nodeGlob);
        Map<String, String> alias = new HashMap<>();   // Identity output -> the initializer it passes on
        Set<String> read = new HashSet<>();
        for (OnnxNode n : model.graph().order()) {
            if (n.opType().equals("Identity") && n.inputs().size() == 1) {
                String src = alias.getOrDefault(n.inputs().get(0), n.inputs().get(0));
                if (parametersByInitializer.containsKey(src)) alias.put(n.outputs().get(0), src);
            }
            if (!p.matcher(n.name()).matches()) continue;
            for (String in : n.inputs()) read.add(alias.getOrDefault(in, in));
        }
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, Variable> e : namedParameters().entrySet()) {
            if (read.contains(e.getKey()) && parametersByInitializer.get(e.getKey()) == e.getValue()) out.add(e.getKey());
        }
        return out;
    }

    /** Freezes the parameters of the nodes matching {@code nodeGlob} (see {@link #parametersOfNodes}); returns their names. */
    public List<String> freezeNodes(String nodeGlob) { return requiresGradOfNodes(nodeGlob, false); }

    /** Unfreezes the parameters of the nodes matching {@code nodeGlob}; returns their names. */
    public List<String> unfreezeNodes(String nodeGlob) { return requiresGradOfNodes(nodeGlob, true); }

    private List<String> requiresGradOfNodes(String nodeGlob, boolean on) {
        List<String> names = parametersOfNodes(nodeGlob);
        if (names.isEmpty()) {
            List<String> some = model.graph().order().stream().map(OnnxNode::name).limit(5).toList();
            throw new EmberException("node glob '" + nodeGlob + "' matches no node that reads a parameter; node names look like " + some);
        }
        requiresGrad(Pattern.compile(names.stream().map(Pattern::quote).collect(Collectors.joining("|"))), on);
        return names;
    }

    // ---- head replacement ----

    /** Replaces the head {@link HeadReplacement#find(OnnxGraph)} finds by a new {@code Linear(in, classes, rng)}; returns it. */
    public Linear replaceHead(int classes, Rng rng) { return replaceHead(HeadReplacement.find(model.graph()), classes, rng); }

    /** Replaces the Gemm or MatMul node {@code nodeName} by a new {@code Linear(in, classes, rng)}; returns it. */
    public Linear replaceHead(String nodeName, int classes, Rng rng) {
        return replaceHead(HeadReplacement.find(model.graph(), nodeName), classes, rng);
    }

    /**
     * The new Linear is child module {@code head} (or {@code head_1}, ... when taken), so its parameters are
     * {@code head.weight} (classes, in) and {@code head.bias}, under the same names in the graph; the old head's
     * weight and bias leave the parameters (unless another node still reads them). Replacing a replaced head swaps the
     * child. The graph is rewritten (see {@link HeadReplacement}) and a new session built before anything changes here,
     * so a failure leaves the module as it was.
     */
    private Linear replaceHead(OnnxNode headNode, int classes, Rng rng) {
        if (classes < 1) throw new EmberException("a head needs at least 1 output, got " + classes);
        OnnxGraph g = model.graph();
        HeadReplacement.Plan plan = HeadReplacement.plan(g, headNode);
        Set<String> taken = valueNames(g);
        boolean ours = head != null && plan.weight().equals(headName + ".weight");
        String child = ours ? headName : freeChildName(taken);
        String weightName = child + ".weight", biasName = child + ".bias";
        Linear linear = new Linear(plan.inFeatures(), classes, rng);

        List<OnnxNode> nodes = new ArrayList<>();
        Set<String> stillRead = new HashSet<>();   // by the nodes kept from the old graph
        for (OnnxNode n : g.order()) {
            if (n == plan.product()) nodes.addAll(HeadReplacement.newNodes(plan, weightName, biasName, taken));
            if (plan.removes(n)) continue;
            nodes.add(n);
            stillRead.addAll(n.inputs());
        }
        List<String> dropped = new ArrayList<>();
        for (String old : new String[] {plan.weight(), plan.bias()}) if (old != null && !stillRead.contains(old)) dropped.add(old);

        Map<String, Tensor> initializers = new LinkedHashMap<>();
        for (String name : g.initializers().keySet()) if (!dropped.contains(name)) initializers.put(name, currentValue(name));
        initializers.put(weightName, linear.weight().data());
        initializers.put(biasName, linear.bias().data());
        OnnxModel reread = GraphCopy.reread(GraphCopy.of(model, initializers, nodes, HeadReplacement.outputs(g, plan.output(), classes)));
        Map<String, Tensor> own = ownTensors(reread, Map.of(weightName, linear.weight().data(), biasName, linear.bias().data()));
        OnnxModel rewritten = reread.withInitializers(own);
        OnnxSession rewrittenSession = newSession(rewritten, own.keySet());

        for (String name : dropped) {
            Variable p = parametersByInitializer.remove(name);
            if (p != null && !(ours && name.startsWith(child + "."))) removeParameter(name);
        }
        if (ours) replaceModule(child, linear); else registerModule(child, linear);
        parametersByInitializer.put(weightName, linear.weight());
        parametersByInitializer.put(biasName, linear.bias());
        headName = child;
        head = linear;
        model = rewritten;
        session = rewrittenSession;
        return linear;
    }

    /** "head", or "head_1", ... : a child name whose parameter names clash with no value or state name. */
    private String freeChildName(Set<String> values) {
        Set<String> own = new HashSet<>(parametersByInitializer.keySet());
        own.addAll(statistics.keySet());
        for (int i = 0; ; i++) {
            String name = i == 0 ? "head" : "head_" + i;
            String prefix = name + ".";
            boolean free = !namedChildren().containsKey(name) && !own.contains(name) && own.stream().noneMatch(s -> s.startsWith(prefix))
                    && !values.contains(prefix + "weight") && !values.contains(prefix + "bias");
            if (free) return name;
        }
    }

    // ---- for the exporter ----

    /** Every initializer of the current graph with its current value (trained parameters, updated statistics), in graph order. */
    Map<String, Tensor> initializerValues() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (String name : model.graph().initializers().keySet()) out.put(name, currentValue(name));
        return out;
    }

    private Tensor currentValue(String initializer) {
        Variable p = parametersByInitializer.get(initializer);
        if (p != null) return p.data();
        Tensor s = statistics.get(initializer);
        return s != null ? s : model.graph().initializers().get(initializer);
    }

    // ---- helpers ----

    /**
     * This module's own tensor for each of {@code m}'s initializers that is one of its parameters or statistics (or in
     * {@code added}: a head not registered yet), by initializer name. The module runs {@code m} with these in place of
     * the decoded ones, so it holds its weights once rather than beside the file's copies.
     */
    private Map<String, Tensor> ownTensors(OnnxModel m, Map<String, Tensor> added) {
        Map<String, Tensor> own = new LinkedHashMap<>();
        for (String name : m.graph().initializers().keySet()) {
            Variable p = parametersByInitializer.get(name);
            Tensor t = added.containsKey(name) ? added.get(name) : p != null ? p.data() : statistics.get(name);
            if (t != null) own.put(name, t);
        }
        return own;
    }

    /** A session over {@code m} whose {@code variables} (the module's own tensors) are never marked constant. */
    private OnnxSession newSession(OnnxModel m, Set<String> variables) {
        return new OnnxSession(m, new ModeAwareResolver(resolver, this::isTraining, (name, value) -> {
            Tensor buffer = statistics.get(name);
            if (buffer != null) buffer.copyFrom(value);
        }), Set.copyOf(variables));
    }

    /** For each value, the (node position in order, input slot) pairs that read it. */
    private static Map<String, List<int[]>> reads(OnnxGraph g) {
        Map<String, List<int[]>> reads = new HashMap<>();
        for (int i = 0; i < g.order().size(); i++) {
            List<String> ins = g.order().get(i).inputs();
            for (int slot = 0; slot < ins.size(); slot++) reads.computeIfAbsent(ins.get(slot), k -> new ArrayList<>()).add(new int[] {i, slot});
        }
        return reads;
    }

    private static boolean isStatistic(OnnxGraph g, int[] read) {
        OnnxNode n = g.order().get(read[0]);
        return n.opType().equals("BatchNormalization") && STATISTIC_INPUTS.contains(read[1]);
    }

    private static boolean isSetting(OnnxGraph g, int[] read) {
        OnnxNode n = g.order().get(read[0]);
        return SETTING_INPUTS.getOrDefault(n.opType(), Set.of()).contains(read[1]);
    }

    private static Set<String> valueNames(OnnxGraph g) {
        Set<String> names = new HashSet<>(g.initializers().keySet());
        for (OnnxValueInfo v : g.inputs()) names.add(v.name());
        for (OnnxNode n : g.order()) names.addAll(n.outputs());
        return names;
    }

    private static List<String> names(List<OnnxValueInfo> values) { return values.stream().map(OnnxValueInfo::name).toList(); }

    /** {@code *} any run of characters, {@code ?} one character, everything else literal (as {@link Module#freeze}). */
    private static Pattern globToRegex(String glob) {
        StringBuilder re = new StringBuilder();
        for (String part : glob.split("((?<=[*?])|(?=[*?]))")) {
            re.append(part.equals("*") ? ".*" : part.equals("?") ? "." : Pattern.quote(part));
        }
        return Pattern.compile(re.toString());
    }

    @Override protected String extraRepr() {
        OnnxGraph g = model.graph();
        return "graph='" + g.name() + "', nodes=" + g.order().size() + ", inputs=" + names(g.inputs()) + ", outputs=" + names(g.outputs());
    }
}
