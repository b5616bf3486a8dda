/**
 * Checkpoints on disk. {@link dev.ember.loaders.checkpoint.SafeTensors} reads and writes named tensors in the
 * safetensors format; {@link dev.ember.loaders.checkpoint.TrainingCheckpoint} puts a model, its optimizer and the
 * training state (step, epoch, Rng states) in one such file so a run resumes bit for bit;
 * {@link dev.ember.loaders.checkpoint.AtomicFile} is how every file here is written (temporary file, fsync, rename,
 * fsync of the folder). Reading is defensive: every malformed input is a
 * {@link dev.ember.loaders.DataFormatException} naming the file and the tensor.
 */
package dev.ember.loaders.checkpoint;
