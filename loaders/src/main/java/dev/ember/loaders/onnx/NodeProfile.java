package dev.ember.loaders.onnx;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * Where an {@link OnnxSession}'s inference time goes, step by step: the wall time of each step summed over the runs
 * given this profile ({@link OnnxSession#run(java.util.Map, NodeProfile)}), as ONNX Runtime's profiler reports its
 * kernels. A step is one node, or what the session runs as one op: a fused chain (Conv, Add, Relu) or a pair of
 * siblings reading the same input (a 3x3/2 conv and its 1x1/2 shortcut); its time is theirs together, and the nodes
 * it absorbed have no step of their own. Made by {@link OnnxSession#newProfile}; only for that session.
 *
 * <p>Timing costs two clock reads a step (~50 ns); a run without a profile reads no clock. A run adds its times when it
 * ends, so runs on several threads may share one profile; a run that fails adds nothing.
 */
public final class NodeProfile {
    /**
     * One step of the session, in the order it runs.
     *
     * @param nodes   the nodes the step runs (names as the file gives them; a node without a name shows as its op type)
     * @param opTypes their op types, in the same order
     * @param outputs the values the step leaves (a fused chain's: its last node's)
     * @param runs    runs timed
     * @param nanos   their summed wall time
     */
    public record Step(List<String> nodes, List<String> opTypes, List<String> outputs, long runs, long nanos) {
        public Step {
            nodes = List.copyOf(nodes);
            opTypes = List.copyOf(opTypes);
            outputs = List.copyOf(outputs);
        }

        /** Mean time per run in microseconds (NaN before any run). */
        public double meanMicros() { return runs == 0 ? Double.NaN : nanos / 1e3 / runs; }

        /** "Conv+Relu", the op types joined. */
        public String ops() { return String.join("+", opTypes); }
    }

    private final OnnxSession session;
    private final List<Step> empty;   // each timed step with no run yet: what it runs, fixed by the session
    private final long[] nanos;
    private long runs;

    NodeProfile(OnnxSession session, List<List<OnnxNode>> nodes, List<List<String>> outputs) {
        this.session = session;
        List<Step> steps = new ArrayList<>(nodes.size());
        for (int i = 0; i < nodes.size(); i++) {
            List<String> names = new ArrayList<>(), types = new ArrayList<>();
            for (OnnxNode n : nodes.get(i)) {
                names.add(n.name().isEmpty() ? n.opType() : n.name());
                types.add(n.opType());
            }
            steps.add(new Step(names, types, outputs.get(i), 0, 0));
        }
        this.empty = List.copyOf(steps);
        this.nanos = new long[steps.size()];
    }

    /** Adds one run's step times (indexed as {@link #steps}). */
    synchronized void add(long[] stepNanos) {
        for (int i = 0; i < nanos.length; i++) nanos[i] += stepNanos[i];
        runs++;
    }

    boolean belongsTo(OnnxSession s) { return s == session; }

    int size() { return nanos.length; }

    /** Runs added so far. */
    public synchronized long runs() { return runs; }

    /** Every step in the order the session runs them, with its summed time so far. */
    public synchronized List<Step> steps() {
        List<Step> out = new ArrayList<>(nanos.length);
        for (int i = 0; i < nanos.length; i++) {
            Step e = empty.get(i);
            out.add(new Step(e.nodes(), e.opTypes(), e.outputs(), runs, nanos[i]));
        }
        return out;
    }

    /** Forgets every run (after a warm-up, say). */
    public synchronized void reset() {
        Arrays.fill(nanos, 0);
        runs = 0;
    }

    /**
     * A plain-text table: each step's mean µs per run, its share of the steps' total, ops and nodes, in run order,
     * then the ten slowest.
     */
    @Override public String toString() {
        List<Step> steps = steps();
        double total = 0;
        for (Step s : steps) total += s.runs() == 0 ? 0 : s.meanMicros();
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%d runs, steps' mean total %.1f us%n", runs(), total));
        for (Step s : steps) b.append(line(s, total));
        List<Step> slowest = new ArrayList<>(steps);
        slowest.sort(Comparator.comparingLong(Step::nanos).reversed());
        b.append("slowest:\n");
        for (Step s : slowest.subList(0, Math.min(10, slowest.size()))) b.append(line(s, total));
        return b.toString();
    }

    private static String line(Step s, double total) {
        double us = s.runs() == 0 ? 0 : s.meanMicros();
        return String.format(Locale.ROOT, "%10.1f us %5.1f%%  %-24s %s%n", us, total == 0 ? 0 : 100 * us / total, s.ops(), String.join(" + ", s.nodes()));
    }
}
