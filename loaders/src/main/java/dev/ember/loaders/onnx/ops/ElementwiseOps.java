package dev.ember.loaders.onnx.ops;

import dev.ember.autograd.F;
import dev.ember.autograd.Variable;
import dev.ember.engine.DType;
import dev.ember.engine.Shape;
import dev.ember.engine.Tensor;
import dev.ember.loaders.onnx.OnnxException;
import dev.ember.loaders.onnx.OnnxNode;

import java.util.function.DoublePredicate;
import java.util.function.DoubleUnaryOperator;
import java.util.function.LongBinaryOperator;
import java.util.function.LongUnaryOperator;
import java.util.function.UnaryOperator;

/**
 * Elementwise ONNX ops with NumPy broadcasting: arithmetic, unary math, comparisons (bool results), logic, Where,
 * Clip. float32 goes through autograd Variables (differentiable); integer types through host loops on longs.
 */
final class ElementwiseOps {
    private ElementwiseOps() {}

    static void register(OpTable t) {
        t.add("Add", 1, (n, in, v) -> one(arith(n, Args.in(n, in, 0), Args.in(n, in, 1), '+')));
        t.add("Sub", 1, (n, in, v) -> one(arith(n, Args.in(n, in, 0), Args.in(n, in, 1), '-')));
        t.add("Mul", 1, (n, in, v) -> one(arith(n, Args.in(n, in, 0), Args.in(n, in, 1), '*')));
        t.add("Div", 1, (n, in, v) -> one(arith(n, Args.in(n, in, 0), Args.in(n, in, 1), '/')));
        t.add("Pow", 1, (n, in, v) -> one(pow(n, Args.in(n, in, 0), Args.in(n, in, 1))));
        t.add("Mod", 10, (n, in, v) -> one(mod(n, Args.in(n, in, 0), Args.in(n, in, 1))));
        t.add("Max", 1, (n, in, v) -> one(variadic(n, in, "max")));
        t.add("Min", 1, (n, in, v) -> one(variadic(n, in, "min")));
        t.add("Sum", 1, (n, in, v) -> one(variadic(n, in, "sum")));
        t.add("Mean", 1, (n, in, v) -> one(variadic(n, in, "mean")));

        t.add("Neg", 1, (n, in, v) -> one(signed(n, Args.in(n, in, 0), Variable::neg, x -> -x)));
        t.add("Abs", 1, (n, in, v) -> one(signed(n, Args.in(n, in, 0), Variable::abs, Math::abs)));
        t.add("Sign", 9, (n, in, v) -> one(sign(n, Args.in(n, in, 0))));
        t.add("Exp", 1, (n, in, v) -> one(floatIn(n, in).exp()));
        t.add("Log", 1, (n, in, v) -> one(floatIn(n, in).log()));
        t.add("Sqrt", 1, (n, in, v) -> one(floatIn(n, in).sqrt()));
        t.add("Reciprocal", 1, (n, in, v) -> one(Variable.of(Tensor.scalar(1f)).div(floatIn(n, in))));
        t.add("Erf", 9, (n, in, v) -> {
            Variable x = floatIn(n, in);
            Tensor y = x.data().erf();
            return one(Grad.elementwise(y, new Variable[] {x},   // d erf = 2/sqrt(pi) e^(-x^2)
                    i -> x.data().square().neg().exp().mul((float) (2 / Math.sqrt(Math.PI)))));
        });
        // piecewise constant: the gradient is zero almost everywhere, so the result is a constant
        t.add("Floor", 1, (n, in, v) -> one(Variable.of(Host.mapFloat(floatIn(n, in).data(), Math::floor))));
        t.add("Ceil", 1, (n, in, v) -> one(Variable.of(Host.mapFloat(floatIn(n, in).data(), Math::ceil))));
        t.add("Round", 11, (n, in, v) -> one(Variable.of(Host.mapFloat(floatIn(n, in).data(), Math::rint))));
        t.add("IsNaN", 9, (n, in, v) -> one(test(floatIn(n, in).data(), Double::isNaN)));
        t.add("IsInf", 10, (n, in, v) -> {
            boolean neg = n.attrInt("detect_negative", 1) != 0, pos = n.attrInt("detect_positive", 1) != 0;
            return one(test(floatIn(n, in).data(), x -> (pos && x == Double.POSITIVE_INFINITY) || (neg && x == Double.NEGATIVE_INFINITY)));
        });
        math(t, "Sin", Math::sin, Math::cos);
        math(t, "Cos", Math::cos, x -> -Math.sin(x));
        math(t, "Tan", Math::tan, x -> 1 + Math.tan(x) * Math.tan(x));
        math(t, "Asin", Math::asin, x -> 1 / Math.sqrt(1 - x * x));
        math(t, "Acos", Math::acos, x -> -1 / Math.sqrt(1 - x * x));
        math(t, "Atan", Math::atan, x -> 1 / (1 + x * x));
        math(t, "Sinh", Math::sinh, Math::cosh);
        math(t, "Cosh", Math::cosh, Math::sinh);
        math(t, "Asinh", x -> Math.copySign(Math.log(Math.abs(x) + Math.sqrt(x * x + 1)), x), x -> 1 / Math.sqrt(x * x + 1));
        math(t, "Acosh", x -> Math.log(x + Math.sqrt(x * x - 1)), x -> 1 / Math.sqrt(x * x - 1));
        math(t, "Atanh", x -> 0.5 * Math.log((1 + x) / (1 - x)), x -> 1 / (1 - x * x));

        t.add("Equal", 1, (n, in, v) -> one(compare(n, in, "==")));
        t.add("Less", 1, (n, in, v) -> one(compare(n, in, "<")));
        t.add("Greater", 1, (n, in, v) -> one(compare(n, in, ">")));
        t.add("LessOrEqual", 12, (n, in, v) -> one(compare(n, in, "<=")));
        t.add("GreaterOrEqual", 12, (n, in, v) -> one(compare(n, in, ">=")));
        t.add("And", 1, (n, in, v) -> one(logic(n, in, (a, b) -> a & b)));
        t.add("Or", 1, (n, in, v) -> one(logic(n, in, (a, b) -> a | b)));
        t.add("Xor", 1, (n, in, v) -> one(logic(n, in, (a, b) -> a ^ b)));
        t.add("Not", 1, (n, in, v) -> {
            Variable x = Args.in(n, in, 0);
            requireBool(n, x);
            return one(Variable.of(Host.mapLong(x.data(), DType.BOOL, a -> a ^ 1)));
        });
        t.add("BitwiseAnd", 18, (n, in, v) -> one(bitwise(n, in, (a, b) -> a & b)));
        t.add("BitwiseOr", 18, (n, in, v) -> one(bitwise(n, in, (a, b) -> a | b)));
        t.add("BitwiseXor", 18, (n, in, v) -> one(bitwise(n, in, (a, b) -> a ^ b)));
        t.add("BitwiseNot", 18, (n, in, v) -> {
            Variable x = Args.in(n, in, 0);
            requireInteger(n, x.data().dtype());
            return one(Variable.of(Host.mapLong(x.data(), x.data().dtype(), a -> ~a)));
        });
        t.add("BitShift", 11, (n, in, v) -> one(bitShift(n, Args.in(n, in, 0), Args.in(n, in, 1))));
        t.add("Where", 9, (n, in, v) -> one(where(n, Args.in(n, in, 0), Args.in(n, in, 1), Args.in(n, in, 2))));
        t.add("Clip", 1, (n, in, v) -> one(clip(n, Args.in(n, in, 0),
                n.attrFloat("min", Float.NEGATIVE_INFINITY), n.attrFloat("max", Float.POSITIVE_INFINITY))));
        t.add("Clip", 11, (n, in, v) -> one(clip(n, Args.in(n, in, 0), Args.opt(in, 1), Args.opt(in, 2))));
    }

