import type { Server } from 'node:http';
import { buildShutdownController, type ShutdownHook } from '../health/graceful-shutdown';
import { buildHealthRegistry, type HealthCheckFn, type HealthCheckOptions } from '../health/health-checks';
import { HEALTH_OPTION_SCHEMA, resolveHealthOptions, type HealthOptions } from '../health/health-options';
import { defineCapability } from '../kernel/capability';
import { runAll } from '../kernel/hooks';
import { drainAllFileSinks } from '../log-files';
import { buildHealthEndpoints } from '../router/health-endpoints';

/** Health checks, `/health`, `/health/live`, `/health/ready`, and graceful shutdown. */
export const healthCapability = defineCapability({
  name: 'health',
  schema: HEALTH_OPTION_SCHEMA,
  resolve: (options, env) => ({ resolved: resolveHealthOptions(options as HealthOptions, env), options: options as HealthOptions }),
  routePaths: ({ resolved }) => [resolved.paths.health, resolved.paths.live, resolved.paths.ready],
  build({ resolved, options }, kernel, hooks) {
    const { logger } = kernel;
    const health = buildHealthRegistry(resolved.health, kernel.redactor);
    for (const [name, def] of Object.entries(options.healthChecks ?? {})) {
      if (typeof def === 'function') health.register(name, def as HealthCheckFn);
      else health.register(name, def.check, { critical: def.critical, timeoutMs: def.timeoutMs } as HealthCheckOptions);
    }
    const report = (err: unknown) => logger.error({ err }, 'shutdown step failed');
    const shutdown = buildShutdownController(resolved.shutdown, {
      logger,
      // Then every file of the process (other instances, createLogger files): the process ends by re-raising the
      // signal, and Node runs no 'exit' listener then.
      flush: async () => {
        await Promise.all(hooks.drain.map((drain) => drain(2000).catch(report)));
        await kernel.logs.drain();
        await drainAllFileSinks();
      },
      closeInstance: () => runAll(hooks.close, report),
      onClosing: () => runAll(hooks.shutdownStarting, report),
      onForcedClose: () => runAll(hooks.shutdownForced, report),
    });
    for (const hook of options.shutdownHooks ?? []) shutdown.onShutdown(hook);
    const endpoints = buildHealthEndpoints({
      registry: health,
      shutdown,
      serviceName: kernel.serviceName,
      serviceVersion: resolved.serviceVersion,
    });
    hooks.views.health = () => health.run();
    hooks.routes[resolved.paths.health] = endpoints.health;
    hooks.routes[resolved.paths.live] = endpoints.live;
    hooks.routes[resolved.paths.ready] = endpoints.ready;
    return {
      health,
      attach: (server: Server) => shutdown.attach(server),
      onShutdown: (hook: ShutdownHook) => shutdown.onShutdown(hook),
      shutdown: () => shutdown.shutdown(),
    };
  },
});
