import { Counter, Histogram, type Registry } from 'prom-client';
import { errorType, logOperation, readProperty, roundMs, timeOperation, Vocabulary, type DependencyContext } from './operation';

/** OpenTelemetry's buckets for `gen_ai.client.operation.duration`, in seconds. */
export const GEN_AI_DURATION_BUCKETS = Object.freeze([0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]);
/** OpenTelemetry's buckets for `gen_ai.client.token.usage`, in tokens. */
export const GEN_AI_TOKEN_BUCKETS = Object.freeze([1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]);

/** What an LLM call is, in OpenTelemetry's terms. */
export interface LlmOperation {
  /** `gen_ai.provider.name`: `openai`, `anthropic`, `gcp.gemini`, `aws.bedrock`, `ollama`, ... (`unknown` when missing). */
  readonly provider: string;
  /** `gen_ai.request.model`: the model asked for (`gpt-4o-mini`). */
  readonly model: string;
  /** `gen_ai.operation.name`: `chat` (the default), `embeddings`, `text_completion`, `generate_content`, ... */
  readonly operation?: string;
}

/** Token counts of one call. */
export interface LlmUsage {
  /** Tokens of the prompt (`gen_ai.usage.input_tokens`). */
  readonly inputTokens?: number;
  /** Tokens of the answer (`gen_ai.usage.output_tokens`). */
  readonly outputTokens?: number;
  /** Input tokens the provider served from its prompt cache (logged, part of `inputTokens`). */
  readonly cachedInputTokens?: number;
  /** Input tokens the provider wrote to its prompt cache (Anthropic's cache creation; logged, part of `inputTokens`). */
  readonly cacheWriteInputTokens?: number;
}

/** Handed to the work of `obs.llm.call()`, to report what only the call knows. */
export interface LlmCall {
  /** Reports the token counts (else they are read from the result's `usage`, as OpenAI, Anthropic and Gemini return it). */
  usage(usage: LlmUsage): void;
  /** Reports the cost in US dollars (else it is computed from `llmPrices`, when the model has a price). */
  cost(usd: number): void;
  /** Marks the answer as served from the application's own cache (no provider call was made). */
  cached(cached?: boolean): void;
}

/** Price of a model, in US dollars per million tokens. */
export interface LlmPrice {
  readonly input: number;
  readonly output: number;
  /** Price of input tokens read from the provider's prompt cache; default: the input price. */
  readonly cachedInput?: number;
  /** Price of input tokens written to the provider's prompt cache; default: the input price. */
  readonly cacheWriteInput?: number;
}

/** `obs.llm`. */
export interface LlmHelpers {
  /**
   * Runs `fn(call)` (sync or async) as one LLM call: `gen_ai_client_operation_duration_seconds`,
   * `gen_ai_client_token_usage` (input and output), `gen_ai_client_cost_usd_total`,
   * `gen_ai_client_cached_operations_total`, the percentile store series `gen_ai_client_operation` (ms), a debug
   * line, a warn line past `llmSlowMs`, an error line on failure. Returns or rethrows what `fn` does.
   */
  call<T>(operation: LlmOperation, fn: (call: LlmCall) => T): T;
}

const LLM_MESSAGES = Object.freeze({ done: 'llm call', slow: 'slow llm call', failed: 'llm call failed' });

export interface LlmOptions {
  readonly slowMs: number;
  readonly maxLabelValues: number;
  readonly prices: Readonly<Record<string, LlmPrice>>;
}

/** A count that can be taken: a finite number from 0 to 2^53. */
function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= Number.MAX_SAFE_INTEGER ? Math.floor(value) : undefined;
}

const read = readProperty;

/**
 * Token counts from a provider's answer: OpenAI chat completions (`usage.prompt_tokens`), OpenAI responses and
 * Anthropic messages (`usage.input_tokens`), Gemini (`usageMetadata.promptTokenCount`).
 */
