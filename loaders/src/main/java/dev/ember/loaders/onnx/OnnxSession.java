package dev.ember.loaders.onnx;

import dev.ember.autograd.NoGrad;
import dev.ember.autograd.Variable;
import dev.ember.engine.BufferPool;
import dev.ember.engine.CpuStorage;
import dev.ember.engine.DType;
import dev.ember.engine.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs an {@link OnnxModel} on the engine. Order of use: create once per model (every node's op is resolved
 * here, and all unsupported ones are reported together), then {@link #run} as often as needed; a session holds
 * no per-run state, so runs on different threads do not interfere.
 *
 * <p>Execution follows {@link OnnxGraph#order()}; initializers are constants: the session marks their storage
 * {@linkplain dev.ember.engine.Storage#markConstant constant}, so a backend may keep them in the layout its kernels
 * want (the CPU backend packs convolution weights once, on their first run), and nothing may write to the model's
 * initializer tensors afterwards (unless the session was told they are variables: a training import's own). A value is dropped from the working
 * set right after its last reader ran, so intermediates can be collected while the rest of the graph runs; under
 * {@link #run} its array goes back to the session's {@link BufferPool} (unless a live value still shares it), where
 * the next step's output can take it, so that from the second run on the intermediates are not allocated again. The
 * session keeps those arrays between runs (about the intermediates of one run, for the shapes of its last few runs;
 * {@code -Dember.reuseBuffers=false} turns this off).
 * {@link #run} records no gradient graph; {@link #runVariables} does, and lets a caller put trainable parameters
 * in place of initializers (the training import).
 */
public final class OnnxSession {
    private final OnnxModel model;
    private final OnnxGraph graph;
    private final List<OnnxNode> order;        // the graph's order, a residual's producers swapped where that fuses better
    private final Map<String, Integer> lastUse;  // as OnnxGraph.lastUse, for this order
    private final OnnxOp[] ops;               // ops[step] runs order.get(step)
    private final int[] opsets;
    private final List<List<String>> dropAfter;  // values no step after this one reads
    private final List<List<String>> writes;     // where step's results go: its node's outputs, or its fused consumer's
    private final boolean[] fusedAway;           // a consumer step whose work its producer's fused op already did
    private final List<List<OnnxNode>> chains;   // the nodes a step's op runs: its own, or its fused chain's, and a paired sibling
    private final List<List<String>> extraInputs; // values a fused step reads past its node's inputs (a residual Add's other)
    private final Map<String, Variable> constants;
    /** Where run's intermediates go when they die, for later steps and runs to reuse; null when turned off. */
    private final BufferPool buffers = REUSE_BUFFERS ? new BufferPool() : null;

    static final boolean REUSE_BUFFERS = !"false".equals(System.getProperty("ember.reuseBuffers"));

    public OnnxSession(OnnxModel model, OpResolver resolver) { this(model, resolver, Set.of()); }

    /**
     * A session whose initializers named in {@code variables} change between runs (a training module's parameters and
     * statistics, which it binds through {@link #runVariables}): they are not marked constant, so no backend keeps a
     * form derived from their values. Every other initializer is a constant as usual.
     */
    public OnnxSession(OnnxModel model, OpResolver resolver, Set<String> variables) {
        this.model = model;
        this.graph = model.graph();
        this.order = residualProducersSwapped(graph.order(), resolver);
        this.lastUse = OnnxGraph.lastUses(order, graphOutputs());
        this.ops = new OnnxOp[order.size()];
        this.opsets = new int[order.size()];
        requireTensors();
        resolveAll(resolver);
        this.writes = new ArrayList<>();
        for (OnnxNode n : order) writes.add(n.outputs());
        this.fusedAway = new boolean[order.size()];
        this.extraInputs = new ArrayList<>();
        for (int i = 0; i < order.size(); i++) extraInputs.add(List.of());
        this.chains = new ArrayList<>();
        for (OnnxNode n : order) chains.add(List.of(n));
        fuse(resolver);
        pairSiblings(resolver);
        this.dropAfter = dropSchedule();
        this.constants = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : graph.initializers().entrySet()) {
            if (!variables.contains(e.getKey())) e.getValue().storage().markConstant();   // lets a backend keep weights packed for its kernels
            constants.put(e.getKey(), Variable.of(e.getValue()));
        }
    }

    public OnnxModel model() { return model; }

    /** The nodes' names in the order the session runs them (for tests). */
    List<String> executionOrder() {
        List<String> names = new ArrayList<>();
        for (OnnxNode n : order) names.add(n.name());
        return names;
    }

    /** The nodes whose work a fused op of an earlier node does (for tests). */
    List<String> fusedAwayNodes() {
        List<String> names = new ArrayList<>();
        for (int step = 0; step < order.size(); step++) if (fusedAway[step]) names.add(order.get(step).name());
        return names;
    }

    /**
     * Runs the graph without recording gradients. {@code inputs} maps every graph input name to a tensor of the
     * declared dtype and shape (named dims are free, but each name takes one size across all inputs). Returns the
     * graph outputs by name, in declaration order.
     */
    public Map<String, Tensor> run(Map<String, Tensor> inputs) { return run(inputs, null); }

    /**
     * {@link #run(Map)}, adding each step's wall time to {@code profile} (one of this session's, from
     * {@link #newProfile}; null: no timing) when the run ends.
     */
    public Map<String, Tensor> run(Map<String, Tensor> inputs, NodeProfile profile) {
        if (profile != null && !profile.belongsTo(this)) throw new IllegalArgumentException("the profile belongs to another session");
        Map<String, Variable> given = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : inputs.entrySet()) given.put(e.getKey(), Variable.of(e.getValue()));
        Map<String, Tensor> out = new LinkedHashMap<>();
        long[] stepNanos = profile == null ? null : new long[profile.size()];
        try (NoGrad _ = NoGrad.enter(); BufferPool.Lease lease = buffers == null ? null : buffers.open()) {
            for (Map.Entry<String, Variable> e : execute(given, Map.of(), lease, stepNanos).entrySet()) out.put(e.getKey(), e.getValue().data());
        }
        if (profile != null) profile.add(stepNanos);
        return out;
    }

    /** An empty profile of this session's steps, for {@link #run(Map, NodeProfile)}. */
    public NodeProfile newProfile() {
        List<List<OnnxNode>> nodes = new ArrayList<>();
        List<List<String>> outputs = new ArrayList<>();
        for (int step = 0; step < order.size(); step++) {
            if (fusedAway[step]) continue;
            nodes.add(chains.get(step));
            outputs.add(writes.get(step));
        }
        return new NodeProfile(this, nodes, outputs);
    }

    /**
     * Runs the graph with gradient recording as the caller's scope has it (no {@link NoGrad} is entered here).
     * {@code initializers} replaces initializers by name (e.g. by trainable parameters of the same shape); any
     * initializer not in it is used as the constant from the file.
     */
    public Map<String, Variable> runVariables(Map<String, Variable> inputs, Map<String, Variable> initializers) {
        return execute(inputs, initializers, null, null);   // a recorded graph may still read any value
    }

    /** The values dropped from the working set right after step {@code step} ran (for tests). */
    List<String> droppedAfter(int step) { return List.copyOf(dropAfter.get(step)); }

    // ---- creation ----

    /** Graph inputs and outputs must be tensors: the engine has no sequences, maps or optionals. */
    private void requireTensors() {
        for (OnnxValueInfo v : graph.inputs()) requireTensor("input", v);
        for (OnnxValueInfo v : graph.outputs()) requireTensor("output", v);
    }

    private void requireTensor(String role, OnnxValueInfo v) {
        if (v.kind() == OnnxValueInfo.Kind.TENSOR || v.kind() == OnnxValueInfo.Kind.UNDECLARED) return;
        String where = model.file() != null ? model.file() + ": " : "";
        throw new OnnxException(where + "graph " + role + " '" + v.name() + "' is a " + v.kind() + " value; only tensors are supported");
    }

    /** Resolves every node's op once; all problems are collected, then reported in one exception. */
    private void resolveAll(OpResolver resolver) {
        Map<String, String> problems = new LinkedHashMap<>();   // distinct problems, in order of first appearance
        Map<String, Integer> repeats = new HashMap<>();          // how many more nodes share each
        for (int step = 0; step < order.size(); step++) {
            OnnxNode node = order.get(step);
            String domain = OnnxModel.canonicalDomain(node.domain());
            String domainName = domain.isEmpty() ? "ai.onnx" : domain;
            int opset = model.opset(domain);
            String key, problem;
            if (opset == 0) {
                key = "domain " + domainName;
                problem = "op '" + node.opType() + "' at node '" + node.name() + "': the model imports no opset for domain '" + domainName + "'";
            } else {
                try {
                    ops[step] = resolver.resolve(node, opset);
                    opsets[step] = opset;
                    if (ops[step] != null) continue;
                    key = node.opType() + "/" + domainName + "/" + opset;
                    problem = "unsupported op '" + node.opType() + "' (domain " + domainName + ", opset " + opset + ") at node '" + node.name() + "'";
                } catch (OnnxException e) {
                    key = "node " + step;
                    problem = e.getMessage();
                }
            }
            if (problems.putIfAbsent(key, problem) != null) repeats.merge(key, 1, Integer::sum);
        }
        if (problems.isEmpty()) return;
        StringBuilder b = new StringBuilder(model.file() != null ? model.file() + ": " : "");
        b.append(problems.size() == 1 ? "a node cannot run: " : problems.size() + " kinds of node cannot run:");
        for (Map.Entry<String, String> e : problems.entrySet()) {
            int more = repeats.getOrDefault(e.getKey(), 0);
            b.append(problems.size() == 1 ? "" : "\n  ").append(e.getValue());
            if (more > 0) b.append(" (and ").append(more).append(more == 1 ? " more node)" : " more nodes)");
        }
        throw new OnnxException(b.toString());
    }

    /**
     * Chains a node with the node that reads its only output, and so on (Conv, Relu, MaxPool), as far as the resolver
     * has a fused op for the chain: the first node's step then runs the fused op and writes the last node's outputs,
     * the others' steps do nothing. Values and gradients are the same; only the intermediate values are never made.
     */
    private void fuse(OpResolver resolver) {
        Map<String, Integer> readers = OnnxGraph.readerCounts(order), producedAt = OnnxGraph.producedAt(order);
        for (int step = 0; step < order.size(); step++) {
            if (fusedAway[step]) continue;
            // grow a chain from this node while its last node's only output has one reader, whose only input it is
            // (or who reads one more value, made before this step: a residual Add), and the resolver has an op for the
            // longer chain (Conv, Relu, then MaxPool; Conv, Add, then Relu)
            List<OnnxNode> chain = new ArrayList<>(List.of(order.get(step)));
            List<Integer> absorbed = new ArrayList<>();
            List<String> sides = new ArrayList<>(), chainSides = List.of();
            OnnxOp fused = null;
            for (int last = step; order.get(last).outputs().size() == 1; ) {
                String value = order.get(last).outputs().get(0);
                int reader = lastUse.getOrDefault(value, -1);
                if (value.isEmpty() || reader <= last || reader == OnnxGraph.KEEP || readers.getOrDefault(value, 0) != 1) break;
                OnnxNode consumer = order.get(reader);
                if (fusedAway[reader]) break;
                String side = sideInput(consumer, value, step, producedAt);
                if (consumer.inputs().size() != 1 && (side == null || !sides.isEmpty())) break;
                chain.add(consumer);
                if (side != null) sides.add(side);
                OnnxOp longer = resolver.fuse(chain, opsets[step]);
                if (longer == null) break;
                fused = longer;
                chainSides = List.copyOf(sides);
                absorbed.add(reader);
                last = reader;
            }
            if (fused == null) continue;
            ops[step] = fused;
            chains.set(step, List.copyOf(chain.subList(0, absorbed.size() + 1)));
            writes.set(step, order.get(absorbed.getLast()).outputs());
            extraInputs.set(step, chainSides);
            for (int reader : absorbed) fusedAway[reader] = true;
        }
    }

    /**
     * Runs a node (or fused chain) and another node reading the same first input as one op where the resolver has one
     * ({@link OpResolver#fusePair}: a downsampling block's 3x3/2 conv and its 1x1/2 shortcut, one pass over their
     * input): at the first's step, which then also writes the other's outputs; the other's step does nothing. Only
     * where nothing reads those outputs before that step, the other node is not fused with anything, and its inputs
     * past the shared one are ready at that step and kept until it. Values and gradients are the same.
     */
    private void pairSiblings(OpResolver resolver) {
        Map<String, Integer> firstRead = new HashMap<>(), producedAt = OnnxGraph.producedAt(order);
        for (int step = 0; step < order.size(); step++) {
            if (fusedAway[step]) continue;
            for (String in : order.get(step).inputs()) if (!in.isEmpty()) firstRead.putIfAbsent(in, step);
            for (String in : extraInputs.get(step)) firstRead.putIfAbsent(in, step);
        }
        // a paired step has extra inputs and its partner is fused away: neither is taken again
        for (int step = 0; step < order.size(); step++) {
            OnnxNode head = order.get(step);
            if (fusedAway[step] || !extraInputs.get(step).isEmpty() || head.inputs().isEmpty() || head.inputs().get(0).isEmpty()) continue;
            for (int other = 0; other < order.size(); other++) {
                OnnxNode sibling = order.get(other);
                if (other == step || fusedAway[other] || chains.get(other).size() != 1 || !extraInputs.get(other).isEmpty()
                        || sibling.inputs().isEmpty() || !sibling.inputs().get(0).equals(head.inputs().get(0))) continue;
                // its other inputs (weights: initializers, or values an Identity made at the start, as torch exports
                // them) made before this step and not dropped before it
                boolean ready = true;
                for (String in : sibling.inputs().subList(1, sibling.inputs().size())) {
                    ready &= in.isEmpty() || graph.initializers().containsKey(in)
                            || producedAt.getOrDefault(in, -1) < step && lastUse.getOrDefault(in, -1) >= step;
                }
                for (String out : sibling.outputs()) ready &= out.isEmpty() || firstRead.getOrDefault(out, Integer.MAX_VALUE) > step;
                if (!ready) continue;
                OnnxOp pair = resolver.fusePair(chains.get(step), sibling, opsets[step]);
                if (pair == null) continue;
                ops[step] = pair;
                List<String> both = new ArrayList<>(writes.get(step));
                both.addAll(sibling.outputs());
                writes.set(step, List.copyOf(both));
                extraInputs.set(step, sibling.inputs());
                List<OnnxNode> runs = new ArrayList<>(chains.get(step));
                runs.add(sibling);
                chains.set(step, List.copyOf(runs));
                fusedAway[other] = true;
                break;
            }
        }
    }

    /**
     * {@code order} with, for each two-input node (a residual Add) whose inputs come from two nodes it alone reads, the
     * later producer moved to just before the earlier one where its inputs are ready by then and the earlier one is
     * the better head of a fusion with that node: the one doing more multiply-adds per output (its weight's dims past
     * the first), as both could fuse. {@link #fuse} then chains the earlier producer with the node, the other's output
     * being ready. resnet18's shortcut blocks: the 1x1/2 shortcut conv, after the 3x3 conv in the file, took the Add
     * (composed: no kernel adds in a 1x1 conv's pass); moved before it, the 3x3 conv takes it (Winograd adds it as its
     * output transform writes each row). Values are the same either way: each node still reads the same values.
     */
    private List<OnnxNode> residualProducersSwapped(List<OnnxNode> graphOrder, OpResolver resolver) {
        List<OnnxNode> out = new ArrayList<>(graphOrder);
        int opset = model.opset("");
        if (opset == 0) return out;
        Map<String, Integer> readers = OnnxGraph.readerCounts(out);
        Set<String> graphOutputs = graphOutputs();
        Map<String, Integer> producedAt = OnnxGraph.producedAt(out);
        for (int step = 0; step < out.size(); step++) {
            OnnxNode node = out.get(step);
            if (node.inputs().size() != 2 || node.inputs().get(0).equals(node.inputs().get(1))) continue;
            Integer a = producedAt.get(node.inputs().get(0)), b = producedAt.get(node.inputs().get(1));
            if (a == null || b == null) continue;   // a graph input or an initializer
            int early = Math.min(a, b), late = Math.max(a, b);
            OnnxNode first = out.get(early), second = out.get(late);
            boolean sole = true;
            for (OnnxNode p : List.of(first, second)) {
                String v = p.outputs().get(0);
                sole &= p.outputs().size() == 1 && readers.getOrDefault(v, 0) == 1 && !graphOutputs.contains(v);
            }
            boolean ready = true;
            for (String in : second.inputs()) ready &= in.isEmpty() || producedAt.getOrDefault(in, -1) < early;
            if (!sole || !ready || macsPerOutput(first) <= macsPerOutput(second)) continue;
            if (resolver.fuse(List.of(first, node), opset) == null || resolver.fuse(List.of(second, node), opset) == null) continue;
            out.remove(late);
            out.add(early, second);
            for (int i = early; i <= late; i++) for (String o : out.get(i).outputs()) if (!o.isEmpty()) producedAt.put(o, i);
        }
        return out;
    }

    private Set<String> graphOutputs() {
        Set<String> names = new HashSet<>();
        for (OnnxValueInfo o : graph.outputs()) names.add(o.name());
        return names;
    }

    /** Multiply-adds per output of a node with a weight initializer of rank 3 or more as its second input (a Conv); else 0. */
    private long macsPerOutput(OnnxNode node) {
        Tensor w = node.inputs().size() < 2 ? null : graph.initializers().get(node.inputs().get(1));
        if (w == null || w.rank() < 3 || w.dim(0) == 0) return 0;
        return w.shape().numel() / w.dim(0);
    }

    /**
     * The other input of a two-input consumer of {@code value} when it is ready at {@code step} (a graph input, an
     * initializer or an earlier step's output) and is not {@code value} itself; else null.
     */
    private static String sideInput(OnnxNode consumer, String value, int step, Map<String, Integer> producedAt) {
        if (consumer.inputs().size() != 2) return null;
        String a = consumer.inputs().get(0), b = consumer.inputs().get(1);
        String side = a.equals(value) ? b : b.equals(value) ? a : null;
        if (side == null || side.isEmpty() || side.equals(value)) return null;
        Integer at = producedAt.get(side);
        return at == null || at < step ? side : null;
    }

    /** For each step, the values it is the last reader of (graph outputs are never dropped); unread outputs too. */
    private List<List<String>> dropSchedule() {
        List<List<String>> drop = new ArrayList<>(order.size());
        for (int step = 0; step < order.size(); step++) {
            List<String> d = new ArrayList<>();
            OnnxNode node = order.get(step);
            for (String in : node.inputs()) if (!in.isEmpty() && lastUse.get(in) == step && !d.contains(in)) d.add(in);
            for (String out : node.outputs()) if (!out.isEmpty() && !lastUse.containsKey(out)) d.add(out);
            drop.add(d);
        }
        return drop;
    }

    // ---- execution ----

    /**
     * Runs every step; dead values' arrays go back to {@code lease} when it is not null; each step's wall time goes
     * to {@code stepNanos} (the steps not fused away, in order) when it is not null.
     */
    private Map<String, Variable> execute(Map<String, Variable> inputs, Map<String, Variable> initializers, BufferPool.Lease lease,
                                          long[] stepNanos) {
        Map<String, Variable> values = new HashMap<>(constants);
        for (Map.Entry<String, Variable> e : initializers.entrySet()) {
            Variable old = constants.get(e.getKey());
            if (old == null) throw new OnnxException("initializer '" + e.getKey() + "' does not exist in the graph");
            if (!old.shape().equals(e.getValue().shape())) {
                throw new OnnxException("initializer '" + e.getKey() + "': replacement has shape " + e.getValue().shape() + ", the graph's has " + old.shape());
            }
            values.put(e.getKey(), e.getValue());
        }
        bindInputs(inputs, values);

        for (int step = 0, timed = 0; step < order.size(); step++) {
            OnnxNode node = order.get(step);
            if (fusedAway[step]) {
                drop(dropAfter.get(step), values, lease);
                continue;
            }
            long start = stepNanos == null ? 0 : System.nanoTime();
            List<String> extra = extraInputs.get(step);
            Variable[] in = new Variable[node.inputs().size() + extra.size()];
            for (int j = 0; j < in.length; j++) {
                String name = j < node.inputs().size() ? node.inputs().get(j) : extra.get(j - node.inputs().size());
                if (name.isEmpty()) continue;
                in[j] = values.get(name);
                if (in[j] == null) throw new OnnxException(node.describe() + ": input '" + name + "' was not computed (an optional output its producer left out)");
            }
            Variable[] out;
            try {
                out = ops[step].apply(node, in, opsets[step]);
            } catch (OnnxException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new OnnxException(node.describe() + " failed: " + e, e);
            }
            if (out == null) throw new OnnxException(node.describe() + ": the op returned no outputs");
            List<String> names = writes.get(step);
            for (int j = 0; j < names.size() && j < out.length; j++) {
                String name = names.get(j);
                if (!name.isEmpty() && out[j] != null) values.put(name, out[j]);
            }
            drop(dropAfter.get(step), values, lease);
            if (stepNanos != null) stepNanos[timed++] = System.nanoTime() - start;
        }

        Map<String, Variable> result = new LinkedHashMap<>();
        for (OnnxValueInfo o : graph.outputs()) {
            Variable v = values.get(o.name());
            if (v == null) throw new OnnxException("graph output '" + o.name() + "' was not computed");
            result.put(o.name(), v);
        }
        return result;
    }

    /**
     * Removes the {@code dead} values from the working set and gives their arrays back to {@code lease}: only arrays
     * the lease handed out during this run (never an input, a weight or a constant), and only when no live value is
     * a view of the same array (a Reshape of it, say).
     */
    private static void drop(List<String> dead, Map<String, Variable> values, BufferPool.Lease lease) {
        if (lease == null) {
            for (String name : dead) values.remove(name);
            return;
        }
        List<float[]> freed = new ArrayList<>(dead.size());
        for (String name : dead) {
            float[] a = floatsOf(values.remove(name));
            if (a != null && lease.handedOut(a) && !containsSame(freed, a)) freed.add(a);
        }
        if (freed.isEmpty()) return;
        for (Variable live : values.values()) {
            float[] a = floatsOf(live);
            if (a != null) freed.removeIf(f -> f == a);
        }
        for (float[] a : freed) lease.giveBack(a);
    }

    private static float[] floatsOf(Variable v) {
        if (v == null || !(v.data().storage() instanceof CpuStorage s) || s.dtype() != DType.FLOAT32) return null;
        return s.floats();
    }

    private static boolean containsSame(List<float[]> arrays, float[] a) {
        for (float[] b : arrays) if (b == a) return true;
        return false;
    }

    /** Checks {@code inputs} against the declared graph inputs and puts them into {@code values}. */
    private void bindInputs(Map<String, Variable> inputs, Map<String, Variable> values) {
        Map<String, OnnxValueInfo> declared = new LinkedHashMap<>();
        for (OnnxValueInfo v : graph.inputs()) declared.put(v.name(), v);
        for (String name : inputs.keySet()) {
            if (!declared.containsKey(name)) throw new OnnxException("'" + name + "' is not an input of the graph; its inputs are " + declared.keySet());
        }
        Map<String, Integer> namedDims = new HashMap<>();   // "batch" -> the size the first input gave it
        for (OnnxValueInfo info : declared.values()) {
            Variable v = inputs.get(info.name());
            if (v == null) throw new OnnxException("input '" + info.name() + "' (" + info.describe() + ") is missing");
            check(info, v.data(), namedDims);
            values.put(info.name(), v);
        }
    }

    private static void check(OnnxValueInfo info, Tensor t, Map<String, Integer> namedDims) {
        String what = "input '" + info.name() + "': expected " + info.describe() + ", got " + t.dtype().name().toLowerCase() + " " + t.shape();
        if (info.elemType() != 0) {
            DType want = info.dtype();
            if (want == null) throw new OnnxException("input '" + info.name() + "' is declared " + info.describe() + ", an element type ember does not support");
            if (t.dtype() != want) throw new OnnxException(what + " (" + OnnxTensors.typeName(info.elemType()) + " loads as " + want.name().toLowerCase() + ")");
        }
        if (!info.hasShape()) return;
        if (t.rank() != info.shape().size()) throw new OnnxException(what + ": rank " + t.rank() + " instead of " + info.shape().size());
        for (int axis = 0; axis < t.rank(); axis++) {
            OnnxValueInfo.Dim d = info.shape().get(axis);
            int size = t.dim(axis);
            if (d.isFixed() && d.value() != size) throw new OnnxException(what + ": axis " + axis + " is " + size + ", expected " + d.value());
            if (d.param() != null) {
                Integer bound = namedDims.putIfAbsent(d.param(), size);
                if (bound != null && bound != size) {
                    throw new OnnxException(what + ": axis " + axis + " ('" + d.param() + "') is " + size + ", but an earlier input set '" + d.param() + "' to " + bound);
                }
            }
        }
    }
}
