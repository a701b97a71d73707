package dev.jlight.server.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.jlight.core.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** The prompts: vLLM's random dataset, or a JSONL file. */
public final class Datasets {
    private static final String[] WORDS = ("the of and to in is was for on that with as by at from it his an are were "
            + "which this be or has had not but first one their its new after who they have her she two been other when "
            + "there all during into school time may years more most only over city some world would where later up such "
            + "used many can state about national out known university united then made team several well people part")
            .split(" ");

    private Datasets() {
    }

    /**
     * vLLM's RandomDataset: input length uniform in [in·(1−r), in·(1+r)], output likewise, a shared
     * random prefix of {@code prefixLen} tokens, then token ids {@code (offset + i + j) mod vocab}
     * decoded to text. Without a tokenizer, random common words stand in for tokens (about one
     * token each for BPE vocabularies); their true count comes from the server's usage.
     */
    public static List<BenchRequest> random(int n, int inputLen, int outputLen, double rangeRatio, int prefixLen,
                                            long seed, Tokenizer tok) {
        if (rangeRatio < 0 || rangeRatio >= 1) {
            throw new IllegalArgumentException("--random-range-ratio must be in [0, 1), got " + rangeRatio);
        }
        SplittableRandom rng = new SplittableRandom(seed);
        int vocab = tok != null ? tok.vocabSize() : WORDS.length;
        int[] prefix = new int[prefixLen];
        for (int i = 0; i < prefixLen; i++) {
            prefix[i] = pickId(rng, vocab, tok);
        }
        List<BenchRequest> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int in = uniform(rng, inputLen, rangeRatio);
            int o = Math.max(1, uniform(rng, outputLen, rangeRatio));
            int offset = rng.nextInt(vocab);
            int[] ids = new int[prefixLen + in];
            System.arraycopy(prefix, 0, ids, 0, prefixLen);
            for (int j = 0; j < in; j++) {
                int id = (offset + i + j) % vocab;
                ids[prefixLen + j] = tok != null && tok.isSpecial(id) ? pickId(rng, vocab, tok) : id;
            }
            if (tok != null) {
                String text = tok.decode(ids, true);
                int[] exact = tok.encode(text, false);     // decode then encode need not give back ids
                out.add(new BenchRequest(text, exact, exact.length, o));
            } else {
                StringBuilder sb = new StringBuilder();
                for (int id : ids) {
                    if (!sb.isEmpty()) {
                        sb.append(' ');
                    }
                    sb.append(WORDS[id]);
                }
                out.add(new BenchRequest(sb.toString(), -1, o));
            }
        }
        return out;
    }

    private static int uniform(SplittableRandom rng, int x, double r) {
        int lo = (int) (x * (1 - r));
        int hi = (int) (x * (1 + r));
        return lo + rng.nextInt(hi - lo + 1);
    }

    private static int pickId(SplittableRandom rng, int vocab, Tokenizer tok) {
        for (int k = 0; k < 100; k++) {
            int id = rng.nextInt(vocab);
            if (tok == null || !tok.isSpecial(id)) {
                return id;
            }
        }
        return 0;
    }

    /** JSONL, one {"prompt": ..., "output_len": ...} an object; output_len defaults to {@code defaultOutputLen}. */
    public static List<BenchRequest> file(Path path, int n, int defaultOutputLen, Tokenizer tok) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<BenchRequest> all = new ArrayList<>();
        int lineNo = 0;
        for (String line : Files.readAllLines(path)) {
            lineNo++;
            if (line.isBlank()) {
                continue;
            }
            JsonNode o = json.readTree(line);
            if (!o.path("prompt").isTextual()) {
                throw new IllegalArgumentException(path + ":" + lineNo + ": no string \"prompt\"");
            }
            String p = o.get("prompt").asText();
            int outLen = o.path("output_len").asInt(defaultOutputLen);
            all.add(new BenchRequest(p, tok != null ? tok.encode(p, false).length : -1, outLen));
        }
        if (all.isEmpty()) {
            throw new IllegalArgumentException(path + ": no prompts");
        }
        List<BenchRequest> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(all.get(i % all.size()));   // cycles when the file has fewer than --num-prompts
        }
        return out;
    }
}
