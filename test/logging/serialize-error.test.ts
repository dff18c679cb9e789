import { runInNewContext } from 'node:vm';
import { createRedactor, REDACTED } from '../../src/logging/redact';
import { serializeError } from '../../src/logging/serialize-error';

const MAX_MESSAGE = 2048;
const MAX_STACK = 8192;
const TRUNCATED = '...[truncated]';
const VISA = '4111111111111111';

describe('serializeError', () => {
  it('serialises a plain Error with type, message and stack', () => {
    const err = new Error('boom');
    const out = serializeError(err);
    expect(out).toEqual({ type: 'Error', message: 'boom', stack: err.stack });
    expect(out.stack).toContain('boom');
    expect(out).not.toHaveProperty('code');
    expect(out).not.toHaveProperty('status');
  });

  it('uses the constructor name for built-in subclasses', () => {
    expect(serializeError(new TypeError('bad type'))).toMatchObject({ type: 'TypeError', message: 'bad type' });
    expect(serializeError(new RangeError('r'))).toMatchObject({ type: 'RangeError', message: 'r' });
  });

  it('uses the class name for custom errors', () => {
    class PaymentDeclinedError extends Error {}
    class NotFoundError extends Error {
      constructor(message: string) {
        super(message);
        this.name = 'NotFound';
      }
    }
    expect(serializeError(new PaymentDeclinedError('declined'))).toMatchObject({
      type: 'PaymentDeclinedError',
      message: 'declined',
    });
    expect(serializeError(new NotFoundError('gone')).type).toBe('NotFoundError');
  });

  it('keeps a string or number code and drops any other', () => {
    expect(serializeError(Object.assign(new Error('x'), { code: 'ECONNRESET' })).code).toBe('ECONNRESET');
    expect(serializeError(Object.assign(new Error('x'), { code: 23505 })).code).toBe(23505);
    expect(serializeError(Object.assign(new Error('x'), { code: 0 })).code).toBe(0);
    expect(serializeError(Object.assign(new Error('x'), { code: { nested: true } }))).not.toHaveProperty('code');
    expect(serializeError(Object.assign(new Error('x'), { code: null }))).not.toHaveProperty('code');
  });

  it('reads status or statusCode when it is a number', () => {
    expect(serializeError(Object.assign(new Error('x'), { status: 404 })).status).toBe(404);
    expect(serializeError(Object.assign(new Error('x'), { statusCode: 503 })).status).toBe(503);
    expect(serializeError(Object.assign(new Error('x'), { status: 400, statusCode: 500 })).status).toBe(400);
    expect(serializeError(Object.assign(new Error('x'), { status: '404' }))).not.toHaveProperty('status');
  });

  it('handles an Error without a stack', () => {
    const err = new Error('no stack');
    delete (err as { stack?: string }).stack;
    const out = serializeError(err);
    expect(out).toEqual({ type: 'Error', message: 'no stack' });
  });

  it('recognises an Error from another realm', () => {
    const foreign = runInNewContext('Object.assign(new TypeError("from vm"), { code: "E_VM", status: 502 })') as unknown;
    expect(foreign instanceof Error).toBe(false);
    const out = serializeError(foreign);
    expect(out).toMatchObject({ type: 'TypeError', message: 'from vm', code: 'E_VM', status: 502 });
    expect(typeof out.stack).toBe('string');
  });

  it('describes a thrown string as NonError', () => {
    expect(serializeError('something failed')).toEqual({ type: 'NonError', message: 'something failed' });
  });

  it.each<[string, unknown, string]>([
    ['null', null, 'null'],
    ['undefined', undefined, 'undefined'],
    ['a number', 42, '42'],
    ['NaN', Number.NaN, 'NaN'],
    ['a boolean', false, 'false'],
    ['a bigint', 10n, '10'],
    ['a symbol', Symbol('s'), 'Symbol(s)'],
  ])('describes %s as NonError', (_what, value, message) => {
    expect(serializeError(value)).toEqual({ type: 'NonError', message });
  });

  it('uses the message of an error-like object', () => {
    expect(serializeError({ message: 'looks like an error', code: 'E_LIKE' })).toEqual({
      type: 'NonError',
      message: 'looks like an error',
    });
  });

  it('uses JSON for an object without a message', () => {
    expect(serializeError({ reason: 'quota', retry: 3 })).toEqual({
      type: 'NonError',
      message: '{"reason":"quota","retry":3}',
    });
    expect(serializeError({ message: 123 })).toEqual({ type: 'NonError', message: '{"message":123}' });
    expect(serializeError([1, 'two'])).toEqual({ type: 'NonError', message: '[1,"two"]' });
  });

  it('does not throw on a circular object', () => {
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    let out: ReturnType<typeof serializeError> | undefined;
    expect(() => {
      out = serializeError(circular);
    }).not.toThrow();
    expect(out?.type).toBe('NonError');
    expect(typeof out?.message).toBe('string');
    expect(out?.message.length).toBeGreaterThan(0);
    expect(() => JSON.stringify(out)).not.toThrow();
  });

  it('does not throw on an object JSON cannot serialise (bigint, throwing toJSON)', () => {
    expect(() => serializeError({ n: 1n })).not.toThrow();
    expect(serializeError({ n: 1n }).type).toBe('NonError');
    const hostile = {
      toJSON(): never {
        throw new Error('nope');
      },
    };
    expect(() => serializeError(hostile)).not.toThrow();
  });

  it('always returns something JSON can serialise', () => {
    const circular: Record<string, unknown> = {};
    circular.me = circular;
    for (const v of [new Error('e'), 'str', null, undefined, 1, circular, Object.assign(new Error('x'), { code: 1, status: 500 })]) {
      const out = serializeError(v);
      expect(JSON.parse(JSON.stringify(out))).toEqual(out);
    }
  });

  it('clips a very long message', () => {
    const out = serializeError(new Error('m'.repeat(10_000)));
    expect(out.message).toBe(`${'m'.repeat(MAX_MESSAGE)}${TRUNCATED}`);
    const nonError = serializeError('n'.repeat(10_000));
    expect(nonError.message).toBe(`${'n'.repeat(MAX_MESSAGE)}${TRUNCATED}`);
  });

  it('does not clip a message of exactly the limit', () => {
    expect(serializeError(new Error('k'.repeat(MAX_MESSAGE))).message).toBe('k'.repeat(MAX_MESSAGE));
  });

  it('clips a very long stack', () => {
    const out = serializeError(new Error('s'.repeat(20_000)));
    expect(out.stack).toBeDefined();
    expect(out.stack!.length).toBe(MAX_STACK + TRUNCATED.length);
    expect(out.stack!.endsWith(TRUNCATED)).toBe(true);
  });

  it('masks card numbers in the message and the stack', () => {
    const out = serializeError(new Error('charge failed for 4111 1111 1111 1111'));
    expect(out.message).toBe(`charge failed for ${REDACTED}`);
    expect(out.stack).not.toContain('4111 1111 1111 1111');
    expect(out.stack).toContain(REDACTED);
  });

  it('masks card numbers in non-Error values', () => {
    expect(serializeError(`bad card ${VISA}`).message).toBe(`bad card ${REDACTED}`);
    expect(serializeError({ message: `bad card ${VISA}` }).message).toBe(`bad card ${REDACTED}`);
    expect(serializeError({ pan: VISA }).message).not.toContain(VISA);
  });

  it('does not mask non-card digit runs', () => {
    expect(serializeError(new Error('order 4111111111111112 and id 1234567890')).message).toBe(
      'order 4111111111111112 and id 1234567890',
    );
  });

  it('does not leak part of a card number that straddles the clipping limit', () => {
    // 2034 filler characters and a space put the card's first 13 digits before the 2048-character limit.
    const out = serializeError(new Error(`${'x'.repeat(MAX_MESSAGE - 14)} ${VISA}`));
    expect(out.message).not.toContain(VISA.slice(0, 13));
    expect(out.message).not.toContain(VISA.slice(0, 8));
  });
});

