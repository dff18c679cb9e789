import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { assertNotUsedAsMiddleware, middlewareCalledAsFactory, validateOptions, type OptionRule, type OptionSchema } from '../config/validate-options';
import { ObservabilityError } from '../errors/obs-error';
import { getRequestContext } from '../context/request-context';
import type { NextFunction } from './types';
import { describeCompletion, type CompletedRequest } from './completion';
import { stateOf } from './request-state';
import { observeRequest } from './observe-request';
import { REQUEST_ID_DEFAULTS, REQUEST_ID_OPTION_SCHEMA } from './request-id';
import { directLineWriter, LOGGER_OPTION_SCHEMA, loggerFor, type LoggerOptions, type MinimalLogger } from '../logging/create-logger';
import type { Redactor } from '../logging/redact';
import { serializeError } from '../logging/serialize-error';
import { clientIp, clip, loggedUrl, MAX_USER_AGENT_LOG_LENGTH, summariseRequest, summariseResponse } from '../logging/http-summary';
import { jsonMillis, jsonNumber, jsonString } from '../logging/json-text';
import { NO_LINE } from '../logging/pino-options';
import type { LogSampler } from '../sampling';
import { UNMATCHED_ROUTE } from '../metrics/http-metrics';
import { RESERVED_FIELD_NAMES } from '../context/field-rules';

/** Options of {@link httpLogger}. */
export interface HttpLogOptions {
  /**
   * Paths whose requests are not logged: a string matches the path exactly or as a prefix followed by `/`;
   * a RegExp is tested against the path (no query string). The monitoring routes of `obs.router` are always
   * left out, wherever the router is mounted. Default `[]`.
   */
  readonly excludePaths?: readonly (string | RegExp)[];
  /**
   * Add the request headers (secrets redacted) to each line as `req.headers`: `true` for all, or the names of
   * those to log (`['user-agent', 'x-forwarded-for']`, any case; still redacted). Default `false`.
   */
  readonly logRequestHeaders?: boolean | readonly string[];
  /** Add the response headers (secrets redacted) as `res.headers`: `true` for all, or the names to log. Default `false`. */
  readonly logResponseHeaders?: boolean | readonly string[];
  /** Add the parsed request body (secrets redacted, as JSON text) to each line as `req.body`. Default `false`. */
  readonly logRequestBody?: boolean;
  /** Longest body text logged, in bytes of UTF-8; longer bodies are cut and flagged `req.bodyTruncated`. Default `2048`. */
  readonly maxBodyLogBytes?: number;
  /**
   * Extra fields of the completion line, as in pino-http: called once when the request completes, its object is
   * redacted and added after `responseTime` (names the line already has are left out). Default: none.
   */
  readonly customProps?: (req: IncomingMessage, res: ServerResponse) => Record<string, unknown> | undefined;
  /**
   * The completion line's level, as in pino-http: `'trace'` to `'fatal'`, or `'silent'` for no line. `err` is the
   * error attached by the error handler, if any. Default: 5xx and failures `error`, 4xx, slow and aborts `warn`,
   * the rest `info`.
   */
  readonly customLogLevel?: (req: IncomingMessage, res: ServerResponse, err: unknown) => string;
  /**
   * The message of the line of a request without error and with a status below 500 (4xx included), as in
   * pino-http; `responseTime` in milliseconds. Default `'request completed'`.
   */
  readonly customSuccessMessage?: (req: IncomingMessage, res: ServerResponse, responseTime: number) => string;
  /**
   * The message of the line of a request with an error, a 5xx status or an abort, as in pino-http: `err` is the
   * error attached by the error handler, `Error('request aborted')` for an abort, else
   * `Error('failed with status code 500')`; `responseTime` in milliseconds. Default `'request completed'`.
   */
  readonly customErrorMessage?: (req: IncomingMessage, res: ServerResponse, err: Error, responseTime: number) => string;
}