    static Variable[] one(Variable v) { return new Variable[] {v}; }

    static Variable floatIn(OnnxNode node, Variable[] in) {
        Variable x = Args.in(node, in, 0);
        Args.requireFloat(node, x, "input");
        return x;
    }

    // ---- arithmetic ----

    /**
     * Add then Relu, fused by {@link OnnxOps#resolver()}: {@code node} is the Add, the result is the Relu's. Float32
     * takes {@link F#addRelu} (one pass where no gradient is recorded), an integer type the two ops on the host.
     */
    static Variable[] addRelu(OnnxNode node, Variable[] in, int opset) {
        Variable a = Args.in(node, in, 0), b = Args.in(node, in, 1);
        if (sameType(node, a, b) == DType.FLOAT32) return one(F.addRelu(a, b));
        return one(ActivationOps.relu(node, arith(node, a, b, '+')));
    }

    static Variable arith(OnnxNode node, Variable a, Variable b, char op) {
        DType t = sameType(node, a, b);
        if (t == DType.FLOAT32) {
            return switch (op) {
                case '+' -> a.add(b);
                case '-' -> a.sub(b);
                case '*' -> a.mul(b);
                default -> a.div(b);
            };
        }
        requireInteger(node, t);
        LongBinaryOperator f = switch (op) {
            case '+' -> Long::sum;
            case '-' -> (x, y) -> x - y;
            case '*' -> (x, y) -> x * y;
            default -> (x, y) -> {
                if (y == 0) throw new OnnxException(node.describe() + ": integer division by zero");
                return x / y;
            };
        };
        return Variable.of(Host.mapLong(a.data(), b.data(), t, f));
    }

