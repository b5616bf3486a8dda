/**
 * The training half of the fine-tuning recipe.
 *
 * <ul>
 *   <li>{@link dev.ember.finetune.train.FineTuneConfig}: every setting, with defaults and withers;</li>
 *   <li>{@link dev.ember.finetune.train.TunableModel}: a model with its new head
 *       ({@link dev.ember.finetune.train.Heads} for Java Sequentials, {@code OnnxModule.replaceHead} for imports), its
 *       {@link dev.ember.finetune.train.BlockGroups} (units of gradual unfreezing and discriminative learning rates) and
 *       the source-task model for the forgetting monitor;</li>
 *   <li>{@link dev.ember.finetune.train.FineTuner}: the loop, checkpoints, resume, and the test / robustness / forgetting
 *       reports, giving a {@link dev.ember.finetune.train.FineTuneResult} of
 *       {@link dev.ember.finetune.train.EpochRecord}s and {@link dev.ember.finetune.train.ClassificationMetrics};</li>
 *   <li>{@link dev.ember.finetune.train.HyperSearch}: grid or random search on the validation set, then one retrain and
 *       one test;</li>
 *   <li>{@link dev.ember.finetune.train.Evaluation} and {@link dev.ember.finetune.train.Robustness}: scoring a model.</li>
 * </ul>
 *
 * <p>Order of use: load and split data ({@code dev.ember.finetune.data}), build a {@code TunableModel}, {@code new
 * FineTuner(config).run(model, train, val, test, outDir)}, hand the result to the report.
 */
package dev.ember.finetune.train;
