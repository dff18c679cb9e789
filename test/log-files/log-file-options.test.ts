import { LOG_ROTATION_DEFAULTS, parseInterval, parseSize, resolveFileMode, resolveRotation } from '../../src/log-files';
import { intervalStart } from '../../src/log-files/units';

const DAY = 86_400_000;
const code = (c: string) => expect.objectContaining({ code: c });

describe('parseSize', () => {
  it.each([
    ['1024', 1024],
    ['0', 0],
    ['500k', 500 * 1024],
    ['10m', 10 * 1024 ** 2],
    ['10M', 10 * 1024 ** 2],
    ['10mb', 10 * 1024 ** 2],
    ['10MB', 10 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1Gb', 1024 ** 3],
    ['2048b', 2048],
    [' 1k ', 1024],
    [4096, 4096],
    [0, 0],
  ] as const)('%j is %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(['', 'm', '10x', '10 mbb', '1.5m', '-1', '10t', 'ten', '1e3', '0x10', '99999999999999999g'])('refuses %j', (text) => {
    expect(() => parseSize(text)).toThrow(code('OBS_ERR_INVALID_ARGUMENT'));
  });

  it.each([-1, 1.5, Number.NaN, Infinity, 2 ** 60, null, undefined, {}, []])('refuses %p', (value) => {
    expect(() => parseSize(value as any)).toThrow(code('OBS_ERR_INVALID_ARGUMENT'));
  });
});

describe('parseInterval', () => {
  it.each([
    ['30m', 30 * 60_000],
    ['1h', 3_600_000],
    ['12h', 12 * 3_600_000],
    ['24h', DAY],
    ['1d', DAY],
    ['7D', 7 * DAY],
    ['1w', 7 * DAY],
  ] as const)('%j is %d ms', (text, ms) => {
    expect(parseInterval(text)).toBe(ms);
  });

  it.each(['', '1', 'd', '0d', '0h', '7h', '7m', '1y', '30s', '1.5h', '-1d', '400d', ' 1 x'])('refuses %j', (text) => {
    expect(() => parseInterval(text)).toThrow(code('OBS_ERR_INVALID_ARGUMENT'));
  });

  it('refuses what is not a string', () => {
    expect(() => parseInterval(86_400_000 as any)).toThrow(code('OBS_ERR_INVALID_ARGUMENT'));
  });

  it('aligns boundaries to UTC: midnight, the top of the hour, Monday for weeks', () => {
    const t = Date.UTC(2026, 11, 2, 13, 45, 12, 5); // a Wednesday
    expect(intervalStart(t, DAY)).toBe(Date.UTC(2026, 11, 2));
    expect(intervalStart(t, 3_600_000)).toBe(Date.UTC(2026, 11, 2, 13));
    expect(intervalStart(t, 6 * 3_600_000)).toBe(Date.UTC(2026, 11, 2, 12));
    expect(intervalStart(t, 15 * 60_000)).toBe(Date.UTC(2026, 11, 2, 13, 45));
    expect(intervalStart(t, 7 * DAY)).toBe(Date.UTC(2026, 10, 30)); // Monday
    expect(new Date(intervalStart(t, 7 * DAY)).getUTCDay()).toBe(1);
    expect(intervalStart(Date.UTC(2026, 10, 30), 7 * DAY)).toBe(Date.UTC(2026, 10, 30));
  });
});