/** Options of the standalone {@link httpLogger}: the HTTP log options plus a logger or the options to build one. */
export interface HttpLoggerOptions extends HttpLogOptions, LoggerOptions {
  /**
   * Logger to write completion lines to. Default: one built from the logger options (which are then ignored).
   * Any object with `info`, `warn` and `error` methods will do (pino, winston, bunyan, `console`): each line is
   * passed as `logger[level](fields, message)`. A logger with a `child()` that returns a logger writes through
   * `logger.child({}, { formatters })`; without a numeric `levelVal` every line is built and handed over.
   * It also becomes `req.log`.
   */
  readonly logger?: Logger | MinimalLogger;
  /** The request id header, left out of logged headers. Default `'x-request-id'`. */
  readonly requestIdHeader?: string;
}

export interface ResolvedHttpLogOptions {
  readonly excludePaths: readonly (string | RegExp)[];
  /** `true`: all; a set: only those names (lower case); `false`: none. */
  readonly logRequestHeaders: boolean | ReadonlySet<string>;
  readonly logResponseHeaders: boolean | ReadonlySet<string>;
  readonly logRequestBody: boolean;
  readonly maxBodyLogBytes: number;
  readonly customProps: HttpLogOptions['customProps'];
  readonly customLogLevel: HttpLogOptions['customLogLevel'];
  readonly customSuccessMessage: HttpLogOptions['customSuccessMessage'];
  readonly customErrorMessage: HttpLogOptions['customErrorMessage'];
}

/** Defaults of {@link HttpLogOptions}. */
export const HTTP_LOG_DEFAULTS = Object.freeze({
  logRequestHeaders: false,
  logResponseHeaders: false,
  logRequestBody: false,
  maxBodyLogBytes: 2048,
});

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
const MAX_HEADER_NAMES = 100;

/** `true`, `false`, or an array of header names (at most 100). */
const HEADER_SELECTION_RULE: OptionRule = {
  type: 'custom',
  expected: 'a boolean or an array of header names',
  check(key, value) {
    if (typeof value === 'boolean') return;
    if (!Array.isArray(value)) {
      throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_TYPE', `option "${key}" must be a boolean or an array of header names`, key);
    }
    if (value.length > MAX_HEADER_NAMES) {
      throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', `option "${key}" may name at most ${MAX_HEADER_NAMES} headers`, key);
    }
    value.forEach((name: unknown, i) => {
      if (typeof name !== 'string' || !HEADER_NAME.test(name)) {
        throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', `option "${key}[${i}]" must be a header name`, key);
      }
    });
  },
};

function headerSelection(value: boolean | readonly string[]): boolean | ReadonlySet<string> {
  return typeof value === 'boolean' ? value : new Set(value.map((name) => name.toLowerCase()));
}

/** The headers of `all` that `selection` names, redacted; `skip` is never written. */
function selectedHeaders(
  all: Readonly<Record<string, unknown>>,
  selection: true | ReadonlySet<string>,
  redactor: Redactor,
  skip: string | undefined,
): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const name of Object.keys(all)) {
    if (name === skip) continue;
    if (selection === true || selection.has(name)) picked[name] = all[name];
  }
  return redactor.redact(picked);
}

export const HTTP_LOG_OPTION_SCHEMA: OptionSchema = Object.freeze({
  excludePaths: { type: 'matcherArray', maxItems: 1024 },
  logRequestHeaders: HEADER_SELECTION_RULE,
  logResponseHeaders: HEADER_SELECTION_RULE,
  logRequestBody: { type: 'boolean' },
  maxBodyLogBytes: { type: 'integer', min: 0, max: 1_048_576 },
  customProps: { type: 'function' },
  customLogLevel: { type: 'function' },
  customSuccessMessage: { type: 'function' },
  customErrorMessage: { type: 'function' },
});

