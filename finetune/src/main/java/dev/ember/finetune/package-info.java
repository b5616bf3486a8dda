/**
 * The fine-tuning recipe (freezing and gradual unfreezing, augmentation, class balance, validation, reports).
 * Arrives with its own issue; the module exists now so the dependency chain
 * engine &lt;- kernels &lt;- autograd &lt;- loaders &lt;- finetune &lt;- tools is fixed from the start.
 */
package dev.ember.finetune;
