import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import express4 from 'express4';
import { createLogger, createObservability } from '../../src';
import { createRedactor, REDACTED } from '../../src/logging/redact';
import { maskCardNumbers } from '../../src/logging/card-numbers';
import { serializeError } from '../../src/logging/serialize-error';
import { LogCapture } from '../helpers/log-capture';

const SECRETS = ['SECRETQ1', 'SECRETQ2', 'SECRETA', 'SECRETC', 'SECRETK', 'SECRETPWD', 'SECRETDS', 'SECRETLIBPQ', 'SECRETJ2', 'SECRETHINT1', 'SECRETMSG', 'SECRETPG2'];

function expectNoSecret(value: unknown): void {
  const text = JSON.stringify(value);
  for (const secret of SECRETS) expect(text).not.toContain(secret);
}

describe('secrets written into text', () => {
  const redactor = createRedactor();

  it.each([
    ['an ADO.NET connection string', 'Server=h;Database=d;Uid=sa;Pwd=SECRETPWD;', `Server=h;Database=d;Uid=sa;Pwd=${REDACTED};`],
    ['a Data Source string', 'Data Source=h;User ID=sa;Password=SECRETDS', `Data Source=h;User ID=sa;Password=${REDACTED}`],
    ['a libpq keyword string', 'host=h user=u password=SECRETLIBPQ dbname=d', `host=h user=u password=${REDACTED} dbname=d`],
    ['a JDBC URL', 'jdbc:sqlserver://h;user=sa;password=SECRETJ2;', `jdbc:sqlserver://h;user=sa;password=${REDACTED};`],
    ['a relative URL in prose', 'GET /r?token=SECRETQ1&user[password]=SECRETQ2 failed', `GET /r?token=${REDACTED}&user[password]=${REDACTED} failed`],
    ['a credential header quoted in a message', 'retry with X-Api-Key: SECRETHINT1', `retry with X-Api-Key: ${REDACTED}`],
    ['a bearer credential alone', 'sent Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.SECRETA', `sent Bearer ${REDACTED}`],
    ['a bearer credential as a key=value', 'Authorization=Bearer abcdefgh1234567890xyz SECRETA', `Authorization=${REDACTED} SECRETA`],
    ['JSON inside a string', '{"user":"ada","password": "SECRETPWD","note":"a \\" quote"}', `{"user":"ada","password": "${REDACTED}","note":"a \\" quote"}`],
    ['a URL with credentials', 'connect to postgres://u:SECRETPG2@h/db failed', `connect to postgres://${REDACTED}@h/db failed`],
    ['raw request text', 'GET /x?token=SECRETQ1 HTTP/1.1\r\nHost: a\r\nAuthorization: Basic dTpwdw==\r\nCookie: sid=SECRETC\r\nX-Api-Key: SECRETK\r\n\r\n',
      `GET /x?token=${REDACTED} HTTP/1.1\r\nHost: a\r\nAuthorization: ${REDACTED}\r\nCookie: ${REDACTED}\r\nX-Api-Key: ${REDACTED}\r\n\r\n`],
  ])('masks %s', (_label, input, expected) => {
    expect(redactor.redact(input)).toBe(expected);
  });

  it.each([
    ['prose about authentication', 'Basic authentication failed for user ada'],
    ['times', 'started at 12:30: nothing to do'],
    ['a plain key=value that is not sensitive', 'user=ada role=admin'],
    ['a URL without secrets', 'GET https://api.example/users?page=2'],
    ['a word after Bearer', 'Bearer tokens expire'],
    ['words after Basic', 'Using basic settings. A basic e-commerce plan'],
    ['error names and words before a colon', 'TokenExpiredError: jwt expired\n    at verify (jwt.js:1:1)'],
    ['a word before a colon in prose', 'Invalid password: must be at least 8 characters; Session: created'],
    ['token counts of LLM calls', 'prompt_tokens=12 completion_tokens=30 total_tokens=42'],
  ])('leaves %s alone', (_label, input) => {
    expect(redactor.redact(input)).toBe(input);
  });

  it('judges nested and encoded query values by the secrets they carry', () => {
    const url = '/login?redirect_uri=https%3A%2F%2Fapp%2Fcb%3Ftoken%3DSECRETQ1&next=/a?password=SECRETQ2&page=2';
    expect(redactor.redactUrl(url)).toBe(`/login?redirect_uri=${REDACTED}&next=${REDACTED}&page=2`);
  });

  it('keeps token counts of LLM calls as object keys', () => {
    const usage = { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42, max_tokens: 100, 'gen_ai.usage.input_tokens': 12 };
    expect(redactor.redact({ usage })).toEqual({ usage });
    expect(redactor.redact({ refresh_token: 'x', tokens: 'y' })).toEqual({ refresh_token: REDACTED, tokens: REDACTED });
  });

  it('masks card numbers next to words that end in digits', () => {
    expect(maskCardNumbers('user42 4111111111111111')).toBe(`user42 ${REDACTED}`);
    expect(maskCardNumbers('v1.2 4111111111111111')).toBe(`v1.2 ${REDACTED}`);
    expect(maskCardNumbers('4111 1111 1111 1111 3rd attempt')).toBe(`${REDACTED} 3rd attempt`);
    expect(maskCardNumbers('card 4111111111111111 2FA on')).toBe(`card ${REDACTED} 2FA on`);
    expect(maskCardNumbers('ord4111-1111-1111-1111')).toBe('ord4111-1111-1111-1111');
  });

  it('masks card numbers separated by no-break spaces or dots', () => {
    expect(maskCardNumbers('card 4111\u00a01111\u00a01111\u00a01111 ok')).toBe(`card ${REDACTED} ok`);
    expect(maskCardNumbers('card 4111.1111.1111.1111 ok')).toBe(`card ${REDACTED} ok`);
    for (const keep of ['v1.2.3.4', '192.168.100.200', '3.14159265358979', '2024.01.15.1234', '1.234.567.890.123']) {
      expect(maskCardNumbers(keep)).toBe(keep);
    }
  });

  it('redacts header arrays: rawHeaders under any key for credential headers, and [name, value] entries', () => {
    const rawHeaders = ['Host', 'h', 'Authorization', 'Bearer SECRETA', 'Cookie', 'sid=SECRETC', 'X-Api-Key', 'SECRETK'];
    const out = redactor.redact({ rawHeaders, rh: rawHeaders, entries: [['authorization', 'Bearer SECRETA'], ['accept', '*/*']] });
    expectNoSecret(out);
    expect(out.rawHeaders).toEqual(['Host', 'h', 'Authorization', REDACTED, 'Cookie', REDACTED, 'X-Api-Key', REDACTED]);
    expect(out.rh).toEqual(out.rawHeaders);
    expect(out.entries).toEqual([['authorization', REDACTED], ['accept', '*/*']]);
    // Plain lists of words are not taken for headers.
    expect(redactor.redact({ tags: ['session', 'expired'] })).toEqual({ tags: ['session', 'expired'] });
    expect(redactor.redact({ tags: ['cookie', 'chocolate-chip'] })).toEqual({ tags: ['cookie', 'chocolate-chip'] });
    expect(redactor.redact({ usage: Object.entries({ prompt_tokens: 12 }) })).toEqual({ usage: [['prompt_tokens', 12]] });
    expect(rawHeaders[3]).toBe('Bearer SECRETA');
  });

  it('describes error properties holding command lines or output without them, and masks text in the others', () => {
    const err = Object.assign(new Error('x'), {
      cmd: 'mysql -uroot -pSECRETPWD',
      stderr: 'SECRETDS',
      stdout: 'SECRETLIBPQ',
      hint: 'Authorization: Bearer SECRETHINT1',
      dsn: 'Server=h;Password=SECRETJ2',
      bearer: 'SECRETA',
    });
    const out = serializeError(err, redactor) as Record<string, unknown>;
    expectNoSecret(out);
    expect(out).not.toHaveProperty('cmd');
    expect(out.hint).toBe(`Authorization: ${REDACTED}`);
    expect(out.dsn).toBe(`Server=h;Password=${REDACTED}`);
    expect(out.bearer).toBe(REDACTED);
  });
});

