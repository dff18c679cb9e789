import request from 'supertest';
import { availableParallelism } from 'node:os';
import { cpuCheck, createObservability } from '../../src';
import { EXPRESS_VERSIONS } from '../helpers/app';
import { LogCapture } from '../helpers/log-capture';

type Result = { ok: boolean; details: Record<string, number | null> };

/** Uses at least `ms` of this process's CPU time, however the machine schedules it. */
function burnCpu(ms: number): void {
  const start = process.cpuUsage();
  let x = 0;
  for (;;) {
    for (let i = 0; i < 10_000; i++) x += Math.sqrt(x + i);
    const used = process.cpuUsage(start);
    if ((used.user + used.system) / 1000 >= ms) break;
  }
  if (x < 0) throw new Error('unreachable');
}

describe('cpuCheck', () => {
  afterEach(() => jest.useRealTimers());

  test('reports the process in percent of one core over the interval, and fails past the threshold', async () => {
    // The clock is fake, the CPU time real: 300 ms of CPU over 1000 ms of clock is 30% of one core, on any number
    // of cores (as a share of the whole machine it would read 30 divided by the cores).
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
    const strict = cpuCheck({ maxProcessPercent: 25 });
    const relaxed = cpuCheck();
    burnCpu(300);
    jest.advanceTimersByTime(1000);
    const busy = (await strict()) as Result;
    const fine = (await relaxed()) as Result;
    expect(busy.details.processPercent).toBeGreaterThanOrEqual(30);
    expect(busy.details.intervalMs).toBe(1000);
    expect(busy.details.cores).toBe(availableParallelism());
    expect(busy.ok).toBe(false);
    expect(fine.details.maxProcessPercent).toBe(90);
    expect(fine.ok).toBe(fine.details.processPercent! <= 90);
    expect(busy.details.systemPercent).toBeGreaterThanOrEqual(0);
    expect(busy.details.systemPercent).toBeLessThanOrEqual(100);
  });

  test('a main thread kept busy for the whole interval fails the default threshold', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
    const check = cpuCheck();
    burnCpu(1000);
    jest.advanceTimersByTime(1000);
    const result = (await check()) as Result;
    expect(result.details.processPercent).toBeGreaterThanOrEqual(100);
    expect(result.ok).toBe(false);
  });

  test('runs closer than minIntervalMs report the previous measurement; before the first one it passes', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
    const check = cpuCheck({ minIntervalMs: 60_000, maxProcessPercent: 0 });
    burnCpu(1000);
    const first = (await check()) as Result;
    expect(first).toMatchObject({ ok: true, details: { intervalMs: 0, processPercent: 0 } });
    jest.advanceTimersByTime(60_000);
    const measured = (await check()) as Result;
    expect(measured.details.intervalMs).toBe(60_000);
    expect(measured.ok).toBe(false);
    jest.advanceTimersByTime(59_999);
    expect(await check()).toEqual(measured);
  });

  test('bad options fail at construction with a coded error', () => {
    const bad: unknown[] = [
      null,
      'fast',
      { maxProcesPercent: 5 },
      { maxProcessPercent: -1 },
      { maxProcessPercent: 100 * availableParallelism() + 1 },
      { maxSystemPercent: 101 },
      { minIntervalMs: 0 },
      { minIntervalMs: Number.NaN },
      { maxProcessPercent: '90' },
    ];
    for (const options of bad) {
      expect(() => cpuCheck(options as never)).toThrow(expect.objectContaining({ code: 'OBS_ERR_INVALID_ARGUMENT' }));
    }
    expect(() => cpuCheck({ maxProcessPercent: 150 })).not.toThrow();
  });
});

describe.each(EXPRESS_VERSIONS)('cpuCheck on /health (%s)', (_name, express) => {
  test('reports its details and degrades the status without failing readiness when not critical', async () => {
    const obs = createObservability({
      logDestination: new LogCapture(),
      env: {},
      healthChecks: { cpu: { check: cpuCheck({ maxProcessPercent: 0, minIntervalMs: 100 }), critical: false } },
    });
    const app = express();
    app.use(obs.router);
    burnCpu(150);
    await new Promise((r) => setTimeout(r, 110));
    const res = await request(app).get('/health');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('degraded');
    expect(res.body.checks.cpu).toMatchObject({ status: 'error', critical: false, details: { processPercent: expect.any(Number), maxProcessPercent: 0, cores: availableParallelism() } });
    expect(res.body.checks.cpu.details.processPercent).toBeGreaterThan(0);
    obs.close();
  });
});
