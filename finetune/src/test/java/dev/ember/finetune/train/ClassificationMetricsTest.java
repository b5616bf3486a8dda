package dev.ember.finetune.train;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClassificationMetricsTest {
    @Test void metricsOfASmallConfusionMatrixByHand() {
        long[][] confusion = {{5, 1, 0}, {2, 3, 1}, {0, 0, 4}};   // [true][predicted]
        ClassificationMetrics m = ClassificationMetrics.of(0.5, confusion);
        // class 0: TP 5, FP 2, FN 1; class 1: TP 3, FP 1, FN 3; class 2: TP 4, FP 1, FN 0
        assertArrayEquals(new double[] {5.0 / 7, 3.0 / 4, 4.0 / 5}, m.precision(), 1e-12);
        assertArrayEquals(new double[] {5.0 / 6, 3.0 / 6, 4.0 / 4}, m.recall(), 1e-12);
        assertEquals((10.0 / 13 + 6.0 / 10 + 8.0 / 9) / 3, m.macroF1(), 1e-12);
        assertEquals(12.0 / 16, m.accuracy(), 1e-12);
        assertEquals(0.5, m.loss());
        assertEquals(16, m.samples());
    }

    @Test void aClassThatNeverOccursIsNaNAndLeftOutOfMacroF1() {
        long[][] confusion = {{2, 0, 0}, {0, 0, 0}, {1, 0, 1}};
        ClassificationMetrics m = ClassificationMetrics.of(Double.NaN, confusion);
        assertTrue(Double.isNaN(m.precision()[1]) && Double.isNaN(m.recall()[1]));
        assertEquals(2.0 / 3, m.precision()[0], 1e-12);
        assertEquals(0.5, m.recall()[2], 1e-12);
        assertEquals((4.0 / 5 + 2.0 / 3) / 2, m.macroF1(), 1e-12);   // F1 = 2TP / (2TP + FP + FN)
    }

    @Test void aClassPredictedButAbsentCountsAsZeroF1() {
        long[][] confusion = {{1, 1}, {0, 0}};
        ClassificationMetrics m = ClassificationMetrics.of(0, confusion);
        assertEquals(0.0, m.precision()[1]);
        assertTrue(Double.isNaN(m.recall()[1]));
        assertEquals((2.0 / 3 + 0) / 2, m.macroF1(), 1e-12);
    }
}