describe('serializeError with a redactor', () => {
  it('redacts secrets in a thrown plain object', () => {
    const out = serializeError({ user: 'ann', password: 'hunter2' }, createRedactor());
    expect(out.type).toBe('NonError');
    expect(JSON.parse(out.message)).toEqual({ user: 'ann', password: '[REDACTED]' });
  });

  it('prefers a numeric statusCode when status is not a number', () => {
    const err = Object.assign(new Error('x'), { status: 'bad', statusCode: 404 });
    expect(serializeError(err).status).toBe(404);
  });
});

describe('serializeError: errors of HTTP clients and SDKs', () => {
  const redactor = createRedactor();
  const stack = expect.any(String);

  it('describes a Stripe-shaped error by its own fields, without raw or headers', () => {
    class StripeError extends Error {
      readonly type = 'StripeCardError';
      readonly rawType = 'card_error';
      readonly code = 'card_declined';
      readonly statusCode = 402;
      readonly requestId = 'req_9f2Kx';
      readonly headers = { 'request-id': 'req_9f2Kx', 'stripe-account': 'acct_secret', authorization: 'Bearer sk_live_x' };
      readonly raw = { message: 'Your card was declined.', headers: { authorization: 'Bearer sk_live_x' } };
    }
    class StripeCardError extends StripeError {}
    const out = serializeError(new StripeCardError('Your card was declined.'), redactor);
    expect(out).toEqual({
      type: 'StripeCardError',
      message: 'Your card was declined.',
      code: 'card_declined',
      rawType: 'card_error',
      status: 402,
      requestId: 'req_9f2Kx',
      stack,
    });
  });

  it('describes an AWS SDK v3-shaped error: name, Code, $metadata status and request id, no $response', () => {
    class ServiceException extends Error {
      readonly $fault = 'client';
      readonly $metadata = { httpStatusCode: 403, requestId: 'TX7Q2', extendedRequestId: 'ext', attempts: 1 };
      readonly $response = { statusCode: 403, headers: { 'x-amz-security-token': 'secret-token' }, body: 'raw' };
      readonly Code = 'AccessDenied';
      constructor(message: string) {
        super(message);
        this.name = 'AccessDenied';
      }
    }
    class S3ServiceException extends ServiceException {}
    expect(serializeError(new S3ServiceException('Access Denied'), redactor)).toEqual({
      type: 'S3ServiceException',
      name: 'AccessDenied',
      message: 'Access Denied',
      code: 'AccessDenied',
      status: 403,
      requestId: 'TX7Q2',
      stack,
    });
  });

  it('takes method and URL from axios-like config (joined with baseURL) and got-like options', () => {
    const axiosLike = Object.assign(new Error('Request failed with status code 404'), {
      config: { method: 'delete', baseURL: 'https://api.example/v1/', url: '/items/1?token=abc', headers: { Authorization: 'Bearer x' } },
      response: { status: 404, headers: {}, data: 'body' },
      request: { _header: 'DELETE /v1/items/1 HTTP/1.1\r\nAuthorization: Bearer x\r\n' },
    });
    expect(serializeError(axiosLike, redactor)).toEqual({
      type: 'Error',
      message: 'Request failed with status code 404',
      status: 404,
      method: 'DELETE',
      url: `https://api.example/v1/items/1?token=${REDACTED}`,
      stack,
    });
    const gotLike = Object.assign(new Error('Response code 503'), {
      options: { method: 'patch', url: new URL('https://u:p@api.example/x?sig=s1&a=1') },
      response: { statusCode: 503 },
    });
    expect(serializeError(gotLike, redactor)).toMatchObject({
      status: 503,
      method: 'PATCH',
      url: `https://${REDACTED}@api.example/x?sig=${REDACTED}&a=1`,
    });
  });

  it('redacts URLs inside the message and the stack', () => {
    const err = new Error('GET https://ann:pw@api.example/x?api_key=k1&page=2 failed');
    const out = serializeError(err, redactor);
    expect(out.message).toBe(`GET https://${REDACTED}@api.example/x?api_key=${REDACTED}&page=2 failed`);
    expect(out.stack).toContain(out.message);
    expect(out.stack).not.toContain('k1');
  });

  it('without a redactor, writes URLs without their query string and userinfo', () => {
    const err = Object.assign(new Error('failed: https://ann:pw@h.example/a?token=t#f'), { config: { method: 'get', url: 'https://ann:pw@h.example/a?token=t' } });
    const out = serializeError(err);
    expect(out.url).toBe('https://h.example/a');
    expect(out.message).toBe('failed: https://h.example/a');
  });

  it('ignores method and URL values that are not what they claim', () => {
    const err = Object.assign(new Error('x'), { config: { method: 'GET\r\nX-Evil: 1', url: 42 } });
    const out = serializeError(err, redactor);
    expect(out).not.toHaveProperty('method');
    expect(out).not.toHaveProperty('url');
  });

  it('describes causes the same way, to a bounded depth, and cycles end', () => {
    const root = new Error('root', { cause: 'a string cause' });
    const mid = Object.assign(new Error('mid', { cause: root }), { code: 'E_MID', config: { headers: { Authorization: 'x' } } });
    const top = new Error('top', { cause: mid });
    expect(serializeError(top, redactor)).toEqual({
      type: 'Error',
      message: 'top',
      stack,
      cause: {
        type: 'Error',
        message: 'mid',
        code: 'E_MID',
        stack,
        cause: { type: 'Error', message: 'root', stack, cause: { type: 'NonError', message: 'a string cause' } },
      },
    });
    const cyclic = new Error('cyclic');
    (cyclic as { cause?: unknown }).cause = cyclic;
    const described = serializeError(cyclic, redactor);
    expect(described).toEqual({ type: 'Error', message: 'cyclic', stack });

    let deep: Error = new Error('level 0');
    for (let i = 1; i <= 20; i++) deep = new Error(`level ${i}`, { cause: deep });
    let depth = 0;
    for (let cur: { cause?: unknown } | undefined = serializeError(deep, redactor); cur !== undefined; cur = cur.cause as typeof cur) depth++;
    expect(depth).toBe(4);
  });

  it('describes the errors of an AggregateError (first five)', () => {
    const errors = Array.from({ length: 8 }, (_v, i) => Object.assign(new Error(`attempt ${i}`), { code: 'ECONNREFUSED' }));
    const out = serializeError(new AggregateError(errors, 'all attempts failed'), redactor);
    expect(out.type).toBe('AggregateError');
    expect(out.errors).toHaveLength(5);
    expect(out.errors![0]).toEqual({ type: 'Error', message: 'attempt 0', code: 'ECONNREFUSED', stack });
  });

  it('stays JSON-safe and never throws on hostile HTTP-shaped errors', () => {
    const hostile = new Error('h');
    for (const key of ['config', 'options', 'response', '$metadata', 'request', 'cause']) {
      Object.defineProperty(hostile, key, {
        enumerable: true,
        get() {
          throw new Error('no');
        },
      });
    }
    const out = serializeError(hostile, redactor);
    expect(out).toEqual({ type: 'Error', message: 'h', stack });
    expect(JSON.parse(JSON.stringify(out))).toEqual(out);
  });
});

