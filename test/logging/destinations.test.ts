import express from 'express';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import request from 'supertest';
import { createLogger, createObservability, errorHandler, httpLogger, requestId, type LogDestination } from '../../src';
import { buildPinoOptions, resolveLoggerOptions } from '../../src/logging/create-logger';
import { createRedactor } from '../../src/logging/redact';
import { LogCapture } from '../helpers/log-capture';

// Every line, completion lines included, must reach each destination pino accepts at its true level.

/**
 * An app answering 200, 404 and 500, each after an app line at another level than its completion line, so a
 * destination that reuses the level of the previous line routes the completion line wrongly.
 */
function appFor(logDestination: LogDestination) {
  const obs = createObservability({ serviceName: 'dest', logDestination, env: {} });
  const app = express();
  app.use(obs.middleware);
  app.get('/ok', (req, res) => {
    req.log.error('handler ok');
    res.send('ok');
  });
  app.get('/missing', (req, res) => {
    req.log.info('handler missing');
    res.status(404).send('nope');
  });
  app.get('/fail', (req) => {
    req.log.warn('handler failing');
    throw new Error('db down');
  });
  app.use(obs.errorHandler);
  return { app, obs };
}

/** Sends the requests in an order where the previous line's level differs from the next completion line's. */
async function exercise(app: express.Express): Promise<void> {
  await request(app).get('/ok').expect(200);
  await request(app).get('/fail').expect(500);
  await request(app).get('/ok').expect(200);
  await request(app).get('/missing').expect(404);
  await request(app).get('/ok').expect(200);
}

type Line = Record<string, any>;
const summary = (lines: Line[]) => lines.map((l) => (typeof l.responseTime === 'number' ? [l.level, l.res.statusCode] : [l.level, l.msg]));

const ALL: [string, string | number][] = [
  ['error', 'handler ok'],
  ['info', 200],
  ['warn', 'handler failing'],
  ['error', 500],
  ['error', 'handler ok'],
  ['info', 200],
  ['info', 'handler missing'],
  ['warn', 404],
  ['error', 'handler ok'],
  ['info', 200],
];
const atLeast = (min: string) => ALL.filter(([level]) => pino.levels.values[level]! >= pino.levels.values[min]!);
const only = (wanted: string) => ALL.filter(([level]) => level === wanted);

const settle = () => new Promise((r) => setTimeout(r, 30));

