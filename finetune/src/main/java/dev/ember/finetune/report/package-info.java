/**
 * The run's report: {@link dev.ember.finetune.report.ReportWriter} turns a
 * {@link dev.ember.finetune.train.FineTuneResult} into one self-contained {@code report.html} (inline CSS and SVG charts
 * drawn here, no scripts, no network). Escaping and number formats live in {@code Html}, the charts in {@code SvgChart}.
 */
package dev.ember.finetune.report;
