package dev.ember.autograd;

import static dev.ember.autograd.GradCheck.check;
import static dev.ember.autograd.Inputs.uniform;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ember.engine.ShapeException;
import dev.ember.engine.Tensor;
import org.junit.jupiter.api.Test;

class CatIndexSelectTest {
    @Test
    void catValuesAndGradients() {
        Tensor a = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2), b = Tensor.of(new float[] {5, 6}, 2, 1);
        Variable y = Variable.cat(1, Variable.of(a), Variable.of(b));
        assertArrayEquals(new float[] {1, 2, 5, 3, 4, 6}, y.data().toFloatArray());
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, Variable.cat(0, Variable.of(a), Variable.of(Tensor.of(new float[] {5, 6}, 1, 2))).data().toFloatArray());
        check(v -> Variable.cat(1, v[0], v[1], v[2]), uniform(1, -1, 1, 2, 3, 2), uniform(2, -1, 1, 2, 1, 2), uniform(3, -1, 1, 2, 4, 2));
        check(v -> Variable.cat(0, v[0], v[1].permute(1, 0)), uniform(4, -1, 1, 2, 3), uniform(5, -1, 1, 3, 4));
        assertThrows(ShapeException.class, () -> Variable.cat(0, Variable.of(a), Variable.of(b)));
    }

    @Test
    void indexSelectValuesAndGradients() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 3, 2);
        assertArrayEquals(new float[] {5, 6, 1, 2, 5, 6}, Variable.of(x).indexSelect(0, 2, 0, 2).data().toFloatArray());
        assertArrayEquals(new float[] {2, 1, 4, 3, 6, 5}, Variable.of(x).indexSelect(1, 1, 0).data().toFloatArray());
        check(v -> v[0].indexSelect(0, 2, 0, 2, 1), uniform(6, -1, 1, 3, 4));     // a repeated index adds up
        check(v -> v[0].indexSelect(2, 1, 1, 0), uniform(7, -1, 1, 2, 3, 2));
        Variable p = Variable.param(x);
        p.indexSelect(0, 1, 1).sum().backward();
        assertArrayEquals(new float[] {0, 0, 2, 2, 0, 0}, p.grad().toFloatArray());
        assertThrows(ShapeException.class, () -> Variable.of(x).indexSelect(0, 3));
    }
}
