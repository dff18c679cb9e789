import axios from 'axios';
import { execFileSync } from 'node:child_process';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createLogger } from '../../src';
import { REDACTED } from '../../src/logging/redact';
import { lineTexts as texts } from '../helpers/line-texts';
import { LogCapture } from '../helpers/log-capture';

const root = join(__dirname, '..', '..');
const TOKEN = 'Bearer tok-3fa9c2e1';
const API_KEY = 'key-77d01b';
const QUERY_SECRET = 'q-secret-5e1d';
const USER_PASSWORD = 'pw-9b2c44';
const SECRETS = [TOKEN, 'tok-3fa9c2e1', API_KEY, QUERY_SECRET, USER_PASSWORD];

function expectNoLeak(line: unknown): void {
  const all = texts(line);
  for (const secret of SECRETS) expect(all.filter((t) => t.includes(secret))).toEqual([]);
  // Raw request text, request and socket objects never reach the line.
  for (const key of ['_header', 'socket', 'config', 'request', 'response', 'rawHeaders', 'headers', 'agent']) {
    expect(all).not.toContain(key);
  }
}

const stack = expect.any(String);

/** A server answering 401 on /401 and 500 elsewhere, and cutting the connection on /hangup. */
function startServer(): Promise<{ base: string; close: () => Promise<void> }> {
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith('/hangup')) {
      req.socket.destroy();
      return;
    }
    res.statusCode = req.url?.startsWith('/401') ? 401 : 500;
    res.setHeader('content-type', 'application/json');
    res.setHeader('set-cookie', 'sid=server-cookie');
    res.end('{"error":"denied"}');
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        base: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

