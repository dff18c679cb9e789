import pino from 'pino';
import { join } from 'node:path';
import { buildKernel, resolveKernelOptions } from '../../src/kernel/kernel';
import { jsonLines, tempDirs } from '../helpers/json-files';
import { LogCapture } from '../helpers/log-capture';

const dirs = tempDirs('line-tap');
afterAll(() => dirs.removeAll());

function kernelWith(options: Record<string, unknown>, lineTap: boolean) {
  return buildKernel(resolveKernelOptions({ serviceName: 'tapped', ...options } as never, {}), { lineTap });
}

describe('the line tap of the kernel', () => {
  test('without a capability asking, there is none and the logger writes straight to its destination', () => {
    const capture = new LogCapture();
    const kernel = kernelWith({ logDestination: capture }, false);
    expect(kernel.lineTap).toBeUndefined();
    const stream = (kernel.logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
    expect(stream).toBe(capture);
    void kernel.logs.close();
  });

  test('every line of the main logger, channels with files, audit records and the error file reach the tap as JSON, and their destinations unchanged', async () => {
    const dir = dirs.make();
    const capture = new LogCapture();
    const kernel = kernelWith(
      { logDestination: capture, errorLogFile: join(dir, 'errors.log'), channels: { audit: { file: join(dir, 'audit.log') } } },
      true,
    );
    const tapped: string[] = [];
    const stop = kernel.lineTap!.listen((line) => tapped.push(line));
    kernel.lineTap!.listen(() => {
      throw new Error('a broken listener');
    });
    kernel.logger.info({ n: 1 }, 'one');
    kernel.logger.error({ n: 2 }, 'two');
    kernel.logs.channel('audit').warn({ n: 3 }, 'three');
    const writer = kernel.logs.recordWriter('audit');
    writer.write(30, `${JSON.stringify({ level: 'info', time: new Date().toISOString(), ...writer.base, msg: 'record' })}\n`, { msg: 'record' });
    stop();
    kernel.logger.info('after stop');
    kernel.logs.flushSync();
    await kernel.logs.close();

    expect(tapped.map((l) => JSON.parse(l).msg)).toEqual(['one', 'two', 'three', 'record']);
    expect(tapped.every((l) => l.endsWith('\n'))).toBe(true);
    // The destinations got the same lines: the main stream, the channel's file, and the error file by level.
    expect(capture.lines.map((l) => l.msg)).toEqual(['one', 'two', 'after stop']);
    expect(jsonLines(join(dir, 'audit.log')).map((l) => l.msg)).toEqual(['three', 'record']);
    expect(jsonLines(join(dir, 'errors.log')).map((l) => l.msg)).toEqual(['two']);
  });

  test('in pretty format the tap gets JSON while the destination gets the pretty text', async () => {
    const capture = new LogCapture();
    const kernel = kernelWith({ logDestination: capture, logFormat: 'pretty' }, true);
    const tapped: string[] = [];
    kernel.lineTap!.listen((line) => tapped.push(line));
    kernel.logger.warn({ userId: 'u1' }, 'slowish');
    kernel.logs.flushSync();
    await kernel.logs.close();
    expect(JSON.parse(tapped[0]!)).toMatchObject({ level: 'warn', msg: 'slowish', userId: 'u1', service: 'tapped' });
    expect(capture.raw[0]).toMatch(/^\d\d:\d\d:\d\d WARN\s+slowish userId=u1$/);
  });

  test("a destination that is an emitter still gets pino's configuration message through the tap", () => {
    const messages: unknown[] = [];
    const capture = Object.assign(new LogCapture(), { emit: (event: string, payload: unknown) => (event === 'message' ? messages.push(payload) : undefined, true) });
    const kernel = kernelWith({ logDestination: capture }, true);
    kernel.lineTap!.listen(() => undefined);
    expect(messages).toEqual([expect.objectContaining({ code: 'PINO_CONFIG', config: expect.objectContaining({ messageKey: expect.any(String) }) })]);
    void kernel.logs.close();
  });
});