    /** a^b; the exponent may have another type than the base (opset 12+). */
    static Variable pow(OnnxNode node, Variable a, Variable b) {
        DType ta = a.data().dtype();
        if (ta != DType.FLOAT32) {
            requireInteger(node, ta);
            return Variable.of(Host.mapDouble(a.data(), b.data(), ta, Math::pow));
        }
        Variable e = b.data().dtype() == DType.FLOAT32 ? b : Variable.of(b.data().to(DType.FLOAT32));
        if (e.data().numel() == 1 && !e.requiresGrad()) {   // the common x^2, x^0.5: autograd's own pow
            Variable p = a.pow(e.data().item());
            Shape s = Shape.broadcast(a.shape(), e.shape());
            return s.equals(a.shape()) ? p : p.expand(s.dims());
        }
        Tensor y = a.data().pow(e.data());
        return Grad.elementwise(y, new Variable[] {a, e}, i -> i == 0
                ? e.data().mul(a.data().pow(e.data().sub(1f)))   // d/da = b a^(b-1)
                : y.mul(a.data().log()));                         // d/db = a^b ln a
    }

    static Variable mod(OnnxNode node, Variable a, Variable b) {
        DType t = sameType(node, a, b);
        boolean fmod = node.attrInt("fmod", 0) != 0;
        Grad.refuse(node, a, b);
        if (t == DType.FLOAT32) {
            if (!fmod) throw new OnnxException(node.describe() + ": float Mod needs fmod=1");
            return Variable.of(Host.mapDouble(a.data(), b.data(), t, (x, y) -> (float) x % (float) y));
        }
        requireInteger(node, t);
        return Variable.of(Host.mapLong(a.data(), b.data(), t, (x, y) -> {
            if (y == 0) throw new OnnxException(node.describe() + ": integer modulo by zero");
            return fmod ? x % y : Math.floorMod(x, y);   // fmod: sign of the dividend; else of the divisor, as Python
        }));
    }

