import { monitorEventLoopDelay } from 'node:perf_hooks';
import { defineCapability } from '../kernel/capability';
import { METRICS_OPTION_SCHEMA, resolveMetricsOptions, type MetricsOptions } from '../metrics/metrics-options';
import { buildMetricsHandler, metricsSnapshot } from '../router/metrics-endpoint';

const EVENT_LOOP_RESOLUTION_MS = 10;

/** `/metrics`: Prometheus text, OpenMetrics, and the JSON snapshot with event-loop delay. */
export const metricsEndpointCapability = defineCapability({
  name: 'metricsEndpoint',
  schema: METRICS_OPTION_SCHEMA,
  resolve: (options, env) => resolveMetricsOptions(options as MetricsOptions, env),
  routePaths: (resolved) => [resolved.metricsPath],
  build(resolved, kernel, hooks) {
    const eventLoop = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
    eventLoop.enable();
    hooks.close.push(() => eventLoop.disable());
    const deps = {
      registry: kernel.registry,
      store: kernel.store,
      token: resolved.metricsToken,
      logger: kernel.logger,
      serviceName: kernel.serviceName,
      windowMs: resolved.store.windowMs,
      eventLoop,
      eventLoopResolutionMs: EVENT_LOOP_RESOLUTION_MS,
    };
    hooks.routes[resolved.metricsPath] = buildMetricsHandler(deps);
    hooks.views.snapshot = () => metricsSnapshot(deps);
    return {};
  },
});