describe('resolveRotation', () => {
  it('rotates a configured file by default: 10 MiB, 5 files, 30 days, compressed', () => {
    expect(resolveRotation(undefined, {})).toEqual({ maxBytes: 10 * 1024 ** 2, intervalMs: 0, maxFiles: 5, maxAgeMs: 30 * DAY, compress: false });
    expect(resolveRotation({}, {})).toEqual(resolveRotation(undefined, {}));
    expect(LOG_ROTATION_DEFAULTS).toEqual({ size: '10m', interval: false, maxFiles: 5, retentionDays: 30, compress: false });
    expect(Object.isFrozen(LOG_ROTATION_DEFAULTS)).toBe(true);
  });

  it('takes the environment over the defaults, and the option over the environment, field by field', () => {
    const env = { LOG_ROTATION_SIZE: '50m', LOG_ROTATION_INTERVAL: '1d', LOG_MAX_FILES: '10', LOG_RETENTION_DAYS: '7', LOG_COMPRESS: 'false' };
    expect(resolveRotation(undefined, env)).toEqual({ maxBytes: 50 * 1024 ** 2, intervalMs: DAY, maxFiles: 10, maxAgeMs: 7 * DAY, compress: false });
    expect(resolveRotation({ size: '1m', maxFiles: 3 }, env)).toEqual({ maxBytes: 1024 ** 2, intervalMs: DAY, maxFiles: 3, maxAgeMs: 7 * DAY, compress: false });
    expect(resolveRotation({ interval: false, retentionDays: 0, compress: true }, env)).toEqual({ maxBytes: 50 * 1024 ** 2, intervalMs: 0, maxFiles: 10, maxAgeMs: 0, compress: true });
    expect(resolveRotation({ size: 2048 }, {})).toMatchObject({ maxBytes: 2048 });
  });

  it('is off with false, or when neither size nor interval rotation is on', () => {
    expect(resolveRotation(false, { LOG_ROTATION_SIZE: '1m' })).toBe(false);
    expect(resolveRotation(undefined, { LOG_ROTATION_SIZE: 'off' })).toBe(false);
    expect(resolveRotation({ size: false }, {})).toBe(false);
    expect(resolveRotation(undefined, { LOG_ROTATION_SIZE: 'OFF', LOG_ROTATION_INTERVAL: '1h' })).toMatchObject({ maxBytes: 0, intervalMs: 3_600_000 });
    expect(resolveRotation({ size: false, interval: '1h' }, {})).toMatchObject({ maxBytes: 0, intervalMs: 3_600_000 });
  });

  it('a channel inherits the main rotation and overrides it field by field, without reading the environment again', () => {
    const base = resolveRotation({ size: '20m', maxFiles: 8, compress: false }, {}) as Exclude<ReturnType<typeof resolveRotation>, false>;
    const env = { LOG_MAX_FILES: '99', LOG_COMPRESS: 'true' };
    expect(resolveRotation(undefined, env, base)).toEqual(base);
    expect(resolveRotation({ maxFiles: 30 }, env, base)).toEqual({ ...base, maxFiles: 30 });
    expect(resolveRotation({ size: false, interval: '1d' }, env, base)).toEqual({ ...base, maxBytes: 0, intervalMs: DAY });
    expect(resolveRotation(false, env, base)).toBe(false);
  });

  it.each([
    [{ size: '10q' }, 'OBS_ERR_OPTIONS_INVALID_VALUE', 'logRotation.size'],
    [{ size: 100 }, 'OBS_ERR_OPTIONS_INVALID_VALUE', 'logRotation.size'],
    [{ size: true }, 'OBS_ERR_OPTIONS_INVALID_TYPE', 'logRotation.size'],
    [{ size: null }, 'OBS_ERR_OPTIONS_INVALID_TYPE', 'logRotation.size'],
    [{ interval: '7h' }, 'OBS_ERR_OPTIONS_INVALID_VALUE', 'logRotation.interval'],
    [{ interval: 3600 }, 'OBS_ERR_OPTIONS_INVALID_TYPE', 'logRotation.interval'],
    [{ maxFiles: -1 }, 'OBS_ERR_OPTIONS_INVALID_VALUE', 'logRotation.maxFiles'],
    [{ maxFiles: 1.5 }, 'OBS_ERR_OPTIONS_INVALID_TYPE', 'logRotation.maxFiles'],
    [{ maxFiles: '5' }, 'OBS_ERR_OPTIONS_INVALID_TYPE', 'logRotation.maxFiles'],
    [{ retentionDays: 1e9 }, 'OBS_ERR_OPTIONS_INVALID_VALUE', 'logRotation.retentionDays'],
    [{ compress: 'yes' }, 'OBS_ERR_OPTIONS_INVALID_TYPE', 'logRotation.compress'],
    [{ maxfiles: 5 }, 'OBS_ERR_OPTIONS_UNKNOWN_KEY', 'logRotation'],
    ['10m', 'OBS_ERR_OPTIONS_INVALID_TYPE', 'logRotation'],
    [null, 'OBS_ERR_OPTIONS_INVALID_TYPE', 'logRotation'],
    [[], 'OBS_ERR_OPTIONS_INVALID_TYPE', 'logRotation'],
    [true, 'OBS_ERR_OPTIONS_INVALID_TYPE', 'logRotation'],
    [new (class Options {})(), 'OBS_ERR_OPTIONS_INVALID_TYPE', 'logRotation'],
  ])('refuses the option %p with %s', (option, errorCode, key) => {
    let error: any;
    try {
      resolveRotation(option as any, {});
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ name: 'ObservabilityError', code: errorCode, key });
  });

  it('hints at the field a misspelt one meant, and names the option as asked', () => {
    expect(() => resolveRotation({ maxfiles: 5 } as any, {})).toThrow(/did you mean maxFiles\?/);
    expect(() => resolveRotation({ size: 'big' }, {}, undefined, 'channels.security.rotation')).toThrow(
      expect.objectContaining({ key: 'channels.security.rotation.size' }),
    );
  });

  it('accepts options from another realm (Object.create(null))', () => {
    const option = Object.assign(Object.create(null), { size: '2m' });
    expect(resolveRotation(option, {})).toMatchObject({ maxBytes: 2 * 1024 ** 2 });
  });

  it.each([
    ['LOG_ROTATION_SIZE', '10q'],
    ['LOG_ROTATION_SIZE', '12'],
    ['LOG_ROTATION_INTERVAL', 'daily'],
    ['LOG_ROTATION_INTERVAL', '5h'],
    ['LOG_MAX_FILES', 'five'],
    ['LOG_MAX_FILES', '-1'],
    ['LOG_RETENTION_DAYS', '1.5'],
    ['LOG_COMPRESS', 'maybe'],
  ])('refuses %s=%s with OBS_ERR_ENV_INVALID_VALUE', (name, value) => {
    expect(() => resolveRotation(undefined, { [name]: value })).toThrow(expect.objectContaining({ code: 'OBS_ERR_ENV_INVALID_VALUE', key: name }));
  });

  it('does not read a variable the option overrides (an invalid one is then harmless)', () => {
    expect(resolveRotation({ size: '1m' }, { LOG_ROTATION_SIZE: 'garbage' })).toMatchObject({ maxBytes: 1024 ** 2 });
  });
});

