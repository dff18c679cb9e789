import { parseTraceparent } from '../../src/context/traceparent';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const VALID = `00-${TRACE_ID}-${SPAN_ID}-01`;

describe('parseTraceparent', () => {
  it('parses the W3C example', () => {
    expect(VALID).toHaveLength(55);
    expect(parseTraceparent(VALID)).toEqual({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: '01' });
  });

  it('parses an unsampled header (flags 00) and other flag values', () => {
    expect(parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}-00`)).toEqual({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: '00' });
    expect(parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}-09`)?.traceFlags).toBe('09');
  });

  it.each([
    ['trace id', `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`],
    ['one letter of the trace id', `00-4BF92f3577b34da6a3ce929d0e0e4736-${SPAN_ID}-01`],
    ['span id', `00-${TRACE_ID}-00F067AA0BA902B7-01`],
    ['flags', `00-${TRACE_ID}-${SPAN_ID}-0A`],
    ['version', `CC-${TRACE_ID}-${SPAN_ID}-01`],
  ])('rejects upper-case hex in the %s', (_what, header) => {
    expect(parseTraceparent(header)).toBeUndefined();
  });

  it('rejects an all-zero trace id', () => {
    expect(parseTraceparent(`00-${'0'.repeat(32)}-${SPAN_ID}-01`)).toBeUndefined();
  });

  it('rejects an all-zero span id', () => {
    expect(parseTraceparent(`00-${TRACE_ID}-${'0'.repeat(16)}-01`)).toBeUndefined();
  });

  it('accepts ids that merely contain zeros', () => {
    const traceId = `${'0'.repeat(31)}1`;
    const spanId = `${'0'.repeat(15)}1`;
    expect(parseTraceparent(`00-${traceId}-${spanId}-01`)).toEqual({ traceId, spanId, traceFlags: '01' });
  });

  it('rejects version ff', () => {
    expect(parseTraceparent(`ff-${TRACE_ID}-${SPAN_ID}-01`)).toBeUndefined();
    expect(parseTraceparent(`ff-${TRACE_ID}-${SPAN_ID}-01-what`)).toBeUndefined();
  });

  it('rejects version 00 with an extra field', () => {
    expect(parseTraceparent(`${VALID}-what`)).toBeUndefined();
    expect(parseTraceparent(`${VALID}-`)).toBeUndefined();
  });

  it('accepts a future version with an extra field, reading only the known fields', () => {
    expect(parseTraceparent(`cc-${TRACE_ID}-${SPAN_ID}-01-what-the-future-will-be-like`)).toEqual({
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      traceFlags: '01',
    });
    expect(parseTraceparent(`cc-${TRACE_ID}-${SPAN_ID}-01`)).toEqual({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: '01' });
  });

  it('rejects a future version whose extra data is not separated by a dash', () => {
    expect(parseTraceparent(`cc-${TRACE_ID}-${SPAN_ID}-01what`)).toBeUndefined();
  });

  it('still rejects all-zero ids and bad hex for a future version', () => {
    expect(parseTraceparent(`cc-${'0'.repeat(32)}-${SPAN_ID}-01-what`)).toBeUndefined();
    expect(parseTraceparent(`cc-${TRACE_ID}-${'0'.repeat(16)}-01-what`)).toBeUndefined();
    expect(parseTraceparent(`cc-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01-what`)).toBeUndefined();
  });

  it.each([
    ['empty', ''],
    ['trace id 31 chars', `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`],
    ['trace id 33 chars', `00-${TRACE_ID}a-${SPAN_ID}-01`],
    ['span id 15 chars', `00-${TRACE_ID}-${SPAN_ID.slice(1)}-01`],
    ['span id 17 chars', `00-${TRACE_ID}-${SPAN_ID}a-01`],
    ['version 1 char', `0-${TRACE_ID}-${SPAN_ID}-01`],
    ['version 3 chars', `000-${TRACE_ID}-${SPAN_ID}-01`],
    ['flags 1 char', `00-${TRACE_ID}-${SPAN_ID}-1`],
    ['flags 3 chars', `00-${TRACE_ID}-${SPAN_ID}-011`],
    ['flags missing', `00-${TRACE_ID}-${SPAN_ID}`],
    ['truncated', VALID.slice(0, 54)],
    ['no separators', `00${TRACE_ID}${SPAN_ID}01`],
    ['wrong separators', `00_${TRACE_ID}_${SPAN_ID}_01`],
    ['non-hex character', `00-${TRACE_ID.slice(0, 31)}g-${SPAN_ID}-01`],
    ['leading space', ` ${VALID}`],
  ])('rejects a malformed header (%s)', (_what, header) => {
    expect(parseTraceparent(header)).toBeUndefined();
  });

  it.each([
    ['an array (repeated header)', [VALID]],
    ['an array of two', [VALID, VALID]],
    ['undefined', undefined],
    ['null', null],
    ['a number', 12345],
    ['an object', { toString: () => VALID }],
    ['a Buffer', Buffer.from(VALID)],
  ])('rejects a value that is not a single string: %s', (_what, header) => {
    expect(parseTraceparent(header)).toBeUndefined();
  });

  it('rejects a 10 kB string quickly', () => {
    const junk = 'a'.repeat(10 * 1024);
    const longValid = `${VALID}-${'x'.repeat(10 * 1024)}`;
    const longHex = `00-${'a'.repeat(10 * 1024)}`;
    const started = process.hrtime.bigint();
    expect(parseTraceparent(junk)).toBeUndefined();
    expect(parseTraceparent(longValid)).toBeUndefined();
    expect(parseTraceparent(longHex)).toBeUndefined();
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    expect(elapsedMs).toBeLessThan(1000);
  });

  it.each([
    ['trailing CRLF', `${VALID}\r\n`],
    ['trailing LF', `${VALID}\n`],
    ['CR inside the trace id', `00-${TRACE_ID.slice(0, 16)}\r${TRACE_ID.slice(17)}-${SPAN_ID}-01`],
    ['LF inside the span id', `00-${TRACE_ID}-${SPAN_ID.slice(0, 8)}\n${SPAN_ID.slice(9)}-01`],
    ['header injection in a future version', `cc-${TRACE_ID}-${SPAN_ID}-01-a\r\nSet-Cookie: x=1`],
    ['LF in future-version extra field', `cc-${TRACE_ID}-${SPAN_ID}-01-a\nb`],
  ])('rejects CR/LF (%s)', (_what, header) => {
    expect(parseTraceparent(header)).toBeUndefined();
  });

  it('returns a fresh result object each time', () => {
    const a = parseTraceparent(VALID);
    const b = parseTraceparent(VALID);
    expect(a).toEqual(b);
    expect(a).not.toBe(b);
  });
});
