package dev.ember.loaders;

import dev.ember.engine.EmberException;
import java.nio.file.Path;

/** A file we were asked to read is not what it claims to be: names the file and what was expected. */
public class DataFormatException extends EmberException {
    private final Path file;

    public DataFormatException(Path file, String message) {
        super(file + ": " + message);
        this.file = file;
    }

    public DataFormatException(Path file, String message, Throwable cause) {
        super(file + ": " + message, cause);
        this.file = file;
    }

    public Path file() { return file; }
}
