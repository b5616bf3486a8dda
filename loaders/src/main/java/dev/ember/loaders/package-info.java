/**
 * Loaders: reading data sets and (later) ONNX models and checkpoints. Every format error is a
 * {@link dev.ember.loaders.DataFormatException} naming the file and what was expected.
 */
package dev.ember.loaders;
