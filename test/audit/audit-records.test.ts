import { join } from 'node:path';
import request from 'supertest';
import { createObservability, verifyAuditTrail } from '../../src';
import { EXPRESS_VERSIONS, observed } from '../helpers/app';
import { jsonLines, tempDirs } from '../helpers/json-files';
import { LogCapture } from '../helpers/log-capture';

const dirs = tempDirs('obs-audit-');
afterAll(() => dirs.removeAll());

describe.each(EXPRESS_VERSIONS)('obs.audit on %s', (_name, express) => {
  test('a record says who did what to what, from where, with what result; the request gives what is omitted', async () => {
    const { obs, logs } = observed();
    const app = express();
    app.set('trust proxy', 'loopback');
    app.use(obs.middleware);
    app.post('/admin/users/:id/suspend', (req, res) => {
      obs.setRequestFields({ userId: 'admin-1', tenantId: 't-1' });
      obs.audit({
        action: 'user.suspend',
        actor: { role: 'admin' },
        target: { type: 'user', id: req.params.id },
        reason: 'chargeback fraud',
        before: { status: 'active', email: 'a@example.com', profile: { plan: 'pro', password: 'old-secret' } },
        after: { status: 'suspended', email: 'a@example.com', profile: { plan: 'pro', password: 'new-secret' } },
        ticket: 'SUP-42',
      });
      res.json({ ok: true });
    });
    const res = await request(app).post('/admin/users/u-9/suspend').set('user-agent', 'curl/8.5').set('x-forwarded-for', '203.0.113.7').expect(200);
    const lines = await logs.waitFor((ls) => ls.some((l) => l.msg === 'request completed'));
    const record = lines.find((l) => l.channel === 'audit')!;
    expect(record).toMatchObject({
      level: 'info',
      service: 'test-service',
      channel: 'audit',
      reqId: res.headers['x-request-id'],
      userId: 'admin-1',
      tenantId: 't-1',
      action: 'user.suspend',
      outcome: 'success',
      severity: 'medium',
      actor: { id: 'admin-1', role: 'admin', ip: '203.0.113.7', userAgent: 'curl/8.5' },
      target: { type: 'user', id: 'u-9' },
      reason: 'chargeback fraud',
      changed: ['profile.password', 'status'],
      before: { status: 'active', profile: { password: '[REDACTED]' } },
      after: { status: 'suspended', profile: { password: '[REDACTED]' } },
      details: { ticket: 'SUP-42' },
      msg: 'user.suspend success',
      seq: 1,
      prevHash: '0'.repeat(64),
      hashAlg: 'sha256',
    });
    expect(record.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(record)).not.toContain('secret');
    expect(record.before.email).toBeUndefined();
    const metrics = await obs.registry.getSingleMetricAsString('audit_events_total');
    expect(metrics).toContain('audit_events_total{action="user.suspend",outcome="success",severity="medium"} 1');
    obs.close();
  });
});

describe('severity', () => {
  test('classified by the documented rules, overridden by the call and by auditSeverityRules', async () => {
    const { obs, logs } = observed({ auditSeverityRules: [{ action: 'billing.*', severity: 'high' }, { action: /^report\./, outcome: 'failure', severity: 'medium' }] });
    const cases: [Parameters<typeof obs.audit>[0], string][] = [
      [{ action: 'auth.login', outcome: 'failure' }, 'high'],
      [{ action: 'auth.login' }, 'medium'],
      [{ action: 'user.role.change' }, 'high'],
      [{ action: 'project.delete' }, 'high'],
      [{ action: 'apikey.rotate' }, 'high'],
      [{ action: 'settings.api_key.create' }, 'high'],
      [{ action: 'access.denied', outcome: 'failure' }, 'high'],
      [{ action: 'settings.update' }, 'medium'],
      [{ action: 'invoice.view' }, 'low'],
      [{ action: 'report.view', outcome: 'failure' }, 'medium'],
      [{ action: 'billing.plan.view' }, 'high'],
      [{ action: 'project.delete', severity: 'low' }, 'low'],
    ];
    for (const [event] of cases) obs.audit(event);
    const lines = await logs.waitFor((ls) => ls.length === cases.length);
    expect(lines.map((l) => l.severity)).toEqual(cases.map(([, s]) => s));
    expect(lines.filter((l) => l.severity === 'high').every((l) => l.level === 'warn')).toBe(true);
    obs.close();
  });
});

describe('the trail in a file', () => {
  test('await resolves once the record is synced; the chain goes on across restarts and rotation and verifies', async () => {
    const dir = dirs.make();
    const file = join(dir, 'audit.log');
    const options = { serviceName: 'svc', env: {}, logDestination: new LogCapture(), channels: { audit: { file, rotation: { size: 2048, maxFiles: 100 } } } };
    const first = createObservability(options);
    const receipt = await first.audit({ action: 'user.create', target: { type: 'user', id: 1 } });
    expect(receipt).toMatchObject({ seq: 1, channel: 'audit', durable: true });
    expect(jsonLines(file)).toHaveLength(1);
    for (let i = 2; i <= 30; i++) first.audit({ action: 'user.update', target: { type: 'user', id: i }, note: 'x'.repeat(100) });
    await first.audit({ action: 'user.update', target: { type: 'user', id: 31 } });
    first.close();
    const second = createObservability(options);
    const next = await second.audit({ action: 'user.delete', target: { type: 'user', id: 1 } });
    expect(next.seq).toBe(32);
    second.close();
    const { listRotatedFilesSync } = jest.requireActual('../../src/log-files') as typeof import('../../src/log-files');
    const files = [...listRotatedFilesSync(file), file];
    expect(files.length).toBeGreaterThan(1);
    const result = await verifyAuditTrail(files);
    expect(result).toMatchObject({ ok: true, records: 32, problem: undefined });
    expect(result.chains).toEqual([expect.objectContaining({ channel: 'audit', records: 32, first: expect.objectContaining({ seq: 1 }), last: expect.objectContaining({ seq: 32 }), restarts: 0 })]);
  });
});
