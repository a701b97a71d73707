/**
 * The serving engine (vLLM v1's design, nano-vllm's file split): continuous batching over a paged
 * KV cache with prefix caching, sampling, stop handling and streaming.
 *
 * <h2>One step</h2>
 * {@link dev.jlight.core.engine.Scheduler} picks the step's work as plain data
 * ({@link dev.jlight.core.engine.SchedulerOutput}): each running sequence's computed tokens
 * catch up with its tokens under a token budget (chunked prefill, decodes), waiting ones are
 * admitted while blocks allow, and the youngest running one is preempted (freed, recomputed
 * later) when blocks run out. {@link dev.jlight.core.engine.kv.KvCacheManager} owns the block
 * tables on a {@link dev.jlight.core.engine.kv.BlockPool} with lazy LRU eviction of cached
 * prefix blocks. {@link dev.jlight.core.engine.BatchBuilder} packs the step into a
 * {@link dev.jlight.core.model.ForwardBatch}; {@link dev.jlight.core.engine.ModelRunner} calls
 * the model; {@link dev.jlight.core.engine.sample.Sampler} picks tokens; each choice's
 * detokenizer and stop checks produce {@link dev.jlight.core.engine.CompletionDelta}s, published
 * as {@link dev.jlight.core.engine.RequestOutput}s. {@link dev.jlight.core.engine.EngineCore}
 * runs that step, overlapping a device-sampled step with the host work of the one before it
 * (async scheduling, see its doc); {@link dev.jlight.core.engine.Engine} runs it on one thread.
 *
 * <h2>Use</h2>
 * <pre>{@code
 * int blocks = BlockPool.numBlocks(kvBudgetBytes, model.kvCacheSpec(1, 16));
 * KvCache kv = model.backend().allocateKvCache(model.kvCacheSpec(blocks, 16));
 * Engine engine = Engine.start(model, kv, EngineOptions.defaults(maxModelLen), eosIds,
 *         (prompt, skipSpecial) -> tokenizer.newDecoder(prompt, skipSpecial));
 * RequestStream s = engine.generate(new EngineRequest(id, promptIds, params)); // may throw InvalidRequestException
 * for (RequestOutput o : s) { ... }     // or s.collect(), s.asPublisher(), s.cancel()
 * engine.close();                        // then close kv and model
 * }</pre>
 */
package dev.jlight.core.engine;
