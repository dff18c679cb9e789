import './augment';

export { createObservability } from './create-observability';
export type { Observability, ObservabilityOptions } from './create-observability';
export { requestId } from './middleware/request-id';
export type { RequestIdOptions } from './middleware/request-id';
export { httpLogger } from './logging/http-logger';
export type { HttpLogOptions, HttpLoggerOptions } from './logging/http-logger';
export { errorHandler } from './middleware/error-handler';
export type { ErrorHandlerOptions, StandaloneErrorHandlerOptions, ErrorResponseBody, ErrorMiddleware } from './middleware/error-handler';
export { createLogger, flushLogger } from './logging/create-logger';
export type { LoggerOptions, LogLevel, LogFormat, LogDestination } from './logging/create-logger';
export { getRequestContext } from './context/request-context';
export type { RequestContext } from './context/request-context';
export { ObservabilityError, ERROR_CODES } from './errors/obs-error';
export type { ObsErrorCode } from './errors/obs-error';
export type { SerializedError } from './logging/serialize-error';
export type { NextFunction } from './middleware/types';
