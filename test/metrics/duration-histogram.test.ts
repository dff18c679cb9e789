import { Histogram, Registry } from 'prom-client';
import request from 'supertest';
import express from 'express';
import { DurationHistogram } from '../../src/metrics/duration-histogram';
import { openMetricsText, prometheusText } from '../../src/metrics/openmetrics';
import { observed } from '../helpers/app';
import { mulberry32 } from '../helpers/datasets';

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 1, 2.5];
const LABELS = ['method', 'route', 'status_code'] as const;

/** The same observations in prom-client's Histogram and in ours, each on its own registry. */
function twins(observations: [string, string, string, number][]) {
  const theirs = new Registry();
  const ours = new Registry();
  const reference = new Histogram({ name: 'http_server_request_duration_seconds', help: 'Request duration.\nIn seconds \\ rounded.', labelNames: LABELS, buckets: BUCKETS, registers: [theirs] });
  const histogram = new DurationHistogram('http_server_request_duration_seconds', 'Request duration.\nIn seconds \\ rounded.', LABELS, BUCKETS);
  ours.registerMetric(histogram as never);
  for (const [method, route, status, value] of observations) {
    reference.observe({ method, route, status_code: status }, value);
    histogram.observe(histogram.seriesOf(method, route, status), value);
  }
  return { theirs, ours, histogram };
}

describe('DurationHistogram', () => {
  const random = mulberry32(7);
  const observations: [string, string, string, number][] = [];
  const routes = ['/users/:id', '/a "quoted" \\ route\nwith a newline', 'unmatched'];
  for (let i = 0; i < 2000; i++) {
    const value = i % 50 === 0 ? BUCKETS[i % BUCKETS.length]! : i % 97 === 0 ? 30 : random() * random() * 3;
    observations.push([i % 3 === 0 ? 'POST' : 'GET', routes[i % routes.length]!, i % 7 === 0 ? '500' : '200', value]);
  }

  it("writes exactly the Prometheus text of prom-client's Histogram for the same observations", async () => {
    const { theirs, ours } = twins(observations);
    const expected = await theirs.metrics();
    expect(await prometheusText(ours)).toBe(expected);
    // prom-client formatting our samples gives the same text too.
    expect(await ours.metrics()).toBe(expected);
    expect(expected).toContain('le="+Inf"');
    expect(expected).toContain('route="/a \\"quoted\\" \\\\ route\\nwith a newline"');
  });

  it('writes the same OpenMetrics text as the generic formatter', async () => {
    const { theirs, ours } = twins(observations);
    const text = await openMetricsText(ours);
    expect(text).toBe(await openMetricsText(theirs));
    expect(text.endsWith('# EOF\n')).toBe(true);
  });

  it('counts a value equal to a bound in that bucket, and values past every bound only in +Inf', async () => {
    const { ours } = twins([
      ['GET', '/x', '200', 0.01],
      ['GET', '/x', '200', 99],
    ]);
    const text = await prometheusText(ours);
    expect(text).toContain('http_server_request_duration_seconds_bucket{le="0.005",method="GET",route="/x",status_code="200"} 0');
    expect(text).toContain('http_server_request_duration_seconds_bucket{le="0.01",method="GET",route="/x",status_code="200"} 1');
    expect(text).toContain('http_server_request_duration_seconds_bucket{le="2.5",method="GET",route="/x",status_code="200"} 1');
    expect(text).toContain('http_server_request_duration_seconds_bucket{le="+Inf",method="GET",route="/x",status_code="200"} 2');
    expect(text).toContain('http_server_request_duration_seconds_sum{method="GET",route="/x",status_code="200"} 99.01');
    expect(text).toContain('http_server_request_duration_seconds_count{method="GET",route="/x",status_code="200"} 2');
  });

  it('writes a histogram without labels like prom-client does', async () => {
    const theirs = new Registry();
    const ours = new Registry();
    const reference = new Histogram({ name: 'job_seconds', help: 'Jobs.', buckets: [1, 2], registers: [theirs] });
    const histogram = new DurationHistogram('job_seconds', 'Jobs.', [], [1, 2]);
    ours.registerMetric(histogram as never);
    for (const value of [0.5, 1.5, 3]) {
      reference.observe(value);
      histogram.observe(histogram.seriesOf(), value);
    }
    expect(await prometheusText(ours)).toBe(await theirs.metrics());
    expect(await openMetricsText(ours)).toBe(await openMetricsText(theirs));
  });

  it("writes prom-client's exact text when the registry has default labels", async () => {
    const { theirs, ours } = twins(observations.slice(0, 300));
    theirs.setDefaultLabels({ app: 'orders', region: 'eu "1"' });
    ours.setDefaultLabels({ app: 'orders', region: 'eu "1"' });
    const expected = await theirs.metrics();
    expect(expected).toContain('_bucket{le="0.005",app="orders",region="eu \\"1\\"",method=');
    expect(await prometheusText(ours)).toBe(expected);
    expect(await openMetricsText(ours)).toBe(await openMetricsText(theirs));
    // prom-client adds empty exemplar fields; the samples themselves are the same.
    const samples = async (registry: Registry) =>
      (await registry.getMetricsAsJSON()).flatMap((m) => (m.values as { labels: object; value: number; metricName?: string }[]).map(({ labels, value, metricName }) => ({ labels, value, metricName })));
    expect(await samples(ours)).toEqual(await samples(theirs));
  });

  it('ignores values that are not finite, which would poison the sum', async () => {
    const { ours, histogram } = twins([['GET', '/x', '200', 0.01]]);
    const series = histogram.seriesOf('GET', '/x', '200');
    histogram.observe(series, Number.NaN);
    histogram.observe(series, Infinity);
    expect(series.count).toBe(1);
    expect(await prometheusText(ours)).toContain('_sum{method="GET",route="/x",status_code="200"} 0.01');
  });

  it('drops its series on reset and marks them dead for holders', async () => {
    const { ours, histogram } = twins([['GET', '/x', '200', 0.01]]);
    const held = histogram.seriesOf('GET', '/x', '200');
    await ours.resetMetrics();
    expect(held.alive).toBe(false);
    expect(await prometheusText(ours)).not.toContain('_bucket');
    expect(histogram.seriesOf('GET', '/x', '200')).not.toBe(held);
  });
});

