/**
 * The completion line is built as text by concatenation when nothing shapes it and the destination reads only
 * text, and as an object serialised otherwise (a destination reading pino's metadata, such as pino.multistream).
 * Both must write the same line: the same fields, values and order, for every way a request can end.
 */
import pino from 'pino';
import { Writable } from 'node:stream';
import type { Server } from 'node:http';
import { createObservability, getRequestContext, type ObservabilityOptions } from '../../src';
import { EXPRESS_VERSIONS, listen } from '../helpers/app';
import { LogCapture } from '../helpers/log-capture';

/** A destination that reads pino's metadata, so the object path is taken. */
function metadataDestination(capture: LogCapture) {
  return pino.multistream([{ level: 'trace', stream: capture }]);
}

/** Every field but those that differ between two instances or two runs, keys in their written order. */
function comparable(line: Record<string, any>): unknown {
  const { time, pid, hostname, responseTime, ...rest } = line;
  expect(typeof time).toBe('string');
  expect(typeof responseTime).toBe('number');
  // Each instance listens on its own port.
  if (rest.req?.headers?.host !== undefined) rest.req.headers.host = '127.0.0.1:<port>';
  return JSON.stringify(rest);
}

const tick = () => new Promise((r) => setTimeout(r, 20));

describe.each(EXPRESS_VERSIONS)('completion lines as text and as objects are identical (%s)', (_name, express) => {
  function appFor(options: ObservabilityOptions) {
    const obs = createObservability({ serviceName: 'svc', env: {}, slowRequestMs: 150, ...options });
    const app = express();
    app.use(obs.middleware);
    app.use(obs.router);
    app.use(express.json());
    app.get('/users/:id', (req: any, res: any) => res.json({ id: req.params.id }));
    app.get('/fields', (_req: any, res: any) => {
      obs.setRequestFields({ userId: 'u-"1"', tenant: 't\u00e9', n: 3, ok: true, nothing: null });
      res.json({ ok: true });
    });
    app.get('/boom', () => {
      throw Object.assign(new Error('the "database" refused\nline two'), { code: 'E_DB', detail: { password: 'hunter2' } });
    });
    app.get('/teapot', (_req: any, res: any) => res.status(418).send('short and stout'));
    app.get('/slow', (_req: any, res: any) => setTimeout(() => res.send('late'), 170));
    app.get('/no-length', (_req: any, res: any) => {
      res.write('a');
      res.end('b');
    });
    app.get('/hang', () => undefined);
    // Values of other types than the library sets, by code that may: written as JSON.stringify writes them.
    app.get('/odd-id', (req: any, res: any) => {
      req.id = 42;
      res.send('odd');
    });
    app.get('/odd-trace', (_req: any, res: any) => {
      (getRequestContext() as { traceId: unknown }).traceId = 12;
      res.send('odd');
    });
    app.post('/orders', (req: any, res: any) => res.status(201).json({ got: req.body }));
    app.use(obs.errorHandler);
    return { obs, app };
  }

  async function run(options: ObservabilityOptions, capture: LogCapture): Promise<unknown[]> {
    const { obs, app } = appFor(options);
    const { server, url, close } = await listen(app as unknown as { listen: (...args: any[]) => Server });
    const headers = { 'x-request-id': 'fixed-id-1', 'user-agent': 'agent "quoted" \u00e9 \\ back', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };
    await fetch(`${url}/users/42?page=2&token=secret-value&q=%22x%22`, { headers });
    await fetch(`${url}/users/%E2%9C%93%22quote`, { headers: { 'x-request-id': 'fixed-id-2' } });
    await fetch(`${url}/fields`, { headers: { 'x-request-id': 'fixed-id-3' } });
    await fetch(`${url}/boom`, { headers: { 'x-request-id': 'fixed-id-4' } });
    await fetch(`${url}/teapot`, { headers: { 'x-request-id': 'fixed-id-5' } });
    await fetch(`${url}/nowhere/4111111111111111`, { headers: { 'x-request-id': 'fixed-id-6' } });
    await fetch(`${url}/slow`, { headers: { 'x-request-id': 'fixed-id-7' } });
    await fetch(`${url}/no-length`, { headers: { 'x-request-id': 'fixed-id-8' } });
    await fetch(`${url}/orders`, { method: 'POST', headers: { 'x-request-id': 'fixed-id-9', 'content-type': 'application/json' }, body: JSON.stringify({ item: 'x'.repeat(300), password: 'p' }) });
    await fetch(`${url}/odd-id`, { headers: { 'x-request-id': 'fixed-id-11' } });
    await fetch(`${url}/odd-trace`, { headers: { 'x-request-id': 'fixed-id-12' } });
    // A client that goes away before the answer: an aborted line.
    const controller = new AbortController();
    const hung = fetch(`${url}/hang`, { headers: { 'x-request-id': 'fixed-id-10' }, signal: controller.signal }).catch(() => undefined);
    await tick();
    controller.abort();
    await hung;
    await capture.waitFor((lines) => lines.filter((l) => l.responseTime !== undefined).length === 12);
    await close();
    void server;
    await obs.close();
    return capture.requestLines.sort((a, b) => String(a.reqId).localeCompare(String(b.reqId), 'en', { numeric: true })).map(comparable);
  }

  const variants: Array<[string, ObservabilityOptions]> = [
    ['defaults', {}],
    ['headers and body logged, body cut', { logRequestHeaders: true, logResponseHeaders: ['content-type', 'x-request-id'], logRequestBody: true, maxBodyLogBytes: 64 }],
    ['sampling with a rate on kept lines', { logSampling: { routes: { '/users/:id': { firstPerSecond: 0, thenOneIn: 1 } } } } as ObservabilityOptions],
  ];

  it.each(variants)('%s', async (_label, options) => {
    const text = new LogCapture();
    const objects = new LogCapture();
    const fromText = await run({ ...options, logDestination: text }, text);
    const fromObjects = await run({ ...options, logDestination: metadataDestination(objects) as unknown as Writable }, objects);
    expect(fromText).toHaveLength(12);
    expect(fromText).toEqual(fromObjects);
    // The cases are really there: an error, an abort, a slow line, request fields and a trace.
    const parsed = fromText.map((t) => JSON.parse(t as string));
    expect(parsed.map((l) => l.msg)).toContain('request aborted');
    expect(parsed.some((l) => l.err?.message?.includes('"database"'))).toBe(true);
    expect(parsed.some((l) => l.slow === true)).toBe(true);
    expect(parsed.some((l) => l.userId === 'u-"1"' && l.tenant === 't\u00e9')).toBe(true);
    expect(parsed.some((l) => l.traceId === '4bf92f3577b34da6a3ce929d0e0e4736')).toBe(true);
    expect(parsed.some((l) => l.reqId === 42)).toBe(true);
    expect(parsed.some((l) => l.reqId === 'fixed-id-12' && l.traceId === 12)).toBe(true);
    expect(JSON.stringify(parsed)).not.toContain('secret-value');
    expect(JSON.stringify(parsed)).not.toContain('hunter2');
  });
});
