package dev.ember.kernels.cuda;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds a shared library (cuBLAS, cuDNN) by file name in, in order: {@code LD_LIBRARY_PATH}, the CUDA toolkit folders
 * ({@code /usr/local/cuda*}{@code /lib64} and {@code /lib}), the distribution's folders, then the {@code nvidia/*}{@code /lib}
 * folders of Python's site-packages and dist-packages (under {@code /usr/lib/python3*}, {@code /usr/local/lib/python3*}
 * and {@code ~/.local/lib/python3*}), where pip's nvidia-cublas / nvidia-cudnn wheels put them. Names are tried in the
 * order given (newest version first) across all folders. The file system root and home are parameters so the
 * search is tested on a fake tree.
 */
final class LibraryFinder {
    /** The library found, or {@code path == null} with the folders searched. */
    record Result(Path path, List<String> names, List<Path> searched) {
        boolean found() { return path != null; }

        /** "found at ..." or "not found, searched: ..." for messages. */
        String describe() {
            return found() ? String.join(" / ", names) + " found at " + path
                    : String.join(" / ", names) + " not found, searched: " + (searched.isEmpty() ? "(no folders)" : searched.stream().map(Path::toString).toList());
        }
    }

    private final String ldLibraryPath;
    private final Path root;
    private final Path home;

    LibraryFinder(String ldLibraryPath, Path root, Path home) {
        this.ldLibraryPath = ldLibraryPath == null ? "" : ldLibraryPath;
        this.root = root;
        this.home = home;
    }

    /** The finder for this machine. */
    static LibraryFinder system() {
        return new LibraryFinder(System.getenv("LD_LIBRARY_PATH"), Path.of("/"), Path.of(System.getProperty("user.home", "/root")));
    }

    Result find(String... names) {
        List<Path> dirs = searchDirs();
        for (String name : names) {
            for (Path dir : dirs) {
                Path candidate = dir.resolve(name);
                if (Files.isRegularFile(candidate)) return new Result(candidate, List.of(names), dirs);
            }
        }
        return new Result(null, List.of(names), dirs);
    }

    /** Existing folders to search, in order, without repeats. */
    List<Path> searchDirs() {
        List<Path> dirs = new ArrayList<>();
        for (String part : ldLibraryPath.split(":")) if (!part.isBlank()) add(dirs, Path.of(part));
        for (Path cuda : children(root.resolve("usr/local"), "cuda")) {
            add(dirs, cuda.resolve("lib64"));
            add(dirs, cuda.resolve("lib"));
        }
        add(dirs, root.resolve("usr/lib/x86_64-linux-gnu"));
        add(dirs, root.resolve("usr/lib64"));
        for (Path base : List.of(root.resolve("usr/lib"), root.resolve("usr/local/lib"), home.resolve(".local/lib"))) {
            for (Path python : children(base, "python3")) {
                for (String packages : List.of("site-packages", "dist-packages")) {
                    for (Path nvidia : children(python.resolve(packages).resolve("nvidia"), "")) add(dirs, nvidia.resolve("lib"));
                }
            }
        }
        return dirs;
    }

    private static void add(List<Path> dirs, Path dir) {
        if (Files.isDirectory(dir) && !dirs.contains(dir)) dirs.add(dir);
    }

    /** Sub-folders of {@code dir} whose name starts with {@code prefix}, sorted by name (so the order is stable). */
    private static List<Path> children(Path dir, String prefix) {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) return out;
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            for (Path p : s) if (p.getFileName().toString().startsWith(prefix) && Files.isDirectory(p)) out.add(p);
        } catch (IOException | SecurityException e) {
            return out;   // an unreadable folder is one we cannot search, not an error
        }
        out.sort(null);
        return out;
    }
}
