package dev.ember.loaders.onnx.ops;

import dev.ember.autograd.Variable;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxException;
import dev.ember.loaders.onnx.OnnxNode;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.ember.loaders.onnx.ops.ElementwiseOps.one;

/**
 * TfIdfVectorizer over integer tokens (string pools are not supported): counts, per row of X (N, C) or the 1-D X,
 * the n-grams of the pool (min_gram_length <= n <= max_gram_length, tokens up to max_skip_count apart; a unigram
 * once per position), then reports TF (counts), IDF (weight where seen) or TFIDF (count x weight) in the column
 * ngram_indexes gives each pool n-gram.
 */
final class TfIdfVectorizerOp {
    private TfIdfVectorizerOp() {}

    static void register(OpTable t) {
        t.add("TfIdfVectorizer", 9, (n, in, v) -> one(tfIdf(n, Args.in(n, in, 0))));
    }

    static Variable tfIdf(OnnxNode node, Variable x) {
        if (node.has("pool_strings")) throw new OnnxUnsupportedException(node.describe() + ": string pools are not supported");
        int minN = (int) node.attrInt("min_gram_length"), maxN = (int) node.attrInt("max_gram_length"), maxSkip = (int) node.attrInt("max_skip_count");
        String mode = node.attrString("mode", "TF");
        long[] pool = node.attrInts("pool_int64s", new long[0]), counts = node.attrInts("ngram_counts", new long[0]);
        long[] columns = node.attrInts("ngram_indexes", new long[0]);
        float[] weights = node.attrFloats("weights", null);
        if (minN < 1 || maxN < minN || maxSkip < 0) throw new OnnxException(node.describe() + ": invalid gram lengths or skip count");
        Map<List<Long>, Integer> grams = new HashMap<>();   // pool n-gram -> its position in the pool (and in ngram_indexes)
        int position = 0;
        for (int g = 0; g < counts.length; g++) {
            int n = g + 1, from = (int) counts[g], to = g + 1 < counts.length ? (int) counts[g + 1] : pool.length;
            if (from < 0 || to > pool.length || from > to || (to - from) % n != 0) throw new OnnxException(node.describe() + ": ngram_counts do not split the pool");
            for (int at = from; at < to; at += n) grams.put(toList(Arrays.copyOfRange(pool, at, at + n)), position++);
        }
        if (columns.length != position) throw new OnnxException(node.describe() + ": ngram_indexes has " + columns.length + " entries for " + position + " pool n-grams");
        int width = (int) Arrays.stream(columns).max().orElse(-1) + 1;
        long[] tokens = Args.longs(node, x, "X");
        int rows = x.rank() == 2 ? x.dim(0) : 1, length = x.rank() == 2 ? x.dim(1) : x.shape().numel();
        float[] y = new float[rows * width];
        for (int row = 0; row < rows; row++) {
            for (int start = 0; start < length; start++) {
                for (int skip = 0; skip <= maxSkip; skip++) {
                    for (int n = Math.max(minN, skip == 0 ? 1 : 2); n <= maxN; n++) {   // a unigram ignores the skip: count it once
                        int last = start + (n - 1) * (skip + 1);
                        if (last >= length) break;
                        long[] gram = new long[n];
                        for (int j = 0; j < n; j++) gram[j] = tokens[row * length + start + j * (skip + 1)];
                        Integer at = grams.get(toList(gram));
                        if (at != null) y[row * width + (int) columns[at]] += 1;
                    }
                }
            }
        }
        for (int row = 0; row < rows; row++) {
            for (int at = 0; at < position; at++) {
                int k = row * width + (int) columns[at];
                float w = weights == null ? 1f : weights[at];
                y[k] = switch (mode) {
                    case "TF" -> y[k];
                    case "IDF" -> y[k] > 0 ? w : 0;
                    case "TFIDF" -> y[k] * w;
                    default -> throw new OnnxException(node.describe() + ": mode must be TF, IDF or TFIDF, got '" + mode + "'");
                };
            }
        }
        return Variable.of(x.rank() == 2 ? Tensor.of(y, rows, width) : Tensor.of(y, width));
    }

    private static List<Long> toList(long[] a) { return Arrays.stream(a).boxed().toList(); }
}