describe('serializeError: primitive properties of errors', () => {
  const redactor = createRedactor();
  it('keeps strings, numbers and booleans of an error (PostgreSQL detail, Node errno), redacts sensitive keys, drops objects', () => {
    const err = Object.assign(new Error('duplicate key value violates unique constraint "users_email_key"'), {
      code: '23505',
      detail: 'Key (email)=(4111 1111 1111 1111) already exists.',
      table: 'users',
      constraint: 'users_email_key',
      retryable: false,
      errno: -111,
      password: 'hunter2',
      apiToken: 'tok-123',
      config: { headers: { Authorization: 'Bearer abc' } },
      body: 'password=hunter2',
      _header: 'GET / HTTP/1.1\r\nAuthorization: Bearer abc',
      infinite: Number.POSITIVE_INFINITY,
    });
    const out = serializeError(err, redactor) as Record<string, unknown>;
    expect(out).toMatchObject({ code: '23505', table: 'users', constraint: 'users_email_key', retryable: false, errno: -111 });
    expect(out.detail).toBe('Key (email)=([REDACTED]) already exists.');
    expect(out.password).toBe('[REDACTED]');
    expect(out.apiToken).toBe('[REDACTED]');
    for (const key of ['config', 'body', '_header', 'infinite']) expect(out).not.toHaveProperty(key);
  });

  it('writes at most 16 such properties, each cut to 512 characters', () => {
    const err = new Error('many');
    for (let i = 0; i < 40; i++) (err as unknown as Record<string, unknown>)[`f${i}`] = 'x'.repeat(1000);
    const out = serializeError(err, redactor) as Record<string, unknown>;
    const extra = Object.keys(out).filter((k) => /^f\d+$/.test(k));
    expect(extra).toHaveLength(16);
    expect((out.f0 as string).startsWith('x'.repeat(512))).toBe(true);
    expect((out.f0 as string).length).toBeLessThan(600);
  });

  it('writes no extra property without a redactor to judge its key', () => {
    const out = serializeError(Object.assign(new Error('x'), { secretThing: 'abc', table: 'users' })) as Record<string, unknown>;
    expect(out).not.toHaveProperty('secretThing');
    expect(out).not.toHaveProperty('table');
  });
});
