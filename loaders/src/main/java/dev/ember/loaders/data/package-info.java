/**
 * Labeled data sets: {@link dev.ember.loaders.data.Idx} (MNIST-style IDX files, plain or gzip),
 * {@link dev.ember.loaders.data.FashionMnist}, NumPy {@link dev.ember.loaders.data.Npy} files, the in-memory {@link dev.ember.loaders.data.LabeledData}
 * and the seeded mini-batch {@link dev.ember.loaders.data.DataLoader}.
 */
package dev.ember.loaders.data;
