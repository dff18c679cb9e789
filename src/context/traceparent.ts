/** Trace identifiers read from a W3C `traceparent` header. */
export interface TraceParent {
  /** 32 lower-case hex characters, never all zeros. */
  readonly traceId: string;
  /** The caller's span id: 16 lower-case hex characters, never all zeros. */
  readonly spanId: string;
  /** Trace flags, 2 hex characters (`01` = sampled). */
  readonly traceFlags: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '00000000000000000000000000000000';
const ZERO_SPAN = '0000000000000000';

/**
 * Parses a W3C Trace Context `traceparent` header (https://www.w3.org/TR/trace-context/#traceparent-header).
 * Returns undefined for anything invalid: wrong shape, upper-case hex, version `ff`, all-zero ids,
 * extra fields on version `00`, or a value that is not a single string.
 */
export function parseTraceparent(header: unknown): TraceParent | undefined {
  if (typeof header !== 'string' || header.length < 55 || header.length > 512) return undefined;
  const match = TRACEPARENT.exec(header);
  if (!match) return undefined;
  const [, version, traceId, spanId, traceFlags, rest] = match;
  if (version === 'ff') return undefined;
  if (version === '00' && rest !== undefined) return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId: traceId!, spanId: spanId!, traceFlags: traceFlags! };
}
