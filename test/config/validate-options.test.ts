import { EventEmitter } from 'node:events';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { runInNewContext } from 'node:vm';
import pino from 'pino';
import { envBoolean, envEnum, envInteger, envString } from '../../src/config/env';
import {
  assertNotUsedAsMiddleware,
  isPlainObject,
  middlewareCalledAsFactory,
  suggestKey,
  validateOptions,
  type OptionSchema,
} from '../../src/config/validate-options';
import { ObservabilityError, type ObsErrorCode } from '../../src/errors/obs-error';

const SCHEMA: OptionSchema = Object.freeze({
  serviceName: { type: 'string', nonEmpty: true },
  headerName: { type: 'string', pattern: /^[a-z-]+$/, patternText: 'a lower-case header name' },
  plainPattern: { type: 'string', pattern: /^\d+$/ },
  refused: { type: 'string', pattern: /^[a-z-]+$/, refuse: (v) => (v === 'host' ? 'it is taken' : undefined) },
  anyString: { type: 'string' },
  enabled: { type: 'boolean' },
  slowRequestMs: { type: 'integer', min: 0, max: 60_000 },
  logLevel: { type: 'enum', values: ['debug', 'info', 'warn'] },
  onEvent: { type: 'function' },
  redactKeys: { type: 'stringArray', maxItems: 3 },
  ignorePaths: { type: 'matcherArray', maxItems: 3 },
  destination: { type: 'writable' },
  logger: { type: 'logger' },
  env: { type: 'env' },
});

interface Opts {
  serviceName?: string;
  slowRequestMs?: number;
  redactKeys?: readonly string[];
  ignorePaths?: readonly (string | RegExp)[];
  logLevel?: string;
  [key: string]: unknown;
}

/** Runs `fn`, expecting an ObservabilityError; returns it for further assertions. */
function catchObsError(fn: () => unknown): ObservabilityError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ObservabilityError);
    expect(err).toBeInstanceOf(Error);
    return err as ObservabilityError;
  }
  throw new Error('expected an ObservabilityError to be thrown, but nothing was thrown');
}

function validate(input: unknown): Readonly<Opts> {
  return validateOptions<Opts>('testComponent', input, SCHEMA);
}

function expectCode(input: unknown, code: ObsErrorCode, key?: string): ObservabilityError {
  const err = catchObsError(() => validate(input));
  expect(err.code).toBe(code);
  expect(err.message.startsWith(`${code}: `)).toBe(true);
  if (key !== undefined) {
    expect(err.key).toBe(key);
    expect(err.message).toContain(`"${key}`);
  }
  return err;
}

const fakeLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('validateOptions: valid values for every rule type', () => {
  it.each<[string, unknown]>([
    ['serviceName', 'checkout'],
    ['headerName', 'x-request-id'],
    ['plainPattern', '123'],
    ['anyString', ''],
    ['enabled', true],
    ['enabled', false],
    ['slowRequestMs', 0],
    ['slowRequestMs', 60_000],
    ['slowRequestMs', 250],
    ['logLevel', 'warn'],
    ['onEvent', () => undefined],
    ['onEvent', class Foo {}],
    ['redactKeys', []],
    ['redactKeys', ['a', 'b', 'c']],
    ['ignorePaths', ['/health', /^\/metrics/]],
    ['destination', new Writable({ write: (_c, _e, cb) => cb() })],
    ['destination', { write: () => true }],
    ['logger', fakeLogger],
    ['logger', pino({ enabled: false })],
    ['env', process.env],
    ['env', { LOG_LEVEL: 'info' }],
    ['env', Object.create(null)],
  ])('accepts %s = %p', (key, value) => {
    const out = validate({ [key]: value });
    expect(Object.keys(out)).toEqual([key]);
    if (Array.isArray(value)) expect(out[key]).toEqual(value);
    else expect(out[key]).toBe(value);
  });

  it('accepts several keys at once and returns them all', () => {
    const onEvent = (): void => undefined;
    expect(validate({ serviceName: 'svc', enabled: true, slowRequestMs: 10, logLevel: 'info', onEvent })).toEqual({
      serviceName: 'svc',
      enabled: true,
      slowRequestMs: 10,
      logLevel: 'info',
      onEvent,
    });
  });
});

