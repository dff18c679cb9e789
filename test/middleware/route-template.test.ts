import http from 'node:http';
import { EXPRESS_VERSIONS, listen, observed } from '../helpers/app';
import { httpLogger, httpMetrics } from '../../src';
import { LogCapture } from '../helpers/log-capture';

/** Requests `paths` over one keep-alive agent, `concurrency` at a time; resolves with the status codes. */
async function getAll(url: string, paths: readonly string[], concurrency = 16): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const statuses: number[] = new Array(paths.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < paths.length) {
      const i = next++;
      statuses[i] = await new Promise<number>((resolve, reject) => {
        http
          .get(`${url}${paths[i]}`, { agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode!));
          })
          .on('error', reject);
      });
    }
  }
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
  return statuses;
}

describe.each(EXPRESS_VERSIONS)('route labels come from the application, not from request paths (%s)', (name, expressFactory) => {
  const v5 = name === 'express 5';

  function build(maxRouteLabels: number) {
    const { obs, logs } = observed({ collectDefaultMetrics: false, maxRouteLabels });
    const app = expressFactory();
    app.use(obs.middleware);
    app.use(obs.router);
    const ok = (_req: unknown, res: { send(body: string): void }) => res.send('ok');

    const api = expressFactory.Router();
    api.get('/items/:id', ok);
    app.use(/^\/api\/v\d+/, api);

    const range = expressFactory.Router();
    range.get('/sum', ok);
    app.use('/range/:from-:to', range);

    const docs = expressFactory.Router();
    docs.get('/intro', ok);
    app.use(v5 ? '/docs{/:lang}' : '/docs/:lang?', docs);

    const files = expressFactory.Router();
    files.get('/', ok);
    app.use(v5 ? '/files/*splat' : '/files/*', files);

    const many = expressFactory.Router();
    many.get('/x', ok);
    app.use(['/a', '/b/:id'], many);

    app.get(/^\/re\/\d+$/, ok);

    const inner = expressFactory.Router();
    inner.get('/f/:file', ok);
    const outer = expressFactory.Router();
    outer.use('/p/:project', inner);
    app.use('/t/:tenant', outer);

    const deep = expressFactory.Router();
    deep.get('/y', ok);
    const pathless = expressFactory.Router();
    pathless.use('/deep/:x', deep);
    app.use(pathless);

    const sub = expressFactory();
    sub.get('/z', ok);
    app.use('/sub/:tenant', sub);

    app.get('/late', ok);
    return { app, obs, logs };
  }

  const rangeLabel = '/range/:from-:to/sum';
  const expected = [
    '/^\\/api\\/v\\d+//items/:id',
    rangeLabel,
    v5 ? '/docs{/:lang}/intro' : '/docs/:lang?/intro',
    v5 ? '/files/*splat' : '/files/*',
    '/a|/b/:id/x',
    '/^\\/re\\/\\d+$/',
    '/t/:tenant/p/:project/f/:file',
    '/deep/:x/y',
    '/sub/:tenant/z',
  ];

  function crafted(i: number): string[] {
    return [
      `/api/v${i}/items/${i}`,
      `/api/v${i}0/items/x`,
      `/range/${i}-${i + 1}/sum`,
      `/range/a-b-${i}/sum`,
      `/range/${i}-${i}/sum`,
      `/docs/intro/intro`,
      `/docs/l${i}/intro`,
      `/files/${i}/a/b`,
      `/files/${i}`,
      `/b/${i}/x`,
      `/A/x`,
      `/re/${i}`,
      `/t/T${i}/p/P${i}/f/${i}`,
      `/t/x/p/x/f/x`,
      `/deep/${i}/y`,
      `/sub/${i}/z`,
    ];
  }

  it('gives every kind of mount one label whatever the path, so a later route still gets its own', async () => {
    // Room for the application's labels and a few more, far fewer than the crafted paths.
    const { app, obs, logs } = build(20);
    const server = await listen(app);
    try {
      const paths: string[] = [];
      for (let i = 0; paths.length < 1000; i++) paths.push(...crafted(i));
      paths.length = 1000;
      const statuses = await getAll(server.url, paths);
      expect([...new Set(paths.filter((_p, i) => statuses[i] !== 200))]).toEqual([]);
      await getAll(server.url, ['/late']);

      const metrics = await obs.registry.getMetricsAsJSON();
      const counts = metrics
        .find((m) => m.name === 'http_server_request_duration_seconds')!
        .values.filter((v) => (v as { metricName?: string }).metricName === 'http_server_request_duration_seconds_count');
      const labels = [...new Set(counts.map((v) => String(v.labels.route)))].sort();
      expect(labels).toEqual([...expected, '/late'].sort());
      expect(counts.reduce((sum, v) => sum + v.value, 0)).toBe(1001);

      const lines = await logs.waitFor((l) => l.length === 1001);
      expect(new Set(lines.map((l) => l.req.route))).toEqual(new Set([...expected, '/late']));
    } finally {
      await server.close();
      obs.close();
    }
  });

  it('labels a multi-parameter segment by its pattern when values repeat or are one character long', async () => {
    const { app, obs, logs } = build(1000);
    const server = await listen(app);
    try {
      await getAll(server.url, ['/range/1-1/sum', '/range/x-y/sum', '/range/sum-sum/sum'], 1);
      const lines = await logs.waitFor((l) => l.length === 3);
      expect(lines.map((l) => l.req.route)).toEqual([rangeLabel, rangeLabel, rangeLabel]);
    } finally {
      await server.close();
      obs.close();
    }
  });

  it('keeps the template of the mount entered when several mounts could match, and across next()', async () => {
    const { obs, logs } = observed({ collectDefaultMetrics: false });
    const app = expressFactory();
    app.use(obs.middleware);
    const first = expressFactory.Router({ mergeParams: true });
    first.get('/only-first', (_req, res) => void res.send('1'));
    const second = expressFactory.Router({ mergeParams: true });
    second.get('/only-second', (_req, res) => void res.send('2'));
    app.use('/v/:version', first);
    app.use('/v/literal', second);
    const server = await listen(app);
    try {
      await getAll(server.url, ['/v/literal/only-second', '/v/literal/only-first', '/v/7/only-first'], 1);
      const lines = await logs.waitFor((l) => l.length === 3);
      expect(lines.map((l) => l.req.route)).toEqual(['/v/literal/only-second', '/v/:version/only-first', '/v/:version/only-first']);
    } finally {
      await server.close();
      obs.close();
    }
  });

  it('labels a route after an error left a mounted router', async () => {
    const { obs, logs } = observed({ collectDefaultMetrics: false });
    const app = expressFactory();
    app.use(obs.middleware);
    const r = expressFactory.Router();
    r.get('/boom', (_req, _res, next) => next(new Error('x')));
    app.use('/m/:id', r);
    app.use(obs.errorHandler);
    const server = await listen(app);
    try {
      await getAll(server.url, ['/m/1/boom', '/m/2/boom'], 1);
      const lines = await logs.waitFor((l) => l.length === 2);
      expect(lines.map((l) => l.req.route)).toEqual(['/m/:id/boom', '/m/:id/boom']);
    } finally {
      await server.close();
      obs.close();
    }
  });
});

