import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { envEnum, envString, type EnvSource } from '../config/env';
import { assertNotUsedAsMiddleware, middlewareCalledAsFactory, validateOptions, type OptionSchema } from '../config/validate-options';
import { LOGGER_OPTION_SCHEMA, loggerFor, type LoggerOptions } from '../logging/create-logger';
import type { Redactor } from '../logging/redact';
import { BODY_PARSE_MESSAGE, serializeError } from '../logging/serialize-error';
import { peekState } from './request-state';
import type { NextFunction } from './types';

/** Options of {@link errorHandler}. */
export interface ErrorHandlerOptions {
  /**
   * Send 5xx error messages and stacks to clients. Default: `true` only when `NODE_ENV` is `development`,
   * so a production deployment, or one where `NODE_ENV` is unset, never leaks internals.
   */
  readonly exposeErrorDetails?: boolean;
  /**
   * Body of error responses (the error handler's and the 404 handler's): `'json'` sends
   * `{ "error": { "message", "requestId" } }`; `'problem+json'` sends an RFC 9457 problem (`type`, `title`,
   * `status`, `detail`, `instance`, plus `requestId`) as `application/problem+json`. Env `ERROR_FORMAT`.
   * Default `'json'`.
   */
  readonly errorFormat?: ErrorFormat;
  /**
   * Shapes the error body: called with what the default body is made of (and the default body itself) and the
   * request; its return value is sent as JSON. If it throws, returns `undefined` or something JSON cannot write,
   * the default body is sent and the failure logged once. Default: none.
   */
  readonly errorBody?: (info: ErrorBodyInfo, req: IncomingMessage) => unknown;
}

export const ERROR_FORMATS = ['json', 'problem+json'] as const;
export type ErrorFormat = (typeof ERROR_FORMATS)[number];

/** What an error body is made of, handed to the `errorBody` hook. */
export interface ErrorBodyInfo {
  readonly status: number;
  /** The message the client may see: the error's for 4xx (unless `expose: false`), the reason phrase for 5xx unless details are exposed. */
  readonly message: string;
  readonly requestId: string | undefined;
  /** What was thrown (undefined for a 404 of the not-found handler). Never send it as it is. */
  readonly error: unknown;
  /** The body that is sent without a hook. */
  readonly defaultBody: unknown;
}

/** Options of the standalone {@link errorHandler}. */
export interface StandaloneErrorHandlerOptions extends ErrorHandlerOptions, LoggerOptions {
  /** Logger used when no HTTP logger observes the request. Default: one built from the logger options. */
  readonly logger?: Logger;
}

export interface ResolvedErrorHandlerOptions {
  readonly exposeErrorDetails: boolean;
  readonly errorFormat: ErrorFormat;
  readonly errorBody: ((info: ErrorBodyInfo, req: IncomingMessage) => unknown) | undefined;
}

export const ERROR_HANDLER_OPTION_SCHEMA: OptionSchema = Object.freeze({
  exposeErrorDetails: { type: 'boolean' },
  errorFormat: { type: 'enum', values: ERROR_FORMATS },
  errorBody: { type: 'function' },
});

export function resolveErrorHandlerOptions(options: ErrorHandlerOptions, env: EnvSource): ResolvedErrorHandlerOptions {
  return Object.freeze({
    exposeErrorDetails: options.exposeErrorDetails ?? envString(env, 'NODE_ENV') === 'development',
    errorFormat: options.errorFormat ?? envEnum(env, 'ERROR_FORMAT', ERROR_FORMATS) ?? 'json',
    errorBody: options.errorBody,
  });
}

const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
const MAX_INSTANCE_LENGTH = 256;

