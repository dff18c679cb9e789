import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Router } from 'express';
import type { Logger } from 'pino';
import { assertNotUsedAsMiddleware, validateOptions, type OptionSchema } from './config/validate-options';
import { buildRequestContext, runWithContext, type RequestContext } from './context/request-context';
import { buildLogger, flushLogger, LOGGER_OPTION_SCHEMA, resolveLoggerOptions, type LoggerOptions } from './logging/create-logger';
import { buildHttpLogWriter, HTTP_LOG_OPTION_SCHEMA, resolveHttpLogOptions, type HttpLogOptions } from './logging/http-logger';
import { createRedactor } from './logging/redact';
import {
  buildErrorHandler,
  ERROR_HANDLER_OPTION_SCHEMA,
  resolveErrorHandlerOptions,
  type ErrorHandlerOptions,
  type ErrorMiddleware,
} from './middleware/error-handler';
import {
  buildAssignRequestId,
  REQUEST_ID_OPTION_SCHEMA,
  resolveRequestIdOptions,
  type RequestIdOptions,
} from './middleware/request-id';
import type { NextFunction } from './middleware/types';
import { createMonitoringRouter } from './router/create-router';
import { kContext } from './symbols';

/**
 * Options of {@link createObservability}. Every key is optional. Precedence: explicit option, then environment
 * variable, then default. Unknown keys and wrong types throw at construction.
 */
export interface ObservabilityOptions extends LoggerOptions, RequestIdOptions, HttpLogOptions, ErrorHandlerOptions {}

/** What {@link createObservability} returns. */
export interface Observability {
  /** Mount first: request id, request context, HTTP completion log. */
  readonly middleware: (req: IncomingMessage, res: ServerResponse, next: NextFunction) => void;
  /** Monitoring endpoints; mount anywhere, its routes are left out of HTTP logs. */
  readonly router: Router;
  /** Error middleware; mount last. */
  readonly errorHandler: ErrorMiddleware;
  /** Context-aware pino logger: inside a request its lines carry the request id. */
  readonly logger: Logger;
  /** Writes buffered log lines out synchronously. Call before the process exits. */
  flush(): void;
}

export const OBSERVABILITY_OPTION_SCHEMA: OptionSchema = Object.freeze({
  ...LOGGER_OPTION_SCHEMA,
  ...REQUEST_ID_OPTION_SCHEMA,
  ...HTTP_LOG_OPTION_SCHEMA,
  ...ERROR_HANDLER_OPTION_SCHEMA,
});

type ContextRequest = IncomingMessage & { [kContext]?: RequestContext };

/**
 * Builds everything an Express app needs to be observable. Each call owns its logger and state, so several
 * instances (one per app or per test) never collide.
 *
 * @example
 * const obs = createObservability({ serviceName: 'orders' });
 * app.use(obs.middleware);
 * app.use(obs.router);
 * app.get('/users/:id', handler);
 * app.use(obs.errorHandler);
 *
 * @param options - see {@link ObservabilityOptions}.
 * @throws {ObservabilityError} `OBS_ERR_OPTIONS_*` for invalid options, `OBS_ERR_ENV_INVALID_VALUE` for invalid
 *   environment variables, `OBS_ERR_PRETTY_UNAVAILABLE` (see docs/errors.md).
 */
export function createObservability(options: ObservabilityOptions = {}): Observability {
  // eslint-disable-next-line prefer-rest-params
  assertNotUsedAsMiddleware('createObservability', arguments);
  const validated = validateOptions<ObservabilityOptions>('createObservability', options, OBSERVABILITY_OPTION_SCHEMA);
  const env = validated.env ?? process.env;
  const loggerOptions = resolveLoggerOptions(validated);
  const redactor = createRedactor(loggerOptions.redactKeys);
  const logger = buildLogger(loggerOptions, redactor);
  const requestIdOptions = resolveRequestIdOptions(validated);
  const assignRequestId = buildAssignRequestId(requestIdOptions);
  const writer = buildHttpLogWriter(logger, resolveHttpLogOptions(validated), redactor, requestIdOptions.requestIdHeader);
  const errorHandler = buildErrorHandler(resolveErrorHandlerOptions(validated, env), logger, redactor);

  function observabilityMiddleware(req: IncomingMessage, res: ServerResponse, next: NextFunction): void {
    const start = performance.now();
    const id = assignRequestId(req, res);
    const context = buildRequestContext(req, id, start);
    (req as ContextRequest)[kContext] = context;
    req.log = logger;
    writer.start(req, res, start);
    runWithContext(context, next);
  }

  return Object.freeze({
    middleware: observabilityMiddleware,
    router: createMonitoringRouter(),
    errorHandler,
    logger,
    flush: () => flushLogger(logger),
  });
}
