/** The slow-request monitor's list of watched requests against a model (an insertion-ordered Set). */
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { buildSlowRequestMonitor } from '../../src/middleware/slow-requests';

const newRequest = () => new IncomingMessage(new Socket());
const monitor = () => buildSlowRequestMonitor({ slowRequestMs: 60_000, slowRequestRoutes: new Map() }, { stillRunning: () => undefined });

describe('slow-request monitor in-flight list', () => {
  it('follows 20,000 random watches, forgets and finishes of two monitors exactly as a Set would, oldest first', () => {
    const monitors = [monitor(), monitor()];
    const models = [new Set<IncomingMessage>(), new Set<IncomingMessage>()];
    const pool = Array.from({ length: 200 }, newRequest);
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let step = 0; step < 20_000; step++) {
      const m = random(2);
      const req = pool[random(pool.length)]!;
      const op = random(3);
      if (op === 0) {
        monitors[m]!.watch(req);
        models[m]!.add(req);
      } else if (op === 1) {
        monitors[m]!.forget(req);
        models[m]!.delete(req);
      } else {
        monitors[m]!.finish(req, undefined, 1);
        models[m]!.delete(req);
      }
      if (step % 97 === 0) {
        for (let i = 0; i < 2; i++) {
          expect([...monitors[i]!.inFlight()]).toEqual([...models[i]!]);
          expect(monitors[i]!.size).toBe(models[i]!.size);
        }
      }
    }
    for (let i = 0; i < 2; i++) expect([...monitors[i]!.inFlight()]).toEqual([...models[i]!]);
    for (const m of monitors) m.close();
  });

  it('watching a request twice keeps one entry; removing requests while iterating neither stops nor repeats the rest', () => {
    const m = monitor();
    const reqs = Array.from({ length: 6 }, newRequest);
    for (const r of reqs) m.watch(r);
    m.watch(reqs[2]!);
    expect(m.size).toBe(6);
    const seen: IncomingMessage[] = [];
    for (const r of m.inFlight()) {
      seen.push(r);
      // Each request, once handed out, finishes; the one after it too on the first step.
      m.finish(r, undefined, 1);
      if (r === reqs[0]) m.forget(reqs[1]!);
    }
    expect(seen).toEqual([reqs[0], reqs[2], reqs[3], reqs[4], reqs[5]]);
    expect(m.size).toBe(0);
    expect([...m.inFlight()]).toEqual([]);
    m.close();
  });
});
