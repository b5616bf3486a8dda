package dev.ember.finetune.data;

import java.util.ArrayList;
import java.util.List;

/**
 * What loading did to a data source, for the run's report: every sample not kept is counted here with its first
 * few paths, so nothing disappears silently.
 *
 * <ul>
 *   <li>{@code duplicates}: exact copies (same pixels or features and same label) removed; the first is kept.</li>
 *   <li>{@code conflicting}: groups of samples with identical content but different labels; all are kept (the
 *       labels may be legitimately ambiguous, and dropping would lose data of small classes), each group is listed
 *       so a user can fix the labels.</li>
 *   <li>{@code unreadable}: dropped: non-image files, corrupt images, CSV rows with a bad number or a wrong field
 *       count; each example says why.</li>
 *   <li>{@code unlabeled}: dropped: CSV rows with an empty label, images at an image folder's root.</li>
 *   <li>{@code notes}: changes that kept the sample (resized, converted to gray/RGB, hidden files ignored).</li>
 * </ul>
 */
public record DataReport(String source, String kind, List<String> classNames, long[] classCounts,
                         Issue duplicates, Issue conflicting, Issue unreadable, Issue unlabeled, List<String> notes) {

    /** A kind of problem: how many, and the first few sample ids (paths, "file.csv:line", "file.idx#i"). */
    public record Issue(int count, List<String> examples) {
        public static final int MAX_EXAMPLES = 5;
        public static final Issue NONE = new Issue(0, List.of());

        public Issue {
            examples = List.copyOf(examples);
        }
    }

    public DataReport {
        classNames = List.copyOf(classNames);
        classCounts = classCounts.clone();
        notes = List.copyOf(notes);
    }

    @Override public long[] classCounts() { return classCounts.clone(); }

    /** Samples kept. */
    public long kept() {
        long n = 0;
        for (long c : classCounts) n += c;
        return n;
    }

    /** Samples (or files, rows) dropped: duplicates, unreadable and unlabeled. */
    public int dropped() { return duplicates.count() + unreadable.count() + unlabeled.count(); }

    /** The report as plain lines, one fact each. */
    public List<String> lines() {
        List<String> out = new ArrayList<>();
        out.add(kind + " " + source + ": " + kept() + " samples in " + classNames.size() + " classes");
        StringBuilder perClass = new StringBuilder("per class:");
        for (int c = 0; c < classNames.size(); c++) perClass.append(c == 0 ? " " : ", ").append(classNames.get(c)).append(" ").append(classCounts[c]);
        out.add(perClass.toString());
        add(out, "duplicates removed (same content and label, first kept)", duplicates);
        add(out, "conflicting labels (same content, different labels; all kept)", conflicting);
        add(out, "unreadable, dropped", unreadable);
        add(out, "unlabeled, dropped", unlabeled);
        out.addAll(notes);
        return out;
    }

    private static void add(List<String> out, String what, Issue issue) {
        if (issue.count() == 0) return;
        String more = issue.count() > issue.examples().size() ? ", ..." : "";
        out.add(what + ": " + issue.count() + " (" + String.join(", ", issue.examples()) + more + ")");
    }
}
