import express from 'express';
import http from 'node:http';
import { listen, observed } from '../helpers/app';

// Only Date is faked: the sampler's per-second windows follow the clock set here, sockets and timers stay real.
const FAKE_DATE_ONLY = {
  doNotFake: [
    'hrtime',
    'nextTick',
    'performance',
    'queueMicrotask',
    'requestAnimationFrame',
    'cancelAnimationFrame',
    'requestIdleCallback',
    'cancelIdleCallback',
    'setImmediate',
    'clearImmediate',
    'setInterval',
    'clearInterval',
    'setTimeout',
    'clearTimeout',
  ] as const,
};

function get(agent: http.Agent, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
}

afterEach(() => jest.useRealTimers());

test('over 10,000 requests the kept share follows the rule, every error is kept, and metrics count every request', async () => {
  jest.useFakeTimers({ ...FAKE_DATE_ONLY, doNotFake: [...FAKE_DATE_ONLY.doNotFake] });
  const start = Date.UTC(2026, 11, 1, 12, 0, 0);
  jest.setSystemTime(start);
  const { obs, logs } = observed({ logSampling: { routes: { '/feed/:id': { firstPerSecond: 10, thenOneIn: 20 } } } });
  const app = express();
  app.use(obs.middleware);
  app.use(obs.router);
  app.get('/feed/:id', (req, res) => {
    const n = Number(req.params.id);
    if (n % 50 === 0) throw new Error(`failed ${n}`);
    if (n % 97 === 0) res.status(404).send('missing');
    else res.send('ok');
  });
  app.get('/other/:id', (_req, res) => res.send('other'));
  app.use(obs.errorHandler);
  const { url, close } = await listen(app);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const total = 10_000;
  const perSecond = 1000;
  try {
    for (let second = 0; second < total / perSecond; second++) {
      jest.setSystemTime(start + second * 1000 + 1);
      const batch: Promise<number>[] = [];
      for (let i = 1; i <= perSecond; i++) batch.push(get(agent, `${url}/feed/${second * perSecond + i}`));
      await Promise.all(batch);
    }
    for (let i = 0; i < 30; i++) await get(agent, `${url}/other/${i}`);
    await logs.waitFor((ls) => ls.filter((l) => l.req?.route === '/other/:id').length === 30);

    const feed = logs.requestLines.filter((l) => l.req.route === '/feed/:id');
    const ids = (lines: Record<string, any>[]) => lines.map((l) => Number(String(l.req.url).split('/').pop()));
    const errors = feed.filter((l) => l.res.statusCode === 500);
    const notFound = feed.filter((l) => l.res.statusCode === 404);
    const ok = feed.filter((l) => l.res.statusCode === 200);
    const expectedErrors = total / 50;
    const expectedNotFound = Array.from({ length: total }, (_, i) => i + 1).filter((n) => n % 50 !== 0 && n % 97 === 0).length;
    const successes = total - expectedErrors - expectedNotFound;
    // Every error and every 4xx kept, each standing for itself.
    expect(errors).toHaveLength(expectedErrors);
    expect(new Set(ids(errors)).size).toBe(expectedErrors);
    expect(errors.every((l) => l.sampleRate === undefined)).toBe(true);
    expect(notFound).toHaveLength(expectedNotFound);
    // Successes: 10 a second, then 1 in 20, each of those standing for 20.
    const expectedKept = 10 * (total / perSecond) + (successes - 10 * (total / perSecond)) / 20;
    expect(Math.abs(ok.length - expectedKept) / expectedKept).toBeLessThan(0.1);
    expect(ok.filter((l) => l.sampleRate !== undefined).every((l) => l.sampleRate === 20)).toBe(true);
    const estimated = ok.reduce((sum, l) => sum + (l.sampleRate ?? 1), 0);
    expect(Math.abs(estimated - successes) / successes).toBeLessThan(0.1);
    // Routes without a rule are not sampled.
    expect(logs.requestLines.filter((l) => l.req.route === '/other/:id')).toHaveLength(30);

    const metrics = await obs.registry.getMetricsAsJSON();
    const duration = metrics.find((m) => m.name === 'http_server_request_duration_seconds')!;
    const counted = (duration.values as { metricName?: string; labels: Record<string, unknown>; value: number }[])
      .filter((v) => v.metricName === 'http_server_request_duration_seconds_count' && v.labels.route === '/feed/:id')
      .reduce((sum, v) => sum + v.value, 0);
    expect(counted).toBe(total);
    const sampledOut = metrics.find((m) => m.name === 'log_lines_sampled_out_total')!;
    expect(sampledOut.values).toEqual([{ labels: { route: '/feed/:id' }, value: successes - ok.length }]);
  } finally {
    agent.destroy();
    await close();
    obs.close();
  }
}, 60_000);

test('sampling is off by default and logSampling options are checked at construction', () => {
  const { obs } = observed();
  expect(obs.registry.getSingleMetric('log_lines_sampled_out_total')).toBeUndefined();
  obs.close();
  expect(() => observed({ logSampling: { routes: { '/x': { thenOneIn: 0 } } } })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE' }));
  expect(() => observed({ logSampling: { routes: { '/x': { oneIn: 5 } as any } } })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_UNKNOWN_KEY' }));
});