export function resolveHttpLogOptions(options: HttpLogOptions): ResolvedHttpLogOptions {
  return Object.freeze({
    excludePaths: Object.freeze([...(options.excludePaths ?? [])]),
    logRequestHeaders: headerSelection(options.logRequestHeaders ?? HTTP_LOG_DEFAULTS.logRequestHeaders),
    logResponseHeaders: headerSelection(options.logResponseHeaders ?? HTTP_LOG_DEFAULTS.logResponseHeaders),
    logRequestBody: options.logRequestBody ?? HTTP_LOG_DEFAULTS.logRequestBody,
    maxBodyLogBytes: options.maxBodyLogBytes ?? HTTP_LOG_DEFAULTS.maxBodyLogBytes,
    customProps: options.customProps,
    customLogLevel: options.customLogLevel,
    customSuccessMessage: options.customSuccessMessage,
    customErrorMessage: options.customErrorMessage,
  });
}

/** The longest prefix of `text` that fits in `maxBytes` of UTF-8. */
function clipBytes(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  let end = maxBytes;
  // Do not cut a multi-byte character in two: back up to the start of a character.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/** A matcher of `excludePaths`-style lists (exact path or prefix + `/`, or a RegExp), or undefined for an empty one. */
export function buildPathMatcher(paths: readonly (string | RegExp)[]): ((path: string) => boolean) | undefined {
  if (paths.length === 0) return undefined;
  const exact = new Set<string>();
  const prefixes: string[] = [];
  const patterns: RegExp[] = [];
  for (const p of paths) {
    if (typeof p === 'string') {
      // Compared without case, as Express routes by default (`/PING` reaches `app.get('/ping')`).
      const lower = p.toLowerCase();
      const normalised = lower.length > 1 && lower.endsWith('/') ? lower.slice(0, -1) : lower;
      exact.add(normalised);
      prefixes.push(`${normalised}/`);
    } else {
      patterns.push(new RegExp(p.source, p.flags.replace(/[gy]/g, '')));
    }
  }
  const strings = exact.size > 0;
  return function isExcludedPath(path) {
    if (strings) {
      const lower = path.toLowerCase();
      if (exact.has(lower)) return true;
      for (const prefix of prefixes) if (lower.startsWith(prefix)) return true;
    }
    for (const re of patterns) if (re.test(path)) return true;
    return false;
  };
}

/** The path of a request URL, without its query string. */
export function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function bodyText(body: unknown, redactor: Redactor): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (Buffer.isBuffer(body)) return `[binary ${body.length} bytes]`;
  if (typeof body === 'string') return redactor.redact(body);
  if (typeof body === 'object' && Object.keys(body).length === 0) return undefined;
  try {
    return JSON.stringify(redactor.redact(body));
  } catch {
    return '[unserializable body]';
  }
}

/** pino's numbers for the levels of completion lines. */
const LEVEL_VALUES = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
type LineLevel = keyof typeof LEVEL_VALUES;

/** Writes the one completion line of each request. Built once per instance. */
export interface HttpLogWriter {
  /** Whether requests to this URL get a completion line (false for `excludePaths`). */
  logs(url: string | undefined): boolean;
  /** Writes the completion line. */
  write(done: CompletedRequest): void;
}

/**
 * Where completion lines go through pino's path. A pino logger's child passes lines through its log formatter
 * unchanged: they are already redacted field by field, so the app logger's deep redaction is skipped. A logger
 * without `child()`, or whose `child()` gives no logger, is written to directly.
 */
function completionLogger(logger: MinimalLogger): MinimalLogger {
  if (typeof logger.child !== 'function') return logger;
  try {
    const child = logger.child({}, { formatters: { log: (object: object) => object } }) as Partial<MinimalLogger> | null | undefined;
    if (typeof child?.info === 'function' && typeof child.warn === 'function' && typeof child.error === 'function') return child as MinimalLogger;
  } catch {
    // A child() that cannot take these arguments: the logger itself will do.
  }
  return logger;
}

/**
 * Builds the completion-line writer. With a `sampler`, the lines it drops are not written (the request still
 * counts in every metric) and a kept line standing for more requests than itself carries `sampleRate`.
 */
