package dev.ember.loaders.onnx;

import dev.ember.engine.Tensor;

/**
 * One attribute of a node, decoded from AttributeProto. Exactly the field of {@code type} is meaningful; the
 * others are zero/null. Graph-valued attributes (If/Loop bodies) are not decoded: {@code type} is GRAPH and the
 * value is absent, so an op that needs one reports itself unsupported.
 */
public record OnnxAttribute(String name, Type type, long i, float f, String s, Tensor t, long[] ints, float[] floats, String[] strings) {
    public enum Type { INT, FLOAT, STRING, TENSOR, INTS, FLOATS, STRINGS, GRAPH, OTHER }

    public static OnnxAttribute ofInt(String name, long v) { return new OnnxAttribute(name, Type.INT, v, 0, null, null, null, null, null); }
    public static OnnxAttribute ofFloat(String name, float v) { return new OnnxAttribute(name, Type.FLOAT, 0, v, null, null, null, null, null); }
    public static OnnxAttribute ofString(String name, String v) { return new OnnxAttribute(name, Type.STRING, 0, 0, v, null, null, null, null); }
    public static OnnxAttribute ofTensor(String name, Tensor v) { return new OnnxAttribute(name, Type.TENSOR, 0, 0, null, v, null, null, null); }
    public static OnnxAttribute ofInts(String name, long[] v) { return new OnnxAttribute(name, Type.INTS, 0, 0, null, null, v, null, null); }
    public static OnnxAttribute ofFloats(String name, float[] v) { return new OnnxAttribute(name, Type.FLOATS, 0, 0, null, null, null, v, null); }
    public static OnnxAttribute ofStrings(String name, String[] v) { return new OnnxAttribute(name, Type.STRINGS, 0, 0, null, null, null, null, v); }
}