describe.each(EXPRESS_VERSIONS)('mounts whose pattern cannot be read (%s)', (_name, expressFactory) => {
  it('share one fixed label inside a router called from a function, whatever the path', async () => {
    const { obs, logs } = observed({ collectDefaultMetrics: false });
    const app = expressFactory();
    app.use(obs.middleware);
    const other = expressFactory.Router();
    other.get('/z', (_req, res) => void res.send('z'));
    const inner = expressFactory.Router();
    inner.use('/y/:id', other);
    app.use('/x', (req, res, next) => inner(req, res, next));
    const server = await listen(app);
    try {
      await getAll(server.url, ['/x/y/1/z', '/x/y/2/z'], 1);
      const lines = await logs.waitFor((l) => l.length === 2);
      expect(lines.map((l) => l.req.route)).toEqual(['/x/*/z', '/x/*/z']);
    } finally {
      await server.close();
      obs.close();
    }
  });
});

type Handler = (req: { query: Record<string, unknown> }, res: { send(body: string): void }) => void;
/** Answers 200, or throws when the query has `e`, so that each route is seen with a success and an error. */
const okOrThrow: Handler = (req, res) => {
  if (req.query.e) throw new Error('boom');
  res.send('ok');
};

/** The routes and statuses of the completion lines, in order. */
const routesOf = (lines: Record<string, any>[]) => lines.map((l) => `${l.res.statusCode} ${l.req.route}`);

