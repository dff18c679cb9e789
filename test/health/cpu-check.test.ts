import express from 'express';
import request from 'supertest';
import { cpuCheck, createObservability } from '../../src';
import { LogCapture } from '../helpers/log-capture';

function burn(ms: number): void {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x += Math.sqrt(x + 1);
  if (x < 0) throw new Error('unreachable');
}

test('measures the process and the system since the previous run, and fails past the thresholds', async () => {
  const strict = cpuCheck({ maxProcessPercent: 0, minIntervalMs: 0 });
  const relaxed = cpuCheck({ maxProcessPercent: 100, maxSystemPercent: 100, minIntervalMs: 0 });
  burn(300);
  const busy = (await strict()) as { ok: boolean; details: Record<string, number> };
  const fine = (await relaxed()) as { ok: boolean; details: Record<string, number> };
  // Any CPU used is above a threshold of 0: deterministic, whatever else the machine is doing.
  expect(busy.ok).toBe(false);
  expect(busy.details.processPercent).toBeGreaterThan(0);
  expect(busy.details.processPercent).toBeLessThanOrEqual(100);
  expect(busy.details.systemPercent).toBeGreaterThan(0);
  expect(busy.details.intervalMs).toBeGreaterThanOrEqual(290);
  expect(fine.ok).toBe(true);
});

test('runs closer than minIntervalMs report the previous measurement', async () => {
  const check = cpuCheck({ minIntervalMs: 60_000 });
  burn(50);
  const first = (await check()) as { details: Record<string, number> };
  expect(first.details.intervalMs).toBe(0); // nothing measured yet within the minimum interval
  const second = (await check()) as { details: Record<string, number> };
  expect(second.details).toEqual(first.details);
});

test('bad thresholds fail at construction; it works as a /health check', async () => {
  expect(() => cpuCheck({ maxProcessPercent: 150 })).toThrow(expect.objectContaining({ code: 'OBS_ERR_INVALID_ARGUMENT' }));
  expect(() => cpuCheck({ maxSystemPercent: -1 })).toThrow(expect.objectContaining({ code: 'OBS_ERR_INVALID_ARGUMENT' }));
  expect(() => cpuCheck({ minIntervalMs: Number.NaN })).toThrow(expect.objectContaining({ code: 'OBS_ERR_INVALID_ARGUMENT' }));
  const obs = createObservability({ logDestination: new LogCapture(), env: {}, healthChecks: { cpu: { check: cpuCheck({ minIntervalMs: 0 }), critical: false } } });
  const app = express();
  app.use(obs.router);
  const res = await request(app).get('/health');
  expect(res.body.checks.cpu.details).toMatchObject({ processPercent: expect.any(Number), systemPercent: expect.any(Number), maxProcessPercent: 90 });
  obs.close();
});