/** A port nothing listens on: bound, then released. */
function closedPort(): Promise<number> {
  const server = http.createServer();
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('errors of real HTTP clients in logged objects', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.close());

  function logger() {
    const logs = new LogCapture();
    return { logs, logger: createLogger({ logDestination: logs, env: {} }) };
  }

  it('describes an axios 401 error without its headers, raw request text or query secrets', async () => {
    const err = await caught(
      axios.get(`${server.base}/401/users?token=${QUERY_SECRET}&page=2`, {
        headers: { Authorization: TOKEN, 'X-Api-Key': API_KEY },
      }),
    );
    const { logs, logger: log } = logger();
    log.error({ err }, 'upstream refused');
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line!.err).toEqual({
      type: 'AxiosError',
      message: 'Request failed with status code 401',
      code: 'ERR_BAD_REQUEST',
      status: 401,
      method: 'GET',
      url: `${server.base}/401/users?token=${REDACTED}&page=2`,
      stack,
    });
    expectNoLeak(line);
  });

  it('describes an axios 500 error nested in objects, in arrays and as a cause, with userinfo redacted', async () => {
    const withUser = server.base.replace('http://', `http://ann:${USER_PASSWORD}@`);
    const err = await caught(
      axios.post(`${withUser}/charge?api_key=${QUERY_SECRET}`, { amount: 5, password: USER_PASSWORD }, {
        headers: { Authorization: TOKEN },
      }),
    );
    const { logs, logger: log } = logger();
    log.error({ ctx: { attempts: [err, err] }, wrapped: new Error('charge failed', { cause: err }) }, 'charge failed');
    const [line] = await logs.waitFor((l) => l.length === 1);
    const described = {
      type: 'AxiosError',
      message: 'Request failed with status code 500',
      code: 'ERR_BAD_RESPONSE',
      status: 500,
      method: 'POST',
      url: `http://${REDACTED}@${server.base.slice('http://'.length)}/charge?api_key=${REDACTED}`,
      stack,
    };
    expect(line!.ctx.attempts).toEqual([described, described]);
    expect(line!.wrapped).toEqual({ type: 'Error', message: 'charge failed', stack, cause: described });
    expectNoLeak(line);
  });

  it('describes an axios connection error (no response) with its code', async () => {
    const port = await closedPort();
    const err = await caught(axios.get(`http://127.0.0.1:${port}/x?secret=${QUERY_SECRET}`, { headers: { Authorization: TOKEN } }));
    const { logs, logger: log } = logger();
    log.error({ err });
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line!.err).toMatchObject({
      type: 'AxiosError',
      code: 'ECONNREFUSED',
      method: 'GET',
      url: `http://127.0.0.1:${port}/x?secret=${REDACTED}`,
    });
    expectNoLeak(line);
  });

  it('describes a fetch (undici) failure with its cause', async () => {
    const port = await closedPort();
    const err = await caught(fetch(`http://127.0.0.1:${port}/x?token=${QUERY_SECRET}`, { headers: { Authorization: TOKEN } }));
    const { logs, logger: log } = logger();
    log.error({ err }, 'fetch failed');
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line!.err).toEqual({
      type: 'TypeError',
      message: 'fetch failed',
      stack,
      cause: {
        type: 'Error',
        message: `connect ECONNREFUSED 127.0.0.1:${port}`,
        code: 'ECONNREFUSED',
        errno: expect.any(Number),
        syscall: 'connect',
        address: '127.0.0.1',
        port,
        stack,
      },
    });
    expectNoLeak(line);
  });

  it('describes node:http request errors and never writes the ClientRequest itself', async () => {
    const clientRequest = http.request(`${server.base}/hangup?token=${QUERY_SECRET}`, { headers: { authorization: TOKEN } });
    let socket: unknown;
    clientRequest.on('socket', (s) => {
      socket = s;
    });
    const err = await new Promise<unknown>((resolve) => {
      clientRequest.on('error', resolve);
      clientRequest.end();
    });
    const { logs, logger: log } = logger();
    log.error({ err, outgoing: clientRequest, attempt: { outgoing: clientRequest, conn: socket } });
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line!.err).toEqual({ type: 'Error', message: 'socket hang up', code: 'ECONNRESET', stack });
    expect(line!.outgoing).toEqual({ method: 'GET', url: `${server.base}/hangup?token=${REDACTED}` });
    expect(line!.attempt.outgoing).toEqual(line!.outgoing);
    // A destroyed socket has no peer left to tell.
    expect(Object.keys(line!.attempt.conn).filter((k) => k !== 'remoteAddress' && k !== 'remotePort')).toEqual([]);
    expect(texts(line).join('\n')).not.toContain('hangup?token=q-');
    expectNoLeak(line);
  });
});

describe('errors of got (ESM-only) in a real process', () => {
  it('describes got HTTP and connection errors without headers, options or query secrets', async () => {
    const port = await closedPort();
    const stdout = execFileSync(process.execPath, [join(root, 'test', 'fixtures', 'got-error-logging.mjs'), String(port)], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, TOKEN, QUERY_SECRET },
      timeout: 15_000,
    });
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    const byMsg = Object.fromEntries(lines.map((l) => [l.msg, l]));
    const base = byMsg['server started']!.base as string;
    expect(byMsg['got http error']!.err).toEqual({
      type: 'HTTPError',
      message: `Request failed with status code 500 (Internal Server Error): GET ${base}/boom?token=${REDACTED}&page=2`,
      code: 'ERR_NON_2XX_3XX_RESPONSE',
      status: 500,
      method: 'GET',
      url: `${base}/boom?token=${REDACTED}&page=2`,
      stack,
    });
    expect(byMsg['got connection error']!.err).toMatchObject({
      type: 'RequestError',
      code: 'ECONNREFUSED',
      method: 'POST',
      url: `http://127.0.0.1:${port}/x?secret=${REDACTED}`,
      cause: { type: 'Error', code: 'ECONNREFUSED' },
    });
    expect(byMsg['got error nested']!.list).toEqual([byMsg['got http error']!.err]);
    for (const line of lines) expectNoLeak(line);
  });
});
