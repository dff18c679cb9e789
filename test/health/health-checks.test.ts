import express from 'express';
import express4 from 'express4';
import request from 'supertest';
import { HEALTH_DEFAULTS } from '../../src/health/health-options';
import { maskSecretsInText } from '../../src/health/redact-details';
import { createRedactor } from '../../src/logging/redact';
import { observed } from '../helpers/app';

describe('health checks: hostile results', () => {
  const instances: { close(): void }[] = [];
  afterEach(() => instances.splice(0).forEach((o) => o.close()));
  function build(options: Parameters<typeof observed>[0] = {}) {
    const { obs } = observed({ collectDefaultMetrics: false, healthDeadlineMs: 300, ...options });
    instances.push(obs);
    return obs;
  }

  const alwaysThrows = new Proxy(
    {},
    Object.fromEntries(
      ['get', 'set', 'has', 'ownKeys', 'getOwnPropertyDescriptor', 'getPrototypeOf', 'defineProperty', 'deleteProperty', 'apply'].map((trap) => [
        trap,
        () => {
          throw new Error(`trap ${trap}`);
        },
      ]),
    ),
  );

  function revoked(): object {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    return proxy;
  }

  it('reports every hostile result as a failed check, in time, without an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const promiseWithThrowingConstructor = Promise.resolve(true);
    Object.defineProperty(promiseWithThrowingConstructor, 'constructor', {
      get() {
        throw new Error('constructor getter');
      },
    });
    const checks: Record<string, () => any> = {
      throwingOkGetter: () => ({
        get ok() {
          throw new Error('ok getter');
        },
      }),
      throwingDetailsGetter: () => ({
        ok: true,
        get details() {
          throw new Error('details getter');
        },
      }),
      proxyResult: () => alwaysThrows,
      proxyDetails: () => ({ ok: true, details: alwaysThrows }),
      revokedProxy: () => revoked(),
      throwingToJSON: () => ({
        ok: true,
        details: {
          toJSON() {
            throw new Error('toJSON');
          },
        },
      }),
      circularDetails: () => ({ ok: true, details: circular }),
      bigIntDetails: () => ({ details: { n: 1n } }),
      throwsNumber: () => {
        throw 42;
      },
      throwsNull: () => {
        throw null;
      },
      throwsNullProto: () => {
        throw Object.create(null);
      },
      throwsProxy: () => {
        throw alwaysThrows;
      },
      thenThrows: () => ({
        then() {
          throw new Error('then broke');
        },
      }),
      thenGetterThrows: () =>
        ({
          get then() {
            throw new Error('then getter');
          },
        }) as any,
      promiseConstructorThrows: () => promiseWithThrowingConstructor,
      resolvesToProxy: async () => alwaysThrows,
    };
    const obs = build({ healthChecks: { ...checks, fine: () => true } });
    const started = performance.now();
    const report = await obs.health.run();
    await new Promise((r) => setImmediate(r));
    process.removeListener('unhandledRejection', onUnhandled);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(unhandled).toEqual([]);
    for (const name of Object.keys(checks)) {
      expect([name, report.checks[name]?.status]).toEqual([name, 'error']);
      expect([name, typeof report.checks[name]?.error]).toEqual([name, 'string']);
    }
    expect(report.checks.fine!.status).toBe('ok');
    expect(report.checks.throwsNumber!.error).toBe('42');
    expect(report.checks.thenThrows!.error).toBe('then broke');
    expect(report.checks.circularDetails!.error).toBe('details could not be serialized as JSON');
    expect(report.checks.bigIntDetails!.error).toBe('details could not be serialized as JSON');
    // The whole report is plain data: it can always be sent.
    expect(() => JSON.stringify(report)).not.toThrow();
  });

  it('answers the endpoints with 503 for hostile results, Express 4 and 5', async () => {
    for (const factory of [express, express4]) {
      const obs = build({ healthChecks: { proxy: () => alwaysThrows, circular: () => ({ details: (() => { const o: any = {}; o.o = o; return o; })() }) } });
      const app = factory();
      app.use(obs.middleware);
      app.use(obs.router);
      const res = await request(app).get('/health').expect(503);
      expect(res.body.checks.proxy.status).toBe('error');
      expect(res.body.checks.circular.status).toBe('error');
    }
  });
});