    static Variable variadic(OnnxNode node, Variable[] in, String op) {
        if (in.length == 0) throw new OnnxException(node.describe() + " needs at least one input");
        Variable acc = Args.in(node, in, 0);
        DType t = acc.data().dtype();
        for (int i = 1; i < in.length; i++) {
            Variable x = Args.in(node, in, i);
            sameType(node, acc, x);
            if (t == DType.FLOAT32) {
                acc = switch (op) {
                    case "max" -> acc.maximum(x);
                    case "min" -> acc.neg().maximum(x.neg()).neg();   // min(a, b) = -max(-a, -b)
                    default -> acc.add(x);
                };
            } else {
                requireInteger(node, t);
                LongBinaryOperator f = switch (op) {
                    case "max" -> Math::max;
                    case "min" -> Math::min;
                    default -> Long::sum;
                };
                acc = Variable.of(Host.mapLong(acc.data(), x.data(), t, f));
            }
        }
        if (op.equals("mean")) {
            if (t != DType.FLOAT32) throw new OnnxUnsupportedException(node.describe() + ": Mean of " + t + " is not supported");
            acc = acc.div(in.length);
        }
        return acc;
    }

    /** Neg/Abs: the Variable op for float32, else {@code f} on longs. */
    static Variable signed(OnnxNode node, Variable x, UnaryOperator<Variable> floatOp, LongUnaryOperator f) {
        DType t = x.data().dtype();
        if (t == DType.FLOAT32) return floatOp.apply(x);
        requireInteger(node, t);
        return Variable.of(Host.mapLong(x.data(), t, f));
    }

    static Variable sign(OnnxNode node, Variable x) {
        DType t = x.data().dtype();
        if (t == DType.FLOAT32) return Variable.of(Host.mapFloat(x.data(), Math::signum));
        requireInteger(node, t);
        return Variable.of(Host.mapLong(x.data(), t, a -> Long.signum(a)));
    }

    /** A float32 op computed in double on the host, with its derivative for the gradient. */
    private static void math(OpTable t, String opType, DoubleUnaryOperator f, DoubleUnaryOperator df) {
        t.add(opType, 1, (n, in, v) -> {
            Variable x = floatIn(n, in);
            return one(Grad.elementwise(Host.mapFloat(x.data(), f), new Variable[] {x}, i -> Host.mapFloat(x.data(), df)));
        });
    }

    private static Variable test(Tensor x, DoublePredicate p) {
        float[] a = x.toFloatArray();
        boolean[] r = new boolean[a.length];
        for (int i = 0; i < a.length; i++) r[i] = p.test(a[i]);
        return Variable.of(Host.bools(x.dims(), r));
    }

    // ---- comparisons and logic (bool results, no gradient) ----

    static Variable compare(OnnxNode node, Variable[] in, String op) {
        Variable a = Args.in(node, in, 0), b = Args.in(node, in, 1);
        DType t = sameType(node, a, b);
        if (t == DType.FLOAT32) {
            return Variable.of(Host.mapDouble(a.data(), b.data(), DType.BOOL, (x, y) -> switch (op) {
                case "==" -> x == y ? 1 : 0;
                case "<" -> x < y ? 1 : 0;
                case ">" -> x > y ? 1 : 0;
                case "<=" -> x <= y ? 1 : 0;
                default -> x >= y ? 1 : 0;
            }));
        }
        return Variable.of(Host.mapLong(a.data(), b.data(), DType.BOOL, (x, y) -> switch (op) {
            case "==" -> x == y ? 1 : 0;
            case "<" -> x < y ? 1 : 0;
            case ">" -> x > y ? 1 : 0;
            case "<=" -> x <= y ? 1 : 0;
            default -> x >= y ? 1 : 0;
        }));
    }

    static Variable logic(OnnxNode node, Variable[] in, LongBinaryOperator f) {
        Variable a = Args.in(node, in, 0), b = Args.in(node, in, 1);
        requireBool(node, a);
        requireBool(node, b);
        return Variable.of(Host.mapLong(a.data(), b.data(), DType.BOOL, f));
    }

    static Variable bitwise(OnnxNode node, Variable[] in, LongBinaryOperator f) {
        Variable a = Args.in(node, in, 0), b = Args.in(node, in, 1);
        DType t = sameType(node, a, b);
        requireInteger(node, t);
        return Variable.of(Host.mapLong(a.data(), b.data(), t, f));
    }