export function usageOf(result: unknown): LlmUsage | undefined {
  const usage = read(result, 'usage');
  if (usage !== undefined) {
    const output = count(read(usage, 'output_tokens')) ?? count(read(usage, 'completion_tokens'));
    const cacheRead = count(read(usage, 'cache_read_input_tokens'));
    const cacheWrite = count(read(usage, 'cache_creation_input_tokens'));
    if ((cacheRead !== undefined || cacheWrite !== undefined) && read(usage, 'prompt_tokens') === undefined) {
      // Anthropic: input_tokens counts only what came after the last cache breakpoint; the prompt is all three.
      // (Gateways answering in OpenAI's shape, with prompt_tokens, count the whole prompt there: read below.)
      const input = count(read(usage, 'input_tokens'));
      return { inputTokens: (input ?? 0) + (cacheRead ?? 0) + (cacheWrite ?? 0), outputTokens: output, cachedInputTokens: cacheRead, cacheWriteInputTokens: cacheWrite };
    }
    // OpenAI: the cached tokens are part of prompt_tokens / input_tokens.
    const input = count(read(usage, 'input_tokens')) ?? count(read(usage, 'prompt_tokens'));
    const cached = count(read(read(usage, 'prompt_tokens_details'), 'cached_tokens')) ?? count(read(read(usage, 'input_tokens_details'), 'cached_tokens')) ?? cacheRead;
    if (input !== undefined || output !== undefined) return { inputTokens: input, outputTokens: output, cachedInputTokens: cached, cacheWriteInputTokens: cacheWrite };
  }
  const gemini = read(result, 'usageMetadata');
  if (gemini !== undefined) {
    const input = count(read(gemini, 'promptTokenCount'));
    const candidates = count(read(gemini, 'candidatesTokenCount'));
    // Thinking tokens are billed as output.
    const thoughts = count(read(gemini, 'thoughtsTokenCount'));
    const output = candidates === undefined && thoughts === undefined ? undefined : (candidates ?? 0) + (thoughts ?? 0);
    if (input !== undefined || output !== undefined) return { inputTokens: input, outputTokens: output, cachedInputTokens: count(read(gemini, 'cachedContentTokenCount')) };
  }
  return undefined;
}

/** The cost of a call at `price`, in US dollars. */
function priced(usage: LlmUsage, price: LlmPrice | undefined): number | undefined {
  if (price === undefined || (usage.inputTokens === undefined && usage.outputTokens === undefined)) return undefined;
  const total = usage.inputTokens ?? 0;
  const cachedInput = Math.min(usage.cachedInputTokens ?? 0, total);
  const cacheWrite = Math.min(usage.cacheWriteInputTokens ?? 0, total - cachedInput);
  const input = total - cachedInput - cacheWrite;
  return (
    (input * price.input + cachedInput * (price.cachedInput ?? price.input) + cacheWrite * (price.cacheWriteInput ?? price.input) + (usage.outputTokens ?? 0) * price.output) / 1e6
  );
}

