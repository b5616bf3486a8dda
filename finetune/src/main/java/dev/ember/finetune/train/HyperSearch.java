package dev.ember.finetune.train;

import dev.ember.engine.EmberException;
import dev.ember.engine.Rng;
import dev.ember.finetune.data.SampleSet;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * Hyperparameter search over learning rate, weight decay and unfreeze schedule. Every trial trains a fresh model from
 * {@code models} on the training set and is scored by the best validation value of the configuration's stop metric;
 * the test set is not looked at. The best configuration is then trained once more, from a fresh model, and tested once
 * ({@link FineTuner#run}).
 *
 * <p>Trials write to {@code outDir/trials/trial-NN}, the final run to {@code outDir} itself.
 */
public final class HyperSearch {
    private HyperSearch() {}

    /** An unfreeze schedule: the mode and, for gradual, the epochs per newly unfrozen group. */
    public record Schedule(FineTuneConfig.Unfreeze mode, int every) {
        public Schedule {
            if (mode == null || every < 1) throw new EmberException("an unfreeze schedule needs a mode and every >= 1, got " + mode + " every " + every);
        }

        /** {@code head}, {@code all}, {@code gradual} or {@code gradual:K} (one more group every K epochs). */
        public static Schedule parse(String s) {
            String[] parts = s.trim().toLowerCase(java.util.Locale.ROOT).split(":", -1);
            try {
                FineTuneConfig.Unfreeze mode = FineTuneConfig.Unfreeze.valueOf(parts[0].toUpperCase(java.util.Locale.ROOT));
                if (parts.length > 2 || (parts.length == 2 && mode != FineTuneConfig.Unfreeze.GRADUAL)) throw new IllegalArgumentException();
                return new Schedule(mode, parts.length == 2 ? Integer.parseInt(parts[1]) : 1);
            } catch (IllegalArgumentException e) {
                throw new EmberException("unfreeze schedule '" + s + "' is not one of head, all, gradual, gradual:K (K >= 1)");
            }
        }

        @Override public String toString() { return mode.name().toLowerCase() + (mode == FineTuneConfig.Unfreeze.GRADUAL ? ":" + every : ""); }
    }

    /** The candidate values of each searched setting. */
    public record Space(List<Float> lrs, List<Float> weightDecays, List<Schedule> schedules) {
        public Space {
            lrs = List.copyOf(lrs);
            weightDecays = List.copyOf(weightDecays);
            schedules = List.copyOf(schedules);
            if (lrs.isEmpty() || weightDecays.isEmpty() || schedules.isEmpty()) {
                throw new EmberException("a search space needs at least one lr, one weight decay and one schedule");
            }
        }

        /** Every combination, lr slowest-varying. */
        public List<FineTuneConfig> grid(FineTuneConfig base) {
            List<FineTuneConfig> out = new ArrayList<>();
            for (float lr : lrs) for (float wd : weightDecays) for (Schedule s : schedules) out.add(with(base, lr, wd, s));
            return out;
        }

        /**
         * {@code n} seeded draws: lr log-uniform between the smallest and largest listed lr, weight decay and schedule
         * uniformly from their lists.
         */
        public List<FineTuneConfig> random(FineTuneConfig base, int n, long seed) {
            if (n < 1) throw new EmberException("random search needs at least 1 trial, got " + n);
            Rng rng = new Rng(seed);
            double lo = Math.log(lrs.stream().min(Float::compare).orElseThrow()), hi = Math.log(lrs.stream().max(Float::compare).orElseThrow());
            List<FineTuneConfig> out = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                float lr = (float) Math.exp(lo + (hi - lo) * rng.nextDouble());
                float wd = weightDecays.get(rng.nextInt(weightDecays.size()));
                out.add(with(base, lr, wd, schedules.get(rng.nextInt(schedules.size()))));
            }
            return out;
        }

        private static FineTuneConfig with(FineTuneConfig base, float lr, float wd, Schedule s) {
            return base.lr(lr).weightDecay(wd).unfreeze(s.mode(), s.every());
        }
    }

    /** One trial: its settings, best epoch and that epoch's validation metrics, and the score that ranked it. */
    public record Trial(int index, FineTuneConfig config, int bestEpoch, ClassificationMetrics validation, double score) {
        /** lr, weight decay and schedule, for the report's table. */
        public String settings() {
            return "lr=" + config.lr() + " weight_decay=" + config.weightDecay() + " unfreeze="
                    + new Schedule(config.unfreeze(), config.unfreezeEvery());
        }
    }

    /** The trial table, the chosen trial and the final run's result. */
    public record Result(List<Trial> trials, Trial best, FineTuneResult result) {}

    /**
     * Runs {@code candidates} (from {@link Space#grid} or {@link Space#random}), then the best one again with a test.
     * {@code setup} configures each {@link FineTuner}, the trials' and the final run's (progress, source task, resume).
     */
    public static Result search(List<FineTuneConfig> candidates, Supplier<TunableModel> models, SampleSet train, SampleSet val,
                                SampleSet test, Path outDir, UnaryOperator<FineTuner> setup) throws IOException {
        if (candidates.isEmpty()) throw new EmberException("hyperparameter search needs at least one candidate configuration");
        List<Trial> trials = new ArrayList<>();
        Trial best = null;
        for (int i = 0; i < candidates.size(); i++) {
            FineTuneConfig c = candidates.get(i);
            FineTuner tuner = setup.apply(new FineTuner(c));
            FineTuner.Training t = tuner.train(models.get(), train, val, null, outDir.resolve("trials").resolve(String.format("trial-%02d", i + 1)));
            Trial trial = new Trial(i + 1, c, t.bestEpoch(), t.bestValidation(), c.stopMetric().score(t.bestValidation()));
            trials.add(trial);
            if (best == null || trial.score() > best.score() || (Double.isNaN(best.score()) && !Double.isNaN(trial.score()))) best = trial;
        }
        FineTuneResult result = setup.apply(new FineTuner(best.config())).run(models.get(), train, val, test, outDir);
        return new Result(List.copyOf(trials), best, result);
    }
}
