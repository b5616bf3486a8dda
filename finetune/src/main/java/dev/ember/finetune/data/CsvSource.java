package dev.ember.finetune.data;

import dev.ember.loaders.DataFormatException;
import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A CSV file of numeric feature columns and one label column, UTF-8, comma-separated (fields trimmed, one pair of
 * surrounding double quotes removed; no quoted commas). Samples are (F) float32.
 *
 * <ul>
 *   <li>Label column: the one named {@link LoadOptions#labelColumn()} (the first line is then the header), else the
 *       last column.</li>
 *   <li>Header: without a label column name, the first line is a header when one of its feature fields is not a
 *       number.</li>
 *   <li>Labels: when every label is a whole number, the number is the class (classes = --classes, or the largest
 *       label + 1); otherwise labels are class names, sorted, label = index.</li>
 *   <li>Rows with a wrong field count or a feature that is not a finite number are unreadable, rows with an empty
 *       label unlabeled: dropped and reported (an error in strict mode). Blank lines are skipped.</li>
 * </ul>
 */
final class CsvSource {
    private CsvSource() {}

    private record Row(int line, String[] fields) {}

    static RawSamples read(Path file, LoadOptions options, ReportBuilder report) {
        List<String> lines = readLines(file);
        String fileName = file.getFileName().toString();
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = i == 0 && lines.get(0).startsWith("\uFEFF") ? lines.get(0).substring(1) : lines.get(i);
            if (!line.isBlank()) rows.add(new Row(i + 1, split(line)));
        }
        if (rows.isEmpty()) throw new DataFormatException(file, "is empty: no samples");

        String[] header = null;
        int labelColumn;
        if (options.labelColumn() != null) {
            header = rows.removeFirst().fields();
            labelColumn = indexOf(header, options.labelColumn());
            if (labelColumn < 0) throw new DataFormatException(file, "has no label column '" + options.labelColumn() + "' in its header " + List.of(header));
        } else {
            labelColumn = rows.getFirst().fields().length - 1;
            if (looksLikeHeader(rows.getFirst().fields(), labelColumn)) header = rows.removeFirst().fields();
        }
        int columns = header != null ? header.length : rows.isEmpty() ? 0 : rows.getFirst().fields().length;
        if (columns < 2) throw new DataFormatException(file, "needs at least one feature column and a label column, found " + columns + " column(s)");

        List<float[]> inputs = new ArrayList<>();
        List<String> labelText = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        for (Row row : rows) {
            String id = fileName + ":" + row.line();
            if (row.fields().length != columns) {
                drop(report.unreadable, file, row.line(), id, row.fields().length + " fields, expected " + columns, options);
                continue;
            }
            String label = row.fields()[labelColumn];
            float[] x = new float[columns - 1];   // x (F)
            String bad = null;
            for (int col = 0, f = 0; col < columns; col++) {
                if (col == labelColumn) continue;
                String field = row.fields()[col];
                float v = parse(field);
                if (Float.isNaN(v)) {
                    bad = "column " + (header != null ? "'" + header[col] + "'" : Integer.toString(col + 1)) + ": '" + field + "' is not a number";
                    break;
                }
                x[f++] = v;
            }
            if (bad != null) {
                drop(report.unreadable, file, row.line(), id, bad, options);
            } else if (label.isEmpty()) {
                drop(report.unlabeled, file, row.line(), id, "empty label", options);
            } else {
                inputs.add(x);
                labelText.add(label);
                ids.add(id);
            }
        }
        if (inputs.isEmpty()) throw new DataFormatException(file, "has no usable rows (" + report.unreadable.count + " unreadable, " + report.unlabeled.count + " unlabeled)");

        long[] labels = new long[inputs.size()];
        List<String> classNames = new ArrayList<>();
        int expected = options.expectedClasses();
        if (labelText.stream().allMatch(s -> s.matches("[+-]?[0-9]{1,18}"))) {
            long max = 0;
            for (int i = 0; i < labels.length; i++) {
                labels[i] = Long.parseLong(labelText.get(i));
                String line = ids.get(i).substring(fileName.length() + 1);
                if (labels[i] < 0) throw new DataFormatException(file, "label " + labels[i] + " at line " + line + " is negative (labels must be 0 or more)");
                if (expected > 0 && labels[i] >= expected) {
                    throw new DataFormatException(file, "label " + labels[i] + " at line " + line + " is outside --classes " + expected + " (labels must be 0.." + (expected - 1) + ")");
                }
                max = Math.max(max, labels[i]);
            }
            int classes = expected > 0 ? expected : (int) max + 1;
            for (int c = 0; c < classes; c++) classNames.add(Integer.toString(c));
        } else {
            TreeMap<String, Integer> index = new TreeMap<>();
            for (String name : new TreeSet<>(labelText)) index.put(name, index.size());
            if (expected > 0 && index.size() > expected) {
                String extra = labelText.stream().filter(s -> index.get(s) >= expected).findFirst().orElseThrow();
                String line = ids.get(labelText.indexOf(extra)).substring(fileName.length() + 1);
                throw new DataFormatException(file, "has " + index.size() + " distinct labels, more than --classes " + expected + ": label '" + extra + "' at line " + line + " is class " + index.get(extra) + " of " + index.keySet());
            }
            classNames.addAll(index.keySet());
            for (int c = index.size(); c < expected; c++) classNames.add("class " + c);
            for (int i = 0; i < labels.length; i++) labels[i] = index.get(labelText.get(i));
        }
        return new RawSamples(inputs, labels, ids, new int[] {columns - 1}, classNames);
    }

    private static void drop(ReportBuilder.Tally tally, Path file, int line, String id, String why, LoadOptions options) {
        if (options.strict()) throw new DataFormatException(file, "line " + line + ": " + why);
        tally.add(id + " (" + why + ")");
    }

    /** The value, or NaN when the field is not a finite number. */
    private static float parse(String field) {
        if (field.isEmpty()) return Float.NaN;
        try {
            float v = Float.parseFloat(field);
            return Float.isFinite(v) ? v : Float.NaN;
        } catch (NumberFormatException e) {
            return Float.NaN;
        }
    }

    private static boolean looksLikeHeader(String[] fields, int labelColumn) {
        for (int col = 0; col < fields.length; col++) {
            if (col != labelColumn && Float.isNaN(parse(fields[col]))) return true;
        }
        return false;
    }

    private static int indexOf(String[] header, String name) {
        for (int i = 0; i < header.length; i++) if (header[i].equals(name)) return i;
        for (int i = 0; i < header.length; i++) if (header[i].equalsIgnoreCase(name)) return i;
        return -1;
    }

    private static String[] split(String line) {
        String[] fields = line.split(",", -1);
        for (int i = 0; i < fields.length; i++) {
            String f = fields[i].strip();
            if (f.length() >= 2 && f.startsWith("\"") && f.endsWith("\"")) f = f.substring(1, f.length() - 1).strip();
            fields[i] = f;
        }
        return fields;
    }

    private static List<String> readLines(Path file) {
        try {
            return Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (MalformedInputException e) {
            throw new DataFormatException(file, "is not UTF-8 text (a CSV file was expected)");
        } catch (IOException e) {
            throw new DataFormatException(file, "cannot read: " + e.getMessage(), e);
        }
    }
}
