package dev.ember.finetune.train;

import java.util.List;
import java.util.Locale;

/**
 * One {@code metrics.jsonl} line per epoch, written by hand (the format is flat and small): numbers as Java prints
 * doubles (shortest round-trip form), NaN and infinities as {@code null}.
 * <pre>
 * {"epoch":1,"train_loss":0.61,"train_accuracy":0.78,"val_loss":0.52,"val_accuracy":0.81,"val_macro_f1":0.8,
 *  "val_precision":[...],"val_recall":[...],"val_confusion":[[...],...],"lrs":[...],"trainable_groups":["..."],"seconds":1.9}
 * </pre>
 */
final class MetricsJson {
    private MetricsJson() {}

    static String line(EpochRecord r) {
        ClassificationMetrics v = r.validation();
        StringBuilder b = new StringBuilder("{");
        b.append("\"epoch\":").append(r.epoch());
        field(b, "train_loss").append(number(r.trainLoss()));
        field(b, "train_accuracy").append(number(r.trainAccuracy()));
        field(b, "val_loss").append(number(v.loss()));
        field(b, "val_accuracy").append(number(v.accuracy()));
        field(b, "val_macro_f1").append(number(v.macroF1()));
        field(b, "val_precision").append(array(v.precision()));
        field(b, "val_recall").append(array(v.recall()));
        field(b, "val_confusion").append('[');
        for (int t = 0; t < v.confusion().length; t++) {
            if (t > 0) b.append(',');
            b.append('[');
            for (int p = 0; p < v.confusion()[t].length; p++) b.append(p > 0 ? "," : "").append(v.confusion()[t][p]);
            b.append(']');
        }
        b.append(']');
        field(b, "lrs").append(array(r.groupLrs()));
        field(b, "trainable_groups").append(strings(r.trainableGroups()));
        field(b, "seconds").append(number(r.seconds()));
        return b.append('}').toString();
    }

    private static StringBuilder field(StringBuilder b, String name) { return b.append(",\"").append(name).append("\":"); }

    static String number(double v) {
        if (!Double.isFinite(v)) return "null";
        if (v == Math.rint(v) && Math.abs(v) < 1e15) return String.format(Locale.ROOT, "%.1f", v);
        return Double.toString(v).replace('E', 'e');
    }

    private static String array(double[] values) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < values.length; i++) b.append(i > 0 ? "," : "").append(number(values[i]));
        return b.append(']').toString();
    }

    private static String strings(List<String> values) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < values.size(); i++) b.append(i > 0 ? "," : "").append(quote(values.get(i)));
        return b.append(']').toString();
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        return b.append('"').toString();
    }
}
