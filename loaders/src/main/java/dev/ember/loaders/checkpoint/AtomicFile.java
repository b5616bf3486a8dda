package dev.ember.loaders.checkpoint;

import dev.ember.loaders.FileChunks;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Replaces a file all at once: the new contents go to a temporary file in the same folder, which is forced to
 * disk and then renamed over the target, and the folder is forced so the rename itself survives a crash. A reader
 * (or a crash) sees the old file or the new one, never a mix; a body that fails leaves the old file untouched and
 * no temporary file behind.
 */
public final class AtomicFile {
    private static final int BUFFER_BYTES = 1 << 20;

    private AtomicFile() {}

    /** Writes a file's contents; the stream is buffered and must not be closed by the body. */
    @FunctionalInterface
    public interface Body {
        void writeTo(OutputStream out) throws IOException;
    }

    /** Writes {@code target} with what {@code body} produces, atomically (see the class comment). */
    public static void write(Path target, Body body) throws IOException {
        Path file = target.toAbsolutePath();
        Path dir = file.getParent();
        Path tmp = dir.resolve("." + file.getFileName() + "." + ProcessHandle.current().pid() + "." + System.nanoTime() + ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                OutputStream out = new BufferedOutputStream(FileChunks.chunked(Channels.newOutputStream(ch)), BUFFER_BYTES);
                body.writeTo(out);
                out.flush();
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException | Error e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        forceDirectory(dir);
    }

    /** Makes the rename durable. Some platforms cannot open a folder; there the rename is as durable as it gets. */
    private static void forceDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException notSupported) {
            // Windows cannot open a directory as a channel; nothing more to do there
        }
    }
}
