package dev.ember.loaders.onnx.ops;

import dev.ember.autograd.Variable;
import dev.ember.engine.DType;
import dev.ember.loaders.onnx.OnnxException;
import dev.ember.loaders.onnx.OnnxNode;

import java.util.ArrayList;
import java.util.List;

import static dev.ember.loaders.onnx.ops.ElementwiseOps.one;

/** MatMul (NumPy semantics) and Gemm (alpha op(A) op(B) + beta C) over autograd's matmul; Einsum and Det on the host. */
final class MatrixOps {
    private MatrixOps() {}

    static void register(OpTable t) {
        t.add("MatMul", 1, (n, in, v) -> {
            Variable a = Args.in(n, in, 0), b = Args.in(n, in, 1);
            requireFloat(n, a, b);
            return one(a.matmul(b));
        });
        t.add("Gemm", 1, (n, in, v) -> one(gemm(n, Args.in(n, in, 0), Args.in(n, in, 1), Args.opt(in, 2))));
        t.add("Einsum", 12, (n, in, v) -> one(einsum(n, in)));
        t.add("Det", 11, (n, in, v) -> one(det(n, Args.in(n, in, 0))));
    }

    /**
     * Gemm followed by Relu, fused by {@link OnnxOps#resolver()} ({@code node} is the Gemm, the result the Relu's):
     * the bias and the ReLU in one pass ({@code F.addRelu}) where C is added as it is (beta 1), else the two ops.
     */
    static Variable[] gemmRelu(OnnxNode node, Variable[] in, int opset) {
        Variable c = Args.opt(in, 2);
        if (c == null || node.attrFloat("beta", 1f) != 1f || c.data().dtype() != DType.FLOAT32) {
            return one(ActivationOps.relu(node, gemm(node, Args.in(node, in, 0), Args.in(node, in, 1), c)));
        }
        return one(dev.ember.autograd.F.addRelu(gemm(node, Args.in(node, in, 0), Args.in(node, in, 1), null), c));
    }

    /** y (M, N) = alpha op(A) op(B) + beta C, op transposing when transA/transB; C broadcasts to (M, N). */
    static Variable gemm(OnnxNode node, Variable a, Variable b, Variable c) {
        requireFloat(node, a, b);
        if (a.rank() != 2 || b.rank() != 2) throw new OnnxException(node.describe() + ": A and B must be 2-D, got " + a.shape() + " and " + b.shape());
        float alpha = node.attrFloat("alpha", 1f), beta = node.attrFloat("beta", 1f);
        Variable opA = node.attrInt("transA", 0) != 0 ? a.transpose(0, 1) : a;   // opA (M, K)
        Variable opB = node.attrInt("transB", 0) != 0 ? b.transpose(0, 1) : b;   // opB (K, N)
        if (opA.dim(1) != opB.dim(0)) throw new OnnxException(node.describe() + ": inner sizes differ: op(A) " + opA.shape() + ", op(B) " + opB.shape());
        Variable y = opA.matmul(opB);   // y (M, N)
        if (alpha != 1f) y = y.mul(alpha);
        if (c != null && beta != 0f) {
            Args.requireFloat(node, c, "C");
            y = y.add(beta == 1f ? c : c.mul(beta));
        }
        return y;
    }

