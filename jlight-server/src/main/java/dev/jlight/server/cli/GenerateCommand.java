package dev.jlight.server.cli;

import dev.jlight.server.ServerRuntime;
import dev.jlight.core.engine.CompletionDelta;
import dev.jlight.core.engine.EngineRequest;
import dev.jlight.core.engine.RequestOutput;
import dev.jlight.core.engine.RequestStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code jlight generate}: one prompt through the engine, text streamed to stdout as it comes. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate a continuation of a prompt (streamed to stdout).")
final class GenerateCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Mixin
    SamplingOptions sampling;

    @Option(names = {"-p", "--prompt"}, required = true, description = "The prompt text.")
    String prompt;

    @Option(names = "--chat", description = "Wrap the prompt as one user message in the model's chat template.")
    boolean chat;

    @Override
    public Integer call() {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        try (ServerRuntime local = model.load()) {
            int[] ids = chat ? ChatCommand.encodeChat(local, List.of(Map.of("role", "user", "content", prompt)))
                    : local.tokenizer().encode(prompt, true);
            long t0 = System.nanoTime();
            RequestStream stream = local.engine().generate(new EngineRequest("generate-0", ids, sampling.params()));
            if (!chat) {
                out.print(prompt);
            }
            RequestOutput last = null;
            long firstToken = 0;
            for (RequestOutput o : stream) {
                for (CompletionDelta d : o.choices()) {
                    if (firstToken == 0 && d.tokenIds().length > 0) {
                        firstToken = System.nanoTime();
                    }
                    out.print(d.text());
                }
                last = o;
            }
            out.println();
            long t1 = System.nanoTime();
            if (last != null) {
                int gen = last.generatedTokens();
                double decodeS = (t1 - firstToken) / 1e9;
                System.err.printf("jlight: %d prompt tokens, %d generated; time to first token %.0f ms, %.1f tokens/s after it%n",
                        last.promptTokens(), gen, (firstToken - t0) / 1e6, gen > 1 ? (gen - 1) / decodeS : 0.0);
            }
        }
        return 0;
    }
}
