import express from 'express';
import { readFileSync } from 'node:fs';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { resolve } from 'node:path';
import request from 'supertest';
import * as lib from '../../src';
import { errorHandler, httpLogger, httpMetrics, requestId, slowRequests } from '../../src';
import { EXPRESS_VERSIONS, observed } from '../helpers/app';
import { LogCapture } from '../helpers/log-capture';

const DOC_PATH = resolve(__dirname, '../../docs/reference/errors.md');

/** The section of docs/reference/errors.md under `## \`code\``, up to the next level-2 heading. */
function docSection(code: string): string {
  const doc = readFileSync(DOC_PATH, 'utf8');
  const start = doc.indexOf(`## \`${code}\``);
  if (start === -1) return '';
  const next = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, next === -1 ? undefined : next);
}

/** The names in backticks on the line of a section that starts with `label`. */
function listedNames(code: string, label: string): string[] {
  const line = docSection(code)
    .split('\n')
    .find((l) => l.startsWith(label));
  return [...(line ?? '').matchAll(/`([A-Za-z.]+)`/g)].map((m) => m[1]!).sort();
}

function realRequest(): { req: IncomingMessage; res: ServerResponse } {
  const req = new IncomingMessage(new Socket());
  req.method = 'GET';
  req.url = '/';
  return { req, res: new ServerResponse(req) };
}

describe('middleware called as if it were a factory', () => {
  const logs = new LogCapture();
  const { obs } = observed();
  const standalone = {
    requestId: requestId(),
    httpLogger: httpLogger({ logDestination: logs, env: {} }),
    httpMetrics: httpMetrics({ env: {} }),
    slowRequests: slowRequests({ logDestination: logs, env: {} }),
    errorHandler: errorHandler({ logDestination: logs, env: {} }),
    notFoundHandler: lib.notFoundHandler({ logDestination: logs, env: {} }),
  };
  afterAll(() => {
    obs.close();
    standalone.httpMetrics.close();
    standalone.slowRequests.close();
  });

  const cases: [string, (...args: unknown[]) => unknown, string][] = [
    ['obs.middleware', obs.middleware as never, 'app.use(obs.middleware)'],
    ['obs.router', obs.router as never, 'app.use(obs.router)'],
    ['obs.errorHandler', obs.errorHandler as never, 'app.use(obs.errorHandler)'],
    ['obs.notFoundHandler', obs.notFoundHandler as never, 'app.use(obs.notFoundHandler)'],
    ['requestId()', standalone.requestId as never, 'app.use(requestId())'],
    ['httpLogger()', standalone.httpLogger as never, 'app.use(httpLogger('],
    ['httpMetrics()', standalone.httpMetrics as never, 'app.use(httpMetrics('],
    ['slowRequests()', standalone.slowRequests as never, 'app.use(slowRequests('],
    ['errorHandler()', standalone.errorHandler as never, 'app.use(errorHandler('],
    ['notFoundHandler()', standalone.notFoundHandler as never, 'app.use(notFoundHandler('],
  ];

  it.each(cases)('%s() throws OBS_ERR_MIDDLEWARE_CALLED_AS_FACTORY naming the right way to mount it', (_name, middleware, fix) => {
    for (const args of [[], [{}], [{ serviceName: 'x' }, undefined]]) {
      let thrown: unknown;
      try {
        middleware(...args);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(lib.ObservabilityError);
      expect(thrown).toMatchObject({ code: 'OBS_ERR_MIDDLEWARE_CALLED_AS_FACTORY', key: undefined });
      expect((thrown as Error).message).toContain(fix);
    }
  });

  it.each(cases)('%s called with a request but no next function throws the same coded error', (_name, middleware) => {
    const { req, res } = realRequest();
    const args = middleware.length === 4 ? [new Error('x'), req, res] : [req, res];
    expect(() => middleware(...args)).toThrow(expect.objectContaining({ code: 'OBS_ERR_MIDDLEWARE_CALLED_AS_FACTORY' }));
  });

  it.each(EXPRESS_VERSIONS)('fails at start-up with app.use(obs.middleware()) (%s)', (_name, expressFactory) => {
    const app = expressFactory();
    expect(() => app.use((obs.middleware as any)())).toThrow(expect.objectContaining({ code: 'OBS_ERR_MIDDLEWARE_CALLED_AS_FACTORY' }));
    expect(() => app.use((obs.router as any)())).toThrow(/app\.use\(obs\.router\)/);
  });

  it('leaves requests served the normal way untouched', async () => {
    const app = express();
    app.use(obs.middleware);
    app.use(obs.router);
    app.get('/ok', (_req, res) => {
      res.send('ok');
    });
    app.use(obs.errorHandler);
    await request(app).get('/ok').expect(200, 'ok');
  });

  it('every middleware in the list is documented under OBS_ERR_MIDDLEWARE_CALLED_AS_FACTORY', () => {
    expect(listedNames('OBS_ERR_MIDDLEWARE_CALLED_AS_FACTORY', 'Applies to')).toEqual(
      ['obs.middleware', 'obs.router', 'obs.errorHandler', 'obs.notFoundHandler', 'requestId', 'httpLogger', 'httpMetrics', 'slowRequests', 'errorHandler', 'notFoundHandler'].sort(),
    );
  });
});

describe('factories mounted without being called', () => {
  /** Every exported function that, handed a real (req, res, next), throws OBS_ERR_FACTORY_USED_AS_MIDDLEWARE. */
  function guardedFactories(): string[] {
    const guarded: string[] = [];
    for (const [name, value] of Object.entries(lib)) {
      if (typeof value !== 'function') continue;
      const { req, res } = realRequest();
      try {
        (value as (...args: unknown[]) => unknown)(req, res, () => {});
      } catch (err) {
        if ((err as { code?: unknown }).code === 'OBS_ERR_FACTORY_USED_AS_MIDDLEWARE') guarded.push(name);
      }
    }
    return guarded.sort();
  }

  it('docs/reference/errors.md lists exactly the factories that detect it', () => {
    const guarded = guardedFactories();
    expect(guarded).toEqual(expect.arrayContaining(['createObservability', 'requestId', 'httpLogger', 'errorHandler']));
    expect(listedNames('OBS_ERR_FACTORY_USED_AS_MIDDLEWARE', 'Applies to')).toEqual(guarded);
  });
});