describe('resolveFileMode', () => {
  it('is 0640 by default, else LOG_FILE_MODE, else the option', () => {
    expect(resolveFileMode(undefined, {})).toBe(0o640);
    expect(resolveFileMode(undefined, { LOG_FILE_MODE: '600' })).toBe(0o600);
    expect(resolveFileMode(undefined, { LOG_FILE_MODE: '0644' })).toBe(0o644);
    expect(resolveFileMode(0o600, { LOG_FILE_MODE: '644' })).toBe(0o600);
    expect(resolveFileMode('0o660', {})).toBe(0o660);
    expect(resolveFileMode('644', {})).toBe(0o644);
  });

  it.each([[0o1777], [-1], [1.5], ['999'], ['rw-r-----'], ['0x1a4'], [0o440], ['444'], [''], [null], [{}]])('refuses the option %p', (value) => {
    expect(() => resolveFileMode(value as any, {})).toThrow(expect.objectContaining({ key: 'logFileMode' }));
  });

  it.each(['999', '0o', 'rw', '444', '10640'])('refuses LOG_FILE_MODE=%s', (value) => {
    expect(() => resolveFileMode(undefined, { LOG_FILE_MODE: value })).toThrow(expect.objectContaining({ code: 'OBS_ERR_ENV_INVALID_VALUE', key: 'LOG_FILE_MODE' }));
  });
});
