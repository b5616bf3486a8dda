/**
 * The data half of the fine-tuning recipe: loading, cleaning, splitting, augmenting and balancing labeled data.
 *
 * <p>Order of use:
 * <ol>
 *   <li>{@link dev.ember.finetune.data.DataSources#load} reads an IDX pair, an image folder or a CSV file into a
 *       {@link dev.ember.finetune.data.SampleSet} (images converted to an {@link dev.ember.finetune.data.ImageSpec},
 *       exact duplicates removed) with a {@link dev.ember.finetune.data.DataReport} of everything dropped or
 *       changed ({@link dev.ember.finetune.data.LoadOptions} for the label column and strict mode);</li>
 *   <li>{@link dev.ember.finetune.data.Splits#stratified} (or {@code withTestSet}) splits it into train,
 *       validation and test, class by class, for a seed;</li>
 *   <li>per epoch, a {@link dev.ember.finetune.data.Sampler} gives the order of the training samples (shuffle,
 *       oversample, undersample), and {@link dev.ember.finetune.data.ClassWeights} the per-class loss weights;</li>
 *   <li>per batch, {@link dev.ember.finetune.data.Augmentation#apply} (parsed from {@code --augment}) makes the
 *       augmented inputs; evaluation uses {@link dev.ember.finetune.data.Augmentation#forEvaluation()}.</li>
 * </ol>
 * Every random choice takes a {@link dev.ember.engine.Rng}, so a seed fixes the splits, the epoch orders and the
 * augmentations. Bad input is a {@link dev.ember.loaders.DataFormatException} (files) or an
 * {@link dev.ember.engine.EmberException} (specs, fractions), one line naming the problem.
 */
package dev.ember.finetune.data;
