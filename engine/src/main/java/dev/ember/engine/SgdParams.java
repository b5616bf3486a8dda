package dev.ember.engine;

/**
 * One SGD step, PyTorch's rule: g' = g + wd*p; buf = momentum*buf + (1-dampening)*g' (buf = g' on the first step);
 * d = nesterov ? g' + momentum*buf : buf; p -= lr*d. With momentum 0 the buffer is unused.
 */
public record SgdParams(float lr, float momentum, float dampening, float weightDecay, boolean nesterov, boolean firstStep) {}
