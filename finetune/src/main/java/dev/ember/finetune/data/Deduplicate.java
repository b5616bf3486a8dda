package dev.ember.finetune.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Exact-duplicate removal. Samples are equal when their arrays are bit-identical ({@link Arrays#equals(float[],
 * float[])}). Of equal samples with the same label the first is kept and the rest counted as duplicates; equal
 * samples with different labels are all kept (one per label) and reported as a conflicting group.
 */
final class Deduplicate {
    private Deduplicate() {}

    /** Indices of the samples to keep, in their original order; fills the report's duplicate and conflict lines. */
    static int[] keep(RawSamples raw, ReportBuilder report) {
        // content hash -> distinct contents with that hash, each mapping label -> first sample with it
        Map<Integer, List<Map<Long, Integer>>> seen = new HashMap<>();
        List<Map<Long, Integer>> groups = new ArrayList<>();
        int[] keep = new int[raw.size()];
        int kept = 0;
        for (int i = 0; i < raw.size(); i++) {
            float[] x = raw.inputs().get(i);
            List<Map<Long, Integer>> bucket = seen.computeIfAbsent(Arrays.hashCode(x), k -> new ArrayList<>());
            Map<Long, Integer> group = null;
            for (Map<Long, Integer> g : bucket) {
                if (Arrays.equals(raw.inputs().get(g.values().iterator().next()), x)) {
                    group = g;
                    break;
                }
            }
            if (group == null) {
                group = new LinkedHashMap<>();
                bucket.add(group);
                groups.add(group);
            }
            Integer first = group.putIfAbsent(raw.labels()[i], i);
            if (first != null) {
                report.duplicates.add(raw.ids().get(i) + " = " + raw.ids().get(first));
            } else {
                keep[kept++] = i;
            }
        }
        for (Map<Long, Integer> g : groups) {
            if (g.size() < 2) continue;
            List<String> members = new ArrayList<>();
            for (Map.Entry<Long, Integer> e : g.entrySet()) members.add(raw.ids().get(e.getValue()) + " (" + raw.classNames().get((int) (long) e.getKey()) + ")");
            report.conflicting.add(String.join(" = ", members));
        }
        return Arrays.copyOf(keep, kept);
    }
}