export function buildHttpLogWriter(
  logger: MinimalLogger,
  resolved: ResolvedHttpLogOptions,
  redactor: Redactor,
  requestIdHeader: string,
  sampler?: LogSampler,
): HttpLogWriter {
  const isExcluded = buildPathMatcher(resolved.excludePaths);
  const { logRequestHeaders, logResponseHeaders, logRequestBody, maxBodyLogBytes, customProps, customLogLevel, customSuccessMessage, customErrorMessage } = resolved;
  const shaped = customLogLevel !== undefined;
  const shapedAtAll = customLogLevel !== undefined || customSuccessMessage !== undefined || customErrorMessage !== undefined || customProps !== undefined;
  /** Each hook that fails is reported once; the default is used. */
  const failedHooks = new Set<string>();
  function hookFailed(name: string, why: unknown): void {
    if (failedHooks.has(name)) return;
    failedHooks.add(name);
    try {
      logger.warn({ err: serializeError(why, redactor), hook: name }, `${name} failed: the default is used (logged once)`);
    } catch {
      // Nowhere left to report it.
    }
  }
  const lineLogger = completionLogger(logger);
  // Loggers built by this library take the line as JSON text directly: the same line at a third of the cost of
  // pino's generic path (mixin, formatters, serializers). Other loggers get it through their level methods.
  const direct = directLineWriter(logger as Logger);

  /** Applies the pino-http style hooks to a built line; returns its level (or 'silent' for none). */
  function shapeLine(done: CompletedRequest, line: Record<string, unknown>, level: LineLevel): LineLevel | 'silent' {
    const { req, res, statusCode, finished, aborted, failed } = done;
    const cut = aborted || !finished;
    const attached = failed ? done.state.error : undefined;
    // As pino-http: the error hooks see the attached error, an abort's error, or one made from a 5xx status.
    const err = attached ?? (cut ? new Error('request aborted') : undefined);
    if (customLogLevel !== undefined) {
      let chosen: unknown;
      try {
        chosen = customLogLevel(req, res, err);
      } catch (why) {
        hookFailed('customLogLevel', why);
      }
      if (chosen === 'silent') return 'silent';
      if (typeof chosen === 'string' && Object.hasOwn(LEVEL_VALUES, chosen)) level = chosen as LineLevel;
      else if (chosen !== undefined) hookFailed('customLogLevel', new TypeError(`returned ${JSON.stringify(String(chosen).slice(0, 40))}, not a level`));
    }
    const responseTime = line.responseTime as number;
    const errorCase = err !== undefined || statusCode >= 500;
    const messageHook = errorCase ? customErrorMessage : customSuccessMessage;
    if (messageHook !== undefined) {
      try {
        const message = errorCase
          ? (messageHook as NonNullable<HttpLogOptions['customErrorMessage']>)(req, res, (err ?? new Error(`failed with status code ${statusCode}`)) as Error, responseTime)
          : (messageHook as NonNullable<HttpLogOptions['customSuccessMessage']>)(req, res, responseTime);
        if (typeof message !== 'string') throw new TypeError('returned something that is not a string');
        line.msg = redactor.redact(message);
      } catch (why) {
        hookFailed(errorCase ? 'customErrorMessage' : 'customSuccessMessage', why);
      }
    }
    if (customProps !== undefined) {
      try {
        const props = customProps(req, res);
        const safe = props === undefined || props === null ? undefined : (redactor.redact(props) as unknown);
        if (safe !== undefined && (safe === null || typeof safe !== 'object' || Array.isArray(safe))) {
          hookFailed('customProps', new TypeError('returned something that is not a plain object of fields'));
        } else if (safe !== undefined) {
          const msg = line.msg;
          delete line.msg;
          for (const [key, value] of Object.entries(safe as Record<string, unknown>)) {
            // Names the library writes itself (err, slow, reqId, ...) would forge what the line says.
            if (RESERVED_FIELD_NAMES.has(key)) hookFailed('customProps', new TypeError(`returned the field "${key}", which the library writes itself; it is left out`));
            else if (!Object.hasOwn(line, key)) line[key] = value;
          }
          line.msg = msg;
        }
      } catch (why) {
        hookFailed('customProps', why);
      }
    }
    return level;
  }

  /** The line's level and message, and the flag that goes with them, from how the request ended. */
  function outcome(done: CompletedRequest): LineLevel {
    if (done.aborted) return 'warn';
    if (done.closedByServer || !done.finished) return 'error';
    const { statusCode, failed, slow } = done;
    return statusCode >= 500 || (failed && statusCode < 400) ? 'error' : statusCode >= 400 || slow !== undefined ? 'warn' : 'info';
  }
  function messageOf(done: CompletedRequest): string {
    return done.aborted ? 'request aborted' : done.closedByServer ? 'request cut at shutdown' : !done.finished ? 'request failed' : 'request completed';
  }

  /**
   * Without hooks to shape the line and with a destination that reads only text (the default), the line is built
   * as JSON text by concatenation, in exactly the order and form of the object path below (the tests compare both):
   * about half the cost of building the objects and serialising them. Undefined when a value JSON cannot write
   * (a BigInt among an error's fields): the object path handles it.
   */
  const textPath = direct !== undefined && !direct.needsLine && !shapedAtAll;
  function lineText(done: CompletedRequest, sampleRate: number): string | undefined {
    const { req, res, statusCode, finished, aborted, failed, slow } = done;
    const ctx = done.state.context;
    // Values of other types than the library sets (an id or method changed by other code, a trace id set by hand,
    // a status that is not a number): the object path writes them as JSON.stringify does.
    const r = req as IncomingMessage & { originalUrl?: string };
    if (typeof req.id !== 'string' || (r.method !== undefined && typeof r.method !== 'string') || typeof statusCode !== 'number') return undefined;
    if ((ctx?.traceId !== undefined && typeof ctx.traceId !== 'string') || (ctx?.spanId !== undefined && typeof ctx.spanId !== 'string')) return undefined;
    let text = `{"reqId":${jsonString(req.id)}`;
    const traceId = ctx?.traceId;
    if (traceId !== undefined) text += `,"traceId":${jsonString(traceId)}`;
    const spanId = ctx?.spanId;
    if (spanId !== undefined) text += `,"spanId":${jsonString(spanId)}`;
    try {
      const fields = ctx?.fields;
      if (fields !== undefined) {
        const inner = JSON.stringify(redactor.redact(fields)).slice(1, -1);
        if (inner !== '') text += `,${inner}`;
      }
      const userAgent = r.headers['user-agent'];
      let inner = r.method === undefined ? '' : `"method":${jsonString(r.method)},`;
      inner += `"url":${jsonString(loggedUrl(r, redactor))},"route":${jsonString(done.route ?? UNMATCHED_ROUTE)}`;
      const ip: unknown = clientIp(r);
      if (ip !== undefined && typeof ip !== 'string') return undefined;
      if (ip !== undefined) inner += `,"ip":${jsonString(ip)}`;
      if (typeof userAgent === 'string') inner += `,"userAgent":${jsonString(clip(userAgent, MAX_USER_AGENT_LOG_LENGTH))}`;
      if (logRequestHeaders !== false) inner += `,"headers":${JSON.stringify(selectedHeaders(req.headers, logRequestHeaders, redactor, requestIdHeader))}`;
      if (logRequestBody) {
        const body = bodyText(req.body, redactor);
        if (body !== undefined) {
          inner += Buffer.byteLength(body) > maxBodyLogBytes ? `,"body":${JSON.stringify(clipBytes(body, maxBodyLogBytes))},"bodyTruncated":true` : `,"body":${JSON.stringify(body)}`;
        }
      }
      text += `,"req":{${inner}},"res":{"statusCode":${jsonNumber(statusCode)}`;
      if (finished && !aborted) {
        const contentLength = res.getHeader('content-length');
        if (contentLength !== undefined) text += `,"size":${jsonNumber(Number(contentLength))}`;
      }
      if (logResponseHeaders !== false) text += `,"headers":${JSON.stringify(selectedHeaders(res.getHeaders() as Record<string, unknown>, logResponseHeaders, redactor, undefined))}`;
      text += `},"responseTime":${jsonMillis(done.durationMs)}`;
      if (sampleRate > 1) text += `,"sampleRate":${jsonNumber(sampleRate)}`;
      if (aborted) text += ',"aborted":true';
      if (failed) {
        const err = JSON.stringify(serializeError(done.state.error, redactor));
        if (err !== undefined) text += `,"err":${err}`;
      }
      if (slow !== undefined) text += `,"slow":true,"slowThresholdMs":${jsonNumber(slow.thresholdMs)}`;
    } catch {
      return undefined;
    }
    if (!aborted) {
      if (done.closedByServer) text += ',"closedByServer":true';
      else if (!finished) text += ',"incomplete":true';
    }
    return `${text},"msg":"${messageOf(done)}"}`;
  }

  function write(done: CompletedRequest): void {
    const { req, res, statusCode, finished, aborted, failed, slow } = done;
    // Nothing to build when even error lines are off (logLevel 'fatal' or 'silent'). A logger without a numeric
    // levelVal filters by itself: the comparison is then false and the line is built.
    if (!shaped && (logger.levelVal as number) > LEVEL_VALUES.error) return;
    let sampleRate = 1;
    if (sampler !== undefined) {
      sampleRate = sampler.decide(
        { route: done.route, statusCode, slow: slow !== undefined, aborted, failed, closedByServer: done.closedByServer },
        Date.now(),
      );
      if (sampleRate === 0) return;
    }
    if (textPath) {
      const level = outcome(done);
      if (!direct.enabled(LEVEL_VALUES[level])) return;
      const text = lineText(done, sampleRate);
      if (text !== undefined) {
        direct.write(LEVEL_VALUES[level], level, text, NO_LINE);
        return;
      }
    }
    const reqInfo: Record<string, unknown> = summariseRequest(req, redactor, done.route ?? UNMATCHED_ROUTE);
    if (logRequestHeaders !== false) {
      // The id header is left out: the accepted id is already on the line as reqId, and a rejected one must
      // never be written.
      reqInfo.headers = selectedHeaders(req.headers, logRequestHeaders, redactor, requestIdHeader);
    }
    if (logRequestBody) {
      const text = bodyText(req.body, redactor);
      if (text !== undefined) {
        if (Buffer.byteLength(text) > maxBodyLogBytes) {
          reqInfo.body = clipBytes(text, maxBodyLogBytes);
          reqInfo.bodyTruncated = true;
        } else {
          reqInfo.body = text;
        }
      }
    }
    // traceId and spanId are always set, even to undefined: the line may be written while another request's
    // context is current, and the logger's mixin must not lend it that request's trace. They follow reqId, where
    // the mixin puts them on app lines.
    const ctx = done.state.context;
    // An aborted line never carries a size, even when a response (body-parser's 400 for a mid-upload abort) was sent.
    const resInfo: Record<string, unknown> = summariseResponse(res, statusCode, finished && !aborted);
    if (logResponseHeaders !== false) resInfo.headers = selectedHeaders(res.getHeaders() as Record<string, unknown>, logResponseHeaders, redactor, undefined);
    const responseTime = Math.round(done.durationMs * 1000) / 1000;
    // Request fields (setRequestFields) follow the ids, as on every other line of the request, redacted. Two
    // literals rather than one object extended later: the common case allocates one object of one shape.
    const fields = ctx?.fields;
    const line: Record<string, unknown> =
      fields === undefined
        ? { reqId: req.id, traceId: ctx?.traceId, spanId: ctx?.spanId, req: reqInfo, res: resInfo, responseTime }
        : { reqId: req.id, traceId: ctx?.traceId, spanId: ctx?.spanId, ...redactor.redact(fields), req: reqInfo, res: resInfo, responseTime };
    if (sampleRate > 1) line.sampleRate = sampleRate;
    if (aborted) line.aborted = true;
    if (failed) line.err = serializeError(done.state.error, redactor);
    if (slow !== undefined) {
      line.slow = true;
      line.slowThresholdMs = slow.thresholdMs;
    }

    let level = outcome(done);
    if (!aborted) {
      if (done.closedByServer) line.closedByServer = true;
      else if (!finished) line.incomplete = true;
    }
    line.msg = messageOf(done);
    if (shapedAtAll) {
      const shapedLevel = shapeLine(done, line, level);
      if (shapedLevel === 'silent') return;
      level = shapedLevel;
    }
    if (direct !== undefined) {
      if (!direct.enabled(LEVEL_VALUES[level])) return;
      let text: string | undefined;
      try {
        text = JSON.stringify(line);
      } catch {
        // A value JSON cannot represent (a BigInt in an error's fields): pino's safe serializer handles it below.
      }
      if (text !== undefined) {
        direct.write(LEVEL_VALUES[level], level, text, line);
        return;
      }
    }
    const msg = line.msg as string;
    delete line.msg;
    // A logger that is not pino may lack trace, debug or fatal (a customLogLevel choice): the nearest it has.
    const method = (lineLogger as unknown as Record<string, unknown>)[level];
    if (typeof method === 'function') (method as (fields: object, message: string) => unknown).call(lineLogger, line, msg);
    else lineLogger[level === 'fatal' ? 'error' : 'info'](line, msg);
  }

  return {
    logs: isExcluded === undefined ? () => true : (url) => !isExcluded(pathOf(url)),
    write,
  };
}

