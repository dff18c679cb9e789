import type { IncomingMessage, ServerResponse } from 'node:http';
import { Router } from 'express';
import helmet from 'helmet';
import { middlewareCalledAsFactory } from '../config/validate-options';
import type { NextFunction } from '../middleware/types';

/** A monitoring endpoint: the router marks the request as monitoring before calling it. */
export type MonitoringHandler = ((req: IncomingMessage, res: ServerResponse) => void | Promise<void>) & {
  /** Left out of logs and metrics even with `observeMonitoringRoutes` (the console's own requests). */
  readonly neverObserved?: boolean;
};

export interface MonitoringRoutes {
  /** Path to handler, e.g. `{ '/metrics': metricsEndpoint }`. Served for GET and HEAD. */
  readonly routes: Readonly<Record<string, MonitoringHandler>>;
  /** Called first for every monitoring request (leaves it out of HTTP logs and metrics). */
  readonly markMonitoring: (req: IncomingMessage, neverObserved: boolean) => void;
}

/** A path as Express's default (case-insensitive, non-strict) routing compares it: no query, lower case, no trailing slash. */
function normalisePath(url: string): string {
  const q = url.indexOf('?');
  const path = (q === -1 ? url : url.slice(0, q)).toLowerCase();
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/**
 * The length normalisePath() gives `url`: its path without the query string and one trailing slash. Lower-casing
 * keeps the length of every character but U+0130, which becomes `i` plus a combining dot and so can never match
 * the ASCII paths served.
 */
function pathLength(url: string): number {
  const q = url.indexOf('?');
  const end = q === -1 ? url.length : q;
  return end > 1 && url.charCodeAt(end - 1) === 0x2f ? end - 1 : end;
}

/** The monitoring router: mount it with `app.use(router)` or `app.use('/prefix', router)`. */
export type MonitoringRouter = (req: IncomingMessage, res: ServerResponse, next: NextFunction) => void;

/**
 * The router that serves the monitoring endpoints. Mount it anywhere (`app.use(obs.router)` or
 * `app.use('/internal', obs.router)`); its routes are left out of HTTP logs and metrics wherever it is mounted.
 * Responses carry helmet's security headers and `Cache-Control: no-store`.
 */
export function createMonitoringRouter({ routes, markMonitoring }: MonitoringRoutes): MonitoringRouter {
  const router = Router();
  // Express matches these paths ignoring case and one trailing slash. Every other request leaves at once, without
  // a pass through the router's layers (about 10 µs per request on the benchmark machine, `npm run bench`).
  const served = new Set(Object.keys(routes).map(normalisePath));
  // The lengths of the served paths: most requests are told apart by the length of their path alone, without the
  // lower-cased copy normalisePath() makes.
  const servedLengths = new Set([...served].map((path) => path.length));
  const securityHeaders = helmet();
  for (const [path, handler] of Object.entries(routes)) {
    router.get(path, function monitoringRoute(req: IncomingMessage, res: ServerResponse, next: NextFunction) {
      markMonitoring(req, handler.neverObserved === true);
      res.setHeader('cache-control', 'no-store');
      securityHeaders(req, res, (err?: unknown) => {
        if (err) {
          next(err);
          return;
        }
        Promise.resolve()
          .then(() => handler(req, res))
          .catch(next);
      });
    });
  }
  return function monitoringRouter(req, res, next) {
    if (typeof next !== 'function') throw middlewareCalledAsFactory('obs.router', req);
    const url = req.url ?? '/';
    // Absolute-form targets (`GET http://host/metrics`) and fragments are left to Express's own parsing.
    const plain = url.charCodeAt(0) === 0x2f && !url.includes('#');
    if (!plain || (servedLengths.has(pathLength(url)) && served.has(normalisePath(url)))) router(req as Parameters<Router>[0], res as Parameters<Router>[1], next);
    else next();
  };
}
