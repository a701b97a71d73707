package dev.jlight.server.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jlight.core.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class ShareGptLikeTest {
    static double mean(int[][] lens, int k) {
        return Arrays.stream(lens).mapToInt(l -> l[k]).average().orElseThrow();
    }

    static double median(int[][] lens, int k) {
        int[] v = Arrays.stream(lens).mapToInt(l -> l[k]).sorted().toArray();
        return v[v.length / 2];
    }

    @Test
    void lengthsHaveShareGptMeansAndVllmFilterBounds() {
        int[][] lens = ShareGptLike.lengths(20_000, 0, 0);
        // standard error of the mean is about 1.5 tokens at n = 20,000: 4 % is > 5 sigma
        assertEquals(202, mean(lens, 0), 202 * 0.04, "prompt mean");
        assertEquals(179, mean(lens, 1), 179 * 0.04, "output mean");
        // heavy tail: the median is well below the mean, as in ShareGPT
        assertTrue(median(lens, 0) < 0.8 * mean(lens, 0), "prompt median " + median(lens, 0));
        assertTrue(median(lens, 1) < 0.8 * mean(lens, 1), "output median " + median(lens, 1));
        for (int[] l : lens) {
            assertTrue(l[0] >= 4 && l[1] >= 4 && l[0] <= 1024 && l[0] + l[1] <= 2048, Arrays.toString(l));
        }
        assertTrue(Arrays.stream(lens).anyMatch(l -> l[0] > 800), "the tail reaches long prompts");
    }

    @Test
    void seededAndOverridableOutputLength() {
        assertArrayEquals(ShareGptLike.lengths(50, 0, 9), ShareGptLike.lengths(50, 0, 9));
        assertNotEquals(Arrays.deepToString(ShareGptLike.lengths(50, 0, 9)),
                Arrays.deepToString(ShareGptLike.lengths(50, 0, 10)));
        int[][] fixed = ShareGptLike.lengths(50, 33, 9);
        for (int i = 0; i < 50; i++) {
            assertEquals(33, fixed[i][1]);
            assertEquals(ShareGptLike.lengths(50, 0, 9)[i][0], fixed[i][0], "same prompt lengths");
        }
    }

    @Test
    void promptsAreRealTextOfTheDrawnLengthInWords() {
        List<BenchRequest> r = ShareGptLike.requests(40, 0, 3, null);
        int[][] lens = ShareGptLike.lengths(40, 0, 3);
        String corpus = ShareGptLike.corpus();
        for (int i = 0; i < 40; i++) {
            String[] words = r.get(i).prompt().split(" ");
            assertEquals(lens[i][0], words.length);
            assertEquals(lens[i][1], r.get(i).outputLen());
            assertEquals(-1, r.get(i).promptLen());
            assertTrue(corpus.contains(words[0]), words[0]);
        }
        assertEquals(r.get(7).prompt(), ShareGptLike.requests(40, 0, 3, null).get(7).prompt(), "seeded");
    }

    @Test
    void withATokenizerPromptsHaveTheDrawnTokenCount() {
        try (Tokenizer tok = Tokenizer.load(RealServerTest.repoRoot().resolve("models/jlight-demo"))) {
            List<BenchRequest> r = ShareGptLike.requests(30, 0, 5, tok);
            int[][] lens = ShareGptLike.lengths(30, 0, 5);
            for (int i = 0; i < 30; i++) {
                BenchRequest b = r.get(i);
                assertEquals(b.promptLen(), tok.encode(b.prompt(), false).length);
                assertArrayEquals(tok.encode(b.prompt(), false), b.promptIds());
                // broken characters dropped at the edges cost a few tokens; never more than drawn
                assertTrue(b.promptLen() <= lens[i][0] && b.promptLen() >= lens[i][0] - Math.max(4, lens[i][0] / 20),
                        "request " + i + ": " + b.promptLen() + " tokens for " + lens[i][0]);
            }
            String all = String.join(" ", r.stream().map(BenchRequest::prompt).toList());
            assertTrue(all.chars().filter(Character::isLetter).count() > all.length() * 0.6, "mostly letters");
        }
    }

    @Test
    void windowWrapsAround() {
        assertArrayEquals(new int[]{3, 4, 1, 2, 3}, ShareGptLike.window(new int[]{1, 2, 3, 4}, 2, 5));
    }
}
