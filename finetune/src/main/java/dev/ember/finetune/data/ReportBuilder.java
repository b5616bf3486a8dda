package dev.ember.finetune.data;

import java.util.ArrayList;
import java.util.List;

/** Collects counts and first examples while a source is read; {@link #build} makes the {@link DataReport}. */
final class ReportBuilder {
    /** A counter that keeps the first {@link DataReport.Issue#MAX_EXAMPLES} examples. */
    static final class Tally {
        int count;
        final List<String> examples = new ArrayList<>();

        void add(String example) {
            count++;
            if (examples.size() < DataReport.Issue.MAX_EXAMPLES) examples.add(example);
        }

        DataReport.Issue issue() { return count == 0 ? DataReport.Issue.NONE : new DataReport.Issue(count, examples); }
    }

    final Tally duplicates = new Tally();
    final Tally conflicting = new Tally();
    final Tally unreadable = new Tally();
    final Tally unlabeled = new Tally();
    final List<String> notes = new ArrayList<>();

    DataReport build(String source, String kind, SampleSet samples) {
        return new DataReport(source, kind, samples.classNames(), samples.classCounts(),
                duplicates.issue(), conflicting.issue(), unreadable.issue(), unlabeled.issue(), notes);
    }
}
