package dev.jlight.cuda;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A kernel launched with programmatic dependent launch that reads its inputs before pdl_entry()
 * races with the kernel before it, and no CPU test would see it (the emulator and the fake
 * driver run kernels one after the other). So the sources are checked instead: every kernel
 * Kernels.PDL_KERNELS names (and every kernel of a PDL_KERNEL_PREFIXES family) is defined in
 * src/main/cuda with pdl_entry() as the first statement of its body — except the gemv kernels,
 * whose bodies only call gemv_impl, where pdl_entry() follows only pointer arithmetic; that one is
 * checked by name.
 */
class PdlKernelSourcesTest {
    /** From the module (Maven) or from the repository root (the device's test runner). */
    private static final Path SOURCES = Files.isDirectory(Path.of("src/main/cuda")) ? Path.of("src/main/cuda")
            : Path.of("jlight-cuda/src/main/cuda");
    /**
     * __global__ ... name(args) { [\ newline] [prefetch_split_kv(...);] pdl_entry(); — the name may
     * hold macro pastes (##D##). prefetch_split_kv, the one call allowed before the wait, reads
     * only the step's metadata and only prefetches K/V into L2 (checked below).
     */
    private static final String DEFINITION = "__global__[^;{]*?\\b(%s)\\s*\\([^{]*\\{\\s*(?:\\\\\\s*)*"
            + "(?:prefetch_split_kv\\([^;]*\\);\\s*(?:\\\\\\s*)*)?(pdl_entry\\(\\);)?";

    private static String allSources() throws IOException {
        StringBuilder sb = new StringBuilder();
        try (Stream<Path> files = Files.list(SOURCES)) {
            for (Path p : files.filter(p -> p.toString().endsWith(".cu") || p.toString().endsWith(".cuh")).sorted()
                    .toList()) {
                sb.append(Files.readString(p)).append('\n');
            }
        }
        return sb.toString();
    }

    private static List<String> definitions(String src, String namePattern, boolean withEntry) {
        Matcher m = Pattern.compile(String.format(DEFINITION, namePattern)).matcher(src);
        List<String> found = new ArrayList<>();
        while (m.find()) {
            if ((m.group(2) != null) == withEntry) {
                found.add(m.group(1));
            }
        }
        return found;
    }

    @Test
    void everyProgrammaticKernelWaitsFirst() throws IOException {
        String src = allSources();
        for (String name : Kernels.PDL_KERNELS) {
            if (name.startsWith("gemv_")) {
                continue;
            }
            assertFalse(definitions(src, Pattern.quote(name), true).isEmpty(),
                    name + " is launched programmatically but its body does not start with pdl_entry();");
        }
        for (String prefix : Kernels.PDL_KERNEL_PREFIXES) {
            String family = Pattern.quote(prefix) + "[\\w#]*";
            assertFalse(definitions(src, family, true).isEmpty(), prefix + "*: no definition with pdl_entry()");
            assertTrue(definitions(src, family, false).isEmpty(),
                    prefix + "* has definitions without pdl_entry(): " + definitions(src, family, false));
        }
    }

    @Test
    void gemvWaitsBeforeReadingActivations() throws IOException {
        String gemv = Files.readString(SOURCES.resolve("gemv.cu"));
        int entry = gemv.indexOf("pdl_entry();");
        assertTrue(entry > 0, "gemv.cu has no pdl_entry()");
        // before the wait: only pointer arithmetic; x (or the residual the norm reads), out and
        // partial sums come after it
        String before = gemv.substring(gemv.indexOf("gemv_impl("), entry);
        assertFalse(before.contains("xr + kk") || before.contains("store(") || before.contains("gemv_norm_rows(")
                || before.contains("__ld"), "gemv reads x or writes before pdl_entry(): " + before);
        // every programmatic gemv kernel is one of gemv.cu's, a body that only calls gemv_impl or
        // gemv_norm_tiles, whose first statement is a gemv_impl call that waits (FIRST not false)
        for (String name : Kernels.PDL_KERNELS) {
            if (name.startsWith("gemv_")) {
                Matcher m = Pattern.compile("__global__[^;{]*?\\b" + Pattern.quote(name)
                        + "\\s*\\([^{]*\\{\\s*gemv_(impl|norm_tiles)<[^;]*;\\s*}").matcher(gemv);
                assertTrue(m.find(), name + " is launched programmatically but is not a gemv_impl call in gemv.cu");
            }
        }
        int tiles = gemv.indexOf("void gemv_norm_tiles(");
        assertTrue(tiles > 0, "gemv.cu defines gemv_norm_tiles");
        String body = gemv.substring(gemv.indexOf('{', tiles) + 1);
        String first = body.substring(0, body.indexOf(';') + 1).strip();
        assertTrue(first.startsWith("gemv_impl<bf16, SWIGLU, true>("),
                "gemv_norm_tiles must start with the waiting first tile, not: " + first);
    }

    @Test
    void thePreWaitPrefetchOnlyPrefetches() throws IOException {
        String merge = Files.readString(SOURCES.resolve("attention_merge.cuh"));
        int start = merge.indexOf("void prefetch_split_kv(");
        assertTrue(start > 0, "attention_merge.cuh defines prefetch_split_kv");
        String body = merge.substring(merge.indexOf('{', start), merge.indexOf("\n}\n", start));
        // the pools appear only as l2_prefetch's address; nothing is stored
        String rest = body.replaceAll("l2_prefetch\\(\\(\\(i & 1\\) \\? vPool : kPool\\)", "");
        assertFalse(rest.contains("kPool") || rest.contains("vPool"), "prefetch_split_kv reads K/V: " + body);
        assertFalse(body.matches("(?s).*[^=!<>]=[^=].*\\[[^]]*\\]\\s*=.*") || body.contains("atomic"),
                "prefetch_split_kv writes memory");
    }

    @Test
    void thePatternSeesAMissingEntry() {
        String src = "extern \"C\" __global__ void k1(int* a) {\n    a[0] = 1;\n}\n"
                + "extern \"C\" __global__ void k2(int* a) {\n    pdl_entry();\n    a[0] = 1;\n}\n"
                + "extern \"C\" __global__ void k3(int* a) {\n    prefetch_split_kv(a, a,\n a);\n    pdl_entry();\n}\n"
                + "extern \"C\" __global__ void k4(int* a) {\n    a[1] = 2;\n    pdl_entry();\n}\n";
        assertTrue(definitions(src, "k1", true).isEmpty());
        assertFalse(definitions(src, "k2", true).isEmpty());
        assertFalse(definitions(src, "k3", true).isEmpty());
        assertTrue(definitions(src, "k4", true).isEmpty());
    }
}
