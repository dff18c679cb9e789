import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ERROR_CODES, ObservabilityError, type ObsErrorCode } from '../../src/errors/obs-error';

const DOC_PATH = resolve(__dirname, '../../docs/reference/errors.md');
const CODES = Object.keys(ERROR_CODES) as ObsErrorCode[];

/** Read at test time, not import time, so a doc written in the meantime is seen. */
function readDoc(): string {
  return existsSync(DOC_PATH) ? readFileSync(DOC_PATH, 'utf8') : '';
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('ERROR_CODES', () => {
  it('is a non-empty frozen catalogue', () => {
    expect(CODES.length).toBeGreaterThan(0);
    expect(Object.isFrozen(ERROR_CODES)).toBe(true);
  });

  it('has unique codes', () => {
    expect(new Set(CODES).size).toBe(CODES.length);
  });

  it('has a distinct, non-empty description for every code', () => {
    const descriptions = Object.values(ERROR_CODES);
    for (const d of descriptions) expect(d.trim()).not.toBe('');
    expect(new Set(descriptions).size).toBe(descriptions.length);
  });

  it.each(CODES)('%s matches /^OBS_ERR_[A-Z_]+$/', (code) => {
    expect(code).toMatch(/^OBS_ERR_[A-Z_]+$/);
  });
});

describe('docs/reference/errors.md', () => {
  it('exists', () => {
    expect(existsSync(DOC_PATH)).toBe(true);
  });

  it.each(CODES)('documents %s under a heading "## `CODE`"', (code) => {
    const heading = new RegExp(`^## \`${escapeRegExp(code)}\``, 'm');
    expect(readDoc()).toMatch(heading);
  });

  it('documents each code exactly once and no code that does not exist', () => {
    const doc = readDoc();
    const documented = [...doc.matchAll(/^## `(OBS_ERR_[A-Z0-9_]+)`/gm)].map((m) => m[1]);
    expect([...documented].sort()).toEqual([...CODES].sort());
  });
});

describe('ObservabilityError', () => {
  it('is an Error carrying a code, a key and a prefixed message', () => {
    const err = new ObservabilityError('OBS_ERR_OPTIONS_UNKNOWN_KEY', 'no option "x"', 'x');
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(ObservabilityError);
    expect(err.name).toBe('ObservabilityError');
    expect(err.code).toBe('OBS_ERR_OPTIONS_UNKNOWN_KEY');
    expect(err.key).toBe('x');
    expect(err.message).toBe('OBS_ERR_OPTIONS_UNKNOWN_KEY: no option "x"');
    expect(typeof err.stack).toBe('string');
    expect(String(err)).toBe('ObservabilityError: OBS_ERR_OPTIONS_UNKNOWN_KEY: no option "x"');
  });

  it('leaves key undefined when none is given', () => {
    const err = new ObservabilityError('OBS_ERR_OPTIONS_NOT_OBJECT', 'expected an object');
    expect(err.key).toBeUndefined();
    expect(err.code).toBe('OBS_ERR_OPTIONS_NOT_OBJECT');
  });

  it('can be matched with expect.objectContaining({ code })', () => {
    expect(() => {
      throw new ObservabilityError('OBS_ERR_OPTIONS_CONFLICT', 'a and b');
    }).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_CONFLICT' }));
  });
});
