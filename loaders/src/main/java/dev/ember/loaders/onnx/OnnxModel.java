package dev.ember.loaders.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnsafeByteOperations;
import dev.ember.engine.Tensor;
import dev.ember.loaders.FileChunks;
import dev.ember.loaders.onnx.proto.OnnxProto.ModelProto;
import dev.ember.loaders.onnx.proto.OnnxProto.OperatorSetIdProto;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An ONNX model file, parsed and checked: IR version, imported operator sets, producer, and the {@link OnnxGraph}.
 * Every problem (unreadable file, malformed protobuf, bad tensor, invalid graph) is an {@link OnnxException}
 * whose message starts with the file name.
 *
 * <p>Parsing is bounded: the whole file is one protobuf message of known length (at most 2 GiB), every length
 * inside it is checked against the bytes left, nesting is limited to {@value #RECURSION_LIMIT} levels, and tensor
 * buffers are sized only after their dims were checked against the data actually present.
 */
public final class OnnxModel {
    /** Deepest message nesting we parse: a subgraph costs three levels (attribute, graph, node). */
    static final int RECURSION_LIMIT = 100;

    /** The standard operator set's domain, as stored here (the file may say "" or "ai.onnx"). */
    public static final String DEFAULT_DOMAIN = "";

    private final Path file;
    private final ModelProto proto;
    private final Map<String, Integer> opsets;
    private final OnnxGraph graph;

    private OnnxModel(Path file, ModelProto proto, Map<String, Integer> opsets, OnnxGraph graph) {
        this.file = file;
        this.proto = proto;
        this.opsets = Collections.unmodifiableMap(opsets);
        this.graph = graph;
    }

    /** Reads a {@code .onnx} file; external tensor data is looked up in its folder. */
    public static OnnxModel read(Path file) {
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size > Integer.MAX_VALUE - 8) throw new OnnxException(file + ": " + size + " bytes is more than the 2 GiB a protobuf message may have");
            bytes = FileChunks.readAll(file);
        } catch (IOException e) {
            throw new OnnxException(file + ": cannot read: " + e.getMessage(), e);
        }
        return parse(bytes, file.toAbsolutePath().getParent(), file);
    }

    /** Parses a model held in memory; a tensor with external data is refused (there is no folder to look in). */
    public static OnnxModel read(byte[] bytes) { return parse(bytes, null, null); }

    /** Parses {@code bytes} as if read from a file in {@code folder} (null: refuse external data). */
    static OnnxModel read(byte[] bytes, Path folder) { return parse(bytes, folder, null); }

    private static OnnxModel parse(byte[] bytes, Path folder, Path file) {
        String source = file != null ? file.toString() : "ONNX model (" + bytes.length + " bytes)";
        ModelProto proto;
        try {
            // raw_data views the file's bytes instead of copying them. A stream over a plain byte[] copies every bytes
            // field even with aliasing on (it treats the array as mutable): 45 MB more garbage for resnet18.
            CodedInputStream in = UnsafeByteOperations.unsafeWrap(bytes).newCodedInput();
            in.setRecursionLimit(RECURSION_LIMIT);
            in.setSizeLimit(bytes.length);
            in.enableAliasing(true);
            proto = ModelProto.parseFrom(in);
        } catch (IOException e) {   // InvalidProtocolBufferException: truncated, malformed, too deep
            throw new OnnxException(source + ": not a valid ONNX model: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new OnnxException(source + ": not a valid ONNX model: " + e, e);
        }
        try {
            if (!proto.hasGraph()) throw new OnnxException("the model has no graph");
            Map<String, Integer> opsets = new LinkedHashMap<>();
            for (OperatorSetIdProto o : proto.getOpsetImportList()) {
                long v = o.getVersion();
                if (v < 1 || v > Integer.MAX_VALUE) throw new OnnxException("opset import for domain '" + o.getDomain() + "' has version " + v + ", expected 1 to " + Integer.MAX_VALUE);
                opsets.merge(canonicalDomain(o.getDomain()), (int) v, Math::max);
            }
            OnnxGraph graph = OnnxGraph.of(proto.getGraph(), folder);
            // keep the structure for the exporter, not a second copy of the weights (graph() holds them decoded); parsed
            // from its own bytes, so that nothing kept views `bytes` (a Constant node's tensor would keep all of them)
            ModelProto.Builder structure = proto.toBuilder();
            structure.getGraphBuilder().clearInitializer();
            return new OnnxModel(file, ModelProto.parseFrom(structure.build().toByteArray()), opsets, graph);
        } catch (OnnxException e) {
            throw new OnnxException(source + ": " + e.getMessage(), e);
        } catch (InvalidProtocolBufferException e) {   // the structure was just written by protobuf itself
            throw new IllegalStateException(source + ": cannot re-read the model's own structure", e);
        }
    }

    /** "" for the standard operator set, whichever way the file spells it; other domains unchanged. */
    public static String canonicalDomain(String domain) {
        return domain.equals("ai.onnx") ? DEFAULT_DOMAIN : domain;
    }

    /** The file this model was read from, or null when it came from bytes. */
    public Path file() { return file; }

    public long irVersion() { return proto.getIrVersion(); }

    /** Imported operator set versions by domain ({@link #DEFAULT_DOMAIN} for the standard one). */
    public Map<String, Integer> opsets() { return opsets; }

    /** The imported version of {@code domain} ("" and "ai.onnx" are the same), or 0 when not imported. */
    public int opset(String domain) { return opsets.getOrDefault(canonicalDomain(domain), 0); }

    /** "pytorch 1.13.0": producer name and version, as the file states them. */
    public String producer() { return (proto.getProducerName() + " " + proto.getProducerVersion()).trim(); }

    public OnnxGraph graph() { return graph; }

    /**
     * This model with the initializers named in {@code replacements} holding those tensors instead, each of the same
     * dtype and shape as the one it replaces (an {@link OnnxException} names the first that is not). This model is not
     * changed. A training module uses it to run its graph over its own parameters rather than beside a second copy.
     */
    public OnnxModel withInitializers(Map<String, Tensor> replacements) {
        return new OnnxModel(file, proto, opsets, graph.withInitializers(replacements));
    }

    /**
     * The parsed protobuf without its initializers (their decoded tensors are in {@link OnnxGraph#initializers()}),
     * for reuse of metadata and structure when exporting; internal to the loader.
     */
    ModelProto proto() { return proto; }
}
