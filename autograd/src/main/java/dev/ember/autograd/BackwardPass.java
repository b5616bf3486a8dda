package dev.ember.autograd;

import dev.ember.engine.EmberException;
import dev.ember.engine.Storage;
import dev.ember.engine.Tensor;
import dev.ember.engine.TensorScope;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * One reverse-mode pass: orders the graph below the root so every variable comes after all its consumers, then
 * walks that order once, handing each node the summed gradient of its output and adding leaf gradients into
 * {@code grad}. Iterative throughout (an explicit stack, no recursion), so graphs thousands of ops deep work.
 * The order depends only on the graph, never on hash order, so a pass is deterministic.
 */
final class BackwardPass {
    private BackwardPass() {}

    static void run(Variable root, Tensor seed, Variable.LeafHook hook) {
        List<Variable> order = consumersFirst(root);
        // Inside a TensorScope, gradients this pass makes are released as soon as no pending gradient shares their
        // storage, and their arrays serve the rest of the pass: the step's peak holds the activations and the
        // gradients in flight, not every gradient. Views share a storage, so storages are counted, not tensors.
        int mark = TensorScope.mark();
        Map<Variable, Tensor> pending = new IdentityHashMap<>();   // gradients waiting for their variable's turn
        Map<Storage, Integer> holders = new IdentityHashMap<>();   // pending gradients per storage
        // A leaf is finished as soon as its last consumer has run, not at its place in the order: a weight that is its
        // op's first input comes last in a depth-first order, and its gradient would wait through the whole pass.
        Map<Variable, Integer> consumers = consumerCounts(order);
        pending.put(root, seed);
        hold(holders, seed);
        for (Variable v : order) {
            Tensor g = pending.remove(v);
            if (g != null) step(v, g, hook, pending, holders, consumers, mark);
        }
    }

    /** {@code v}'s turn: a leaf gets its gradient; an op's backward hands its inputs theirs. */
    private static void step(Variable v, Tensor g, Variable.LeafHook hook, Map<Variable, Tensor> pending, Map<Storage, Integer> holders,
                             Map<Variable, Integer> consumers, int mark) {
        Node node = v.node();
        if (node == null) {
            finishLeaf(v, g, hook, holders, mark);
            return;
        }
        Tensor[] inputGrads = node.backward().apply(g);
        Variable[] inputs = node.inputs();
        for (int i = 0; i < inputs.length; i++) {
            Variable in = inputs[i];
            if (in == null || !in.requiresGrad()) continue;
            Tensor gi = inputGrads[i];
            if (gi != null) {
                if (!gi.shape().equals(in.shape())) {
                    throw new EmberException("backward of " + node.op() + " gave input " + i + " a gradient of shape " + gi.shape()
                            + ", expected " + in.shape());
                }
                hold(holders, gi);
                Tensor before = pending.get(in);
                if (before == null) {
                    pending.put(in, gi);
                } else {
                    Tensor sum = before.add(gi);
                    pending.put(in, sum);
                    hold(holders, sum);
                    drop(holders, before, mark);
                    drop(holders, gi, mark);
                }
            }
            if (consumers.merge(in, -1, Integer::sum) == 0 && in.node() == null) {
                Tensor whole = pending.remove(in);
                if (whole != null) finishLeaf(in, whole, hook, holders, mark);
            }
        }
        drop(holders, g, mark);
    }

    /** Hands a leaf its whole gradient from this pass: to the hook, or kept in the leaf's {@code grad}. */
    private static void finishLeaf(Variable v, Tensor g, Variable.LeafHook hook, Map<Storage, Integer> holders, int mark) {
        if (hook != null && hook.take(v, g)) {
            drop(holders, g, mark);
        } else if (v.grad() == null && holders.getOrDefault(g.storage(), 0) == 1 && wholeStorage(g) && TensorScope.madeSince(g, mark)) {
            // a gradient this pass made and nothing else holds becomes the leaf's as it is: the copy cost a pass
            // over every parameter each step and a second array per parameter (resnet18: 45 MB)
            holders.remove(g.storage());
            v.adoptGrad(g);
        } else {
            v.accumulateGrad(g);   // copies or adds: the leaf's gradient never aliases g
            drop(holders, g, mark);
        }
    }

    /** For each variable in {@code order}, how many (op, input) uses of it the pass will run a backward for. */
    private static Map<Variable, Integer> consumerCounts(List<Variable> order) {
        Map<Variable, Integer> counts = new IdentityHashMap<>();
        for (Variable v : order) {
            Node node = v.node();
            if (node == null) continue;
            for (Variable in : node.inputs()) if (in != null && in.requiresGrad()) counts.merge(in, 1, Integer::sum);
        }
        return counts;
    }

    /** {@code t} is its storage, front to back: no view of a larger or shared array. */
    private static boolean wholeStorage(Tensor t) {
        return t.isContiguous() && t.offset() == 0 && t.storage().size() == t.numel();
    }

    private static void hold(Map<Storage, Integer> holders, Tensor t) { holders.merge(t.storage(), 1, Integer::sum); }

    /** One pending gradient over {@code t}'s storage fewer; the last one frees it if this pass made it. */
    private static void drop(Map<Storage, Integer> holders, Tensor t, int mark) {
        Storage s = t.storage();
        int n = holders.getOrDefault(s, 0);
        if (n > 1) {
            holders.put(s, n - 1);
        } else if (n == 1) {
            holders.remove(s);
            TensorScope.releaseIfMadeSince(t, mark);
        }
    }

    /**
     * Variables reachable from {@code root} through inputs that require a gradient, each after every variable
     * that consumes it: the reverse of a depth-first post-order, computed with an explicit stack.
     */
    private static List<Variable> consumersFirst(Variable root) {
        List<Variable> postOrder = new ArrayList<>();
        Map<Variable, Boolean> seen = new IdentityHashMap<>();
        List<Variable> stack = new ArrayList<>();
        List<Integer> nextInput = new ArrayList<>();   // per stack entry: the next input to visit
        stack.add(root);
        nextInput.add(0);
        seen.put(root, Boolean.TRUE);
        while (!stack.isEmpty()) {
            int top = stack.size() - 1;
            Variable v = stack.get(top);
            Node node = v.node();
            int i = nextInput.get(top);
            if (node != null && i < node.inputs().length) {
                nextInput.set(top, i + 1);
                Variable in = node.inputs()[i];
                if (in != null && in.requiresGrad() && seen.put(in, Boolean.TRUE) == null) {
                    stack.add(in);
                    nextInput.add(0);
                }
            } else {
                stack.remove(top);
                nextInput.remove(top);
                postOrder.add(v);
            }
        }
        List<Variable> order = new ArrayList<>(postOrder.size());
        for (int i = postOrder.size() - 1; i >= 0; i--) order.add(postOrder.get(i));
        return order;
    }
}