describe('log destinations', () => {
  it('a plain writable stream gets every line at its level', async () => {
    const logs = new LogCapture();
    const { app } = appFor(logs);
    await exercise(app);
    await settle();
    expect(summary(logs.lines)).toEqual(ALL);
  });

  it('pino.multistream with info, warn and error streams routes completion lines like app lines', async () => {
    const info = new LogCapture();
    const warn = new LogCapture();
    const error = new LogCapture();
    const { app } = appFor(
      pino.multistream([
        { level: 'info', stream: info },
        { level: 'warn', stream: warn },
        { level: 'error', stream: error },
      ]),
    );
    await exercise(app);
    await settle();
    expect(summary(info.lines)).toEqual(atLeast('info'));
    expect(summary(warn.lines)).toEqual(atLeast('warn'));
    expect(summary(error.lines)).toEqual(atLeast('error'));
  });

  it('a completion line as the very first line reaches a multistream (no level recorded yet)', async () => {
    const info = new LogCapture();
    const obs = createObservability({ logDestination: pino.multistream([{ level: 'info', stream: info }]), env: {} });
    const app = express();
    app.use(obs.middleware);
    app.get('/', (_req, res) => res.send('ok'));
    await request(app).get('/').expect(200);
    await settle();
    expect(summary(info.lines)).toEqual([['info', 200]]);
  });

  it('pino.multistream with dedupe writes each line only to the stream of the highest matching level', async () => {
    const info = new LogCapture();
    const warn = new LogCapture();
    const error = new LogCapture();
    const { app } = appFor(
      pino.multistream(
        [
          { level: 'info', stream: info },
          { level: 'warn', stream: warn },
          { level: 'error', stream: error },
        ],
        { dedupe: true },
      ),
    );
    await exercise(app);
    await settle();
    expect(summary(info.lines)).toEqual(only('info'));
    expect(summary(warn.lines)).toEqual(only('warn'));
    expect(summary(error.lines)).toEqual(only('error'));
  });

  it('a multistream inside a multistream still routes by level', async () => {
    const warn = new LogCapture();
    const all = new LogCapture();
    const inner = pino.multistream([{ level: 'warn', stream: warn }]);
    const { app } = appFor(pino.multistream([{ level: 'info', stream: all }, { level: 'info', stream: inner }]));
    await exercise(app);
    await settle();
    expect(summary(all.lines)).toEqual(ALL);
    expect(summary(warn.lines)).toEqual(atLeast('warn'));
  });

  it('a stream that asks for pino metadata sees the same level, message and time as pino gives it', async () => {
    // Any destination marked with pino's metadata symbol is told each line's level before the write.
    class MetadataCapture extends Writable {
      readonly [pino.symbols.needsMetadataGsym] = true;
      lastLevel = 0;
      lastMsg: unknown;
      lastTime: unknown;
      lastObj: unknown;
      lastLogger: unknown;
      readonly seen: { level: number; msg: unknown; time: unknown; line: Line; obj: any }[] = [];
      override _write(chunk: Buffer, _enc: string, cb: () => void): void {
        cb();
      }
      override write(chunk: string): boolean {
        const line = JSON.parse(chunk) as Line;
        this.seen.push({ level: this.lastLevel, msg: this.lastMsg, time: this.lastTime, line, obj: this.lastObj });
        return true;
      }
    }
    const direct = new MetadataCapture();
    const generic = new MetadataCapture();
    const viaPino = pino(buildPinoOptions(resolveLoggerOptions({ env: {} }), createRedactor([])), generic as any);
    for (const logger of [createLogger({ logDestination: direct, env: {} }), viaPino]) {
      const app = express();
      app.use(requestId());
      app.use(httpLogger({ logger }));
      app.get('/ok', (_req, res) => res.send('ok'));
      app.get('/missing', (_req, res) => res.status(404).send('nope'));
      app.get('/fail', () => {
        throw new Error('db down');
      });
      app.use(errorHandler({ logger }));
      await request(app).get('/ok');
      await request(app).get('/missing');
      await request(app).get('/fail');
    }
    await settle();
    const view = (c: MetadataCapture) =>
      c.seen.map((s) => {
        expect(s.time).toBe(JSON.stringify(s.line.time));
        expect(s.obj.res.statusCode).toBe(s.line.res.statusCode);
        return [s.level, s.msg, s.line.level, s.line.res.statusCode];
      });
    expect(view(direct)).toEqual([
      [30, 'request completed', 'info', 200],
      [40, 'request completed', 'warn', 404],
      [50, 'request completed', 'error', 500],
    ]);
    expect(view(direct)).toEqual(view(generic));
  });

  describe('files', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'obs-dest-'));
    });
    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const read = (file: string): Line[] =>
      existsSync(file)
        ? readFileSync(file, 'utf8')
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => JSON.parse(l) as Line)
        : [];

    it('pino.destination gets every line at its level', async () => {
      const file = join(dir, 'all.log');
      const dest = pino.destination({ dest: file, sync: true });
      const { app } = appFor(dest);
      await exercise(app);
      await settle();
      dest.flushSync();
      dest.end();
      expect(summary(read(file))).toEqual(ALL);
    });

    it('pino.transport targets with per-target levels get every line at its level, in real files', async () => {
      const files = { info: join(dir, 'info.log'), warn: join(dir, 'warn.log'), error: join(dir, 'error.log') };
      const transport = pino.transport({
        targets: [
          { target: 'pino/file', level: 'warn', options: { destination: files.warn } },
          { target: 'pino/file', level: 'info', options: { destination: files.info } },
          { target: 'pino/file', level: 'error', options: { destination: files.error } },
        ],
      });
      await new Promise<void>((resolve, reject) => {
        transport.once('ready', () => resolve());
        transport.once('error', reject);
      });
      const { app } = appFor(transport);
      await exercise(app);
      // Ending the transport flushes every line to the worker, which ends its targets before 'close'.
      await new Promise<void>((resolve, reject) => {
        transport.once('close', () => resolve());
        transport.once('error', reject);
        transport.end();
      });
      expect(summary(read(files.info))).toEqual(atLeast('info'));
      expect(summary(read(files.warn))).toEqual(atLeast('warn'));
      expect(summary(read(files.error))).toEqual(atLeast('error'));
    });
  });
});