/**
 * Middleware that writes exactly one JSON line per request when the response completes or the client aborts:
 * method, redacted URL, route template, status, duration, size, client IP, user agent and request id.
 * 5xx lines are at `error`, 4xx and aborts at `warn`, the rest at `info`. Mount it after `requestId()`.
 *
 * @param options - see {@link HttpLoggerOptions}.
 * @throws {ObservabilityError} on invalid options (see docs/reference/errors.md).
 */
export function httpLogger(options: HttpLoggerOptions = {}) {
  // eslint-disable-next-line prefer-rest-params
  assertNotUsedAsMiddleware('httpLogger', arguments);
  const schema: OptionSchema = {
    ...LOGGER_OPTION_SCHEMA,
    ...HTTP_LOG_OPTION_SCHEMA,
    requestIdHeader: REQUEST_ID_OPTION_SCHEMA.requestIdHeader!,
    logger: { type: 'logger' },
  };
  const validated = validateOptions<HttpLoggerOptions>('httpLogger', options, schema);
  // Only the level methods (and child(), where it gives a logger) of a given logger are used below.
  const { logger, redactor } = loggerFor(validated as LoggerOptions & { readonly logger?: Logger });
  const header = (validated.requestIdHeader ?? REQUEST_ID_DEFAULTS.requestIdHeader).toLowerCase();
  const writer = buildHttpLogWriter(logger, resolveHttpLogOptions(validated), redactor, header);
  function onResponseClose(this: ServerResponse): void {
    try {
      const done = describeCompletion(this, performance.now());
      if (!done.state.monitoring) writer.write(done);
    } catch (err) {
      // Runs in an event listener: a throw here would crash the process. Report it instead, unless the logger
      // itself is what throws.
      try {
        logger.error({ err }, 'request observation failed');
      } catch {
        // Nowhere left to report it.
      }
    }
  }
  return function httpLoggerMiddleware(req: IncomingMessage, res: ServerResponse, next: NextFunction): void {
    if (typeof next !== 'function') throw middlewareCalledAsFactory('httpLogger', req);
    const state = stateOf(req);
    state.context ??= getRequestContext();
    req.log = logger as Logger;
    if (writer.logs(req.url)) {
      observeRequest(req, state.context?.startTime ?? performance.now());
      state.logged = true;
      // One shared listener, no closure per request: 'close' fires once, after 'finish' or on abort.
      res.on('close', onResponseClose);
    }
    next();
  };
}
