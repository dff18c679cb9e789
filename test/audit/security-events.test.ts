import request from 'supertest';
import { createObservability } from '../../src';
import { EXPRESS_VERSIONS, observed } from '../helpers/app';

describe.each(EXPRESS_VERSIONS)('security helpers on %s', (_name, express) => {
  test('each helper writes a chained audit record on the security channel with the request context', async () => {
    const { obs, logs } = observed();
    const app = express();
    app.use(obs.middleware);
    app.post('/login', (_req, res) => {
      obs.security.loginFailed({ username: 'alice', reason: 'bad password', method: 'password' });
      obs.security.loginSucceeded({ userId: 'u-1', method: 'password' });
      obs.setRequestFields({ userId: 'u-1' });
      obs.security.accessDenied({ resource: '/admin', permission: 'admin:read' });
      obs.security.rateLimited({ limit: 10, windowMs: 60_000, key: 'ip' });
      obs.security.passwordChanged({});
      obs.security.twoFactorChanged({ enabled: false });
      obs.security.apiKeyChanged({ change: 'revoke', keyId: 'key_123' });
      obs.security.logout();
      res.send('ok');
    });
    const res = await request(app).post('/login').set('user-agent', 'test-agent').expect(200);
    const lines = await logs.waitFor((ls) => ls.some((l) => l.msg === 'request completed'));
    const records = lines.filter((l) => l.channel === 'security');
    expect(records.map((r) => [r.action, r.outcome, r.severity])).toEqual([
      ['auth.login', 'failure', 'high'],
      ['auth.login', 'success', 'medium'],
      ['access.denied', 'failure', 'high'],
      ['rate_limit.exceeded', 'failure', 'medium'],
      ['auth.password.change', 'success', 'high'],
      ['auth.2fa.disable', 'success', 'high'],
      ['auth.api_key.revoke', 'success', 'high'],
      ['auth.logout', 'success', 'medium'],
    ]);
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const r of records) expect(r).toMatchObject({ reqId: res.headers['x-request-id'], actor: { userAgent: 'test-agent' } });
    expect(records[0]).toMatchObject({ target: { type: 'user', name: 'alice' }, reason: 'bad password', details: { method: 'password' } });
    expect(records[1]!.actor.id).toBe('u-1');
    expect(records[2]).toMatchObject({ actor: { id: 'u-1' }, target: { type: 'resource', id: '/admin' }, details: { permission: 'admin:read' } });
    expect(records[6]!.target).toEqual({ type: 'api_key', id: 'key_123' });
    obs.close();
  });
});

describe('brute force', () => {
  afterEach(() => jest.useRealTimers());

  test('the threshold of failures per user writes one signal per window; metrics never name the user', async () => {
    jest.useFakeTimers({ now: new Date('2026-12-01T10:00:00Z'), doNotFake: ['nextTick', 'setImmediate'] });
    const { obs, logs } = observed({ bruteForce: { perUser: 3, perAddress: 1000, windowMs: 60_000 } });
    for (let i = 0; i < 5; i++) obs.security.loginFailed({ userId: 'victim', actor: { ip: '198.51.100.1' } });
    jest.advanceTimersByTime(61_000);
    for (let i = 0; i < 3; i++) obs.security.loginFailed({ userId: 'victim', actor: { ip: '198.51.100.1' } });
    jest.useRealTimers();
    const lines = await logs.waitFor((ls) => ls.filter((l) => l.action === 'auth.brute_force.suspected').length === 2 && ls.length === 10);
    const signals = lines.filter((l) => l.action === 'auth.brute_force.suspected');
    expect(signals[0]).toMatchObject({ channel: 'security', severity: 'high', outcome: 'unknown', target: { type: 'user', id: 'victim' }, details: { failures: 3, windowMs: 60_000, windowStart: '2026-12-01T10:00:00.000Z' } });
    expect(signals[1]!.details.windowStart).toBe('2026-12-01T10:01:01.000Z');
    const metrics = await obs.registry.metrics();
    expect(metrics).toContain('security_brute_force_suspected_total{kind="user"} 2');
    expect(metrics).toContain('security_brute_force_suspected_total{kind="address"} 0');
    expect(metrics).not.toContain('victim');
    expect(metrics).not.toContain('198.51.100.1');
    obs.close();
  });

  test('per address too; a successful login forgets the user but not the address', async () => {
    const { obs, logs } = observed({ bruteForce: { perUser: 3, perAddress: 4 } });
    obs.security.loginFailed({ userId: 'a', actor: { ip: '192.0.2.9' } });
    obs.security.loginFailed({ userId: 'a', actor: { ip: '192.0.2.9' } });
    obs.security.loginSucceeded({ userId: 'a', actor: { ip: '192.0.2.9' } });
    obs.security.loginFailed({ userId: 'a', actor: { ip: '192.0.2.9' } });
    obs.security.loginFailed({ userId: 'b', actor: { ip: '192.0.2.9' } });
    const lines = await logs.waitFor((ls) => ls.length === 6);
    const signals = lines.filter((l) => l.action === 'auth.brute_force.suspected');
    expect(signals.map((s) => s.target)).toEqual([{ type: 'address', id: '192.0.2.9' }]);
    obs.close();
  });
});

