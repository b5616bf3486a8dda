/**
 * Command-line entry points. {@link dev.ember.tools.Finetune} (run by {@code bin/finetune}; the jar's main class) is
 * the fine-tuning launcher, with an embedded demo when run without arguments; {@link dev.ember.tools.TrainDemo}
 * (run by {@code bin/demo}) trains the reference MLP or CNN on Fashion-MNIST from scratch.
 */
package dev.ember.tools;
