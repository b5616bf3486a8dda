package dev.ember.kernels.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Library discovery on fake folder trees (empty files with the right names); nothing is loaded. */
class LibraryFinderTest {
    private static Path touch(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        return Files.createFile(file);
    }

    @Test void findsCublasInPythonSitePackagesAndPrefersTheNewestName(@TempDir Path root) throws IOException {
        Path home = root.resolve("home/user");
        Path v12 = touch(root.resolve("usr/local/cuda-12.4/lib64/libcublas.so.12"));
        Path v13 = touch(root.resolve("usr/lib/python3.12/site-packages/nvidia/cublas/lib/libcublas.so.13"));
        LibraryFinder f = new LibraryFinder(null, root, home);
        LibraryFinder.Result r = f.find("libcublas.so.13", "libcublas.so.12");
        assertEquals(v13, r.path(), r.describe());
        assertEquals(v12, f.find("libcublas.so.12").path());
        assertTrue(r.describe().contains("found at " + v13), r.describe());
    }

    @Test void ldLibraryPathComesFirstThenCudaFoldersThenTheDistributionThenPython(@TempDir Path root) throws IOException {
        Path home = root.resolve("home/user");
        Path ld = root.resolve("opt/mylibs");
        Path inLd = touch(ld.resolve("libcudnn.so.9"));
        touch(root.resolve("usr/local/cuda/lib64/libcudnn.so.9"));
        touch(root.resolve("usr/lib/x86_64-linux-gnu/libcudnn.so.9"));
        touch(home.resolve(".local/lib/python3.11/site-packages/nvidia/cudnn/lib/libcudnn.so.9"));
        LibraryFinder f = new LibraryFinder(ld + ":" + root.resolve("does/not/exist"), root, home);
        assertEquals(inLd, f.find("libcudnn.so.9").path());
        var dirs = f.searchDirs();
        assertEquals(ld, dirs.get(0));
        assertEquals(root.resolve("usr/local/cuda/lib64"), dirs.get(1));
        assertEquals(root.resolve("usr/lib/x86_64-linux-gnu"), dirs.get(2));
        assertEquals(home.resolve(".local/lib/python3.11/site-packages/nvidia/cudnn/lib"), dirs.get(dirs.size() - 1));
        assertFalse(dirs.contains(root.resolve("does/not/exist")), "missing folders are not listed as searched");
    }

    @Test void findsDistPackagesUnderUsrLocal(@TempDir Path root) throws IOException {
        Path lib = touch(root.resolve("usr/local/lib/python3.10/dist-packages/nvidia/cudnn/lib/libcudnn.so.9"));
        assertEquals(lib, new LibraryFinder("", root, root.resolve("nohome")).find("libcudnn.so.9").path());
    }

    @Test void notFoundListsTheFoldersSearched(@TempDir Path root) throws IOException {
        Files.createDirectories(root.resolve("usr/local/cuda-13.0/lib64"));
        touch(root.resolve("usr/local/cuda-13.0/lib64/libcudart.so.13"));   // another library: no match
        LibraryFinder.Result r = new LibraryFinder(null, root, root).find("libcublas.so.13", "libcublas.so.12");
        assertFalse(r.found());
        assertNull(r.path());
        String m = r.describe();
        assertTrue(m.startsWith("libcublas.so.13 / libcublas.so.12 not found, searched: "), m);
        assertTrue(m.contains(root.resolve("usr/local/cuda-13.0/lib64").toString()), m);
    }

    @Test void cublasAndCudnnAreNotBoundWhenTheLibraryIsMissing(@TempDir Path root) {
        LibraryFinder empty = new LibraryFinder(null, root, root);
        String[] why = new String[1];
        assertNull(Cublas.load(empty, why));
        assertTrue(why[0].contains("libcublas.so.13") && why[0].contains("not found"), why[0]);
        assertNull(Cudnn.load(empty, why));
        assertTrue(why[0].contains("libcudnn.so.9") && why[0].contains("not found"), why[0]);
    }

    @Test void aFileThatIsNotALibraryIsReportedNotLoaded(@TempDir Path root) throws IOException {
        Path fake = touch(root.resolve("usr/lib/x86_64-linux-gnu/libcublas.so.13"));   // empty: dlopen refuses it
        String[] why = new String[1];
        assertNull(Cublas.load(new LibraryFinder(null, root, root), why));
        assertTrue(why[0].contains(fake.toString()) && why[0].contains("does not load"), why[0]);
    }
}