describe('validateOptions: wrong type -> OBS_ERR_OPTIONS_INVALID_TYPE', () => {
  it.each<[string, unknown]>([
    ['serviceName', 42],
    ['serviceName', null],
    ['headerName', ['x-id']],
    ['anyString', Symbol('s')],
    ['enabled', 'true'],
    ['enabled', 1],
    ['enabled', null],
    ['slowRequestMs', '100'],
    ['slowRequestMs', 1.5],
    ['slowRequestMs', Number.NaN],
    ['slowRequestMs', Number.POSITIVE_INFINITY],
    ['slowRequestMs', 10n],
    ['logLevel', 1],
    ['logLevel', ['info']],
    ['onEvent', 'fn'],
    ['onEvent', {}],
    ['redactKeys', 'authorization'],
    ['redactKeys', { 0: 'a', length: 1 }],
    ['redactKeys', ['ok', 1]],
    ['redactKeys', ['ok', '']],
    ['redactKeys', [/re/]],
    ['ignorePaths', '/health'],
    ['ignorePaths', [/ok/, 3]],
    ['ignorePaths', ['']],
    ['ignorePaths', [null]],
    ['destination', {}],
    ['destination', null],
    ['destination', () => undefined],
    ['destination', { write: 'no' }],
    ['logger', console.log],
    ['logger', { info: () => undefined }],
    ['logger', null],
    ['env', 'production'],
    ['env', null],
    ['env', ['A=1']],
    ['env', new Map([['A', '1']])],
  ])('rejects %s = %p', (key, value) => {
    expectCode({ [key]: value }, 'OBS_ERR_OPTIONS_INVALID_TYPE', key);
  });

  it('names the expected type and the received value in the message', () => {
    const err = expectCode({ slowRequestMs: '100' }, 'OBS_ERR_OPTIONS_INVALID_TYPE', 'slowRequestMs');
    expect(err.message).toContain('an integer');
    expect(err.message).toContain('"100"');
    const arrErr = expectCode({ redactKeys: ['ok', 7] }, 'OBS_ERR_OPTIONS_INVALID_TYPE', 'redactKeys');
    expect(arrErr.message).toContain('redactKeys[1]');
  });

  it('clips very long string values in the message', () => {
    const err = expectCode({ enabled: 'y'.repeat(5000) }, 'OBS_ERR_OPTIONS_INVALID_TYPE', 'enabled');
    expect(err.message.length).toBeLessThan(500);
  });
});

describe('validateOptions: out of range / not in enum -> OBS_ERR_OPTIONS_INVALID_VALUE', () => {
  it.each<[string, unknown]>([
    ['serviceName', ''],
    ['serviceName', '   '],
    ['headerName', 'X-Request-Id'],
    ['headerName', 'x id'],
    ['plainPattern', '12a'],
    ['refused', 'host'],
    ['slowRequestMs', -1],
    ['slowRequestMs', 60_001],
    ['slowRequestMs', Number.MAX_SAFE_INTEGER],
    ['logLevel', 'verbose'],
    ['logLevel', 'INFO'],
    ['logLevel', ''],
    ['redactKeys', ['a', 'b', 'c', 'd']],
    ['ignorePaths', ['/a', '/b', '/c', /d/]],
  ])('rejects %s = %p', (key, value) => {
    expectCode({ [key]: value }, 'OBS_ERR_OPTIONS_INVALID_VALUE', key);
  });

  it('gives the range, the allowed values or the pattern in the message', () => {
    expect(expectCode({ slowRequestMs: -1 }, 'OBS_ERR_OPTIONS_INVALID_VALUE').message).toContain('between 0 and 60000');
    const enumErr = expectCode({ logLevel: 'verbose' }, 'OBS_ERR_OPTIONS_INVALID_VALUE');
    expect(enumErr.message).toContain('"debug", "info", "warn"');
    expect(enumErr.message).toContain('"verbose"');
    expect(expectCode({ headerName: 'X' }, 'OBS_ERR_OPTIONS_INVALID_VALUE').message).toContain('a lower-case header name');
    expect(expectCode({ plainPattern: 'x' }, 'OBS_ERR_OPTIONS_INVALID_VALUE').message).toContain(String(/^\d+$/));
    expect(expectCode({ redactKeys: ['a', 'b', 'c', 'd'] }, 'OBS_ERR_OPTIONS_INVALID_VALUE').message).toContain('at most 3');
    expect(expectCode({ refused: 'host' }, 'OBS_ERR_OPTIONS_INVALID_VALUE').message).toBe(
      'OBS_ERR_OPTIONS_INVALID_VALUE: option "refused" must not be the string "host": it is taken',
    );
    // The pattern is checked first, so `refuse` only sees values that have the right shape.
    expect(expectCode({ refused: 'HOST' }, 'OBS_ERR_OPTIONS_INVALID_VALUE').message).toContain('matching');
  });

  it('accepts a value that refuse() lets through', () => {
    expect(validateOptions('c', { refused: 'x-id' }, SCHEMA)).toEqual({ refused: 'x-id' });
  });
});

