package dev.ember.optim;

import dev.ember.engine.EmberException;

/**
 * The 1cycle policy (Smith), torch.optim.lr_scheduler.OneCycleLR with {@code anneal_strategy='cos'},
 * {@code three_phase=False}: from initial = maxLr / divFactor up to maxLr over the first pctStart of totalSteps,
 * then down to initial / finalDivFactor, both by cosine annealing:
 * <pre>
 *   phase 1: steps 0 .. pctStart*total - 1       initial -> maxLr
 *   phase 2: up to total - 1                     maxLr -> initial / finalDivFactor
 *   anneal(a, b, t) = b + (a - b) * (1 + cos(pi * t)) / 2,  t = (step - phase start) / (phase end - phase start)
 * </pre>
 * Like OneCycleLR it sets the same lr on every group (base lrs are not used) and allows steps 0..totalSteps.
 * Momentum is not cycled ({@code cycle_momentum=False}).
 */
public final class OneCycle implements LrSchedule {
    private final double maxLr;
    private final long totalSteps;
    private final double initialLr;
    private final double minLr;
    private final double phase1End;

    /** PyTorch's defaults: pctStart 0.3, divFactor 25, finalDivFactor 1e4. */
    public OneCycle(double maxLr, long totalSteps) { this(maxLr, totalSteps, 0.3, 25, 1e4); }

    public OneCycle(double maxLr, long totalSteps, double pctStart, double divFactor, double finalDivFactor) {
        if (!(maxLr > 0)) throw new EmberException("OneCycle maxLr must be > 0, got " + maxLr);
        if (totalSteps < 1) throw new EmberException("OneCycle totalSteps must be >= 1, got " + totalSteps);
        if (!(pctStart > 0 && pctStart < 1)) throw new EmberException("OneCycle pctStart must be in (0, 1), got " + pctStart);
        if (!(divFactor > 0) || !(finalDivFactor > 0)) throw new EmberException("OneCycle divFactor and finalDivFactor must be > 0, got " + divFactor + ", " + finalDivFactor);
        this.maxLr = maxLr;
        this.totalSteps = totalSteps;
        this.initialLr = maxLr / divFactor;
        this.minLr = initialLr / finalDivFactor;
        this.phase1End = pctStart * totalSteps - 1;
        if (!(phase1End > 0 && phase1End < totalSteps - 1)) {
            throw new EmberException("OneCycle pctStart " + pctStart + " of " + totalSteps + " steps leaves a phase empty");
        }
    }

    @Override public float lr(long step, float baseLr) {
        if (step < 0 || step > totalSteps) throw new EmberException("OneCycle step " + step + " is outside 0.." + totalSteps);
        if (step <= phase1End) return (float) anneal(initialLr, maxLr, step / phase1End);
        return (float) anneal(maxLr, minLr, (step - phase1End) / (totalSteps - 1 - phase1End));
    }

    /** Same operation order as PyTorch's {@code _annealing_cos}, so the doubles agree. */
    private static double anneal(double from, double to, double t) {
        return to + (from - to) / 2.0 * (Math.cos(Math.PI * t) + 1);
    }
}
