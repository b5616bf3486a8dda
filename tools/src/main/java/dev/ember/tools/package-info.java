/**
 * Command-line entry points. {@link dev.ember.tools.TrainDemo} (run by {@code bin/demo}) trains the reference
 * MLP or CNN on Fashion-MNIST; the {@code finetune} launcher arrives with its issue.
 */
package dev.ember.tools;