describe('validateOptions: unknown keys -> OBS_ERR_OPTIONS_UNKNOWN_KEY', () => {
  it('suggests the closest key for a misspelling', () => {
    const err = expectCode({ slowRequstMs: 100 }, 'OBS_ERR_OPTIONS_UNKNOWN_KEY', 'slowRequstMs');
    expect(err.message).toContain('did you mean slowRequestMs?');
    expect(err.message).toContain('testComponent');
  });

  it('suggests the key when only the case differs', () => {
    const err = expectCode({ SlowRequestMS: 100 }, 'OBS_ERR_OPTIONS_UNKNOWN_KEY', 'SlowRequestMS');
    expect(err.message).toContain('did you mean slowRequestMs?');
  });

  it('gives no suggestion for an unrelated key, but lists the known options', () => {
    const err = expectCode({ bananaSmoothie: true }, 'OBS_ERR_OPTIONS_UNKNOWN_KEY', 'bananaSmoothie');
    expect(err.message).not.toContain('did you mean');
    expect(err.message).toContain('Known options:');
    expect(err.message).toContain('slowRequestMs');
  });

  it.each(['constructor', 'toString', 'hasOwnProperty', '__proto__'])('does not accept the inherited name %s', (key) => {
    const input = JSON.parse(`{${JSON.stringify(key)}: 1}`) as unknown;
    expectCode(input, 'OBS_ERR_OPTIONS_UNKNOWN_KEY', key);
  });

  it('rejects an unknown key even when valid keys are present', () => {
    expectCode({ serviceName: 'svc', sevriceName: 'svc' }, 'OBS_ERR_OPTIONS_UNKNOWN_KEY', 'sevriceName');
  });
});

describe('suggestKey', () => {
  const known = ['slowRequestMs', 'serviceName', 'logLevel'];
  it('returns the closest known key or undefined', () => {
    expect(suggestKey('slowRequstMs', known)).toBe('slowRequestMs');
    expect(suggestKey('loglevel', known)).toBe('logLevel');
    expect(suggestKey('servceName', known)).toBe('serviceName');
    expect(suggestKey('bananaSmoothie', known)).toBeUndefined();
    expect(suggestKey('anything', [])).toBeUndefined();
  });
});

describe('validateOptions: the input itself', () => {
  class Options {
    serviceName = 'svc';
  }

  it.each<[string, unknown]>([
    ['null', null],
    ['an array', [['serviceName', 'svc']]],
    ['a string', 'serviceName=svc'],
    ['a number', 42],
    ['a boolean', true],
    ['a function', () => ({ serviceName: 'svc' })],
    ['a class instance', new Options()],
    ['a Map', new Map([['serviceName', 'svc']])],
    ['a Date', new Date(0)],
  ])('rejects %s with OBS_ERR_OPTIONS_NOT_OBJECT', (_what, input) => {
    const err = expectCode(input, 'OBS_ERR_OPTIONS_NOT_OBJECT');
    expect(err.message).toContain('testComponent(options)');
    expect(err.key).toBeUndefined();
  });

  it('accepts a plain object created in another realm, and rejects a class instance from one', () => {
    const foreign = runInNewContext('({ serviceName: "svc", redactKeys: ["a"] })') as unknown;
    expect(JSON.parse(JSON.stringify(validate(foreign)))).toEqual({ serviceName: 'svc', redactKeys: ['a'] });
    expectCode(runInNewContext('new (class Options { constructor() { this.serviceName = "svc"; } })()'), 'OBS_ERR_OPTIONS_NOT_OBJECT');
    expectCode(runInNewContext('[1, 2]'), 'OBS_ERR_OPTIONS_NOT_OBJECT');
  });

  it('accepts undefined (no options) and returns a frozen empty object', () => {
    const out = validate(undefined);
    expect(out).toEqual({});
    expect(Object.isFrozen(out)).toBe(true);
  });

  it('accepts an empty object', () => {
    expect(validate({})).toEqual({});
  });

  it('accepts an Object.create(null) object', () => {
    const input = Object.create(null) as Record<string, unknown>;
    input.serviceName = 'svc';
    input.slowRequestMs = 5;
    expect({ ...validate(input) }).toEqual({ serviceName: 'svc', slowRequestMs: 5 });
  });

  it('ignores undefined values, even where the type would be wrong', () => {
    const out = validate({ serviceName: undefined, slowRequestMs: undefined, enabled: true });
    expect(out).toEqual({ enabled: true });
    expect(Object.prototype.hasOwnProperty.call(out, 'serviceName')).toBe(false);
    expect(Object.prototype.hasOwnProperty.call(out, 'slowRequestMs')).toBe(false);
  });
});