export function buildLlmHelpers(ctx: DependencyContext & { readonly registry: Registry }, options: LlmOptions): LlmHelpers {
  const labelNames = ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model'] as const;
  const duration = new Histogram({
    name: 'gen_ai_client_operation_duration_seconds',
    help: 'Duration of LLM calls (OpenTelemetry gen_ai.client.operation.duration), in seconds.',
    labelNames: [...labelNames, 'error_type'],
    buckets: [...GEN_AI_DURATION_BUCKETS],
    registers: [ctx.registry],
  });
  const tokens = new Histogram({
    name: 'gen_ai_client_token_usage',
    help: 'Tokens used per LLM call (OpenTelemetry gen_ai.client.token.usage), by token type (input, output).',
    labelNames: [...labelNames, 'gen_ai_token_type'],
    buckets: [...GEN_AI_TOKEN_BUCKETS],
    registers: [ctx.registry],
  });
  const cost = new Counter({
    name: 'gen_ai_client_cost_usd_total',
    help: 'Cost of LLM calls in US dollars, as reported by the calls or computed from llmPrices.',
    labelNames: [...labelNames],
    registers: [ctx.registry],
  });
  const cachedCount = new Counter({
    name: 'gen_ai_client_cached_operations_total',
    help: 'LLM calls answered from the application cache, without a call to the provider.',
    labelNames: [...labelNames],
    registers: [ctx.registry],
  });
  const slowCount = new Counter({
    name: 'gen_ai_client_slow_operations_total',
    help: 'LLM calls that ran past llmSlowMs.',
    labelNames: [...labelNames],
    registers: [ctx.registry],
  });
  const providers = new Vocabulary(options.maxLabelValues);
  const models = new Vocabulary(options.maxLabelValues);
  const operations = new Vocabulary(options.maxLabelValues);
  const log = ctx.logger.child({ module: 'llm' });
  const prices = new Map(Object.entries(options.prices));
  const llmErrorTypes = new Vocabulary(options.maxLabelValues);

  return {
    call(operation, fn) {
      const op: LlmOperation = { provider: read(operation, 'provider') as string, model: read(operation, 'model') as string, operation: read(operation, 'operation') as string };
      const errorTypes = llmErrorTypes;
      let reported: LlmUsage | undefined;
      let reportedCost: number | undefined;
      let cached = false;
      const call: LlmCall = Object.freeze({
        usage(usage: LlmUsage) {
          reported = {
            inputTokens: count(read(usage, 'inputTokens')),
            outputTokens: count(read(usage, 'outputTokens')),
            cachedInputTokens: count(read(usage, 'cachedInputTokens')),
            cacheWriteInputTokens: count(read(usage, 'cacheWriteInputTokens')),
          };
        },
        cost(usd: number) {
          if (typeof usd === 'number' && Number.isFinite(usd) && usd >= 0) reportedCost = usd;
        },
        cached(value = true) {
          cached = value === true;
        },
      });
      return timeOperation(() => fn(call), ({ durationMs, error, result }) => {
        const labels = {
          gen_ai_operation_name: operations.label(op.operation) || 'chat',
          gen_ai_provider_name: providers.label(op.provider) || 'unknown',
          gen_ai_request_model: models.label(op.model) || 'unknown',
        };
        duration.observe({ ...labels, error_type: error === undefined ? '' : errorTypes.label(errorType(error)) }, durationMs / 1000);
        ctx.store.record('gen_ai_client_operation', durationMs, { provider: labels.gen_ai_provider_name, model: labels.gen_ai_request_model, operation: labels.gen_ai_operation_name });
        const usage = reported ?? (error === undefined ? usageOf(result) : undefined);
        if (usage?.inputTokens !== undefined) tokens.observe({ ...labels, gen_ai_token_type: 'input' }, usage.inputTokens);
        if (usage?.outputTokens !== undefined) tokens.observe({ ...labels, gen_ai_token_type: 'output' }, usage.outputTokens);
        const usd = reportedCost ?? (cached || usage === undefined ? undefined : priced(usage, typeof op.model === 'string' ? prices.get(op.model) : undefined));
        if (usd !== undefined && usd > 0) cost.inc(labels, usd);
        if (cached) cachedCount.inc(labels);
        const responseModel = read(result, 'model');
        const fields: Record<string, unknown> = {
          llm: {
            provider: labels.gen_ai_provider_name,
            model: typeof op.model === 'string' ? op.model.slice(0, 128) : labels.gen_ai_request_model,
            operation: labels.gen_ai_operation_name,
            responseModel: typeof responseModel === 'string' ? responseModel.slice(0, 128) : undefined,
            inputTokens: usage?.inputTokens,
            outputTokens: usage?.outputTokens,
            cachedInputTokens: usage?.cachedInputTokens,
            cacheWriteInputTokens: usage?.cacheWriteInputTokens,
            costUsd: usd,
            cached,
          },
          durationMs: roundMs(durationMs),
        };
        const slow = durationMs >= options.slowMs;
        if (slow) slowCount.inc(labels);
        logOperation(log, fields, error, slow ? options.slowMs : undefined, LLM_MESSAGES);
      });
    },
  };
}
