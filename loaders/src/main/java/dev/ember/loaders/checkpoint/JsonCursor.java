package dev.ember.loaders.checkpoint;

import dev.ember.loaders.DataFormatException;

import java.nio.file.Path;

/**
 * A strict JSON tokenizer over one decoded header: whitespace, punctuation, strings and non-negative integers, which
 * is all a safetensors header holds. The caller walks the fixed schema, so nesting depth is set by the code, not by
 * the input; every method either consumes at least one character or throws, so no input can make it loop.
 */
final class JsonCursor {
    private final Path file;
    private final String text;
    private int at;

    JsonCursor(Path file, String text) {
        this.file = file;
        this.text = text;
    }

    DataFormatException error(String problem) {
        return new DataFormatException(file, "safetensors header: " + problem + " (at character " + at + " of " + text.length() + ")");
    }

    void skipWhitespace() {
        while (at < text.length()) {
            char c = text.charAt(at);
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
            at++;
        }
    }

    boolean atEnd() { return at >= text.length(); }

    /** The next character without consuming it (after whitespace). */
    char peek(String expected) {
        skipWhitespace();
        if (atEnd()) throw error("ends where " + expected + " was expected");
        return text.charAt(at);
    }

    void expect(char c, String where) {
        char got = peek("'" + c + "' " + where);
        if (got != c) throw error("expected '" + c + "' " + where + ", found " + describe(got));
        at++;
    }

    /** Consumes {@code c} when it is next (after whitespace). */
    boolean consume(char c) {
        skipWhitespace();
        if (!atEnd() && text.charAt(at) == c) {
            at++;
            return true;
        }
        return false;
    }

    /** A JSON string, escapes decoded; control characters and unpaired surrogates are refused. */
    String string(String what) {
        char q = peek("a string (" + what + ")");
        if (q != '"') throw error("expected a string for " + what + ", found " + describe(q));
        at++;
        StringBuilder b = new StringBuilder();
        while (true) {
            if (atEnd()) throw error("unterminated string in " + what);
            char c = text.charAt(at++);
            if (c == '"') break;
            if (c < 0x20) throw error("raw control character 0x" + Integer.toHexString(c) + " inside a string in " + what);
            if (c != '\\') {
                b.append(c);
                continue;
            }
            if (atEnd()) throw error("unterminated escape in " + what);
            char e = text.charAt(at++);
            switch (e) {
                case '"', '\\', '/' -> b.append(e);
                case 'b' -> b.append('\b');
                case 'f' -> b.append('\f');
                case 'n' -> b.append('\n');
                case 'r' -> b.append('\r');
                case 't' -> b.append('\t');
                case 'u' -> b.append(hex4(what));
                default -> throw error("bad escape '\\" + e + "' in " + what);
            }
        }
        String s = b.toString();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean paired = Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
            if (paired) i++;
            else if (Character.isSurrogate(c)) throw error("unpaired surrogate \\u" + Integer.toHexString(c) + " in " + what);
        }
        return s;
    }

    private char hex4(String what) {
        if (at + 4 > text.length()) throw error("truncated \\u escape in " + what);
        int v = 0;
        for (int i = 0; i < 4; i++) {
            int d = Character.digit(text.charAt(at++), 16);
            if (d < 0) throw error("bad hex digit in a \\u escape in " + what);
            v = v * 16 + d;
        }
        return (char) v;
    }

    /** A non-negative integer without sign, fraction or exponent, that fits a long. */
    long nonNegativeLong(String what) {
        char c = peek("an integer (" + what + ")");
        if (c == '-') throw error("negative number for " + what);
        if (c < '0' || c > '9') throw error("expected an integer for " + what + ", found " + describe(c));
        int start = at;
        long v = 0;
        while (!atEnd() && text.charAt(at) >= '0' && text.charAt(at) <= '9') {
            int d = text.charAt(at) - '0';
            if (v > (Long.MAX_VALUE - d) / 10) throw error("integer " + text.substring(start, Math.min(text.length(), start + 24)) + "... is too large for " + what);
            v = v * 10 + d;
            at++;
        }
        if (at - start > 1 && text.charAt(start) == '0') throw error("integer with a leading zero for " + what);
        if (!atEnd() && (text.charAt(at) == '.' || text.charAt(at) == 'e' || text.charAt(at) == 'E')) throw error("expected an integer for " + what + ", found a fraction or exponent");
        return v;
    }

    private static String describe(char c) {
        return c < 0x20 || c > 0x7E ? "character U+" + String.format("%04X", (int) c) : "'" + c + "'";
    }
}