describe('health checks: secrets in errors and details', () => {
  const instances: { close(): void }[] = [];
  afterEach(() => instances.splice(0).forEach((o) => o.close()));

  it('redacts connection strings, secret keys, key=value secrets and card numbers in error texts and details', async () => {
    const { obs } = observed({
      collectDefaultMetrics: false,
      redactKeys: ['internalRef'],
      healthChecks: {
        db: () => {
          throw new Error('connect ECONNREFUSED postgres://app:s3cr3t-pw@db.internal:5432/orders');
        },
        login: () => Promise.reject(new Error('login failed: host=db user=app password=hunter2 sslmode=require')),
        card: () => Promise.reject('charge failed for 4111 1111 1111 1111'),
        cache: () => ({
          ok: true,
          details: {
            url: 'redis://default:redis-pw@cache:6379/0',
            password: 'hunter2',
            nested: { apiKey: 'k-123', internalRef: 'ref-9', list: ['mysql://root:rootpw@mysql/db'] },
            note: 'last card 4111-1111-1111-1111',
            safe: 'https://cache.example.com/status',
          },
        }),
      },
    });
    instances.push(obs);
    const report = await obs.health.run();
    const text = JSON.stringify(report);
    for (const secret of ['s3cr3t-pw', 'hunter2', 'redis-pw', 'rootpw', 'k-123', 'ref-9', '4111']) expect([secret, text.includes(secret)]).toEqual([secret, false]);
    expect(report.checks.db!.error).toBe('connect ECONNREFUSED postgres://[REDACTED]@db.internal:5432/orders');
    expect(report.checks.login!.error).toBe('login failed: host=db user=app password=[REDACTED] sslmode=require');
    expect(report.checks.card!.error).toBe('charge failed for [REDACTED]');
    expect(report.checks.cache!.details).toEqual({
      url: 'redis://[REDACTED]@cache:6379/0',
      password: '[REDACTED]',
      nested: { apiKey: '[REDACTED]', internalRef: '[REDACTED]', list: ['mysql://[REDACTED]@mysql/db'] },
      note: 'last card [REDACTED]',
      safe: 'https://cache.example.com/status',
    });
  });

  it('masks secrets inside free text without touching ordinary text', () => {
    const redactor = createRedactor();
    const cases: [string, string][] = [
      ['postgres://user:password@host/db', 'postgres://[REDACTED]@host/db'],
      ['a mongodb+srv://u:p@cluster0.example.net/x?retryWrites=true b', 'a mongodb+srv://[REDACTED]@cluster0.example.net/x?retryWrites=true b'],
      ['amqp://guest@rabbit:5672', 'amqp://[REDACTED]@rabbit:5672'],
      ['token=abc&page=2', 'token=[REDACTED]&page=2'],
      ['Server=db;Password=pw;Database=x', 'Server=db;Password=[REDACTED];Database=x'],
      ["password='with space' next", 'password=[REDACTED] next'],
      ['https://example.com/path?a=1', 'https://example.com/path?a=1'],
      ['user@example.com wrote at 12:30', 'user@example.com wrote at 12:30'],
      ['retries=3 timeout=100', 'retries=3 timeout=100'],
    ];
    for (const [input, expected] of cases) expect(maskSecretsInText(input, redactor)).toBe(expected);
  });
});

describe('health options', () => {
  it('has a per-check timeout default that can fire before the whole-report deadline', () => {
    expect(HEALTH_DEFAULTS.healthCheckTimeoutMs).toBeLessThan(HEALTH_DEFAULTS.healthDeadlineMs);
  });

  it('reports a hanging check as timed out (not as missing the deadline) with the defaults', async () => {
    const { obs } = observed({ collectDefaultMetrics: false, healthChecks: { hangs: () => new Promise(() => undefined) } });
    try {
      const report = await obs.health.run();
      expect(report.checks.hangs!.error).toBe(`timed out after ${HEALTH_DEFAULTS.healthCheckTimeoutMs} ms`);
    } finally {
      obs.close();
    }
  });

  it.each(['__proto__', 'constructor'])('rejects a check named %s at construction and in register()', (name) => {
    const checks = JSON.parse(`{${JSON.stringify(name)}: 0}`) as Record<string, unknown>;
    checks[name] = () => true;
    expect(Object.keys(checks)).toEqual([name]);
    expect(() => observed({ healthChecks: checks as any })).toThrow(
      expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE', key: 'healthChecks', message: expect.stringContaining(name) }),
    );
    const { obs } = observed({ collectDefaultMetrics: false });
    try {
      expect(() => obs.health.register(name, () => true)).toThrow(expect.objectContaining({ code: 'OBS_ERR_INVALID_ARGUMENT', message: expect.stringContaining(name) }));
    } finally {
      obs.close();
    }
  });

  it.each([
    ['healthPath', '/health('],
    ['healthPath', '/health)'],
    ['livenessPath', '/live+'],
    ['readinessPath', '/ready!'],
    ['healthPath', '/health*'],
    ['healthPath', '/health:'],
    ['healthPath', '/a$b'],
  ])('rejects %s %p, which the router would not serve as written, with a coded error', (key, value) => {
    expect(() => observed({ [key]: value })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE', key }));
  });

  it('accepts only paths that Express 4 and 5 both compile and match literally', () => {
    const allowed = [...'abcXYZ019._~-&,;=@\''];
    for (const factory of [express, express4]) {
      for (const c of allowed) {
        const path = `/a${c}b/c`;
        const router = factory.Router();
        router.get(path, () => undefined);
        const layer = (router as any).stack[0];
        expect([path, Boolean(layer.match(path))]).toEqual([path, true]);
        const { obs } = observed({ collectDefaultMetrics: false, healthPath: path });
        obs.close();
      }
    }
  });
});