describe('validateOptions: the result', () => {
  it('is a frozen copy: mutating the input afterwards changes nothing', () => {
    const input: Record<string, unknown> = { serviceName: 'svc', slowRequestMs: 100 };
    const out = validate(input);
    expect(out).not.toBe(input);
    expect(Object.isFrozen(out)).toBe(true);
    input.serviceName = 'changed';
    input.slowRequestMs = 5;
    input.enabled = true;
    expect(out).toEqual({ serviceName: 'svc', slowRequestMs: 100 });
    expect(Object.isFrozen(input)).toBe(false);
  });

  it('cannot be mutated itself', () => {
    const out = validate({ serviceName: 'svc' }) as Record<string, unknown>;
    expect(() => {
      out.serviceName = 'x';
    }).toThrow(TypeError);
    expect(out.serviceName).toBe('svc');
  });

  it('copies and freezes arrays', () => {
    const redactKeys = ['a', 'b'];
    const ignorePaths: (string | RegExp)[] = ['/health'];
    const out = validate({ redactKeys, ignorePaths });
    expect(out.redactKeys).not.toBe(redactKeys);
    expect(out.ignorePaths).not.toBe(ignorePaths);
    expect(Object.isFrozen(out.redactKeys)).toBe(true);
    expect(Object.isFrozen(out.ignorePaths)).toBe(true);
    redactKeys.push('c');
    redactKeys[0] = 'z';
    ignorePaths.push(/x/);
    expect(out.redactKeys).toEqual(['a', 'b']);
    expect(out.ignorePaths).toEqual(['/health']);
    expect(Object.isFrozen(redactKeys)).toBe(false);
  });
});

describe('isPlainObject', () => {
  it('accepts literals and null-prototype objects only', () => {
    expect(isPlainObject({})).toBe(true);
    expect(isPlainObject(Object.create(null))).toBe(true);
    expect(isPlainObject([])).toBe(false);
    expect(isPlainObject(null)).toBe(false);
    expect(isPlainObject(new Date())).toBe(false);
    expect(isPlainObject(new (class A {})())).toBe(false);
    expect(isPlainObject('x')).toBe(false);
    expect(isPlainObject(runInNewContext('({})'))).toBe(true);
    expect(isPlainObject(runInNewContext('[]'))).toBe(false);
  });
});

