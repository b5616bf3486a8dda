package dev.ember.optim;

/**
 * A learning rate as a function of a count: optimizer steps taken so far, or epochs, whichever the caller counts
 * (from 0). Schedules hold no state; the count is the whole state, which makes resuming exact.
 *
 * <p>Order of use: before each {@code optimizer.step()}, {@code schedule.apply(optimizer, step)}; every group's lr
 * becomes {@code lr(step, group.baseLr())}, the base lr itself unchanged.
 */
public interface LrSchedule {
    /** The learning rate at {@code step} for a group whose base lr is {@code baseLr}. */
    float lr(long step, float baseLr);

    /** Sets each group's lr for {@code step}. */
    default void apply(Optimizer optimizer, long step) {
        for (ParamGroup g : optimizer.groups()) g.lr(lr(step, g.baseLr()));
    }
}
