package dev.ember.loaders.onnx;

import dev.ember.loaders.FileChunks;
import dev.ember.loaders.onnx.proto.OnnxProto.StringStringEntryProto;
import dev.ember.loaders.onnx.proto.OnnxProto.TensorProto;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Tensor bytes stored outside the model ({@code data_location = EXTERNAL}): the keys {@code location} (a path
 * relative to the model's folder), {@code offset} and {@code length} (decimal byte counts). The file must stay
 * inside the model's folder, both as written ({@code ..} cannot climb out) and after symbolic links are followed,
 * and the byte range must lie inside the file and hold exactly the tensor's elements.
 */
final class ExternalData {
    private ExternalData() {}

    static byte[] read(TensorProto p, Path folder, String what, long expectBytes) {
        if (folder == null) {
            throw new OnnxException(what + ": data is in an external file, but the model was read from bytes, with no folder to find it in");
        }
        String location = null, offsetText = null, lengthText = null;
        for (StringStringEntryProto e : p.getExternalDataList()) {
            switch (e.getKey()) {
                case "location" -> location = e.getValue();
                case "offset" -> offsetText = e.getValue();
                case "length" -> lengthText = e.getValue();
                default -> { }   // checksum, basepath: not needed to read
            }
        }
        if (location == null || location.isEmpty()) throw new OnnxException(what + ": external data has no 'location'");
        Path file = resolveInside(folder, location, what);

        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            throw new OnnxException(what + ": cannot read external file '" + location + "': " + e.getMessage(), e);
        }
        long offset = offsetText == null ? 0 : parseCount(offsetText, "offset", what);
        if (offset > size) throw new OnnxException(what + ": external data offset " + offset + " is beyond the end of '" + location + "' (" + size + " bytes)");
        long length = lengthText == null ? size - offset : parseCount(lengthText, "length", what);
        if (length > size - offset) {
            throw new OnnxException(what + ": external data range [" + offset + ", " + offset + " + " + length + ") is beyond the end of '"
                    + location + "' (" + size + " bytes)");
        }
        if (length != expectBytes) throw new OnnxException(what + ": external data has " + length + " bytes, expected " + expectBytes);
        if (length > Integer.MAX_VALUE - 8) throw new OnnxException(what + ": external data of " + length + " bytes is larger than one array (2 GiB)");

        ByteBuffer buf = ByteBuffer.allocate((int) length);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            while (buf.hasRemaining()) {
                int got = FileChunks.read(ch, buf, offset + buf.position());
                if (got < 0) throw new OnnxException(what + ": external file '" + location + "' ended early (changed while reading?)");
            }
        } catch (IOException e) {
            throw new OnnxException(what + ": cannot read external file '" + location + "': " + e.getMessage(), e);
        }
        return buf.array();
    }

    /** {@code location} resolved against {@code folder}, refused unless it stays inside it (also through links). */
    static Path resolveInside(Path folder, String location, String what) {
        Path relative;
        try {
            relative = Path.of(location);
        } catch (InvalidPathException e) {
            throw new OnnxException(what + ": external data location '" + location + "' is not a valid path", e);
        }
        if (relative.isAbsolute() || location.startsWith("/") || location.startsWith("\\") || relative.getRoot() != null) {
            throw new OnnxException(what + ": external data location '" + location + "' is absolute; it must be relative to the model's folder");
        }
        Path base = folder.toAbsolutePath().normalize();
        Path target = base.resolve(relative).normalize();
        if (!target.startsWith(base) || target.equals(base)) {
            throw new OnnxException(what + ": external data location '" + location + "' leaves the model's folder " + base);
        }
        Path realBase, realTarget;
        try {
            realBase = base.toRealPath();
            realTarget = target.toRealPath();
        } catch (IOException e) {
            throw new OnnxException(what + ": external data file '" + location + "' cannot be opened: " + e, e);
        }
        if (!realTarget.startsWith(realBase)) {
            throw new OnnxException(what + ": external data location '" + location + "' resolves to " + realTarget
                    + ", outside the model's folder " + realBase + " (through a symbolic link)");
        }
        if (!Files.isRegularFile(realTarget)) throw new OnnxException(what + ": external data location '" + location + "' is not a regular file");
        return realTarget;
    }

    private static long parseCount(String text, String key, String what) {
        long v;
        try {
            v = Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            throw new OnnxException(what + ": external data '" + key + "' is '" + text + "', expected a byte count", e);
        }
        if (v < 0) throw new OnnxException(what + ": external data '" + key + "' is negative (" + v + ")");
        return v;
    }
}
