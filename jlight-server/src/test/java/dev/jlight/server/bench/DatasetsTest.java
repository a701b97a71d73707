package dev.jlight.server.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetsTest {
    @Test
    void randomLengthsStayInTheRangeRatio() {
        List<BenchRequest> r = Datasets.random(200, 100, 40, 0.5, 10, 7, null);
        assertEquals(200, r.size());
        for (BenchRequest b : r) {
            int words = b.prompt().split(" ").length;
            assertTrue(words >= 10 + 50 && words <= 10 + 150, String.valueOf(words));
            assertTrue(b.outputLen() >= 20 && b.outputLen() <= 60, String.valueOf(b.outputLen()));
            assertEquals(-1, b.promptLen());        // no tokenizer: the server's usage counts
            assertNull(b.promptIds());
        }
        String prefix = r.get(0).prompt().substring(0, 20);
        assertTrue(r.stream().allMatch(b -> b.prompt().startsWith(prefix)), "shared prefix");
        assertEquals(r.get(5).prompt(), Datasets.random(200, 100, 40, 0.5, 10, 7, null).get(5).prompt(), "seeded");
        assertTrue(r.stream().mapToInt(BenchRequest::outputLen).distinct().count() > 10);
    }

    @Test
    void jsonlPromptsCycleAndTakeTheDefaultOutputLen(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("p.jsonl");
        Files.writeString(f, "{\"prompt\": \"hello\", \"output_len\": 5}\n\n{\"prompt\": \"world\"}\n");
        List<BenchRequest> r = Datasets.file(f, 5, 17, null);
        assertEquals(List.of("hello", "world", "hello", "world", "hello"), r.stream().map(BenchRequest::prompt).toList());
        assertEquals(List.of(5, 17, 5, 17, 5), r.stream().map(BenchRequest::outputLen).toList());
    }
}
