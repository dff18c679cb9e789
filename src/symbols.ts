/** Per-request private state. Symbols keep it off the public surface of `req`/`res` and out of JSON output. */
export const kStartTime = Symbol('express-observability.startTime');
export const kContext = Symbol('express-observability.context');
/** Set on `res` when a completion line will be written for it, so the error handler attaches instead of logging. */
export const kLogged = Symbol('express-observability.logged');
/** The error handed to the error handler, attached to the completion line. */
export const kError = Symbol('express-observability.error');
/** Set on `req` by the monitoring routes so HTTP logs and metrics leave them out wherever the router is mounted. */
export const kMonitoring = Symbol('express-observability.monitoring');