/** Each path, then the same with an error, twice over: the first request of an application prepares its prototype. */
const withErrors = (paths: readonly string[]) => [...paths, ...paths].flatMap((p) => [p, `${p}?e=1`]);
const expectedFor = (routes: readonly string[]) => [...routes, ...routes].flatMap((r) => [`200 ${r}`, `500 ${r}`]);

/** `status route` of every duration count the registry holds, sorted. */
async function countedRoutes(registry: { getMetricsAsJSON(): Promise<any[]> }): Promise<string[]> {
  const metrics = await registry.getMetricsAsJSON();
  return metrics
    .find((m) => m.name === 'http_server_request_duration_seconds')!
    .values.filter((v: any) => v.metricName === 'http_server_request_duration_seconds_count')
    .map((v: any) => `${v.labels.status_code} ${v.labels.route} ${v.value}`)
    .sort();
}

describe.each(EXPRESS_VERSIONS)('middleware mounted under a path (%s)', (_name, expressFactory) => {
  it('obs.middleware under /api labels routes, nested routers and sub-applications by their full template, on success and error', async () => {
    const { obs, logs } = observed({ collectDefaultMetrics: false });
    const app = expressFactory();
    app.use('/api', obs.middleware);
    app.get('/api/a', okOrThrow as never);
    const v1 = expressFactory.Router();
    v1.get('/u/:id', okOrThrow as never);
    app.use('/api/v1', v1);
    const inner = expressFactory.Router();
    inner.get('/f/:file', okOrThrow as never);
    const outer = expressFactory.Router();
    outer.use('/p/:project', inner);
    app.use('/api/t/:tenant', outer);
    const sub = expressFactory();
    sub.get('/s/:id', okOrThrow as never);
    app.use('/api/sub/:tenant', sub);
    app.use(obs.router);
    app.use(obs.errorHandler);
    const server = await listen(app);
    try {
      const paths = ['/api/a', '/api/v1/u/1', '/api/t/T1/p/P1/f/x', '/api/sub/s1/s/2'];
      const routes = ['/api/a', '/api/v1/u/:id', '/api/t/:tenant/p/:project/f/:file', '/api/sub/:tenant/s/:id'];
      const statuses = await getAll(server.url, withErrors(paths), 1);
      expect(statuses).toEqual(withErrors(paths).map((p) => (p.endsWith('?e=1') ? 500 : 200)));
      const lines = await logs.waitFor((l) => l.filter((x) => x.res?.statusCode).length === statuses.length);
      expect(routesOf(lines.filter((l) => l.res?.statusCode))).toEqual(expectedFor(routes));
      expect(await countedRoutes(obs.registry)).toEqual(routes.flatMap((r) => [`200 ${r} 2`, `500 ${r} 2`]).sort());
    } finally {
      await server.close();
      obs.close();
    }
  });

  it('obs.middleware inside a router mounted on a pattern, and under a path inside sub-applications mounted with and without a path', async () => {
    const { obs, logs } = observed({ collectDefaultMetrics: false });
    const app = expressFactory();
    const api = expressFactory.Router();
    api.use(obs.middleware);
    api.get('/u/:id', okOrThrow as never);
    const deeper = expressFactory.Router();
    deeper.get('/d/:id', okOrThrow as never);
    api.use('/x/:x', deeper);
    app.use('/api/:version', api);
    const sub = expressFactory();
    sub.use('/m', obs.middleware);
    sub.get('/m/s/:id', okOrThrow as never);
    app.use('/sub/:tenant', sub);
    const pathless = expressFactory();
    const numbered = expressFactory.Router();
    numbered.use(obs.middleware);
    numbered.get('/s/:id', okOrThrow as never);
    pathless.use('/n/:k', numbered);
    app.use(pathless);
    app.use(obs.errorHandler);
    const server = await listen(app);
    try {
      const paths = ['/api/v1/u/1', '/api/v2/x/3/d/4', '/sub/t1/m/s/2', '/n/1/s/3'];
      const routes = ['/api/:version/u/:id', '/api/:version/x/:x/d/:id', '/sub/:tenant/m/s/:id', '/n/:k/s/:id'];
      const statuses = await getAll(server.url, withErrors(paths), 1);
      expect(statuses).toEqual(withErrors(paths).map((p) => (p.endsWith('?e=1') ? 500 : 200)));
      const lines = await logs.waitFor((l) => l.filter((x) => x.res?.statusCode).length === statuses.length);
      expect(routesOf(lines.filter((l) => l.res?.statusCode))).toEqual(expectedFor(routes));
    } finally {
      await server.close();
      obs.close();
    }
  });

  it('a path-mounted middleware does not take the template of its own layer for a later mount', async () => {
    const { obs, logs } = observed({ collectDefaultMetrics: false });
    const app = expressFactory();
    app.use('/v/:version', obs.middleware);
    const literal = expressFactory.Router();
    literal.get('/x', okOrThrow as never);
    app.use('/v/literal', literal);
    app.use(obs.errorHandler);
    const server = await listen(app);
    try {
      const statuses = await getAll(server.url, withErrors(['/v/literal/x']), 1);
      expect(statuses).toEqual([200, 500, 200, 500]);
      const lines = await logs.waitFor((l) => l.filter((x) => x.res?.statusCode).length === 4);
      expect(routesOf(lines.filter((l) => l.res?.statusCode))).toEqual(expectedFor(['/v/literal/x']));
    } finally {
      await server.close();
      obs.close();
    }
  });

  it('standalone httpLogger() and httpMetrics() under /min label routes and routers, on success and error', async () => {
    const logs = new LogCapture();
    const metrics = httpMetrics({ collectDefaultMetrics: false });
    const app = expressFactory();
    app.use('/min', httpLogger({ logDestination: logs, env: {} }));
    app.use('/min', metrics);
    app.get('/min/a', okOrThrow as never);
    const r = expressFactory.Router();
    r.get('/u/:id', okOrThrow as never);
    app.use('/min/r', r);
    const sub = expressFactory();
    sub.get('/s/:id', okOrThrow as never);
    app.use('/min/sub', sub);
    app.use((_err: unknown, _req: unknown, res: { status(code: number): { send(body: string): void } }, _next: unknown) => res.status(500).send('failed'));
    const server = await listen(app);
    try {
      const paths = ['/min/a', '/min/r/u/1', '/min/sub/s/1'];
      const routes = ['/min/a', '/min/r/u/:id', '/min/sub/s/:id'];
      const statuses = await getAll(server.url, withErrors(paths), 1);
      expect(statuses).toEqual(withErrors(paths).map((p) => (p.endsWith('?e=1') ? 500 : 200)));
      const lines = await logs.waitFor((l) => l.filter((x) => x.res?.statusCode).length === statuses.length);
      expect(routesOf(lines.filter((l) => l.res?.statusCode))).toEqual(expectedFor(routes));
      expect(await countedRoutes(metrics.registry)).toEqual(routes.flatMap((r) => [`200 ${r} 2`, `500 ${r} 2`]).sort());
    } finally {
      await server.close();
      metrics.close();
    }
  });
});
