import { connect } from 'node:net';
import { EXPRESS_VERSIONS, listen, observed } from '../helpers/app';

/** Sends the headers and part of a JSON body of `length` bytes, then closes the socket without sending the rest. */
function abandonUpload(port: number, path: string, length: number, sent: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n${sent}`);
      setTimeout(() => {
        socket.destroy();
        resolve();
      }, 50);
    });
    socket.on('error', reject);
  });
}

describe.each(EXPRESS_VERSIONS)('who ended a request (%s)', (_name, expressFactory) => {
  it('records a client that disconnects mid-upload as an abort (499) without res.size and with the body parser\'s error, not as a completed 400', async () => {
    const { obs, logs } = observed({ collectDefaultMetrics: false });
    const app = expressFactory();
    app.use(obs.middleware);
    app.use(expressFactory.json());
    app.post('/upload', (req, res) => {
      res.json({ got: req.body });
    });
    app.use(obs.errorHandler);
    const server = await listen(app);
    try {
      await abandonUpload(Number(new URL(server.url).port), '/upload', 1000, '{"a":"');
      await logs.waitFor((l) => l.some((x) => x.responseTime !== undefined));
      await new Promise((r) => setTimeout(r, 30));
      const done = logs.requestLines;
      expect(done).toHaveLength(1);
      expect(done[0]).toMatchObject({ level: 'warn', msg: 'request aborted', aborted: true, res: { statusCode: 499 } });
      expect(Object.keys(done[0]!.res)).toEqual(['statusCode']);
      expect(done[0]!.err).toMatchObject({ message: 'request aborted', status: 400, code: 'ECONNABORTED' });
      const text = await obs.registry.metrics();
      expect(text).toMatch(/http_server_request_duration_seconds_count\{[^}]*status_code="499"\} 1/);
      expect(text).not.toMatch(/status_code="400"/);
    } finally {
      await server.close();
      obs.close();
    }
  });

  it('still records a body the parser refuses (413) as completed, and not as an abort', async () => {
    const { obs, logs } = observed({ collectDefaultMetrics: false });
    const app = expressFactory();
    app.use(obs.middleware);
    app.use(expressFactory.json({ limit: 10 }));
    app.post('/upload', (_req, res) => {
      res.json({ ok: true });
    });
    app.use(obs.errorHandler);
    const server = await listen(app);
    try {
      const res = await fetch(`${server.url}/upload`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ a: 'x'.repeat(100) }) });
      expect(res.status).toBe(413);
      const [line] = await logs.waitFor((l) => l.some((x) => x.responseTime !== undefined));
      expect(line).toMatchObject({ msg: 'request completed', res: { statusCode: 413 } });
      expect(line!.aborted).toBeUndefined();
    } finally {
      await server.close();
      obs.close();
    }
  });
});
