import { EventEmitter } from 'node:events';
import http from 'node:http';
import request from 'supertest';
import { getRequestContext } from '../../src';
import { EXPRESS_VERSIONS, listen, observed } from '../helpers/app';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(EXPRESS_VERSIONS)('request context (%s)', (_name, expressFactory) => {
  function build() {
    const { obs, logs } = observed();
    const app = expressFactory();
    app.use(obs.middleware);
    app.use(expressFactory.json());
    app.post('/work', async (req, res) => {
      // handlerReqId is what the handler knows from req; reqId is what the context adds.
      const logger = obs.logger.child({ handlerReqId: req.id });
      logger.info({ step: 'after-body' }, 'step');
      await tick(2);
      logger.info({ step: 'after-await' }, 'step');
      await new Promise<void>((resolve) =>
        setTimeout(() => {
          logger.info({ step: 'in-timer' }, 'step');
          resolve();
        }, 1),
      );
      await new Promise<void>((resolve) =>
        setImmediate(() => {
          logger.info({ step: 'in-immediate' }, 'step');
          resolve();
        }),
      );
      const emitter = new EventEmitter();
      emitter.on('evt', () => logger.child({ module: 'payments' }).info({ step: 'child-in-emitter' }, 'step'));
      emitter.emit('evt');
      await Promise.resolve().then(() => logger.info({ step: 'in-then' }, 'step'));
      res.json({ requestId: getRequestContext()?.requestId, bodyEcho: req.body.n });
    });
    return { app, logs, obs };
  }

  it('every logger call during the request carries its id: after body parsing, awaits, timers, immediates, emitters', async () => {
    const { app, logs } = build();
    const res = await request(app).post('/work').send({ n: 1 }).expect(200);
    const id = res.headers['x-request-id'];
    expect(res.body.requestId).toBe(id);
    const lines = await logs.waitFor((l) => l.length === 7);
    const steps = lines.filter((l) => l.msg === 'step');
    expect(steps.map((l) => l.step)).toEqual(['after-body', 'after-await', 'in-timer', 'in-immediate', 'child-in-emitter', 'in-then']);
    for (const line of steps) expect(line.reqId).toBe(id);
    expect(steps[4]!.module).toBe('payments');
  });

  it('keeps the context when the body arrives slowly in several chunks', async () => {
    const { app, logs } = build();
    const server = await listen(app);
    try {
      const done = new Promise<{ id: string; body: string }>((resolve, reject) => {
        const req = http.request(
          `${server.url}/work`,
          { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '8' } },
          (res) => {
            let body = '';
            res.on('data', (c) => (body += c));
            res.on('end', () => resolve({ id: String(res.headers['x-request-id']), body }));
          },
        );
        req.on('error', reject);
        req.write('{"n"');
        setTimeout(() => req.end(':42}'), 30);
      });
      const { id, body } = await done;
      expect(JSON.parse(body)).toEqual({ requestId: id, bodyEcho: 42 });
      const lines = await logs.waitFor((l) => l.length === 7);
      for (const line of lines) expect(line.reqId).toBe(id);
    } finally {
      await server.close();
    }
  });

  it('never mixes up concurrent requests', async () => {
    const { app, logs } = build();
    const server = await listen(app);
    try {
      const responses = await Promise.all(
        Array.from({ length: 25 }, (_, n) =>
          fetch(`${server.url}/work`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n }) }).then(
            async (r) => ({ id: r.headers.get('x-request-id')!, body: (await r.json()) as { requestId: string; bodyEcho: number } }),
          ),
        ),
      );
      const lines = await logs.waitFor((l) => l.length === 25 * 7);
      const steps = lines.filter((l) => l.msg === 'step');
      expect(steps.filter((l) => l.reqId !== l.handlerReqId).map((l) => [l.step, l.reqId, l.handlerReqId])).toEqual([]);
      for (const { id, body } of responses) {
        expect(body.requestId).toBe(id);
        expect(lines.filter((l) => l.reqId === id)).toHaveLength(7);
      }
      expect(new Set(responses.map((r) => r.id)).size).toBe(25);
    } finally {
      await server.close();
    }
  });
});

describe('outside a request', () => {
  it('there is no context and lines carry no request id', async () => {
    const { obs, logs } = observed();
    expect(getRequestContext()).toBeUndefined();
    obs.logger.info('startup');
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line!.reqId).toBeUndefined();
    expect(line!.msg).toBe('startup');
  });
});