describe('business events and hostile input', () => {
  test('obs.business writes one line on the business channel; library names go under details', async () => {
    const { obs, logs } = observed();
    obs.business('checkout.completed', { orderId: 'o-1', amountCents: 4200, level: 'fatal', msg: 'forged', cardNumber: '4111111111111111' });
    obs.business(42 as any);
    const lines = await logs.waitFor((ls) => ls.length === 3);
    const line = lines.find((l) => l.event === 'checkout.completed')!;
    expect(line).toMatchObject({ level: 'info', channel: 'business', orderId: 'o-1', amountCents: 4200, details: { level: 'fatal', msg: 'forged' }, msg: 'checkout.completed' });
    expect(JSON.stringify(line)).not.toContain('4111111111111111');
    expect(lines.some((l) => l.event === 'unknown')).toBe(true);
    expect(line.seq).toBeUndefined();
    obs.close();
  });

  test('odd events never throw; what cannot be read is left out or replaced, each problem logged once', async () => {
    const { obs, logs } = observed({ auditMaxActions: 2 });
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const trap = new Proxy({}, { ownKeys: () => { throw new Error('trap'); } });
    const results = [
      obs.audit(null as any),
      obs.audit({ action: 'x'.repeat(500) }),
      obs.audit({ action: 'a.b', outcome: 'maybe' as any, severity: 'extreme' as any }),
      obs.audit({ action: 'a.c', before: cyclic, after: { a: 2 }, target: trap as any, extra: 10n }),
      obs.audit({ action: 'a.d', actor: { id: { nested: true } as any, ip: 42 as any } }),
      obs.audit({ action: 'a.e' }),
    ];
    expect(results.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    const lines = await logs.waitFor((ls) => ls.filter((l) => l.channel === 'audit').length === 6);
    const records = lines.filter((l) => l.channel === 'audit');
    expect(records.map((r) => r.action)).toEqual(['unknown', 'unknown', 'a.b', 'a.c', 'a.d', 'a.e']);
    expect(records[1]!.invalidAction).toHaveLength(256);
    expect(records[2]).toMatchObject({ outcome: 'unknown', severity: 'medium' });
    expect(records[4]!.actor).toEqual({ ip: '42' });
    const warnings = lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('audit:'));
    expect(warnings.map((w) => w.problem).sort()).toEqual(['invalid action', 'invalid outcome', 'invalid severity']);
    const metrics = await obs.registry.getSingleMetricAsString('audit_events_total');
    expect(metrics).toContain('action="other"');
    expect((metrics.match(/action="/g) ?? []).length).toBeLessThanOrEqual(4);
    obs.close();
  });

  test('options are checked at construction', () => {
    expect(() => observed({ auditHmacKey: 'short' })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE', key: 'auditHmacKey' }));
    expect(() => observed({ env: { AUDIT_HMAC_KEY: 'short' } })).toThrow(expect.objectContaining({ code: 'OBS_ERR_ENV_INVALID_VALUE' }));
    expect(() => observed({ auditSeverityRules: [{ action: '', severity: 'high' }] })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE' }));
    expect(() => observed({ auditSeverityRules: [{ action: 'a', severity: 'huge' as any }] })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE' }));
    expect(() => observed({ bruteForce: { perUser: 0 } })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE' }));
    expect(() => observed({ bruteForce: { perUsers: 3 } as any })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_UNKNOWN_KEY' }));
    expect(() => createObservability({ auditMaxActions: 0, env: {} })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE' }));
  });
});
