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

    static void run(Variable root, Tensor seed) {
        List<Variable> order = consumersFirst(root);
        // Inside a TensorScope, gradients this pass makes are released as soon as no pending gradient shares their
        // storage, and their arrays serve the rest of the pass: the step's peak holds the activations and the
        // gradients in flight, not every gradient. Views share a storage, so storages are counted, not tensors.
        int mark = TensorScope.mark();
        Map<Variable, Tensor> pending = new IdentityHashMap<>();   // gradients waiting for their variable's turn
        Map<Storage, Integer> holders = new IdentityHashMap<>();   // pending gradients per storage
        pending.put(root, seed);
        hold(holders, seed);
        for (Variable v : order) {
            Tensor g = pending.remove(v);
            if (g == null) continue;
            Node node = v.node();
            if (node == null) {
                if (v.grad() == null && holders.getOrDefault(g.storage(), 0) == 1 && wholeStorage(g) && TensorScope.madeSince(g, mark)) {
                    // a gradient this pass made and nothing else holds becomes the leaf's as it is: the copy cost a pass
                    // over every parameter each step and a second array per parameter (resnet18: 45 MB)
                    holders.remove(g.storage());
                    v.adoptGrad(g);
                    continue;
                }
                v.accumulateGrad(g);   // copies or adds: the leaf's gradient never aliases g
            } else {
                Tensor[] inputGrads = node.backward().apply(g);
                Variable[] inputs = node.inputs();
                for (int i = 0; i < inputs.length; i++) {
                    Variable in = inputs[i];
                    if (in == null || !in.requiresGrad() || inputGrads[i] == null) continue;
                    Tensor gi = inputGrads[i];
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
            }
            drop(holders, g, mark);
        }
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