describe('log calls with hostile or secret-bearing values', () => {
  function logger() {
    const logs = new LogCapture();
    return { logs, log: createLogger({ logDestination: logs, env: {} }) };
  }

  it('masks URL secrets and pairs in messages and interpolated strings', async () => {
    const { logs, log } = logger();
    log.info('fetching https://api.x/?token=SECRETMSG with postgres://u:SECRETPG2@h/db');
    log.info({ a: 1 }, 'fetching %s', 'https://api.x/?token=SECRETMSG');
    const lines = await logs.waitFor((l) => l.length === 2);
    expectNoSecret(lines);
    expect(lines[0]!.msg).toBe(`fetching https://api.x/?token=${REDACTED} with postgres://${REDACTED}@h/db`);
    expect(lines[1]!.msg).toBe(`fetching https://api.x/?token=${REDACTED}`);
  });

  it('masks secrets split between a format template and its arguments, and in messages taken from errors', async () => {
    const { logs, log } = logger();
    log.info('%s=%s', 'api_key', 'SECRETK');
    log.info('calling upstream with Bearer %s', 'abcdef1234567890SECRETA');
    log.info({ a: 1 }, 'n=%d %j', 5, { password: 'SECRETPWD' });
    log.error(new Error('conn failed password=SECRETPWD 4111111111111111'));
    log.error({ err: new Error('bad config password=SECRETDS') });
    log.info('key: %s', 'visible');
    const lines = await logs.waitFor((l) => l.length === 6);
    expectNoSecret(lines);
    expect(lines.map((l) => l.msg)).toEqual([
      `api_key=${REDACTED}`,
      `calling upstream with Bearer ${REDACTED}`,
      `n=5 {"password":"${REDACTED}"}`,
      `conn failed password=${REDACTED} ${REDACTED}`,
      `bad config password=${REDACTED}`,
      'key: visible',
    ]);
  });

  it('never throws on top-level values that cannot be read, and writes each as an object', async () => {
    const { logs, log } = logger();
    const getter = Object.defineProperty({ ok: 1 }, 'bad', { enumerable: true, get() { throw new Error('getter'); } });
    const trapping = new Proxy({}, { get() { throw new Error('trap'); }, ownKeys() { throw new Error('trap'); } });
    const { proxy: revoked, revoke } = Proxy.revocable({}, {});
    revoke();
    const throwingToJSON = { toJSON() { throw new Error('toJSON'); } };
    expect(() => log.info(getter, 'getter')).not.toThrow();
    expect(() => log.info(trapping, 'trap')).not.toThrow();
    expect(() => log.info(revoked, 'revoked')).not.toThrow();
    expect(() => log.info({ nested: revoked }, 'nested revoked')).not.toThrow();
    expect(() => log.info(throwingToJSON, 'toJSON')).not.toThrow();
    const lines = await logs.waitFor((l) => l.length === 5);
    const byMsg = Object.fromEntries(lines.map((l) => [l.msg, l]));
    expect(byMsg.getter).toMatchObject({ ok: 1, bad: '[Unreadable]' });
    expect(byMsg.trap!.logged).toBe('[Unreadable]');
    expect(byMsg.revoked!.logged).toBe('[Unreadable]');
    expect(byMsg['nested revoked']!.nested).toBe('[Unreadable]');
    expect(byMsg.toJSON!.logged).toBe('[Unserializable]');
    expect(Object.keys(byMsg.toJSON!)).not.toContain('0');
  });

  it.each([
    ['express 5', express],
    ['express 4', express4 as unknown as typeof express],
  ])('redacts parts of a request logged one by one (%s)', async (_name, makeApp) => {
    const logs = new LogCapture();
    const obs = createObservability({ logDestination: logs, env: {} });
    const app = makeApp();
    app.use(obs.middleware);
    app.get('/r', (req, res) => {
      const r = req as typeof req & { _parsedUrl?: unknown };
      req.log.info({ url: req.originalUrl, ou: req.url, rh: req.rawHeaders, rawHeaders: req.rawHeaders, pu: r._parsedUrl }, 'parts');
      res.send('ok');
    });
    const server = http.createServer(app).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/r?token=SECRETQ1&user[password]=SECRETQ2`, {
        headers: { authorization: 'Bearer SECRETA', cookie: 'sid=SECRETC', 'x-api-key': 'SECRETK' },
      });
      expect(res.status).toBe(200);
      const lines = await logs.waitFor((l) => l.some((x) => x.msg === 'parts') && l.some((x) => x.msg === 'request completed'));
      const parts = lines.find((l) => l.msg === 'parts')!;
      expectNoSecret(lines);
      expect(parts.url).toBe(`/r?token=${REDACTED}&user[password]=${REDACTED}`);
      expect(parts.rh).toContain(REDACTED);
    } finally {
      obs.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
