import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ShutdownController } from '../health/graceful-shutdown';
import type { CheckReport, HealthRegistry, OverallStatus } from '../health/health-checks';
import { sendJson } from './send-json';

/** Body of `GET /health`. */
export interface HealthResponseBody {
  readonly status: OverallStatus;
  readonly service: string;
  readonly version: string | null;
  readonly uptimeSeconds: number;
  readonly timestamp: string;
  /** Present (true) while the process is shutting down; checks are then not run. */
  readonly shuttingDown?: true;
  readonly checks: Readonly<Record<string, CheckReport>>;
}

export interface HealthEndpointDeps {
  readonly registry: HealthRegistry;
  readonly shutdown: ShutdownController;
  readonly serviceName: string;
  readonly serviceVersion: string | undefined;
}

/** The three health endpoints. Failures answer 503, never a redirect; bodies carry no stack traces. */
export function buildHealthEndpoints(deps: HealthEndpointDeps) {
  const uptime = () => Math.round(process.uptime() * 1000) / 1000;
  return {
    /** Liveness: 200 while the process can answer. Runs no dependency check, so a database outage restarts nothing. */
    live(req: IncomingMessage, res: ServerResponse): void {
      sendJson(req, res, 200, { status: 'ok', uptimeSeconds: uptime() });
    },
    /** Readiness: 200 when every critical check passes; 503 otherwise and from the first shutdown signal on. */
    async ready(req: IncomingMessage, res: ServerResponse): Promise<void> {
      if (deps.shutdown.shuttingDown) {
        sendJson(req, res, 503, { status: 'shutting_down' });
        return;
      }
      const report = await deps.registry.run();
      // A signal may have arrived while the checks ran: from then on, readiness fails.
      if (deps.shutdown.shuttingDown) {
        sendJson(req, res, 503, { status: 'shutting_down' });
        return;
      }
      const checks: Record<string, 'ok' | 'error'> = {};
      for (const [name, check] of Object.entries(report.checks)) checks[name] = check.status;
      sendJson(req, res, report.ready ? 200 : 503, { status: report.ready ? 'ok' : 'error', checks });
    },
    /** The full report: 200 for ok and degraded, 503 for error and during shutdown. */
    async health(req: IncomingMessage, res: ServerResponse): Promise<void> {
      const base = {
        service: deps.serviceName,
        version: deps.serviceVersion ?? null,
        uptimeSeconds: uptime(),
        timestamp: new Date().toISOString(),
      };
      if (deps.shutdown.shuttingDown) {
        const body: HealthResponseBody = { status: 'error', ...base, shuttingDown: true, checks: {} };
        sendJson(req, res, 503, body);
        return;
      }
      const report = await deps.registry.run();
      if (deps.shutdown.shuttingDown) {
        sendJson(req, res, 503, { status: 'error', ...base, shuttingDown: true, checks: {} } satisfies HealthResponseBody);
        return;
      }
      const body: HealthResponseBody = { status: report.status, ...base, checks: report.checks };
      sendJson(req, res, report.status === 'error' ? 503 : 200, body);
    },
  };
}