describe('assertNotUsedAsMiddleware', () => {
  function fakeRequest(): IncomingMessage {
    const req = new IncomingMessage(new Socket());
    req.method = 'GET';
    req.headers = { host: 'localhost' };
    return req;
  }

  it('throws OBS_ERR_FACTORY_USED_AS_MIDDLEWARE for (req, res, next)', () => {
    const req = fakeRequest();
    const res = new ServerResponse(req);
    const next = (): void => undefined;
    expect(() => assertNotUsedAsMiddleware('requestId', [req, res, next])).toThrow(
      expect.objectContaining({ code: 'OBS_ERR_FACTORY_USED_AS_MIDDLEWARE' }),
    );
    const err = catchObsError(() => assertNotUsedAsMiddleware('requestId', [req, res, next]));
    expect(err.message).toContain('requestId');
    expect(err.message).toContain('app.use(requestId())');
  });

  it('throws for (req, res) and for an arguments object', () => {
    const req = fakeRequest();
    const res = new ServerResponse(req);
    expect(() => assertNotUsedAsMiddleware('errorHandler', [req, res])).toThrow(
      expect.objectContaining({ code: 'OBS_ERR_FACTORY_USED_AS_MIDDLEWARE' }),
    );
    function factory(..._args: unknown[]): void {
      // eslint-disable-next-line prefer-rest-params
      assertNotUsedAsMiddleware('factory', arguments);
    }
    expect(() => factory(req, res, () => undefined)).toThrow(expect.objectContaining({ code: 'OBS_ERR_FACTORY_USED_AS_MIDDLEWARE' }));
  });

  it('throws for a request-like object that is not an IncomingMessage (e.g. a test double)', () => {
    const req = Object.assign(new EventEmitter(), { method: 'POST', headers: {} });
    expect(() => assertNotUsedAsMiddleware('requestId', [req, {}, () => undefined])).toThrow(
      expect.objectContaining({ code: 'OBS_ERR_FACTORY_USED_AS_MIDDLEWARE' }),
    );
  });

  it('points createObservability users at .middleware', () => {
    const req = fakeRequest();
    const err = catchObsError(() => assertNotUsedAsMiddleware('createObservability', [req, new ServerResponse(req), () => undefined]));
    expect(err.code).toBe('OBS_ERR_FACTORY_USED_AS_MIDDLEWARE');
    expect(err.message).toContain('app.use(obs.middleware)');
  });

  it.each<[string, unknown[]]>([
    ['no arguments', []],
    ['an options object', [{ serviceName: 'svc' }]],
    ['undefined', [undefined]],
    ['a request alone', [Object.assign(new EventEmitter(), { method: 'GET', headers: {} })]],
    ['(undefined, undefined)', [undefined, undefined]],
    ['(null, {})', [null, {}]],
    ['an object with method/headers but no on()', [{ method: 'GET', headers: {} }, {}, () => undefined]],
    ['an emitter with a non-string method', [Object.assign(new EventEmitter(), { method: 1, headers: {} }), {}]],
    ['an emitter without headers', [Object.assign(new EventEmitter(), { method: 'GET' }), {}]],
    ['options plus an extra argument', [{ method: 'GET' }, { headers: {} }]],
  ])('does not throw for %s', (_what, args) => {
    expect(() => assertNotUsedAsMiddleware('requestId', args)).not.toThrow();
  });
});

describe('middlewareCalledAsFactory', () => {
  it('names members of obs and standalone middleware, and tells a call as a factory from a call without next', () => {
    const req = new IncomingMessage(new Socket());
    req.method = 'GET';
    expect(middlewareCalledAsFactory('obs.router', undefined)).toMatchObject({
      code: 'OBS_ERR_MIDDLEWARE_CALLED_AS_FACTORY',
      message: 'OBS_ERR_MIDDLEWARE_CALLED_AS_FACTORY: obs.router is already middleware: mount it without calling it, e.g. app.use(obs.router)',
    });
    expect(middlewareCalledAsFactory('httpMetrics', { serviceName: 'x' }).message).toContain(
      'the middleware returned by httpMetrics() is already middleware: mount it without calling it, e.g. app.use(httpMetrics({ ... }))',
    );
    expect(middlewareCalledAsFactory('requestId', req).message).toContain('was called without a next function');
    expect(middlewareCalledAsFactory('requestId', req).message).toContain('app.use(requestId())');
  });
});

