package dev.ember.finetune.train;

import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The epoch history as text for a checkpoint's metadata, exact on the way back (doubles in Java's shortest
 * round-trip form), so a resumed run reports the same history as an uninterrupted one. One line per epoch, fields
 * separated by spaces:
 * <pre>
 *   epoch trainLoss trainAccuracy seconds valLoss valAccuracy valMacroF1 precision recall confusion lrs groups
 * </pre>
 * lists comma-separated ({@code -} when empty), confusion rows separated by {@code /}, group names URL-encoded.
 */
final class HistoryCodec {
    private HistoryCodec() {}

    static String encode(List<EpochRecord> history) {
        StringBuilder b = new StringBuilder();
        for (EpochRecord r : history) {
            ClassificationMetrics v = r.validation();
            if (!b.isEmpty()) b.append('\n');
            b.append(r.epoch()).append(' ').append(r.trainLoss()).append(' ').append(r.trainAccuracy()).append(' ').append(r.seconds())
                    .append(' ').append(v.loss()).append(' ').append(v.accuracy()).append(' ').append(v.macroF1())
                    .append(' ').append(doubles(v.precision())).append(' ').append(doubles(v.recall())).append(' ');
            List<String> rows = new ArrayList<>();
            for (long[] row : v.confusion()) {
                List<String> cells = new ArrayList<>();
                for (long c : row) cells.add(Long.toString(c));
                rows.add(String.join(",", cells));
            }
            b.append(rows.isEmpty() ? "-" : String.join("/", rows)).append(' ').append(doubles(r.groupLrs())).append(' ');
            List<String> names = new ArrayList<>();
            for (String g : r.trainableGroups()) names.add(URLEncoder.encode(g, StandardCharsets.UTF_8));
            b.append(names.isEmpty() ? "-" : String.join(",", names));
        }
        return b.toString();
    }

    static List<EpochRecord> decode(String text) {
        List<EpochRecord> out = new ArrayList<>();
        if (text == null || text.isEmpty()) return out;
        for (String line : text.split("\n")) {
            String[] f = line.split(" ");
            if (f.length != 12) throw new IllegalArgumentException("checkpoint history line has " + f.length + " fields, expected 12: " + line);
            double[] precision = doubles(f[7]), recall = doubles(f[8]);
            long[][] confusion;
            if (f[9].equals("-")) {
                confusion = new long[0][];
            } else {
                String[] rows = f[9].split("/");
                confusion = new long[rows.length][];
                for (int t = 0; t < rows.length; t++) {
                    String[] cells = rows[t].split(",");
                    confusion[t] = new long[cells.length];
                    for (int p = 0; p < cells.length; p++) confusion[t][p] = Long.parseLong(cells[p]);
                }
            }
            ClassificationMetrics v = new ClassificationMetrics(Double.parseDouble(f[4]), Double.parseDouble(f[5]), Double.parseDouble(f[6]),
                    precision, recall, confusion);
            List<String> groups = new ArrayList<>();
            if (!f[11].equals("-")) for (String g : f[11].split(",")) groups.add(URLDecoder.decode(g, StandardCharsets.UTF_8));
            out.add(new EpochRecord(Integer.parseInt(f[0]), Double.parseDouble(f[1]), Double.parseDouble(f[2]), v, doubles(f[10]),
                    List.copyOf(groups), Double.parseDouble(f[3])));
        }
        return out;
    }

    static String doubles(double[] values) {
        if (values.length == 0) return "-";
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < values.length; i++) b.append(i > 0 ? "," : "").append(values[i]);
        return b.toString();
    }

    static double[] doubles(String s) {
        if (s.equals("-")) return new double[0];
        String[] parts = s.split(",");
        double[] out = new double[parts.length];
        for (int i = 0; i < parts.length; i++) out[i] = Double.parseDouble(parts[i]);
        return out;
    }
}
