/** What a request waits on: databases, caches, LLM calls, background jobs, outgoing HTTP and WebSocket sessions. */
export { DEPENDENCY_DEFAULTS } from './capability';
export type { DependencyMembers, DependencyOptions } from './capability';
export { DB_DURATION_BUCKETS, withoutLiterals } from './database';
export type { DbHelpers, DbOperation } from './database';
export type { CacheHelpers } from './cache';
export { GEN_AI_DURATION_BUCKETS, GEN_AI_TOKEN_BUCKETS, usageOf } from './llm';
export type { LlmCall, LlmHelpers, LlmOperation, LlmPrice, LlmUsage } from './llm';
export { JOB_DURATION_BUCKETS } from './jobs';
export type { JobHelpers, JobRun, JobRunReaders } from './jobs';
export { isInternalHost } from './http-client';
export type { PropagateTo } from './http-client';
export { WEBSOCKET_DURATION_BUCKETS } from './websocket';
export type { WebSocketHelpers, WebSocketObserveOptions, WebSocketServerLike } from './websocket';
