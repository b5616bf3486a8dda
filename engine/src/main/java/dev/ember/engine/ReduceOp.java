package dev.ember.engine;

/** Reductions over a set of axes (float32). Mean is composed as sum times 1/n. */
public enum ReduceOp {
    /** sum of the elements */ SUM,
    /** largest element */ MAX,
    /** smallest element */ MIN
}
