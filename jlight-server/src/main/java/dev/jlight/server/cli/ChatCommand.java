package dev.jlight.server.cli;

import dev.jlight.server.ServerRuntime;
import dev.jlight.core.JLightException;
import dev.jlight.core.engine.CompletionDelta;
import dev.jlight.core.engine.EngineRequest;
import dev.jlight.core.engine.RequestOutput;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code jlight chat}: an interactive conversation rendered with the model's chat template. */
@Command(name = "chat", mixinStandardHelpOptions = true,
        description = "Chat with the model in the terminal (/reset clears the history, /exit or end of input quits).")
final class ChatCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Mixin
    SamplingOptions sampling;

    @Option(names = "--system", description = "A system message to start the conversation with.")
    String system;

    @Override
    public Integer call() throws IOException {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (ServerRuntime local = model.load()) {
            List<Map<String, Object>> messages = new ArrayList<>();
            resetTo(messages);
            int turn = 0;
            while (true) {
                out.print("> ");
                out.flush();
                String line = in.readLine();
                if (line == null || line.strip().equals("/exit")) {
                    out.println();
                    return 0;
                }
                if (line.strip().equals("/reset")) {
                    resetTo(messages);
                    continue;
                }
                if (line.isBlank()) {
                    continue;
                }
                messages.add(Map.of("role", "user", "content", line));
                int[] ids = encodeChat(local, messages);
                StringBuilder reply = new StringBuilder();
                for (RequestOutput o : local.engine().generate(new EngineRequest("chat-" + turn++, ids, sampling.params()))) {
                    for (CompletionDelta d : o.choices()) {
                        out.print(d.text());
                        reply.append(d.text());
                    }
                }
                out.println();
                messages.add(Map.of("role", "assistant", "content", reply.toString()));
            }
        }
    }

    private void resetTo(List<Map<String, Object>> messages) {
        messages.clear();
        if (system != null) {
            messages.add(Map.of("role", "system", "content", system));
        }
    }

    /** Renders the conversation with the chat template (generation prompt on) and tokenizes it as vLLM does. */
    static int[] encodeChat(ServerRuntime local, List<? extends Map<String, ?>> messages) {
        if (local.chatTemplate() == null) {
            throw new JLightException(local.config().file().getParent()
                    + ": the model has no chat template (tokenizer_config.json chat_template); use --chat-template");
        }
        String text = local.chatTemplate().apply(messages, null, null, true, Map.of());
        // the template writes the special tokens itself (vLLM: add_special_tokens=False for chat)
        return local.tokenizer().encode(text, false);
    }
}
