export { FileSink, parseInterval, parseSize } from './file-sink';
export type { DropReason, FileSinkOptions, RotationOptions } from './file-sink';
export { DEFAULT_LOG_FILE_MODE, LOG_ROTATION_DEFAULTS, resolveFileMode, resolveRotation, resolveRotationFields } from './log-file-options';
export type { LogRotationOptions } from './log-file-options';
export { acquireFileSink, releaseFileSink } from './shared-sinks';
export { flushLiveSinks as flushAllFileSinks } from './exit-flush';
