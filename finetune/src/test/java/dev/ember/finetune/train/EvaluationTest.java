package dev.ember.finetune.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ember.engine.BufferPool;
import dev.ember.engine.Rng;
import dev.ember.finetune.data.SampleSet;
import dev.ember.nn.Linear;
import dev.ember.nn.Module;
import dev.ember.nn.ReLU;
import dev.ember.nn.Sequential;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class EvaluationTest {
    @Test void batchesDrawFromTheGivenPoolAndASecondPassAllocatesNothingNew() {
        SampleSet val = Fixtures.blobs(8, 3, 20, 2);
        Rng rng = new Rng(3);
        Module model = new Sequential(new Linear(8, 200, rng), new ReLU(), new Linear(200, 3, rng));   // (16, 200): pooled sizes
        BufferPool pool = new BufferPool();
        ClassificationMetrics first = Evaluation.metrics(model, val.data(), 16, UnaryOperator.identity(), pool);
        long kept = pool.pooledFloats();
        assertTrue(kept > 0, "the batches gave their arrays back to the given pool");

        ClassificationMetrics second = Evaluation.metrics(model, val.data(), 16, UnaryOperator.identity(), pool);
        assertEquals(kept, pool.pooledFloats(), "the second pass took the first one's arrays instead of allocating");
        ClassificationMetrics threads = Evaluation.metrics(model, val.data(), 16);
        for (ClassificationMetrics m : new ClassificationMetrics[] {first, second}) {
            assertEquals(threads.loss(), m.loss());
            assertArrayEquals(threads.recall(), m.recall());
        }
    }
}
