import express from 'express';
import http from 'node:http';
import { Gauge, Registry } from 'prom-client';
import { listen, observed } from '../helpers/app';

/** Sends `count` GETs at once over separate connections; resolves with status, content type and body of each. */
function scrapes(url: string, count: number, headers: Record<string, string> = {}) {
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
          http
            .get(url, { agent: false, headers }, (res) => {
              let body = '';
              res.setEncoding('utf8');
              res.on('data', (c) => (body += c));
              res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
            })
            .on('error', reject);
        }),
    ),
  );
}

describe('concurrent scrapes of /metrics', () => {
  function build(collect: () => Promise<void> | void) {
    const registry = new Registry();
    const { obs, logs } = observed({ registry, collectDefaultMetrics: false });
    let collected = 0;
    new Gauge({
      name: 'build_probe',
      help: 'Counts the builds of the exposition text.',
      registers: [registry],
      async collect() {
        collected++;
        this.set(collected);
        await collect();
      },
    });
    const app = express();
    app.use(obs.middleware);
    app.use(obs.router);
    return { app, obs, logs, builds: () => collected };
  }

  it('share one build per content type, and a scrape after it finished gets a new one', async () => {
    const { app, obs, builds } = build(() => new Promise((r) => setTimeout(r, 50)));
    const server = await listen(app);
    try {
      const [text, open] = await Promise.all([
        scrapes(`${server.url}/metrics`, 4),
        scrapes(`${server.url}/metrics`, 3, { accept: 'application/openmetrics-text; version=1.0.0' }),
      ]);
      expect(builds()).toBe(2);
      expect(new Set(text.map((r) => r.status))).toEqual(new Set([200]));
      expect(new Set(text.map((r) => r.type))).toEqual(new Set(['text/plain; version=0.0.4; charset=utf-8']));
      expect(new Set(text.map((r) => r.body)).size).toBe(1);
      expect(new Set(open.map((r) => r.type))).toEqual(new Set(['application/openmetrics-text; version=1.0.0; charset=utf-8']));
      expect(new Set(open.map((r) => r.body)).size).toBe(1);
      expect(open[0]!.body.endsWith('# EOF\n')).toBe(true);
      await new Promise((r) => setTimeout(r, 10));
      const [later] = await scrapes(`${server.url}/metrics`, 1);
      expect(builds()).toBe(3);
      expect(later!.body).toMatch(/^build_probe 3$/m);
    } finally {
      await server.close();
      obs.close();
    }
  });

  it('all answer 500 when the shared build fails, with one log line, and the next scrape builds again', async () => {
    let fail = true;
    const { app, obs, logs, builds } = build(async () => {
      await new Promise((r) => setTimeout(r, 30));
      if (fail) throw new Error('collector exploded');
    });
    const server = await listen(app);
    try {
      const answers = await scrapes(`${server.url}/metrics`, 3);
      expect(answers.map((a) => [a.status, JSON.parse(a.body).error.message])).toEqual(Array(3).fill([500, 'metrics collection failed']));
      expect(builds()).toBe(1);
      await new Promise((r) => setTimeout(r, 20));
      expect(logs.lines.filter((l) => l.msg === 'metrics collection failed')).toHaveLength(1);
      fail = false;
      const [ok] = await scrapes(`${server.url}/metrics`, 1);
      expect(ok!.status).toBe(200);
      expect(builds()).toBe(2);
    } finally {
      await server.close();
      obs.close();
    }
  });
});
