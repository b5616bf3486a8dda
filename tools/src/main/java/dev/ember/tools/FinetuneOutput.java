package dev.ember.tools;

import dev.ember.engine.EmberException;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.stream.Stream;

/**
 * The output folder, never half-written: a run works in the sibling folder {@code OUT.partial} (same parent, so the
 * same file system) and renames it to {@code OUT} only when everything is written. A run that fails removes its
 * partial folder; a run that is killed leaves it, and {@code --resume} continues from the checkpoint there (without
 * {@code --resume} a leftover partial folder is discarded). An existing non-empty {@code OUT} is refused before any
 * work starts, unless {@code --overwrite}; then it is replaced only at the very end.
 */
final class FinetuneOutput {
    private final Path out;
    private final Path partial;

    private FinetuneOutput(Path out) {
        this.out = out;
        this.partial = out.resolveSibling(out.getFileName() + ".partial");
    }

    /** The folder to write into. */
    Path work() { return partial; }

    Path target() { return out; }

    /** Checks {@code out} can be written and returns the handle; creates nothing yet. */
    static FinetuneOutput check(Path out, boolean overwrite) throws IOException {
        Path abs = out.toAbsolutePath().normalize();
        if (abs.getFileName() == null) throw new EmberException("--out " + out + " names no folder");
        if (Files.exists(abs) && !Files.isDirectory(abs)) throw new EmberException("--out " + out + " is a file, not a folder");
        if (!overwrite && Files.isDirectory(abs) && !isEmpty(abs)) {
            throw new EmberException("--out " + out + " exists and is not empty; choose another folder or add --overwrite");
        }
        Path parent = abs.getParent();
        if (parent != null && Files.exists(parent) && !Files.isWritable(parent)) throw new EmberException("cannot write into " + parent + " (for --out " + out + ")");
        return new FinetuneOutput(abs);
    }

    /** Creates the partial folder; with {@code resume} an existing one (and its checkpoint) is kept, else it starts empty. */
    boolean open(boolean resume) throws IOException {
        boolean resuming = resume && Files.isDirectory(partial) && !isEmpty(partial);
        if (!resuming) deleteTree(partial);
        Files.createDirectories(partial);
        return resuming;
    }

    /** Moves the finished partial folder to the target (replacing an old one only now). */
    void commit() throws IOException {
        Path old = null;
        if (Files.exists(out)) {
            old = out.resolveSibling(out.getFileName() + ".old-" + ProcessHandle.current().pid());
            Files.move(out, old, StandardCopyOption.ATOMIC_MOVE);
        }
        Files.move(partial, out, StandardCopyOption.ATOMIC_MOVE);
        if (old != null) deleteTree(old);
    }

    /** Removes the partial folder after a failure. */
    void discard() {
        try {
            deleteTree(partial);
        } catch (IOException ignored) {
            // the error being reported matters more; a leftover partial folder is discarded by the next run
        }
    }

    private static boolean isEmpty(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) return;
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                if (e != null) throw e;
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
