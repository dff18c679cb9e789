import request from 'supertest';
import { ObservabilityError, type Observability, type ObservabilityOptions } from '../../src';
import { EXPRESS_VERSIONS, observed } from '../helpers/app';

// Every instance made here is closed after its test, whatever the test did.
const open: Observability[] = [];
afterEach(() => {
  for (const obs of open.splice(0)) obs.close();
});
function make(options: ObservabilityOptions = {}) {
  const made = observed(options);
  open.push(made.obs);
  return made;
}

/** One sample of the text exposition format. */
interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

function parseSamples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`not a sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of the sample with exactly these labels, or undefined when there is none. */
async function sampleValue(obs: Observability, metric: string, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const text = await obs.registry.getSingleMetricAsString(metric);
  const wanted = Object.entries(labels);
  const found = parseSamples(text).filter(
    (s) => s.name === name && Object.keys(s.labels).length === wanted.length && wanted.every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1) throw new Error(`several samples ${name} ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const OPENAI = { provider: 'openai', model: 'gpt-4o-mini' } as const;
const GEN_AI = { gen_ai_operation_name: 'chat', gen_ai_provider_name: 'openai', gen_ai_request_model: 'gpt-4o-mini' } as const;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${SPAN_ID}-01`;

class RateLimitError extends Error {
  readonly code = 'rate_limit_exceeded';
}

describe('obs.llm.call', () => {
  test('sync and async work: results and errors pass through as the same objects; duration histogram with OpenTelemetry labels and buckets', async () => {
    const { obs } = make();
    const result = { choices: [{ message: { content: 'hi' } }] };
    expect(obs.llm.call(OPENAI, () => result)).toBe(result);
    const pending = obs.llm.call(OPENAI, async () => result);
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).toBe(result);

    const syncError = new RateLimitError('slow down');
    let caught: unknown;
    try {
      obs.llm.call(OPENAI, () => {
        throw syncError;
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBe(syncError);
    const asyncError = new TypeError('bad answer');
    await expect(obs.llm.call(OPENAI, async () => Promise.reject(asyncError))).rejects.toBe(asyncError);
    // A thrown non-Error value too.
    expect(() => obs.llm.call(OPENAI, () => { throw 'plain text'; })).toThrow('plain text');

    const metric = 'gen_ai_client_operation_duration_seconds';
    expect(await sampleValue(obs, metric, `${metric}_count`, { ...GEN_AI, error_type: '' })).toBe(2);
    expect(await sampleValue(obs, metric, `${metric}_count`, { ...GEN_AI, error_type: 'rate_limit_exceeded' })).toBe(1);
    expect(await sampleValue(obs, metric, `${metric}_count`, { ...GEN_AI, error_type: 'TypeError' })).toBe(1);
    expect(await sampleValue(obs, metric, `${metric}_count`, { ...GEN_AI, error_type: '_OTHER' })).toBe(1);
    expect(await sampleValue(obs, metric, `${metric}_bucket`, { ...GEN_AI, error_type: '', le: '0.01' })).toBeDefined();
    expect(await sampleValue(obs, metric, `${metric}_bucket`, { ...GEN_AI, error_type: '', le: '81.92' })).toBe(2);
    expect(await sampleValue(obs, metric, `${metric}_bucket`, { ...GEN_AI, error_type: '', le: '+Inf' })).toBe(2);
    // A given operation name replaces the default 'chat'.
    obs.llm.call({ ...OPENAI, operation: 'embeddings' }, () => 1);
    expect(await sampleValue(obs, metric, `${metric}_count`, { ...GEN_AI, gen_ai_operation_name: 'embeddings', error_type: '' })).toBe(1);
  });

  test('call.usage() is reported: token histogram by type with exact sums, and on the debug line', async () => {
    const { obs, logs } = make({ logLevel: 'debug' });
    const answer = { model: 'gpt-4o-mini-2024-07-18', usage: { prompt_tokens: 999, completion_tokens: 999 } };
    // Reported usage wins over the result's.
    obs.llm.call(OPENAI, (call) => {
      call.usage({ inputTokens: 120, outputTokens: 30, cachedInputTokens: 20 });
      return answer;
    });
    await obs.llm.call(OPENAI, async (call) => {
      await sleep(1);
      call.usage({ inputTokens: 5, outputTokens: 0 });
      return 'text';
    });
    const metric = 'gen_ai_client_token_usage';
    expect(await sampleValue(obs, metric, `${metric}_sum`, { ...GEN_AI, gen_ai_token_type: 'input' })).toBe(125);
    expect(await sampleValue(obs, metric, `${metric}_count`, { ...GEN_AI, gen_ai_token_type: 'input' })).toBe(2);
    expect(await sampleValue(obs, metric, `${metric}_sum`, { ...GEN_AI, gen_ai_token_type: 'output' })).toBe(30);
    expect(await sampleValue(obs, metric, `${metric}_count`, { ...GEN_AI, gen_ai_token_type: 'output' })).toBe(2);
    // 120 input tokens fall in the 256 bucket, not the 64 one.
    expect(await sampleValue(obs, metric, `${metric}_bucket`, { ...GEN_AI, gen_ai_token_type: 'input', le: '64' })).toBe(1);
    expect(await sampleValue(obs, metric, `${metric}_bucket`, { ...GEN_AI, gen_ai_token_type: 'input', le: '256' })).toBe(2);

    const calls = logs.lines.filter((l) => l.msg === 'llm call');
    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatchObject({
      level: 'debug',
      module: 'llm',
      llm: { provider: 'openai', model: 'gpt-4o-mini', operation: 'chat', responseModel: 'gpt-4o-mini-2024-07-18', inputTokens: 120, outputTokens: 30, cached: false },
    });
    expect(typeof calls[0]!.durationMs).toBe('number');
    expect(calls[1]!.llm).toMatchObject({ inputTokens: 5, outputTokens: 0 });
    expect(calls[1]!.llm.responseModel).toBeUndefined();
  });

  test('cachedInputTokens is logged on the line, as documented (not redacted as a secret)', () => {
    const { obs, logs } = make({ logLevel: 'debug' });
    obs.llm.call(OPENAI, (call) => call.usage({ inputTokens: 100, outputTokens: 10, cachedInputTokens: 40 }));
    expect(logs.lines.find((l) => l.msg === 'llm call')!.llm.cachedInputTokens).toBe(40);
  });

  test.each([
    ['OpenAI chat completions', { usage: { prompt_tokens: 1200, completion_tokens: 80, total_tokens: 1280, prompt_tokens_details: { cached_tokens: 1024 } } }, { inputTokens: 1200, outputTokens: 80, cachedInputTokens: 1024 }],
    ['OpenAI responses', { usage: { input_tokens: 300, output_tokens: 45, input_tokens_details: { cached_tokens: 256 } } }, { inputTokens: 300, outputTokens: 45, cachedInputTokens: 256 }],
    // Anthropic's input_tokens leaves out the tokens read from and written to its cache: the prompt is all three.
    ['Anthropic messages', { usage: { input_tokens: 70, output_tokens: 12, cache_read_input_tokens: 64, cache_creation_input_tokens: 6 } }, { inputTokens: 140, outputTokens: 12, cachedInputTokens: 64 }],
    // Gateways answering in OpenAI's shape with Anthropic's cache fields: prompt_tokens is the whole prompt.
    ['OpenAI shape with cache fields', { usage: { prompt_tokens: 10012, completion_tokens: 20, cache_read_input_tokens: 10000, cache_creation_input_tokens: 0 } }, { inputTokens: 10012, outputTokens: 20, cachedInputTokens: 10000 }],
    // Gemini's thinking tokens are billed as output.
    ['Gemini', { usageMetadata: { promptTokenCount: 33, candidatesTokenCount: 7, thoughtsTokenCount: 5, cachedContentTokenCount: 16 } }, { inputTokens: 33, outputTokens: 12, cachedInputTokens: 16 }],
    ['input only', { usage: { prompt_tokens: 9 } }, { inputTokens: 9, outputTokens: undefined, cachedInputTokens: undefined }],
  ])('usage read from the result: %s', async (_shape, result, expected) => {
    const { obs, logs } = make({ logLevel: 'debug' });
    await obs.llm.call(OPENAI, async () => result);
    const metric = 'gen_ai_client_token_usage';
    expect(await sampleValue(obs, metric, `${metric}_sum`, { ...GEN_AI, gen_ai_token_type: 'input' })).toBe(expected.inputTokens);
    expect(await sampleValue(obs, metric, `${metric}_sum`, { ...GEN_AI, gen_ai_token_type: 'output' })).toBe(expected.outputTokens);
    const { llm } = logs.lines.find((l) => l.msg === 'llm call')!;
    expect(llm.inputTokens).toBe(expected.inputTokens);
    expect(llm.outputTokens).toBe(expected.outputTokens);
    expect(llm.cachedInputTokens).toBe(expected.cachedInputTokens);
  });

  test('a failed call reads no usage from anything and logs the error with err', async () => {
    const { obs, logs } = make();
    const boom = Object.assign(new Error('upstream 500'), { usage: { prompt_tokens: 50, completion_tokens: 5 } });
    await expect(obs.llm.call({ provider: 'anthropic', model: 'claude-sonnet-4' }, async () => { throw boom; })).rejects.toBe(boom);
    expect(await obs.registry.getSingleMetricAsString('gen_ai_client_token_usage')).not.toContain('gen_ai_client_token_usage_count');
    const line = logs.lines.find((l) => l.msg === 'llm call failed')!;
    expect(line).toMatchObject({ level: 'error', module: 'llm', llm: { provider: 'anthropic', model: 'claude-sonnet-4', operation: 'chat' }, err: { message: 'upstream 500' } });
    expect(line.llm.inputTokens).toBeUndefined();
  });

  test('cost: reported by call.cost(), computed from llmPrices (cached input at its own price, else the input price), none for cached answers', async () => {
    const prices = {
      'gpt-4o-mini': { input: 0.15, output: 0.6, cachedInput: 0.075 },
      'claude-sonnet-4': { input: 3, output: 15 },
    };
    const { obs, logs } = make({ logLevel: 'debug', llmPrices: prices });
    const metric = 'gen_ai_client_cost_usd_total';
    const claude = { gen_ai_operation_name: 'chat', gen_ai_provider_name: 'anthropic', gen_ai_request_model: 'claude-sonnet-4' };

    // Computed: 1000 input of which 400 cached, 200 output.
    obs.llm.call(OPENAI, () => ({ usage: { prompt_tokens: 1000, completion_tokens: 200, prompt_tokens_details: { cached_tokens: 400 } } }));
    const first = (600 * 0.15 + 400 * 0.075 + 200 * 0.6) / 1e6;
    expect(await sampleValue(obs, metric, metric, GEN_AI)).toBe(first);
    expect(first).toBeCloseTo(0.00024, 15);
    expect(logs.lines.at(-1)!.llm.costUsd).toBe(first);

    // Reported cost replaces the computed one and adds up.
    obs.llm.call(OPENAI, (call) => {
      call.cost(0.5);
      return { usage: { prompt_tokens: 1000, completion_tokens: 200 } };
    });
    expect(await sampleValue(obs, metric, metric, GEN_AI)).toBe(first + 0.5);

    // No cachedInput price: cached tokens at the input price. Anthropic's cache reads come on top of input_tokens.
    obs.llm.call({ provider: 'anthropic', model: 'claude-sonnet-4' }, () => ({ usage: { input_tokens: 100, output_tokens: 10, cache_read_input_tokens: 5000 } }));
    const second = (100 * 3 + 5000 * 3 + 10 * 15) / 1e6;
    expect(await sampleValue(obs, metric, metric, claude)).toBe(second);

    // Bad reported costs are ignored: the computed cost stands.
    for (const bad of [Number.NaN, -1, Number.POSITIVE_INFINITY, '0.2', undefined, null]) {
      obs.llm.call({ provider: 'anthropic', model: 'claude-sonnet-4' }, (call) => {
        call.cost(bad as any);
        call.usage({ inputTokens: 1000, outputTokens: 0 });
      });
    }
    expect(await sampleValue(obs, metric, metric, claude)).toBeCloseTo(second + 6 * ((1000 * 3) / 1e6), 15);

    // Cached: counted, no computed cost, logged as cached.
    obs.llm.call(OPENAI, (call) => {
      call.cached();
      return { usage: { prompt_tokens: 1_000_000, completion_tokens: 1_000_000 } };
    });
    expect(await sampleValue(obs, 'gen_ai_client_cached_operations_total', 'gen_ai_client_cached_operations_total', GEN_AI)).toBe(1);
    expect(await sampleValue(obs, metric, metric, GEN_AI)).toBe(first + 0.5);
    expect(logs.lines.at(-1)!.llm).toMatchObject({ cached: true, inputTokens: 1_000_000 });
    expect(logs.lines.at(-1)!.llm.costUsd).toBeUndefined();
    // cached(false), and anything but true, is not cached.
    obs.llm.call(OPENAI, (call) => call.cached(false));
    obs.llm.call(OPENAI, (call) => call.cached('yes' as any));
    expect(await sampleValue(obs, 'gen_ai_client_cached_operations_total', 'gen_ai_client_cached_operations_total', GEN_AI)).toBe(1);

    // A model without a price, and a zero cost, add nothing.
    obs.llm.call({ provider: 'openai', model: 'o3' }, () => ({ usage: { prompt_tokens: 10, completion_tokens: 10 } }));
    obs.llm.call({ provider: 'openai', model: 'o4' }, (call) => call.cost(0));
    expect(await sampleValue(obs, metric, metric, { ...GEN_AI, gen_ai_request_model: 'o3' })).toBeUndefined();
    expect(await sampleValue(obs, metric, metric, { ...GEN_AI, gen_ai_request_model: 'o4' })).toBeUndefined();
  });

  test('llmPrices are copied at construction: changing the caller\'s object later changes nothing', async () => {
    const prices: Record<string, { input: number; output: number }> = { 'gpt-4o-mini': { input: 1, output: 2 } };
    const { obs } = make({ llmPrices: prices });
    prices['gpt-4o-mini']!.input = 1000;
    obs.llm.call(OPENAI, (call) => call.usage({ inputTokens: 1_000_000, outputTokens: 1_000_000 }));
    expect(await sampleValue(obs, 'gen_ai_client_cost_usd_total', 'gen_ai_client_cost_usd_total', GEN_AI)).toBe(3);
  });

  test('lines: debug "llm call" only at debug level, warn "slow llm call" past llmSlowMs, error "llm call failed"', async () => {
    const quiet = make({ llmSlowMs: 3_600_000 });
    quiet.obs.llm.call(OPENAI, () => 1);
    expect(quiet.logs.lines.filter((l) => l.module === 'llm')).toEqual([]);

    const { obs, logs } = make({ logLevel: 'debug', llmSlowMs: 1 });
    await obs.llm.call(OPENAI, async () => {
      await sleep(25);
      return { usage: { input_tokens: 3, output_tokens: 4 } };
    });
    const slow = logs.lines.find((l) => l.msg === 'slow llm call')!;
    expect(slow).toMatchObject({ level: 'warn', module: 'llm', slowThresholdMs: 1, llm: { provider: 'openai', model: 'gpt-4o-mini', inputTokens: 3, outputTokens: 4 } });
    expect(slow.durationMs).toBeGreaterThanOrEqual(1);
    expect(logs.lines.filter((l) => l.msg === 'llm call')).toEqual([]);
    expect(await sampleValue(obs, 'gen_ai_client_slow_operations_total', 'gen_ai_client_slow_operations_total', GEN_AI)).toBe(1);

    // A failure is an error line, whatever its duration.
    await obs.llm
      .call(OPENAI, async () => {
        await sleep(25);
        throw new RateLimitError('429');
      })
      .catch(() => undefined);
    const failed = logs.lines.find((l) => l.msg === 'llm call failed')!;
    expect(failed).toMatchObject({ level: 'error', module: 'llm', err: { message: '429', code: 'rate_limit_exceeded' } });
    expect(failed.slowThresholdMs).toBeUndefined();
    // It still counts as slow: a call that failed after 25 ms was slow too.
    expect(await sampleValue(obs, 'gen_ai_client_slow_operations_total', 'gen_ai_client_slow_operations_total', GEN_AI)).toBe(2);
  });

  test('percentile store series gen_ai_client_operation, by provider, model and operation', () => {
    const { obs } = make();
    for (let i = 0; i < 3; i++) obs.llm.call(OPENAI, () => i);
    obs.llm.call({ ...OPENAI, operation: 'embeddings' }, () => 0);
    expect(obs.metrics.stats('gen_ai_client_operation', { provider: 'openai', model: 'gpt-4o-mini', operation: 'chat' })?.count).toBe(3);
    expect(obs.metrics.stats('gen_ai_client_operation', { provider: 'openai', model: 'gpt-4o-mini', operation: 'embeddings' })?.count).toBe(1);
  });

  test('labels are bounded by dependencyLabelValues: the third model is _OTHER in metrics, its name stays on the line', async () => {
    const { obs, logs } = make({ logLevel: 'debug', dependencyLabelValues: 2 });
    for (const model of ['m1', 'm2', 'm3', 'm4', 'm1']) obs.llm.call({ provider: 'openai', model }, () => model);
    const text = await obs.registry.getSingleMetricAsString('gen_ai_client_operation_duration_seconds');
    const models = new Set(parseSamples(text).map((s) => s.labels.gen_ai_request_model));
    expect(models).toEqual(new Set(['m1', 'm2', '_OTHER']));
    const metric = 'gen_ai_client_operation_duration_seconds';
    expect(await sampleValue(obs, metric, `${metric}_count`, { ...GEN_AI, gen_ai_request_model: 'm1', error_type: '' })).toBe(2);
    expect(await sampleValue(obs, metric, `${metric}_count`, { ...GEN_AI, gen_ai_request_model: '_OTHER', error_type: '' })).toBe(2);
    expect(obs.metrics.stats('gen_ai_client_operation', { provider: 'openai', model: '_OTHER', operation: 'chat' })?.count).toBe(2);
    expect(logs.lines.filter((l) => l.msg === 'llm call').map((l) => l.llm.model)).toEqual(['m1', 'm2', 'm3', 'm4', 'm1']);
  });

  describe.each(EXPRESS_VERSIONS)('inside an Express request (%s)', (_name, express) => {
    test('lines carry the request id and trace', async () => {
      const { obs, logs } = make({ logLevel: 'debug' });
      const app = express();
      app.use(obs.middleware);
      app.get('/ask', async (_req, res) => {
        const answer = await obs.llm.call(OPENAI, async () => {
          await sleep(1);
          return { output_text: 'hello', usage: { input_tokens: 10, output_tokens: 2 } };
        });
        await obs.llm.call(OPENAI, async () => { throw new Error('overloaded'); }).catch(() => undefined);
        res.json({ text: answer.output_text });
      });
      const res = await request(app).get('/ask').set('traceparent', TRACEPARENT).expect(200, { text: 'hello' });
      const lines = await logs.waitFor((ls) => ls.some((l) => l.msg === 'request completed'));
      const reqId = res.headers['x-request-id'];
      expect(typeof reqId).toBe('string');
      expect(lines.find((l) => l.msg === 'llm call')).toMatchObject({ level: 'debug', module: 'llm', reqId, traceId: TRACE_ID, llm: { inputTokens: 10 } });
      expect(lines.find((l) => l.msg === 'llm call failed')).toMatchObject({ level: 'error', reqId, err: { message: 'overloaded' } });
    });
  });

  test('hostile operations never throw into the application', async () => {
    const { obs, logs } = make({ logLevel: 'debug' });
    const result = { ok: true };
    expect(obs.llm.call(undefined as any, () => result)).toBe(result);
    expect(obs.llm.call(null as any, () => result)).toBe(result);
    expect(obs.llm.call({} as any, () => result)).toBe(result);
    expect(obs.llm.call('gpt-4o' as any, () => result)).toBe(result);
    expect(obs.llm.call({ provider: 42, model: { name: 'x' }, operation: '' } as any, () => result)).toBe(result);
    const throwing = {
      get provider(): string {
        throw new Error('getter');
      },
      model: 'm',
    };
    expect(obs.llm.call(throwing, () => result)).toBe(result);
    expect(obs.llm.call({ provider: 'openai', model: Object.create(null) } as any, () => result)).toBe(result);

    const metric = 'gen_ai_client_operation_duration_seconds';
    const unknown = { gen_ai_operation_name: 'chat', gen_ai_provider_name: 'unknown', gen_ai_request_model: 'unknown', error_type: '' };
    expect(await sampleValue(obs, metric, `${metric}_count`, unknown)).toBe(4);
    expect(await sampleValue(obs, metric, `${metric}_count`, { ...unknown, gen_ai_provider_name: '42', gen_ai_request_model: '[object Object]' })).toBe(1);
    const lines = logs.lines.filter((l) => l.msg === 'llm call');
    expect(lines[0]!.llm).toMatchObject({ provider: 'unknown', model: 'unknown', operation: 'chat' });
    // A model that is not text is logged as its label, not as the object.
    expect(lines[4]!.llm.model).toBe('[object Object]');
  });

  test('hostile usage and cost reports are ignored, never thrown', async () => {
    const { obs, logs } = make({ logLevel: 'debug', llmPrices: { 'gpt-4o-mini': { input: 1, output: 1 } } });
    const reports: unknown[] = [
      { inputTokens: -1, outputTokens: Number.NaN, cachedInputTokens: '5' },
      { inputTokens: '100', outputTokens: Number.POSITIVE_INFINITY },
      { inputTokens: 2 ** 60, outputTokens: -0.5 },
      undefined,
      null,
      'lots',
      Object.create(null),
      {
        get inputTokens(): number {
          throw new Error('getter');
        },
      },
      new Proxy({}, { get: () => { throw new Error('trap'); } }),
    ];
    for (const report of reports) {
      expect(
        obs.llm.call(OPENAI, (call) => {
          call.usage(report as any);
          call.cost(Number.NaN);
          return 'answer';
        }),
      ).toBe('answer');
    }
    expect(await obs.registry.getSingleMetricAsString('gen_ai_client_token_usage')).not.toContain('gen_ai_client_token_usage_count');
    expect(await obs.registry.getSingleMetricAsString('gen_ai_client_cost_usd_total')).not.toContain('gen_ai_client_cost_usd_total{');
    const lines = logs.lines.filter((l) => l.msg === 'llm call');
    expect(lines).toHaveLength(reports.length);
    for (const line of lines) {
      expect(line.llm.inputTokens).toBeUndefined();
      expect(line.llm.outputTokens).toBeUndefined();
    }
    // Fractional counts are taken whole.
    obs.llm.call(OPENAI, (call) => call.usage({ inputTokens: 7.9, outputTokens: 0.2 }));
    expect(logs.lines.at(-1)!.llm).toMatchObject({ inputTokens: 7, outputTokens: 0 });
  });

  test('hostile results: a throwing usage getter, garbage usage, a Proxy; the result is returned as it is', async () => {
    const { obs, logs } = make({ logLevel: 'debug' });
    const throwingUsage = {
      get usage(): unknown {
        throw new Error('usage getter');
      },
      get model(): unknown {
        throw new Error('model getter');
      },
    };
    expect(obs.llm.call(OPENAI, () => throwingUsage)).toBe(throwingUsage);
    expect(await obs.llm.call(OPENAI, async () => throwingUsage)).toBe(throwingUsage);
    const garbage = [
      { usage: 'lots' },
      { usage: { prompt_tokens: '12', completion_tokens: -3 } },
      { usage: { input_tokens: Number.NaN }, usageMetadata: { promptTokenCount: null } },
      { usage: null },
      { model: { toString: () => 'x' } },
      42,
      null,
      undefined,
      'text',
    ];
    for (const value of garbage) expect(obs.llm.call(OPENAI, () => value)).toBe(value);

    // A transparent Proxy is read like the object it wraps.
    const transparent = new Proxy({ usage: { prompt_tokens: 11, completion_tokens: 1 } }, {});
    expect(obs.llm.call(OPENAI, () => transparent)).toBe(transparent);
    const lines = logs.lines.filter((l) => l.msg === 'llm call');
    expect(lines.filter((l) => l.llm.inputTokens !== undefined).map((l) => l.llm.inputTokens)).toEqual([11]);
    expect(lines.length).toBe(2 + garbage.length + 1);
  });

  test('a result that is a Proxy whose every trap throws is returned as it is, not thrown, and still measured', async () => {
    const { obs } = make({ logLevel: 'debug' });
    const hostile = new Proxy(
      {},
      {
        get: () => {
          throw new Error('get trap');
        },
        has: () => {
          throw new Error('has trap');
        },
        getPrototypeOf: () => {
          throw new Error('getPrototypeOf trap');
        },
      },
    );
    let returned: unknown;
    expect(() => {
      returned = obs.llm.call(OPENAI, () => hostile);
    }).not.toThrow();
    expect(returned).toBe(hostile);
    const metric = 'gen_ai_client_operation_duration_seconds';
    expect(await sampleValue(obs, metric, `${metric}_count`, { ...GEN_AI, error_type: '' })).toBe(1);
  });

  test.each([
    ['llmPrices not an object', { llmPrices: 'cheap' }, 'OBS_ERR_OPTIONS_INVALID_TYPE'],
    ['llmPrices an array', { llmPrices: [{ input: 1, output: 1 }] }, 'OBS_ERR_OPTIONS_INVALID_TYPE'],
    ['llmPrices null', { llmPrices: null }, 'OBS_ERR_OPTIONS_INVALID_TYPE'],
    ['a price that is not an object', { llmPrices: { m: 3 } }, 'OBS_ERR_OPTIONS_INVALID_VALUE'],
    ['a negative price', { llmPrices: { m: { input: -1, output: 1 } } }, 'OBS_ERR_OPTIONS_INVALID_VALUE'],
    ['a NaN price', { llmPrices: { m: { input: 1, output: Number.NaN } } }, 'OBS_ERR_OPTIONS_INVALID_VALUE'],
    ['a missing output price', { llmPrices: { m: { input: 1 } } }, 'OBS_ERR_OPTIONS_INVALID_VALUE'],
    ['a text price', { llmPrices: { m: { input: '1', output: 1 } } }, 'OBS_ERR_OPTIONS_INVALID_VALUE'],
    ['a bad cachedInput price', { llmPrices: { m: { input: 1, output: 1, cachedInput: 2_000_000 } } }, 'OBS_ERR_OPTIONS_INVALID_VALUE'],
    ['an unknown price key', { llmPrices: { m: { input: 1, output: 1, cached: 0.5 } } }, 'OBS_ERR_OPTIONS_INVALID_VALUE'],
    ['more than 1000 models', { llmPrices: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`m${i}`, { input: 1, output: 1 }])) }, 'OBS_ERR_OPTIONS_INVALID_VALUE'],
    ['llmSlowMs 0', { llmSlowMs: 0 }, 'OBS_ERR_OPTIONS_INVALID_VALUE'],
    ['llmSlowMs past an hour', { llmSlowMs: 3_600_001 }, 'OBS_ERR_OPTIONS_INVALID_VALUE'],
    ['llmSlowMs fractional', { llmSlowMs: 1.5 }, 'OBS_ERR_OPTIONS_INVALID_TYPE'],
    ['llmSlowMs text', { llmSlowMs: '100' }, 'OBS_ERR_OPTIONS_INVALID_TYPE'],
    ['jobSlowMs 0', { jobSlowMs: 0 }, 'OBS_ERR_OPTIONS_INVALID_VALUE'],
    ['jobSlowMs past a day', { jobSlowMs: 86_400_001 }, 'OBS_ERR_OPTIONS_INVALID_VALUE'],
    ['jobSlowMs NaN', { jobSlowMs: Number.NaN }, 'OBS_ERR_OPTIONS_INVALID_TYPE'],
    ['dependencyLabelValues 0', { dependencyLabelValues: 0 }, 'OBS_ERR_OPTIONS_INVALID_VALUE'],
  ])('invalid option fails at construction with a coded error: %s', (_case, options, code) => {
    let caught: unknown;
    try {
      make(options as any);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ObservabilityError);
    expect((caught as ObservabilityError).code).toBe(code);
    expect((caught as ObservabilityError).message).toContain(Object.keys(options)[0]!);
  });

  test('valid edge options are taken', () => {
    expect(() => make({ llmSlowMs: 1, jobSlowMs: 86_400_000, llmPrices: {}, dependencyLabelValues: 10_000 })).not.toThrow();
    expect(() => make({ llmPrices: { free: { input: 0, output: 0, cachedInput: 0 }, dear: { input: 1_000_000, output: 1_000_000 } } })).not.toThrow();
  });
});

describe('obs.jobs.run', () => {
  describe.each(EXPRESS_VERSIONS)('started in an Express request (%s)', (_name, express) => {
    test('job lines carry their own reqId, job, parentReqId and the request\'s trace, also after the response', async () => {
      const { obs, logs } = make();
      const app = express();
      app.use(obs.middleware);
      let jobResult: Promise<unknown> | undefined;
      app.post('/orders', async (_req, res) => {
        obs.setRequestFields({ userId: 'u-1' });
        const done = await obs.jobs.run(
          'send-email',
          async () => {
            obs.logger.info('sending');
            await sleep(2);
            obs.setRequestFields({ tenantId: 't-9' });
            obs.logger.info('sent');
            return 'done';
          },
          { jobId: 42 },
        );
        // A job started here that goes on after the response was sent.
        jobResult = obs.jobs.run('late-report', async () => {
          // Goes on only once the request's completion line is written.
          await logs.waitFor((ls) => ls.some((l) => l.msg === 'request completed'));
          await new Promise((r) => setTimeout(r, 1));
          obs.logger.info('late line');
          return 7;
        });
        obs.logger.info('handler line');
        res.json({ done });
      });
      const res = await request(app).post('/orders').set('traceparent', TRACEPARENT).expect(200, { done: 'done' });
      expect(await jobResult).toBe(7);
      const lines = await logs.waitFor((ls) => ls.some((l) => l.msg === 'request completed') && ls.filter((l) => l.msg === 'job completed').length === 2);
      const parentReqId = res.headers['x-request-id'];

      const sendLines = lines.filter((l) => l.job?.name === 'send-email');
      expect(sendLines.map((l) => l.msg)).toEqual(['job started', 'sending', 'sent', 'job completed']);
      const jobReqId = sendLines[0]!.reqId;
      expect(jobReqId).toMatch(UUID);
      expect(jobReqId).not.toBe(parentReqId);
      for (const line of sendLines) {
        expect(line).toMatchObject({ reqId: jobReqId, parentReqId, traceId: TRACE_ID, spanId: SPAN_ID, job: { name: 'send-email', id: '42', attempt: 1 }, userId: 'u-1' });
      }
      expect(sendLines[0]).toMatchObject({ level: 'info', module: 'jobs' });
      // Fields set in the job are on its later lines, not on the request's.
      expect(sendLines[1]!.tenantId).toBeUndefined();
      expect(sendLines[2]!.tenantId).toBe('t-9');
      expect(sendLines[3]).toMatchObject({ level: 'info', module: 'jobs', outcome: 'completed', tenantId: 't-9' });
      expect(typeof sendLines[3]!.durationMs).toBe('number');
      expect(sendLines[3]!.durationMs).toBeGreaterThanOrEqual(0);
      const handler = lines.find((l) => l.msg === 'handler line')!;
      expect(handler).toMatchObject({ reqId: parentReqId, userId: 'u-1' });
      expect(handler.job).toBeUndefined();
      expect(handler.tenantId).toBeUndefined();
      expect(lines.find((l) => l.msg === 'request completed')!.tenantId).toBeUndefined();

      const late = lines.filter((l) => l.job?.name === 'late-report');
      expect(late.map((l) => l.msg)).toEqual(['job started', 'late line', 'job completed']);
      expect(lines.findIndex((l) => l.msg === 'request completed')).toBeLessThan(lines.findIndex((l) => l.msg === 'late line'));
      for (const line of late) {
        expect(line).toMatchObject({ reqId: late[0]!.reqId, parentReqId, traceId: TRACE_ID, job: { name: 'late-report', attempt: 1 } });
        expect(line.job.id).toBeUndefined();
      }
      expect(late[0]!.reqId).not.toBe(jobReqId);
      expect(late[0]!.reqId).not.toBe(parentReqId);
    });

    test('without a valid traceparent the job has no trace; a given parentRequestId wins over the request\'s', async () => {
      const { obs, logs } = make();
      const app = express();
      app.use(obs.middleware);
      app.get('/', (_req, res) => {
        obs.jobs.run('a', () => obs.logger.info('in a'));
        obs.jobs.run('b', () => obs.logger.info('in b'), { parentRequestId: 'queued-by-7' });
        obs.jobs.run('c', () => obs.logger.info('in c'), { parentRequestId: 'bad id\n' });
        res.end('ok');
      });
      const res = await request(app).get('/').set('traceparent', 'garbage').expect(200);
      const lines = await logs.waitFor((ls) => ls.some((l) => l.msg === 'request completed'));
      const parentReqId = res.headers['x-request-id'];
      expect(lines.find((l) => l.msg === 'in a')).toMatchObject({ parentReqId, job: { name: 'a' } });
      expect(lines.find((l) => l.msg === 'in a')!.traceId).toBeUndefined();
      expect(lines.find((l) => l.msg === 'in b')).toMatchObject({ parentReqId: 'queued-by-7' });
      expect(lines.find((l) => l.msg === 'in c')).toMatchObject({ parentReqId });
    });
  });

  test('outside a request: own reqId, no parentReqId or trace unless parentRequestId is given', () => {
    const { obs, logs } = make();
    obs.jobs.run('cleanup', () => obs.logger.info('inside'));
    obs.jobs.run('cleanup', () => obs.logger.info('inside with parent'), { parentRequestId: 'req-abc' });
    for (const bad of [42, '', 'has space', 'x'.repeat(1025), 'tab\there', {}, null]) {
      obs.jobs.run('cleanup', () => obs.logger.info('bad parent'), { parentRequestId: bad as any });
    }
    obs.logger.info('after');
    const inside = logs.lines.find((l) => l.msg === 'inside')!;
    expect(inside).toMatchObject({ job: { name: 'cleanup', attempt: 1 } });
    expect(inside.reqId).toMatch(UUID);
    expect('parentReqId' in inside).toBe(false);
    expect(inside.traceId).toBeUndefined();
    expect(logs.lines.find((l) => l.msg === 'inside with parent')).toMatchObject({ parentReqId: 'req-abc' });
    const bad = logs.lines.filter((l) => l.msg === 'bad parent');
    expect(bad).toHaveLength(7);
    for (const line of bad) expect('parentReqId' in line).toBe(false);
    // The longest id that can be taken: 1024 visible characters.
    obs.jobs.run('cleanup', () => obs.logger.info('long parent'), { parentRequestId: 'y'.repeat(1024) });
    expect(logs.lines.find((l) => l.msg === 'long parent')!.parentReqId).toBe('y'.repeat(1024));
    const after = logs.lines.find((l) => l.msg === 'after')!;
    expect(after.reqId).toBeUndefined();
    expect(after.job).toBeUndefined();
  });

  test('attempts: "job retried" from the second; a failure with attempts left is a warn (retried), the last one an error (failed)', async () => {
    const { obs, logs } = make();
    const boom = Object.assign(new Error('smtp down'), { code: 'ECONNREFUSED' });
    await expect(obs.jobs.run('mail', async () => { throw boom; }, { jobId: 'j1', attempt: 1, maxAttempts: 3 })).rejects.toBe(boom);
    let caught: unknown;
    try {
      obs.jobs.run('mail', () => { throw boom; }, { jobId: 'j1', attempt: 2, maxAttempts: 3 });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBe(boom);
    await expect(obs.jobs.run('mail', async () => Promise.reject(boom), { jobId: 'j1', attempt: 3, maxAttempts: 3 })).rejects.toBe(boom);
    // Without maxAttempts every failure is final.
    await expect(obs.jobs.run('mail', async () => Promise.reject(new TypeError('x')), { attempt: 1 })).rejects.toBeInstanceOf(TypeError);
    expect(await obs.jobs.run('mail', async () => 'ok', { jobId: 'j1', attempt: 4 })).toBe('ok');

    const starts = logs.lines.filter((l) => l.msg === 'job started' || l.msg === 'job retried');
    expect(starts.map((l) => [l.msg, l.job.attempt])).toEqual([
      ['job started', 1],
      ['job retried', 2],
      ['job retried', 3],
      ['job started', 1],
      ['job retried', 4],
    ]);
    const failed = logs.lines.filter((l) => l.msg === 'job failed');
    expect(failed).toHaveLength(4);
    expect(failed[0]).toMatchObject({ level: 'warn', module: 'jobs', willRetry: true, outcome: 'retried', maxAttempts: 3, job: { name: 'mail', id: 'j1', attempt: 1 }, err: { message: 'smtp down', code: 'ECONNREFUSED' } });
    expect(failed[1]).toMatchObject({ level: 'warn', willRetry: true, outcome: 'retried', job: { attempt: 2 } });
    expect(failed[2]).toMatchObject({ level: 'error', willRetry: false, outcome: 'failed', maxAttempts: 3, job: { attempt: 3 } });
    expect(failed[3]).toMatchObject({ level: 'error', willRetry: false, outcome: 'failed', err: { message: 'x' } });
    for (const line of failed) expect(typeof line.durationMs).toBe('number');
    expect(logs.lines.filter((l) => l.msg === 'job completed')).toHaveLength(1);

    const metric = 'job_duration_seconds';
    expect(await sampleValue(obs, metric, `${metric}_count`, { job_name: 'mail', outcome: 'retried', error_type: 'ECONNREFUSED' })).toBe(2);
    expect(await sampleValue(obs, metric, `${metric}_count`, { job_name: 'mail', outcome: 'failed', error_type: 'ECONNREFUSED' })).toBe(1);
    expect(await sampleValue(obs, metric, `${metric}_count`, { job_name: 'mail', outcome: 'failed', error_type: 'TypeError' })).toBe(1);
    expect(await sampleValue(obs, metric, `${metric}_count`, { job_name: 'mail', outcome: 'completed', error_type: '' })).toBe(1);
    expect(await sampleValue(obs, metric, `${metric}_bucket`, { job_name: 'mail', outcome: 'completed', error_type: '', le: '3600' })).toBe(1);
    expect(obs.metrics.stats('job', { job_name: 'mail', outcome: 'retried' })?.count).toBe(2);
  });

  test('jobs_active counts runs in progress and is back to 0 after success, sync throw and rejection', async () => {
    const { obs } = make();
    const active = () => sampleValue(obs, 'jobs_active', 'jobs_active', { job_name: 'sync' });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = obs.jobs.run('sync', async () => {
      await gate;
      return 1;
    });
    const second = obs.jobs.run('sync', async () => {
      await gate;
      throw new Error('no');
    });
    expect(await active()).toBe(2);
    let seenInside: number | undefined;
    obs.jobs.run('other', () => {
      seenInside = 1;
    });
    expect(seenInside).toBe(1);
    release();
    expect(await first).toBe(1);
    await expect(second).rejects.toThrow('no');
    expect(await active()).toBe(0);
    expect(() => obs.jobs.run('sync', () => { throw new Error('sync'); })).toThrow('sync');
    expect(await active()).toBe(0);
    expect(await sampleValue(obs, 'jobs_active', 'jobs_active', { job_name: 'other' })).toBe(0);
  });

  test('slow job: warn past jobSlowMs', async () => {
    const { obs, logs } = make({ jobSlowMs: 1 });
    await obs.jobs.run('report', () => sleep(25));
    const slow = logs.lines.find((l) => l.msg === 'slow job')!;
    expect(slow).toMatchObject({ level: 'warn', module: 'jobs', outcome: 'completed', slowThresholdMs: 1, job: { name: 'report' } });
    expect(logs.lines.filter((l) => l.msg === 'job completed')).toEqual([]);
  });

  test('setRequestFields inside a job outside any request adds fields to the job\'s later lines only', async () => {
    const { obs, logs } = make();
    await obs.jobs.run('import', async () => {
      expect(obs.setRequestFields({ tenantId: 't-1', batch: 3 })).toBe(true);
      await sleep(1);
      obs.logger.info('imported');
    });
    obs.logger.info('outside');
    expect(logs.lines.find((l) => l.msg === 'imported')).toMatchObject({ tenantId: 't-1', batch: 3, job: { name: 'import' } });
    expect(logs.lines.find((l) => l.msg === 'job completed')).toMatchObject({ tenantId: 't-1', batch: 3 });
    expect(logs.lines.find((l) => l.msg === 'job started')!.tenantId).toBeUndefined();
    expect(logs.lines.find((l) => l.msg === 'outside')!.tenantId).toBeUndefined();
  });

  test('two concurrent jobs keep their own contexts across interleaved awaits', async () => {
    const { obs, logs } = make();
    const work = (name: string, fields: Record<string, string>) =>
      obs.jobs.run(
        name,
        async () => {
          for (let i = 0; i < 5; i++) {
            await sleep(1);
            if (i === 1) obs.setRequestFields(fields);
            obs.logger.info({ step: i }, 'step');
          }
          return name;
        },
        { jobId: `${name}-id` },
      );
    expect(await Promise.all([work('alpha', { tenantId: 'ta' }), work('beta', { tenantId: 'tb' })])).toEqual(['alpha', 'beta']);
    const steps = logs.lines.filter((l) => l.msg === 'step');
    expect(steps).toHaveLength(10);
    const ids = new Map<string, string>();
    for (const line of steps) {
      expect(line.job.id).toBe(`${line.job.name}-id`);
      if (!ids.has(line.job.name)) ids.set(line.job.name, line.reqId);
      expect(line.reqId).toBe(ids.get(line.job.name));
      if (line.step >= 1) expect(line.tenantId).toBe(line.job.name === 'alpha' ? 'ta' : 'tb');
    }
    expect(ids.get('alpha')).not.toBe(ids.get('beta'));
  });

  test('hostile names: not text, empty, bounded; never thrown', async () => {
    const { obs, logs } = make({ dependencyLabelValues: 2 });
    expect(obs.jobs.run(123 as any, () => 'a')).toBe('a');
    expect(obs.jobs.run(undefined as any, () => 'b')).toBe('b');
    expect(obs.jobs.run('' as any, () => 'c')).toBe('c');
    expect(obs.jobs.run('x'.repeat(300), () => 'd')).toBe('d');
    expect(obs.jobs.run('fourth', () => 'e')).toBe('e');
    const names = logs.lines.filter((l) => l.msg === 'job started').map((l) => l.job.name);
    // Missing and empty names share the label and the line name 'unnamed', which takes no place in the vocabulary.
    expect(names).toEqual(['123', 'unnamed', 'unnamed', 'x'.repeat(128), 'fourth']);
    const text = await obs.registry.getSingleMetricAsString('job_duration_seconds');
    expect(new Set(parseSamples(text).map((s) => s.labels.job_name))).toEqual(new Set(['123', 'unnamed', 'x'.repeat(128), '_OTHER']));
  });

  test('hostile names that cannot be made text still run the job', () => {
    const { obs } = make();
    const unprintable = Object.create(null);
    const throwing = { toString: () => { throw new Error('toString'); } };
    expect(obs.jobs.run(unprintable, () => 'ran')).toBe('ran');
    expect(obs.jobs.run(throwing as any, () => 'ran')).toBe('ran');
  });

  test('run info with garbage types is ignored field by field', () => {
    const { obs, logs } = make();
    const infos: unknown[] = [
      { jobId: {}, attempt: '2', maxAttempts: -1, parentRequestId: 42 },
      { jobId: Number.NaN, attempt: 0, maxAttempts: 1.5 },
      { jobId: '', attempt: 2.5, maxAttempts: Number.POSITIVE_INFINITY },
      { jobId: 'z'.repeat(500), attempt: 2_000_000 },
      'info',
      42,
      null,
      [1, 2],
    ];
    for (const info of infos) {
      expect(() => obs.jobs.run('g', () => { throw new Error('fail'); }, info as any)).toThrow('fail');
    }
    const starts = logs.lines.filter((l) => l.msg === 'job started');
    expect(starts).toHaveLength(infos.length);
    for (const line of starts) expect(line.job.attempt).toBe(1);
    expect(starts.map((l) => l.job.id)).toEqual([undefined, undefined, undefined, 'z'.repeat(128), undefined, undefined, undefined, undefined]);
    for (const line of logs.lines.filter((l) => l.msg === 'job failed')) {
      expect(line).toMatchObject({ level: 'error', willRetry: false, outcome: 'failed' });
    }
    expect(logs.lines.filter((l) => l.msg === 'job retried')).toEqual([]);
    // A numeric id is written as text.
    obs.jobs.run('g', () => undefined, { jobId: 0 });
    expect(logs.lines.filter((l) => l.msg === 'job started').at(-1)!.job.id).toBe('0');
  });

  test.each([
    ['a throwing getter', { get attempt(): number { throw new Error('attempt getter'); } }],
    ['a Proxy whose get trap throws', new Proxy({}, { get: () => { throw new Error('trap'); } })],
  ])('run info with %s still runs the job', (_case, info) => {
    const { obs, logs } = make();
    let ran = false;
    expect(obs.jobs.run('g', () => { ran = true; return 'ran'; }, info as any)).toBe('ran');
    expect(ran).toBe(true);
    expect(logs.lines.find((l) => l.msg === 'job started')).toMatchObject({ job: { name: 'g', attempt: 1 } });
  });

  test('a job whose result is a Proxy whose every trap throws returns it, ends its run and leaves jobs_active at 0', async () => {
    const { obs, logs } = make();
    const hostile = new Proxy({}, { get: () => { throw new Error('get trap'); } });
    let returned: unknown;
    let thrown: unknown;
    try {
      returned = obs.jobs.run('proxy-job', () => hostile);
    } catch (err) {
      thrown = err;
    }
    expect({
      active: await sampleValue(obs, 'jobs_active', 'jobs_active', { job_name: 'proxy-job' }),
      ended: logs.lines.filter((l) => l.msg === 'job completed').length,
      thrown: (thrown as Error | undefined)?.message,
    }).toEqual({ active: 0, ended: 1, thrown: undefined });
    expect(returned).toBe(hostile);
  });

  test('results and errors keep their identity, sync and async', async () => {
    const { obs } = make();
    const value = { id: 1 };
    expect(obs.jobs.run('x', () => value)).toBe(value);
    expect(await obs.jobs.run('x', async () => value)).toBe(value);
    const err = new Error('e');
    await expect(obs.jobs.run('x', async () => { throw err; })).rejects.toBe(err);
    const thrown = { notAnError: true };
    let caught: unknown;
    try {
      obs.jobs.run('x', () => { throw thrown; });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBe(thrown);
    expect(await sampleValue(obs, 'job_duration_seconds', 'job_duration_seconds_count', { job_name: 'x', outcome: 'failed', error_type: '_OTHER' })).toBe(1);
  });
});

describe('obs.jobs.wrap', () => {
  interface BullJob {
    id?: string;
    attemptsMade: number;
    opts: { attempts?: number };
    data: { requestId?: string; to: string };
  }
  const bullReaders = {
    jobId: (j: BullJob) => j.id,
    attempt: (j: BullJob) => j.attemptsMade + 1,
    maxAttempts: (j: BullJob) => j.opts.attempts,
    parentRequestId: (j: BullJob) => j.data.requestId,
  };

  test('reads id, attempt, attempts and parent request from a BullMQ-like job; passes this, the job and the rest through', async () => {
    const { obs, logs } = make();
    const worker = { name: 'worker-1' };
    const seen: unknown[] = [];
    const result = { sent: true };
    const processor = obs.jobs.wrap(
      'send-email',
      async function (this: unknown, job: BullJob, token: string) {
        seen.push(this, job, token);
        obs.logger.info('processing');
        return result;
      },
      bullReaders,
    );
    expect(processor.name).toBe('observedJobProcessor');
    const job: BullJob = { id: 'b-17', attemptsMade: 1, opts: { attempts: 3 }, data: { requestId: 'req-parent', to: 'a@example.com' } };
    expect(await processor.call(worker, job, 'lock-token')).toBe(result);
    expect(seen[0]).toBe(worker);
    expect(seen[1]).toBe(job);
    expect(seen[2]).toBe('lock-token');
    expect(logs.lines.find((l) => l.msg === 'job retried')).toMatchObject({ module: 'jobs', job: { name: 'send-email', id: 'b-17', attempt: 2 }, parentReqId: 'req-parent' });
    expect(logs.lines.find((l) => l.msg === 'processing')).toMatchObject({ job: { id: 'b-17', attempt: 2 }, parentReqId: 'req-parent' });

    // A failure with attempts left is retried; on the last attempt it fails.
    const boom = new Error('smtp');
    const failing = obs.jobs.wrap('send-email', async (_job: BullJob) => Promise.reject(boom), bullReaders);
    await expect(failing({ id: 'b-18', attemptsMade: 0, opts: { attempts: 2 }, data: { to: 'x' } })).rejects.toBe(boom);
    await expect(failing({ id: 'b-18', attemptsMade: 1, opts: { attempts: 2 }, data: { to: 'x' } })).rejects.toBe(boom);
    const failed = logs.lines.filter((l) => l.msg === 'job failed');
    expect(failed.map((l) => [l.level, l.willRetry, l.outcome, l.job.attempt])).toEqual([
      ['warn', true, 'retried', 1],
      ['error', false, 'failed', 2],
    ]);
  });

  test('readers that throw, are missing or are not functions are ignored', () => {
    const { obs, logs } = make();
    const processor = obs.jobs.wrap('sync-job', (job: BullJob) => job.data.to, {
      jobId: () => {
        throw new Error('no id');
      },
      attempt: (j: BullJob) => j.attemptsMade + 1,
      maxAttempts: 'three' as any,
      parentRequestId: () => 42 as any,
    });
    expect(processor({ id: 'q', attemptsMade: 4, opts: {}, data: { to: 'to@example.com' } })).toBe('to@example.com');
    const start = logs.lines.find((l) => l.msg === 'job retried')!;
    expect(start.job).toEqual({ name: 'sync-job', attempt: 5 });
    expect('parentReqId' in start).toBe(false);

    const bare = obs.jobs.wrap('bare', (job: unknown) => job);
    const job = { id: 'ignored' };
    expect(bare(job)).toBe(job);
    expect(logs.lines.filter((l) => l.job?.name === 'bare')[0]).toMatchObject({ msg: 'job started', job: { attempt: 1 } });
    // A processor called without a job object at all.
    expect(obs.jobs.wrap('none', (j: BullJob | undefined) => j, bullReaders as any)(undefined)).toBeUndefined();
  });

  test('readers given as null are ignored like missing ones', () => {
    const { obs } = make();
    const processor = obs.jobs.wrap('n', (job: { v: number }) => job.v, null as any);
    expect(processor({ v: 3 })).toBe(3);
  });

  test.each(EXPRESS_VERSIONS)('a wrapped processor called in a request takes the request as parent (%s)', async (_name, express) => {
    const { obs, logs } = make();
    const processor = obs.jobs.wrap('inline', (job: { n: number }) => {
      obs.logger.info('inline job');
      return job.n * 2;
    });
    const app = express();
    app.use(obs.middleware);
    app.get('/', (_req, res) => {
      res.json({ n: processor({ n: 21 }) });
    });
    const res = await request(app).get('/').set('traceparent', TRACEPARENT).expect(200, { n: 42 });
    const lines = await logs.waitFor((ls) => ls.some((l) => l.msg === 'request completed'));
    const line = lines.find((l) => l.msg === 'inline job')!;
    expect(line).toMatchObject({ parentReqId: res.headers['x-request-id'], traceId: TRACE_ID, job: { name: 'inline', attempt: 1 } });
    expect(line.reqId).not.toBe(res.headers['x-request-id']);
  });
});

describe('context fields and child loggers', () => {
  test('a child logger binding `job` keeps its own: the line never holds the key twice', async () => {
    const { obs, logs } = observed({ logLevel: 'debug' });
    try {
      const child = obs.logger.child({ job: 'nightly-report' });
      await obs.jobs.run('report', async () => {
        child.info('inside');
        obs.logger.info('plain');
      });
      const raw = logs.raw.find((l) => l.includes('"inside"'))!;
      expect(raw.match(/"job":/g)).toHaveLength(1);
      expect(JSON.parse(raw).job).toBe('nightly-report');
      expect(logs.lines.find((l) => l.msg === 'plain')!.job).toMatchObject({ name: 'report', attempt: 1 });
    } finally {
      obs.close();
    }
  });
});
