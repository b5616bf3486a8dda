package dev.ember.engine;

/** Elementwise primitives of two operands with NumPy broadcasting (float32). Comparisons give 1 or 0. */
public enum BinaryOp {
    /** a + b */ ADD,
    /** a - b */ SUB,
    /** a * b */ MUL,
    /** a / b */ DIV,
    /** a ^ b */ POW,
    /** max(a, b) */ MAX,
    /** min(a, b) */ MIN,
    /** a == b */ EQ,
    /** a < b */ LT,
    /** a > b */ GT
}