    /**
     * Einsum by direct summation on the host: every combination of the equation's letters is visited once, so the
     * cost is the product of all letter sizes (fine for the small contractions models use it for). "..." stands for
     * the same leading axes in every operand; without "->" the output is the letters used once, sorted.
     */
    static Variable einsum(OnnxNode node, Variable[] in) {
        for (Variable v : in) Grad.refuse(node, v);
        String eq = node.attrString("equation", "").replace(" ", "");
        String lhs = eq.contains("->") ? eq.substring(0, eq.indexOf("->")) : eq;
        String[] terms = lhs.split(",", -1);
        if (terms.length != in.length) throw new OnnxException(node.describe() + ": equation '" + eq + "' has " + terms.length + " operands, the node " + in.length);
        int ellipsisRank = 0;
        for (int i = 0; i < terms.length; i++) {
            if (terms[i].contains("...")) ellipsisRank = Math.max(ellipsisRank, in[i].rank() - (terms[i].length() - 3));
        }
        String dots = "";
        for (int i = 0; i < ellipsisRank; i++) dots += (char) ('A' + i);   // upper-case letters stand for the "..." axes
        java.util.Map<Character, Integer> size = new java.util.LinkedHashMap<>();
        java.util.Map<Character, Integer> uses = new java.util.HashMap<>();
        for (int i = 0; i < terms.length; i++) {
            String term = terms[i].contains("...") ? terms[i].replace("...", dots.substring(ellipsisRank - (in[i].rank() - (terms[i].length() - 3)))) : terms[i];
            terms[i] = term;
            if (term.length() != in[i].rank()) throw new OnnxException(node.describe() + ": term '" + term + "' does not match operand " + i + " " + in[i].shape());
            for (int k = 0; k < term.length(); k++) {
                char c = term.charAt(k);
                int d = in[i].dim(k);
                Integer had = size.putIfAbsent(c, d);
                if (had != null && had != d && had != 1 && d != 1) throw new OnnxException(node.describe() + ": letter '" + c + "' has sizes " + had + " and " + d);
                if (had != null && had == 1) size.put(c, d);
                uses.merge(c, 1, Integer::sum);
            }
        }
        String out;
        if (eq.contains("->")) {
            out = eq.substring(eq.indexOf("->") + 2).replace("...", dots);
        } else {
            StringBuilder o = new StringBuilder(dots);
            size.keySet().stream().filter(c -> Character.isLowerCase(c) && uses.get(c) == 1).sorted().forEach(o::append);
            out = o.toString();
        }
        List<Character> letters = new ArrayList<>(size.keySet());
        int[] outDims = new int[out.length()];
        for (int k = 0; k < outDims.length; k++) outDims[k] = size.get(out.charAt(k));
        double[][] data = new double[in.length][];
        int[][] strides = new int[in.length][];   // strides[i][letter]: operand i's stride for that letter (0 when absent or broadcast)
        for (int i = 0; i < in.length; i++) {
            data[i] = Host.doubles(in[i].data());
            int[] cs = in[i].shape().contiguousStrides();
            strides[i] = new int[letters.size()];
            for (int k = 0; k < terms[i].length(); k++) {
                if (in[i].dim(k) != 1) strides[i][letters.indexOf(terms[i].charAt(k))] += cs[k];
            }
        }
        int[] outStride = new int[letters.size()];
        int[] ocs = dev.ember.engine.Shape.of(outDims).contiguousStrides();
        for (int k = 0; k < out.length(); k++) outStride[letters.indexOf(out.charAt(k))] = ocs[k];
        double[] y = new double[dev.ember.engine.Shape.of(outDims).numel()];
        int[] pos = new int[letters.size()];
        long total = 1;
        for (char c : letters) total *= size.get(c);
        for (long step = 0; step < total; step++) {
            double prod = 1;
            int at = 0;
            for (int i = 0; i < in.length; i++) {
                int off = 0;
                for (int k = 0; k < pos.length; k++) off += pos[k] * strides[i][k];
                prod *= data[i][off];
            }
            for (int k = 0; k < pos.length; k++) at += pos[k] * outStride[k];
            y[at] += prod;
            for (int k = pos.length - 1; k >= 0; k--) {
                if (++pos[k] < size.get(letters.get(k))) break;
                pos[k] = 0;
            }
        }
        return Variable.of(Host.fromDoubles(in[0].data().dtype(), outDims, y));
    }

    /** Determinant of each (n, n) matrix of x (..., n, n), by LU decomposition with partial pivoting. */
    static Variable det(OnnxNode node, Variable x) {
        Grad.refuse(node, x);
        int r = x.rank();
        if (r < 2 || x.dim(-1) != x.dim(-2)) throw new OnnxException(node.describe() + ": input must be (..., n, n), got " + x.shape());
        int n = x.dim(-1), count = x.shape().numel() / Math.max(n * n, 1);
        double[] v = Host.doubles(x.data()), y = new double[count];
        for (int m = 0; m < count; m++) {
            double[] a = java.util.Arrays.copyOfRange(v, m * n * n, (m + 1) * n * n);
            double det = 1;
            for (int col = 0; col < n; col++) {
                int pivot = col;
                for (int row = col + 1; row < n; row++) if (Math.abs(a[row * n + col]) > Math.abs(a[pivot * n + col])) pivot = row;
                if (a[pivot * n + col] == 0) { det = 0; break; }
                if (pivot != col) {
                    for (int k = 0; k < n; k++) { double t = a[col * n + k]; a[col * n + k] = a[pivot * n + k]; a[pivot * n + k] = t; }
                    det = -det;
                }
                det *= a[col * n + col];
                for (int row = col + 1; row < n; row++) {
                    double f = a[row * n + col] / a[col * n + col];
                    for (int k = col; k < n; k++) a[row * n + k] -= f * a[col * n + k];
                }
            }
            y[m] = det;
        }
        return Variable.of(Host.fromDoubles(x.data().dtype(), java.util.Arrays.copyOf(x.shape().dims(), r - 2), y));
    }

    private static void requireFloat(OnnxNode node, Variable a, Variable b) {
        if (a.data().dtype() != DType.FLOAT32 || b.data().dtype() != DType.FLOAT32) {
            throw new OnnxUnsupportedException(node.describe() + ": only float32 matrix products are supported, got "
                    + a.data().dtype() + " and " + b.data().dtype());
        }
    }
}
