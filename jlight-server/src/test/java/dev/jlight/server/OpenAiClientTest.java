package dev.jlight.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.ChatCompletionTokenLogprob;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionChoice;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.models.Model;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The official OpenAI Java client against the server: what an OpenAI user would run, unchanged. */
class OpenAiClientTest {
    private static OpenAIClient client;

    @BeforeAll
    static void connect() {
        OpenAiServer server = TestServers.shared();
        client = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + server.port() + "/v1")
                .apiKey(TestServers.KEY).maxRetries(0).build();
    }

    @AfterAll
    static void close() {
        client.close();
    }

    private static ChatCompletionCreateParams.Builder chat() {
        return ChatCompletionCreateParams.builder().model(TestServers.MODEL)
                .addSystemMessage("You answer in one sentence.")
                .addUserMessage("What did the man see?")
                .addAssistantMessage("He saw a house.")
                .addUserMessage("And then?");
    }

    @Test
    void listsTheModel() {
        List<Model> models = client.models().list().data();
        assertEquals(1, models.size());
        assertEquals(TestServers.MODEL, models.getFirst().id());
        assertEquals("jlight", models.getFirst().ownedBy());
    }

    @Test
    void chatCompletion() {
        ChatCompletion c = client.chat().completions().create(chat().maxCompletionTokens(16).temperature(0.0).build());
        assertTrue(c.id().startsWith("chatcmpl-"));
        assertEquals(TestServers.MODEL, c.model());
        assertEquals(1, c.choices().size());
        ChatCompletion.Choice choice = c.choices().getFirst();
        assertFalse(choice.message().content().orElse("").isEmpty());
        assertTrue(List.of("stop", "length").contains(choice.finishReason().asString()));
        long completion = c.usage().orElseThrow().completionTokens();
        assertTrue(completion >= 1 && completion <= 16);
        assertEquals(c.usage().get().promptTokens() + completion, c.usage().get().totalTokens());
    }

    @Test
    void chatStreamingAddsUpToTheSameTextAndUsage() {
        ChatCompletionCreateParams plain = chat().maxCompletionTokens(20).seed(42L).temperature(0.8).n(2L).build();
        ChatCompletionCreateParams params = plain.toBuilder()
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
        ChatCompletion whole = client.chat().completions().create(plain);
        Map<Long, StringBuilder> text = new TreeMap<>();
        Map<Long, String> finish = new TreeMap<>();
        long[] usage = {-1};
        try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(params)) {
            s.stream().forEach(chunk -> {
                chunk.usage().ifPresent(u -> usage[0] = u.completionTokens());
                for (ChatCompletionChunk.Choice c : chunk.choices()) {
                    text.computeIfAbsent(c.index(), i -> new StringBuilder()).append(c.delta().content().orElse(""));
                    c.finishReason().ifPresent(f -> finish.put(c.index(), f.asString()));
                }
            });
        }
        assertEquals(2, whole.choices().size());
        for (ChatCompletion.Choice c : whole.choices()) {
            assertEquals(c.message().content().orElse(""), text.get(c.index()).toString());
            assertEquals(c.finishReason().asString(), finish.get(c.index()));
        }
        assertEquals(whole.usage().orElseThrow().completionTokens(), usage[0]);
    }

    @Test
    void chatLogprobs() {
        ChatCompletion c = client.chat().completions().create(chat().maxCompletionTokens(5).temperature(0.0)
                .logprobs(true).topLogprobs(3L).build());
        List<ChatCompletionTokenLogprob> content = c.choices().getFirst().logprobs().orElseThrow().content()
                .orElseThrow();
        assertEquals(c.usage().orElseThrow().completionTokens(), content.size());
        for (ChatCompletionTokenLogprob t : content) {
            assertEquals(3, t.topLogprobs().size());
            assertEquals(t.topLogprobs().getFirst().logprob(), t.logprob(), 1e-6, "greedy takes the top token");
            assertTrue(t.logprob() <= 0);
        }
    }

    @Test
    void completionsWithNAndLogprobs() {
        Completion c = client.completions().create(CompletionCreateParams.builder().model(TestServers.MODEL)
                .prompt("The old man").maxTokens(12).n(2L).seed(9L).logprobs(2L).build());
        assertTrue(c.id().startsWith("cmpl-"));
        assertEquals(2, c.choices().size());
        for (CompletionChoice choice : c.choices()) {
            CompletionChoice.Logprobs lp = choice.logprobs().orElseThrow();
            List<String> tokens = lp.tokens().orElseThrow();
            assertEquals(String.join("", tokens), choice.text());
            assertEquals(tokens.size(), lp.tokenLogprobs().orElseThrow().size());
            assertEquals(tokens.size(), lp.textOffset().orElseThrow().size());
        }
        assertEquals(c.choices().stream().mapToLong(ch -> ch.logprobs().get().tokens().get().size()).sum(),
                c.usage().orElseThrow().completionTokens());
    }

    @Test
    void completionsStreamingEqualsNonStreaming() {
        CompletionCreateParams params = CompletionCreateParams.builder().model(TestServers.MODEL)
                .promptOfArrayOfStrings(List.of("In the morning", "She said")).maxTokens(14).temperature(0.0)
                .stop(CompletionCreateParams.Stop.ofStrings(List.of("\n\n"))).build();
        Completion whole = client.completions().create(params);
        Map<Long, StringBuilder> text = new TreeMap<>();
        try (StreamResponse<Completion> s = client.completions().createStreaming(params)) {
            s.stream().forEach(chunk -> chunk.choices().forEach(c ->
                    text.computeIfAbsent(c.index(), i -> new StringBuilder()).append(c.text())));
        }
        assertEquals(2, whole.choices().size());
        for (CompletionChoice c : whole.choices()) {
            assertEquals(c.text(), text.get(c.index()).toString());
        }
    }

    @Test
    void vllmExtensionsGoThroughAdditionalBodyProperties() {
        Completion c = client.completions().create(CompletionCreateParams.builder().model(TestServers.MODEL)
                .prompt("The old man").maxTokens(30).temperature(0.0)
                .putAdditionalBodyProperty("ignore_eos", JsonValue.from(true))
                .putAdditionalBodyProperty("min_tokens", JsonValue.from(30))
                .putAdditionalBodyProperty("top_k", JsonValue.from(5)).build());
        assertEquals(30, c.usage().orElseThrow().completionTokens());
    }

    @Test
    void errorsAreTypedExceptions() {
        assertThrows(NotFoundException.class, () -> client.chat().completions().create(
                ChatCompletionCreateParams.builder().model("gpt-4o").addUserMessage("hi").build()));
        BadRequestException bad = assertThrows(BadRequestException.class, () -> client.chat().completions().create(
                chat().temperature(-1.0).build()));
        assertEquals("temperature", bad.param().orElse(null));
        assertEquals("invalid_request_error", bad.type().orElse(null));
        OpenAIClient wrong = OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:"
                + TestServers.shared().port() + "/v1").apiKey("wrong").maxRetries(0).build();
        try {
            assertThrows(UnauthorizedException.class, () -> wrong.models().list());
        } finally {
            wrong.close();
        }
    }
}
