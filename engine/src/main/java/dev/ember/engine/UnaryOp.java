package dev.ember.engine;

/** Elementwise primitives of one operand (float32 in, float32 out). One line of math each. */
public enum UnaryOp {
    /** -x */ NEG,
    /** |x| */ ABS,
    /** x*x */ SQUARE,
    /** sqrt(x) */ SQRT,
    /** 1/x */ RECIPROCAL,
    /** e^x */ EXP,
    /** ln(x) */ LOG,
    /** max(x, 0) */ RELU,
    /** 1 if x > 0 else 0 (the derivative of relu) */ STEP,
    /** sign(x) in {-1, 0, 1} */ SIGN,
    /** 1 / (1 + e^-x) */ SIGMOID,
    /** tanh(x) */ TANH,
    /** erf(x) */ ERF,
    /** x * Phi(x) = x/2 * (1 + erf(x / sqrt 2)), the exact GELU */ GELU,
    /** d/dx GELU = Phi(x) + x * phi(x) */ GELU_GRAD
}
