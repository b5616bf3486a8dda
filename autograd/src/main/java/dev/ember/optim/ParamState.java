package dev.ember.optim;

import dev.ember.engine.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/** What an optimizer remembers about one parameter: named buffers shaped like it, and how many steps it took. */
final class ParamState {
    long step;
    final Map<String, Tensor> buffers = new LinkedHashMap<>();
}
