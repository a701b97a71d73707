package dev.jlight.core.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/** Finds the repository root from tests (surefire sets jlight.repo.root; IDEs may not). */
public final class RepoPaths {
    private RepoPaths() {
    }

    public static Path root() {
        String prop = System.getProperty("jlight.repo.root");
        if (prop != null && Files.isDirectory(Path.of(prop, "testdata"))) {
            return Path.of(prop);
        }
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("testdata"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("cannot find the repository root (no testdata/ above " + Path.of("").toAbsolutePath() + ")");
        }
        return p;
    }

    public static Path testdata(String first, String... more) {
        return root().resolve("testdata").resolve(Path.of(first, more));
    }

    /** Fetched (not committed) assets such as real tokenizers: .assets/ under the root. */
    public static Path assets(String first, String... more) {
        return root().resolve(".assets").resolve(Path.of(first, more));
    }
}