describe('/metrics with the library histogram', () => {
  async function scrape(obs: ReturnType<typeof observed>['obs']) {
    const app = express();
    app.use(obs.middleware);
    app.use(obs.router);
    app.get('/users/:id', (_req, res) => {
      res.send('ok');
    });
    await request(app).get('/users/1').expect(200);
    return { app, text: (await request(app).get('/metrics').expect(200)).text };
  }

  it('keeps counting after registry.resetMetrics()', async () => {
    const { obs } = observed({ collectDefaultMetrics: false });
    const { app } = await scrape(obs);
    await obs.registry.resetMetrics();
    await request(app).get('/users/2').expect(200);
    const text = (await request(app).get('/metrics').expect(200)).text;
    expect(text).toContain('http_server_request_duration_seconds_count{method="GET",route="/users/:id",status_code="200"} 1');
    obs.close();
  });

  it("carries the registry's default labels on every sample, in both formats", async () => {
    const { obs } = observed({ collectDefaultMetrics: false });
    obs.registry.setDefaultLabels({ region: 'eu-1' });
    const { app, text } = await scrape(obs);
    expect(text).toContain('http_server_request_duration_seconds_count{region="eu-1",method="GET",route="/users/:id",status_code="200"} 1');
    const open = await request(app).get('/metrics').set('Accept', 'application/openmetrics-text; version=1.0.0').expect(200);
    expect(open.text).toMatch(/http_server_request_duration_seconds_count\{[^}]*region="eu-1"[^}]*\} 1/);
    obs.close();
  });
});
