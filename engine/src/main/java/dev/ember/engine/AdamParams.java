package dev.ember.engine;

/**
 * One Adam/AdamW step ({@code step} counts from 1). Adam adds wd*p to the gradient; AdamW ({@code decoupled})
 * multiplies p by (1 - lr*wd) first. Then m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
 * p -= lr * (m / (1-b1^step)) / (sqrt(v / (1-b2^step)) + eps).
 */
public record AdamParams(float lr, float beta1, float beta2, float eps, float weightDecay, boolean decoupled, int step) {}