/** The path of the request, without its query string (which may hold secrets), cut to 256 characters. */
function instanceOf(req: IncomingMessage): string {
  const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/';
  const q = url.search(/[?#]/);
  const path = q === -1 ? url : url.slice(0, q);
  return path.length > MAX_INSTANCE_LENGTH ? path.slice(0, MAX_INSTANCE_LENGTH) : path;
}

/** Builds and sends error bodies in the configured format, through the `errorBody` hook when there is one. */
export interface ErrorResponder {
  send(req: IncomingMessage, res: ServerResponse, status: number, message: string, error: unknown, stack: string | undefined): void;
}

export function buildErrorResponder(resolved: ResolvedErrorHandlerOptions, logger: Logger): ErrorResponder {
  // The error handler and the 404 handler of one instance share one responder, so a failing hook is logged once.
  const shared = responders.get(resolved);
  if (shared !== undefined && shared.logger === logger) return shared.responder;
  const responder = makeErrorResponder(resolved, logger);
  responders.set(resolved, { logger, responder });
  return responder;
}
const responders = new WeakMap<ResolvedErrorHandlerOptions, { readonly logger: Logger; readonly responder: ErrorResponder }>();

function makeErrorResponder(resolved: ResolvedErrorHandlerOptions, logger: Logger): ErrorResponder {
  const problem = resolved.errorFormat === 'problem+json';
  const hook = resolved.errorBody;
  let hookFailureLogged = false;
  function defaultBody(req: IncomingMessage, status: number, message: string, requestId: string | undefined, stack: string | undefined): unknown {
    if (!problem) return { error: { message, requestId, ...(stack === undefined ? {} : { stack }) } };
    const title = STATUS_CODES[status] ?? 'Error';
    return {
      type: 'about:blank',
      title,
      status,
      ...(message === title ? {} : { detail: message }),
      instance: instanceOf(req),
      requestId,
      ...(stack === undefined ? {} : { stack }),
    };
  }
  return {
    send(req, res, status, message, error, stack) {
      const id = (req as ErrorRequest).id;
      const requestId = typeof id === 'string' ? id : undefined;
      const fallback = defaultBody(req, status, message, requestId, stack);
      let payload: string | undefined;
      if (hook !== undefined) {
        try {
          // The hook gets a copy of its own: what it changes before failing never reaches the body sent instead.
          const copy = defaultBody(req, status, message, requestId, stack);
          const shaped = hook(Object.freeze({ status, message, requestId, error, defaultBody: copy }), req);
          payload = shaped === undefined ? undefined : JSON.stringify(shaped);
          if (payload === undefined) throw new TypeError('errorBody returned nothing JSON can write');
        } catch (err) {
          payload = undefined;
          if (!hookFailureLogged) {
            hookFailureLogged = true;
            try {
              logger.error({ err }, 'errorBody hook failed: the default body is sent (logged once)');
            } catch {
              // Nowhere left to report it.
            }
          }
        }
      }
      payload ??= JSON.stringify(fallback);
      // Headers describing a body that is no longer sent would corrupt this one (as Express's final handler does).
      for (const header of STALE_HEADERS) res.removeHeader(header);
      res.statusCode = status;
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('content-type', problem ? PROBLEM_CONTENT_TYPE : JSON_CONTENT_TYPE);
      res.setHeader('content-length', Buffer.byteLength(payload));
      res.setHeader('cache-control', 'no-store');
      res.end(payload);
    },
  };
}

/** The JSON body sent for an error. */
export interface ErrorResponseBody {
  readonly error: {
    /** The error message for 4xx; for 5xx the standard reason phrase unless details are exposed. */
    readonly message: string;
    /** The request id, to quote when reporting the problem. */
    readonly requestId: string | undefined;
    /** Only when details are exposed. */
    readonly stack?: string;
  };
}

/** Error classes of got, which carry no `isAxiosError`-like flag; recognised together with their `options` object. */
const GOT_ERROR_NAMES = new Set(['RequestError', 'HTTPError', 'TimeoutError', 'ReadError', 'UploadError', 'CacheError', 'MaxRedirectsError', 'RetryError']);

function isStatusNumber(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 100 && value <= 599;
}

function isObject(value: unknown): value is object {
  return value !== null && typeof value === 'object';
}

/**
 * Whether `err` is an error of the Stripe SDK: its `type` names a Stripe error class (`StripeCardError`,
 * `StripeAuthenticationError`, ...), or it carries Stripe's `raw` response object with a string `requestId`.
 * `StripeSignatureVerificationError` is left out: it reports the incoming webhook's signature, not a call to Stripe.
 */
function isStripeError(err: object): boolean {
  const type = readProperty(err, 'type');
  if (typeof type === 'string' && type.startsWith('Stripe')) return type !== 'StripeSignatureVerificationError';
  return isObject(readProperty(err, 'raw')) && typeof readProperty(err, 'requestId') === 'string';
}

/**
 * Whether `err` is an error of the AWS SDK v3 about a service's answer: `$metadata.httpStatusCode` or
 * `$response.statusCode` is a status number.
 */
function isAwsSdkError(err: object): boolean {
  const metadata = readProperty(err, '$metadata');
  if (isObject(metadata) && isStatusNumber(readProperty(metadata, 'httpStatusCode'))) return true;
  const response = readProperty(err, '$response');
  return isObject(response) && isStatusNumber(readProperty(response, 'statusCode'));
}

/**
 * Whether `err` reports a failed call to another service rather than a problem with this request: an axios error
 * (`isAxiosError`, with or without a response), a got error, any error carrying an upstream `response` with a
 * numeric `status` or `statusCode` (axios, got, ky, superagent), a Stripe SDK error or an AWS SDK v3 error.
 * Its status and text are the upstream's, not ours.
 */
function isUpstreamError(err: object): boolean {
  if (readProperty(err, 'isAxiosError') === true) return true;
  const response = readProperty(err, 'response');
  if (isObject(response)) {
    if (isStatusNumber(readProperty(response, 'status')) || isStatusNumber(readProperty(response, 'statusCode'))) return true;
  }
  const name = readProperty(err, 'name');
  const options = readProperty(err, 'options');
  if (typeof name === 'string' && GOT_ERROR_NAMES.has(name) && isObject(options)) return true;
  return isStripeError(err) || isAwsSdkError(err);
}

/**
 * The status for an error. An error made for the client (`expose: true`, as http-errors sets for 4xx) keeps its own
 * status. An error of an HTTP client or SDK about an upstream call (see `isUpstreamError`) is 502: the upstream's 404
 * or 401 is not this request's. Otherwise `err.status` or `err.statusCode` when it is an integer from 400 to 599, else 500.
 */
export function statusOf(err: unknown): number {
  if (err !== null && typeof err === 'object') {
    if (readProperty(err, 'expose') !== true && isUpstreamError(err)) return 502;
    const status = readProperty(err, 'status');
    const candidate = typeof status === 'number' ? status : readProperty(err, 'statusCode');
    if (typeof candidate === 'number' && Number.isInteger(candidate) && candidate >= 400 && candidate <= 599) return candidate;
  }
  return 500;
}

const STALE_HEADERS = ['content-encoding', 'content-language', 'content-range', 'content-disposition', 'etag', 'last-modified'];

/** Reads a property of a thrown value, or undefined when it has none or reading throws. */
function readProperty(value: unknown, key: string): unknown {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

type ErrorRequest = IncomingMessage & { id?: unknown };

export type ErrorMiddleware = (err: unknown, req: IncomingMessage, res: ServerResponse, _next: NextFunction) => void;

/** `name` is how the handler is reached in the application (`obs.errorHandler`, or `errorHandler` standalone), for misuse errors. */
export function buildErrorHandler(
  resolved: ResolvedErrorHandlerOptions,
  logger: Logger,
  redactor: Redactor,
  name = 'obs.errorHandler',
): ErrorMiddleware {
  const expose = resolved.exposeErrorDetails;
  const responder = buildErrorResponder(resolved, logger);
  // Four parameters: Express recognises error middleware by its arity.
  return function errorHandler(err: unknown, req: IncomingMessage, res: ServerResponse, _next: NextFunction): void {
    if (typeof _next !== 'function') throw middlewareCalledAsFactory(name, req);
    const status = statusOf(err);
    const state = peekState(req);
    if (state?.logged === true) {
      state.failed = true;
      state.error = err;
    } else {
      const level = status >= 500 ? 'error' : 'warn';
      logger[level]({ reqId: (req as ErrorRequest).id, err: serializeError(err, redactor), statusCode: status }, 'request failed');
    }
    if (res.headersSent) {
      // Too late for a JSON body: Express's final handler closes the connection.
      _next(err);
      return;
    }
    const showMessage = status < 500 ? readProperty(err, 'expose') !== false : expose;
    let message = STATUS_CODES[status] ?? 'Error';
    if (showMessage) {
      const candidate = typeof err === 'string' ? err : readProperty(err, 'message');
      if (readProperty(err, 'type') === 'entity.parse.failed') message = BODY_PARSE_MESSAGE;
      else if (typeof candidate === 'string') message = candidate;
    }
    const stack = status >= 500 && expose ? readProperty(err, 'stack') : undefined;
    responder.send(req, res, status, message, err, typeof stack === 'string' ? stack : undefined);
  };
}

/**
 * The 404 of a request no route answered: mount it after the routes and before the error handler. Answers in the
 * configured `errorFormat` (JSON by default) with the request id, instead of Express's HTML page; the request's
 * completion line and its metrics have `route: "unmatched"`.
 */
export function buildNotFoundHandler(resolved: ResolvedErrorHandlerOptions, logger: Logger, name = 'obs.notFoundHandler') {
  const responder = buildErrorResponder(resolved, logger);
  return function notFoundHandler(req: IncomingMessage, res: ServerResponse, next: NextFunction): void {
    if (typeof next !== 'function') throw middlewareCalledAsFactory(name, req);
    if (res.headersSent) {
      next();
      return;
    }
    // A route that matched and called next() did not serve it: the line and metrics say unmatched.
    const state = peekState(req);
    if (state !== undefined) state.unmatched = true;
    responder.send(req, res, 404, STATUS_CODES[404]!, undefined, undefined);
  };
}

/**
 * Express error middleware (mount it last). Attaches the real error (type, message, code, stack) to the
 * request's single completion line (5xx at `error`, 4xx at `warn`) and answers
 * `{ "error": { "message", "requestId" } }` with the status from `err.status`/`err.statusCode` (default 500), or 502 for
 * an error of an HTTP client or SDK about an upstream call (axios, got, `err.response.status`, Stripe, AWS SDK v3)
 * unless it says `expose: true`.
 * Handles thrown strings, `null` and `undefined`; when headers were already sent it delegates to Express.
 *
 * @param options - see {@link StandaloneErrorHandlerOptions}.
 * @throws {ObservabilityError} on invalid options (see docs/reference/errors.md).
 */
export function errorHandler(options: StandaloneErrorHandlerOptions = {}): ErrorMiddleware {
  // eslint-disable-next-line prefer-rest-params
  assertNotUsedAsMiddleware('errorHandler', arguments);
  const schema: OptionSchema = { ...LOGGER_OPTION_SCHEMA, ...ERROR_HANDLER_OPTION_SCHEMA, logger: { type: 'logger' } };
  const validated = validateOptions<StandaloneErrorHandlerOptions>('errorHandler', options, schema);
  const { logger, redactor } = loggerFor(validated);
  return buildErrorHandler(resolveErrorHandlerOptions(validated, validated.env ?? process.env), logger, redactor, 'errorHandler');
}

/**
 * Express middleware answering 404 for requests no route matched (mount it after the routes, before the error
 * handler), in the `errorFormat` chosen (JSON by default, or `application/problem+json`), with the request id.
 *
 * @param options - `errorFormat`, `errorBody`, and the logger options or `logger` (where a failing hook is logged).
 * @throws {ObservabilityError} on invalid options (see docs/reference/errors.md).
 */
export function notFoundHandler(options: StandaloneErrorHandlerOptions = {}) {
  // eslint-disable-next-line prefer-rest-params
  assertNotUsedAsMiddleware('notFoundHandler', arguments);
  const schema: OptionSchema = { ...LOGGER_OPTION_SCHEMA, ...ERROR_HANDLER_OPTION_SCHEMA, logger: { type: 'logger' } };
  const validated = validateOptions<StandaloneErrorHandlerOptions>('notFoundHandler', options, schema);
  const { logger } = loggerFor(validated);
  return buildNotFoundHandler(resolveErrorHandlerOptions(validated, validated.env ?? process.env), logger, 'notFoundHandler');
}
