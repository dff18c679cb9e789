import type { Logger } from 'pino';

// Declared exactly as pino-http declares them, so projects using both compile together.
declare module 'http' {
  interface IncomingMessage {
    /** The request id: a validated incoming `x-request-id` or a generated UUID. A string when set by this library. */
    id: number | string | object;
    /** The context-aware logger: lines carry this request's id. */
    log: Logger;
  }
}

export {};