describe('env helpers', () => {
  function expectEnvError(fn: () => unknown, name: string): ObservabilityError {
    const err = catchObsError(fn);
    expect(err.code).toBe('OBS_ERR_ENV_INVALID_VALUE');
    expect(err.key).toBe(name);
    expect(err.message).toContain(name);
    return err;
  }

  describe('envString', () => {
    it('returns undefined when unset or blank', () => {
      expect(envString({}, 'SERVICE_NAME')).toBeUndefined();
      expect(envString({ SERVICE_NAME: undefined }, 'SERVICE_NAME')).toBeUndefined();
      expect(envString({ SERVICE_NAME: '' }, 'SERVICE_NAME')).toBeUndefined();
      expect(envString({ SERVICE_NAME: '  \t\n' }, 'SERVICE_NAME')).toBeUndefined();
    });

    it('returns the trimmed value', () => {
      expect(envString({ SERVICE_NAME: 'checkout' }, 'SERVICE_NAME')).toBe('checkout');
      expect(envString({ SERVICE_NAME: '  checkout \n' }, 'SERVICE_NAME')).toBe('checkout');
    });

    it('reads only the named variable', () => {
      expect(envString({ OTHER: 'x' }, 'SERVICE_NAME')).toBeUndefined();
    });
  });

  describe('envEnum', () => {
    const LEVELS = ['debug', 'info', 'warn'] as const;

    it('returns undefined when unset or blank', () => {
      expect(envEnum({}, 'LOG_LEVEL', LEVELS)).toBeUndefined();
      expect(envEnum({ LOG_LEVEL: '   ' }, 'LOG_LEVEL', LEVELS)).toBeUndefined();
    });

    it('returns a valid value', () => {
      expect(envEnum({ LOG_LEVEL: 'warn' }, 'LOG_LEVEL', LEVELS)).toBe('warn');
      expect(envEnum({ LOG_LEVEL: ' info ' }, 'LOG_LEVEL', LEVELS)).toBe('info');
    });

    it('compares case-insensitively and returns the canonical value', () => {
      expect(envEnum({ LOG_LEVEL: 'DEBUG' }, 'LOG_LEVEL', LEVELS)).toBe('debug');
      expect(envEnum({ LOG_LEVEL: 'Info' }, 'LOG_LEVEL', LEVELS)).toBe('info');
    });

    it('compares case-insensitively when the allowed values are not lower-case', () => {
      const FORMATS = ['JSON', 'Pretty'] as const;
      expect(envEnum({ LOG_FORMAT: 'JSON' }, 'LOG_FORMAT', FORMATS)).toBe('JSON');
      expect(envEnum({ LOG_FORMAT: 'json' }, 'LOG_FORMAT', FORMATS)).toBe('JSON');
      expect(envEnum({ LOG_FORMAT: 'pretty' }, 'LOG_FORMAT', FORMATS)).toBe('Pretty');
    });

    it('throws OBS_ERR_ENV_INVALID_VALUE naming the variable and the allowed values', () => {
      const err = expectEnvError(() => envEnum({ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL', LEVELS), 'LOG_LEVEL');
      expect(err.message).toContain('debug, info, warn');
      expect(err.message).toContain('"verbose"');
      expect(() => envEnum({ LOG_LEVEL: 'debugx' }, 'LOG_LEVEL', LEVELS)).toThrow(
        expect.objectContaining({ code: 'OBS_ERR_ENV_INVALID_VALUE', key: 'LOG_LEVEL' }),
      );
    });

    it('clips a very long invalid value in the message', () => {
      const err = expectEnvError(() => envEnum({ LOG_LEVEL: 'z'.repeat(10_000) }, 'LOG_LEVEL', LEVELS), 'LOG_LEVEL');
      expect(err.message.length).toBeLessThan(300);
    });
  });

  describe('envInteger', () => {
    it('returns undefined when unset or blank', () => {
      expect(envInteger({}, 'PORT', 1, 65535)).toBeUndefined();
      expect(envInteger({ PORT: ' ' }, 'PORT', 1, 65535)).toBeUndefined();
    });

    it.each<[string, number]>([
      ['8080', 8080],
      [' 8080 ', 8080],
      ['1', 1],
      ['65535', 65535],
      ['007', 7],
    ])('parses %j', (raw, expected) => {
      expect(envInteger({ PORT: raw }, 'PORT', 1, 65535)).toBe(expected);
    });

    it('accepts negative values within range', () => {
      expect(envInteger({ OFFSET: '-5' }, 'OFFSET', -10, 10)).toBe(-5);
    });

    it.each(['0', '65536', '-1', '80.5', '1e3', '0x10', 'abc', '12abc', '+80', '1 000', 'NaN', 'Infinity', '99999999999999999999'])(
      'rejects %j with OBS_ERR_ENV_INVALID_VALUE',
      (raw) => {
        const err = expectEnvError(() => envInteger({ PORT: raw }, 'PORT', 1, 65535), 'PORT');
        expect(err.message).toContain('between 1 and 65535');
      },
    );
  });

  describe('envBoolean', () => {
    it('returns undefined when unset or blank', () => {
      expect(envBoolean({}, 'LOG_REQUESTS')).toBeUndefined();
      expect(envBoolean({ LOG_REQUESTS: '' }, 'LOG_REQUESTS')).toBeUndefined();
    });

    it.each(['true', 'TRUE', 'True', '1', 'yes', 'YES', ' true '])('reads %j as true', (raw) => {
      expect(envBoolean({ LOG_REQUESTS: raw }, 'LOG_REQUESTS')).toBe(true);
    });

    it.each(['false', 'FALSE', '0', 'no', 'No', '\tfalse\n'])('reads %j as false', (raw) => {
      expect(envBoolean({ LOG_REQUESTS: raw }, 'LOG_REQUESTS')).toBe(false);
    });

    it.each(['on', 'off', 'y', 'n', '2', 'truthy', 'tru'])('rejects %j with OBS_ERR_ENV_INVALID_VALUE', (raw) => {
      expectEnvError(() => envBoolean({ LOG_REQUESTS: raw }, 'LOG_REQUESTS'), 'LOG_REQUESTS');
    });
  });
});
