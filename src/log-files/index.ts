export { FileSink, parseInterval, parseSize } from './file-sink';
export type { DropReason, FileSinkOptions, RotationOptions } from './file-sink';
export { DEFAULT_LOG_FILE_MODE, LOG_ROTATION_DEFAULTS, resolveFileMode, resolveRotation, resolveRotationFields } from './log-file-options';
export type { LogRotationOptions } from './log-file-options';
export { acquireFileSink } from './shared-sinks';
export type { SinkLease } from './shared-sinks';
export { drainLiveSinks as drainAllFileSinks, flushLiveSinks as flushAllFileSinks, registerExitFlush, unregisterExitFlush } from './exit-flush';
export type { SyncFlushable } from './exit-flush';
export { listRotatedFilesSync } from './rotated-files';
