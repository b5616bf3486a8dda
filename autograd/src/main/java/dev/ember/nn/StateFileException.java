package dev.ember.nn;

import dev.ember.engine.EmberException;

import java.nio.file.Path;

/** A state file that is not one, or is damaged: bad magic, unknown version, truncation, an absurd size, a bad checksum. Names the file. */
public class StateFileException extends EmberException {
    private final Path file;

    public StateFileException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    public Path file() { return file; }
}
