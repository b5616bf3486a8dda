package dev.ember.loaders.onnx;

import dev.ember.engine.DType;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The declared type of a graph input, output or intermediate value (ValueInfoProto). {@code kind} says whether it
 * is a tensor (the only kind the engine runs) or a sequence, map, optional or sparse tensor; {@code elemType} is
 * the ONNX element type code of a tensor (0 when not declared); {@code shape} is null when no shape is declared,
 * else one {@link Dim} per axis.
 */
public record OnnxValueInfo(String name, Kind kind, int elemType, List<Dim> shape) {
    public enum Kind { TENSOR, SEQUENCE, MAP, OPTIONAL, SPARSE_TENSOR, UNDECLARED }

    public OnnxValueInfo {
        shape = shape == null ? null : List.copyOf(shape);
    }

    /** A tensor value. */
    public OnnxValueInfo(String name, int elemType, List<Dim> shape) { this(name, Kind.TENSOR, elemType, shape); }

    /**
     * One axis: a fixed size ({@code value >= 0}), a named size ({@code param}, e.g. "batch"; value -1), or
     * unknown (value -1, param null).
     */
    public record Dim(long value, String param) {
        public boolean isFixed() { return value >= 0; }

        @Override public String toString() { return isFixed() ? Long.toString(value) : param != null ? param : "?"; }
    }

    public boolean hasShape() { return shape != null; }

    /** The engine dtype this value loads as, or null when undeclared or not supported. */
    public DType dtype() { return OnnxTensors.engineType(elemType); }

    /** "FLOAT [batch, 3, 224, 224]" — for messages. */
    public String describe() {
        if (kind != Kind.TENSOR && kind != Kind.UNDECLARED) return kind.name();
        String type = elemType == 0 ? "?" : OnnxTensors.typeName(elemType);
        String dims = shape == null ? "[unknown shape]" : shape.stream().map(Dim::toString).collect(Collectors.joining(", ", "[", "]"));
        return type + " " + dims;
    }
}
