package dev.ember.tools;

import dev.ember.finetune.train.FineTuner;
import java.io.PrintWriter;
import java.util.Locale;

/**
 * The launcher's progress report on stderr: samples done, samples/s and ETA. On a terminal one bar is rewritten in
 * place with {@code \r} (at most 10 times a second); otherwise (a log file, CI) a plain line every {@code 10 s}
 * and at the end, so logs stay readable. The rate counts only this process's samples, so a resumed run's ETA is right.
 */
final class FinetuneProgress implements FineTuner.Progress {
    private static final long TERMINAL_EVERY_NS = 100_000_000L;
    private static final long LOG_EVERY_NS = 10_000_000_000L;
    private static final int BAR_WIDTH = 24;

    private final String label;
    private final PrintWriter err;
    private final boolean terminal;
    private long startNs = -1, firstDone, lastPrintNs;
    private long lastDone, lastTotal;
    private boolean barShown;

    FinetuneProgress(String label, PrintWriter err, boolean terminal) {
        this.label = label;
        this.err = err;
        this.terminal = terminal;
    }

    /**
     * Whether stderr is a terminal: the {@code finetune} script knows ({@code [ -t 2 ]}) and passes
     * {@code -Dember.stderr.tty}; without it, a console on stdin/stdout is the best guess Java offers.
     */
    static boolean stderrIsTerminal() {
        String told = System.getProperty("ember.stderr.tty");
        if (told != null) return Boolean.parseBoolean(told);
        return System.console() != null && System.console().isTerminal();
    }

    @Override public void update(long done, long total, double loss) {
        long now = System.nanoTime();
        lastDone = done;
        lastTotal = total;
        if (startNs < 0) {
            startNs = now;
            firstDone = done;
            lastPrintNs = now;
        }
        boolean last = done >= total;
        if (!last && now - lastPrintNs < (terminal ? TERMINAL_EVERY_NS : LOG_EVERY_NS)) return;
        lastPrintNs = now;
        double seconds = (now - startNs) / 1e9;
        double rate = seconds > 0 ? (done - firstDone) / seconds : 0;
        String eta = rate > 0 ? duration((total - done) / rate) : "?";
        double share = total == 0 ? 1 : (double) done / total;
        if (terminal) {
            int filled = (int) Math.round(share * BAR_WIDTH);
            err.printf(Locale.ROOT, "\r%s [%s%s] %3.0f%% %d/%d samples, %.0f samples/s, ETA %s, loss %.4f ", label,
                    "#".repeat(filled), ".".repeat(BAR_WIDTH - filled), 100 * share, done, total, rate, eta, loss);
            barShown = true;
            if (last) finish();
        } else {
            err.printf(Locale.ROOT, "%s: %.0f%% (%d/%d samples), %.0f samples/s, ETA %s, loss %.4f%n", label, 100 * share, done, total, rate, eta, loss);
        }
        err.flush();
    }

    /** Ends the bar's line, or in a log says where training stopped (early stopping ends before 100%). */
    void finish() {
        if (terminal && barShown) {
            err.println();
            barShown = false;
        } else if (!terminal && startNs >= 0 && lastDone < lastTotal) {
            err.printf(Locale.ROOT, "%s: stopped early at %d/%d samples%n", label, lastDone, lastTotal);
        }
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
