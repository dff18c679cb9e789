import express from 'express';
import express4 from 'express4';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createObservability, type ObservabilityOptions } from '../../src';
import { LogCapture } from './log-capture';

/** Both supported Express majors, so integration tests run against each. */
export const EXPRESS_VERSIONS = [
  ['express 5', express],
  ['express 4', express4],
] as const;

export type ExpressFactory = typeof express;

/** An instance whose log lines go to an in-memory capture. */
export function observed(options: ObservabilityOptions = {}) {
  const logs = new LogCapture();
  const obs = createObservability({ serviceName: 'test-service', logDestination: logs, env: {}, ...options });
  return { obs, logs };
}

/** Starts `app` on an ephemeral loopback port. */
export function listen(app: { listen: (...args: any[]) => Server }): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        server,
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections?.();
            server.close(() => done());
          }),
      });
    });
  });
}