    static Variable bitShift(OnnxNode node, Variable a, Variable b) {
        DType t = sameType(node, a, b);
        requireInteger(node, t);
        String dir = node.attrString("direction", "");
        boolean left = switch (dir) {
            case "LEFT" -> true;
            case "RIGHT" -> false;
            default -> throw new OnnxException(node.describe() + ": direction must be LEFT or RIGHT, got '" + dir + "'");
        };
        return Variable.of(Host.mapLong(a.data(), b.data(), t, (x, s) -> s >= 64 ? 0 : left ? x << s : x >>> s));
    }

    /** where(c, x, y): x where c is true, else y; the gradient goes to x through c and to y through !c. */
    static Variable where(OnnxNode node, Variable c, Variable x, Variable y) {
        requireBool(node, c);
        DType t = sameType(node, x, y);
        Shape s = Shape.broadcast(Shape.broadcast(c.shape(), x.shape()), y.shape());
        long[] cond = Host.longs(c.data());
        int[] ic = Host.broadcastIndex(c.shape(), s), ix = Host.broadcastIndex(x.shape(), s), iy = Host.broadcastIndex(y.shape(), s);
        if (t == DType.FLOAT32) {
            float[] a = x.data().toFloatArray(), b = y.data().toFloatArray(), r = new float[s.numel()];
            for (int k = 0; k < r.length; k++) r[k] = cond[ic[k]] != 0 ? a[ix[k]] : b[iy[k]];
            return Grad.elementwise(Tensor.of(r, s.dims()), new Variable[] {x, y}, i -> {
                float[] m = new float[s.numel()];   // m (S): 1 where the result came from input i
                for (int k = 0; k < m.length; k++) m[k] = (cond[ic[k]] != 0) == (i == 0) ? 1f : 0f;
                return Tensor.of(m, s.dims());
            });
        }
        long[] a = Host.longs(x.data()), b = Host.longs(y.data()), r = new long[s.numel()];
        for (int k = 0; k < r.length; k++) r[k] = cond[ic[k]] != 0 ? a[ix[k]] : b[iy[k]];
        return Variable.of(Host.fromLongs(t, s.dims(), r));
    }

    /** clip(x, lo, hi) = min(max(x, lo), hi); bounds are one-element inputs (opset 11+) or attributes. */
    static Variable clip(OnnxNode node, Variable x, Variable lo, Variable hi) {
        DType t = x.data().dtype();
        if (t == DType.FLOAT32) {
            float l = lo == null ? Float.NEGATIVE_INFINITY : (float) Args.scalar(node, lo, "min");
            float h = hi == null ? Float.POSITIVE_INFINITY : (float) Args.scalar(node, hi, "max");
            return clip(node, x, l, h);
        }
        requireInteger(node, t);
        long l = lo == null ? Long.MIN_VALUE : Args.longs(node, lo, "min")[0];
        long h = hi == null ? Long.MAX_VALUE : Args.longs(node, hi, "max")[0];
        return Variable.of(Host.mapLong(x.data(), t, a -> Math.min(Math.max(a, l), h)));
    }

    static Variable clip(OnnxNode node, Variable x, float lo, float hi) {
        Args.requireFloat(node, x, "input");
        Tensor y = x.data().maximum(x.data().scalarLike(lo)).minimum(x.data().scalarLike(hi));
        return Grad.elementwise(y, new Variable[] {x}, i -> Host.mapFloat(x.data(), v -> v >= lo && v <= hi ? 1 : 0));
    }

    // ---- checks ----

    static DType sameType(OnnxNode node, Variable a, Variable b) {
        DType ta = a.data().dtype(), tb = b.data().dtype();
        if (ta != tb) throw new OnnxException(node.describe() + ": operands must have one type, got " + ta + " and " + tb);
        return ta;
    }

    static void requireInteger(OnnxNode node, DType t) {
        if (!Host.isInteger(t)) throw new OnnxUnsupportedException(node.describe() + ": " + t + " operands are not supported");
    }

    static void requireBool(OnnxNode node, Variable v) {
        if (v.data().dtype() != DType.BOOL) throw new OnnxException(node.describe() + ": expected a bool tensor, got " + v.data().dtype());
    }
}
