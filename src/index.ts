import './augment';

export { createObservability } from './create-observability';
export type { Observability, ObservabilityOptions } from './create-observability';
export { requestId } from './middleware/request-id';
export type { RequestIdOptions } from './middleware/request-id';
export { httpLogger } from './middleware/http-logger';
export type { HttpLogOptions, HttpLoggerOptions } from './middleware/http-logger';
export { httpMetrics } from './middleware/http-metrics-middleware';
export type { HttpMetricsOptions, HttpMetricsMiddleware } from './middleware/http-metrics-middleware';
export { slowRequests } from './middleware/slow-requests';
export type { SlowRequestsOptions, SlowRequestsMiddleware } from './middleware/slow-requests';
export { errorHandler, notFoundHandler } from './middleware/error-handler';
export type { ErrorHandlerOptions, StandaloneErrorHandlerOptions, ErrorResponseBody, ErrorMiddleware, ErrorFormat, ErrorBodyInfo } from './middleware/error-handler';
export { createLogger, flushLogger } from './logging/create-logger';
export type { LoggerOptions, LogLevel, LogFormat, LogDestination, MinimalLogger } from './logging/create-logger';
export type { LogLevelsSnapshot } from './logging/log-levels';
export type { ChannelOptions, ChannelsOption } from './logging/channels-option';
export type { LogRotationOptions } from './log-files';
export type { LogSamplingOptions, SamplingRule } from './sampling';
export { installCrashLines } from './crash';
export type { CrashLineTarget } from './crash';
export type { CrashLineOptions } from './crash/capability';
export { getRequestContext } from './context/request-context';
export type { RequestContext, RequestFieldValue } from './context/request-context';
export { setRequestFields, REQUEST_FIELD_LIMITS } from './context/request-fields';
export { createPercentileStore } from './metrics/percentile-store';
export type { PercentileStore, PercentileStoreOptions, SeriesStats, SeriesHandle, StoreTimer, Labels } from './metrics/percentile-store';
export { METRIC_NAMES, OTEL_HTTP_DURATION_BUCKETS } from './metrics/http-metrics';
export type { MetricsOptions } from './metrics/metrics-options';
export type { SlowRequestOptions } from './middleware/slow-requests';
export type { MetricsSnapshot, RouteSnapshot, StoreSeriesSnapshot } from './router/metrics-endpoint';
export type { MonitoringRouter } from './router/create-router';
export { eventLoopDelayCheck, memoryCheck, diskSpaceCheck, cpuCheck } from './health/builtin-checks';
export type { EventLoopDelayCheckOptions, MemoryCheckOptions, DiskSpaceCheckOptions, CpuCheckOptions } from './health/builtin-checks';
export type { HealthCheckFn, HealthCheckOptions, HealthCheckDefinition, HealthCheckResult, HealthRegistry, HealthReport, CheckReport, OverallStatus } from './health/health-checks';
export type { HealthOptions } from './health/health-options';
export type { ShutdownHook, ShutdownSignal } from './health/graceful-shutdown';
export type { HealthResponseBody } from './router/health-endpoints';
export { ObservabilityError, ERROR_CODES } from './errors/obs-error';
export type { ObsErrorCode } from './errors/obs-error';
export type { SerializedError } from './logging/serialize-error';
export type { NextFunction } from './middleware/types';
export { verifyAuditTrail, canonicalJson, recordHash, GENESIS_HASH, builtInSeverity, BRUTE_FORCE_DEFAULTS, CHANGE_LIMITS, AUDIT_DATABASE_DEFAULTS, auditTableStatements } from './audit';
export type {
  AuditActor,
  AuditChainSummary,
  AuditDatabaseOptions,
  AuditQuery,
  AuditEvent,
  AuditMembers,
  AuditOptions,
  AuditOutcome,
  AuditReceipt,
  AuditSeverity,
  AuditSeverityRule,
  AuditTarget,
  AuditTrailProblem,
  AuditTrailProblemKind,
  AuditVerification,
  BruteForceOptions,
  ChainHead,
  HashAlgorithm,
  PendingAudit,
  SecurityEventFields,
  SecurityEvents,
  VerifyAuditOptions,
} from './audit';
export {
  DB_DURATION_BUCKETS,
  DEPENDENCY_DEFAULTS,
  GEN_AI_DURATION_BUCKETS,
  GEN_AI_TOKEN_BUCKETS,
  JOB_DURATION_BUCKETS,
  WEBSOCKET_DURATION_BUCKETS,
  isInternalHost,
  usageOf,
  withoutLiterals,
} from './dependencies';
export { CONSOLE_DEFAULTS } from './console';
export type { ConsoleOptions, ConsoleSettings } from './console';
export type {
  CacheHelpers,
  DbHelpers,
  DbOperation,
  DependencyMembers,
  DependencyOptions,
  JobHelpers,
  JobRun,
  JobRunReaders,
  LlmCall,
  LlmHelpers,
  LlmOperation,
  LlmPrice,
  LlmUsage,
  PropagateTo,
  WebSocketHelpers,
  WebSocketObserveOptions,
  WebSocketServerLike,
} from './dependencies';
