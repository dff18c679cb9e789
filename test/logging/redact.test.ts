import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { mulberry32 } from '../helpers/datasets';
import {
  createRedactor,
  DEFAULT_SENSITIVE_KEYS,
  isPlainObjectAnyRealm,
  MAX_REDACT_DEPTH,
  maskCardNumbers,
  REDACTED,
} from '../../src/logging/redact';

const MAX_DEPTH_MARKER = '[MaxDepth]';
const VISA = '4111111111111111';

type Dict = Record<string, unknown>;

/** Follows `steps` times the `key` property from `value`. */
function descend(value: unknown, key: string, steps: number): unknown {
  let cur = value;
  for (let i = 0; i < steps; i++) cur = (cur as Dict)[key];
  return cur;
}

/** `{ child: { child: ... { leaf: 'x' } } }` with `levels` wrappers, built iteratively. */
function nestObjects(levels: number): Dict {
  let o: Dict = { leaf: 'x', password: 'deep-secret' };
  for (let i = 0; i < levels; i++) o = { child: o };
  return o;
}


describe('maskCardNumbers', () => {
  it.each([
    [VISA, REDACTED],
    ['4111 1111 1111 1111', REDACTED],
    ['4111-1111-1111-1111', REDACTED],
    [`paid with ${VISA} yesterday`, `paid with ${REDACTED} yesterday`],
    ['card: 4111-1111-1111-1111.', `card: ${REDACTED}.`],
    ['5500 0000 0000 0004 and 4111 1111 1111 1111', `${REDACTED} and ${REDACTED}`],
    // 13-digit and 19-digit Luhn-valid numbers are still card numbers
    ['4222222222222', REDACTED],
    ['6011000000000000001', REDACTED],
  ])('masks %j', (input, expected) => {
    expect(maskCardNumbers(input)).toBe(expected);
  });

  it.each([
    ['4111111111111112'], // 16 digits, Luhn invalid
    ['4111 1111 1111 1112'],
    ['1234567890'], // 10 digits
    ['order 1234567890 shipped'],
    ['123456789012'], // 12 digits: shorter than any card
    [''],
    ['no digits at all, long enough to be scanned'],
  ])('leaves %j unchanged', (input) => {
    expect(maskCardNumbers(input)).toBe(input);
  });

  it('masks a card number followed by a space and other digits (e.g. a CVV or expiry)', () => {
    // The card number must not survive just because more digits follow it.
    expect(maskCardNumbers(`${VISA} 123`)).not.toContain(VISA);
    expect(maskCardNumbers('4111 1111 1111 1111 12 25')).not.toContain('4111 1111 1111 1111');
  });
});

describe('createRedactor().isSensitiveKey', () => {
  const redactor = createRedactor();

  it.each([
    'Authorization',
    'authorization',
    'AUTHORIZATION',
    'Proxy-Authorization',
    'x-api-key',
    'X-API-KEY',
    'X_Api_Key',
    'api_key',
    'apiKey',
    'Cookie',
    'Set-Cookie',
    'set_cookie',
    'password',
    'db_password',
    'DB-PASSWORD',
    'userPassword',
    'passwd',
    'refreshToken',
    'refresh_token',
    'access-token',
    'X-CSRF-Token',
    'clientSecret',
    'CLIENT_SECRET',
    'private_key',
    'sessionId',
    'credentials',
    'creditCard',
    'card_number',
    'cvv',
    'CVV2',
    'pin',
    'ssn',
    'jwt',
  ])('%s is sensitive', (key) => {
    expect(redactor.isSensitiveKey(key)).toBe(true);
  });

  it.each(['author', 'Author', 'classname', 'className', 'id', 'name', 'email', 'status', 'spinner', 'passenger', ''])(
    '%j is not sensitive',
    (key) => {
      expect(redactor.isSensitiveKey(key)).toBe(false);
    },
  );

  it('gives the same answer on repeated calls (cached decisions)', () => {
    for (let i = 0; i < 3; i++) {
      expect(redactor.isSensitiveKey('X-Api-Key')).toBe(true);
      expect(redactor.isSensitiveKey('author')).toBe(false);
    }
  });

  it('documents its defaults in DEFAULT_SENSITIVE_KEYS (frozen)', () => {
    expect(Object.isFrozen(DEFAULT_SENSITIVE_KEYS)).toBe(true);
    expect(DEFAULT_SENSITIVE_KEYS).toEqual(expect.arrayContaining(['authorization', 'cookie', '*password*', '*token*']));
  });

  it('keeps answering correctly after 100,000 distinct random keys (bounded cache)', () => {
    const r = createRedactor();
    const rand = mulberry32(12345);
    // No vowel a/e/i/o: no default fragment (all contain one) can appear, and no exact key can be formed.
    const alphabet = 'bcdfghjklmnpqrstuvwxyz0123456789-_';
    const randomKey = (): string => {
      let s = '';
      const len = 6 + Math.floor(rand() * 20);
      for (let i = 0; i < len; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
      return s;
    };
    const firstKeys: string[] = [];
    let wrong = 0;
    for (let i = 0; i < 100_000; i++) {
      const base = randomKey();
      if (i % 10 === 0) {
        // a sensitive key unique to this iteration
        if (r.isSensitiveKey(`${base}_Password`) !== true) wrong++;
      } else {
        if (i < 50) firstKeys.push(base);
        if (r.isSensitiveKey(base) !== false) wrong++;
      }
    }
    expect(wrong).toBe(0);

    // keys seen first (cached) and keys never seen before (not cached) are both still right
    for (const k of firstKeys) expect(r.isSensitiveKey(k)).toBe(false);
    expect(r.isSensitiveKey('Authorization')).toBe(true);
    expect(r.isSensitiveKey('brand_new_client_secret')).toBe(true);
    expect(r.isSensitiveKey('X_Api_Key')).toBe(true);
    expect(r.isSensitiveKey('author')).toBe(false);
    expect(r.isSensitiveKey('brand_new_harmless_field')).toBe(false);
    expect(r.redact({ 'X-Api-Key': 'k', name: 'n' })).toEqual({ 'X-Api-Key': REDACTED, name: 'n' });
  });
});

describe('createRedactor().redact', () => {
  const redactor = createRedactor();

  it('redacts sensitive keys at the top level whatever their case or separator style', () => {
    const input = {
      Authorization: 'Bearer abc',
      AUTHORIZATION: 'Bearer def',
      'x-api-key': 'k1',
      X_Api_Key: 'k2',
      'Set-Cookie': ['a=1', 'b=2'],
      db_password: 'pw',
      refreshToken: 'rt',
      clientSecret: 'cs',
      author: 'Ada',
      classname: 'Foo',
      id: 7,
      name: 'n',
    };
    expect(redactor.redact(input)).toEqual({
      Authorization: REDACTED,
      AUTHORIZATION: REDACTED,
      'x-api-key': REDACTED,
      X_Api_Key: REDACTED,
      'Set-Cookie': REDACTED,
      db_password: REDACTED,
      refreshToken: REDACTED,
      clientSecret: REDACTED,
      author: 'Ada',
      classname: 'Foo',
      id: 7,
      name: 'n',
    });
  });

  it('redacts sensitive keys nested several levels deep in objects and arrays', () => {
    const input = {
      user: {
        id: 1,
        name: 'Ada',
        profile: {
          settings: [{ theme: 'dark' }, { apiKey: 'k', label: 'prod' }, [{ deeper: { db_password: 'pw', id: 2 } }]],
        },
        sessions: [{ id: 's1' }],
      },
      headers: { Authorization: 'Bearer x', accept: '*/*' },
      list: [[[{ refreshToken: 't', author: 'me' }]]],
    };
    expect(redactor.redact(input)).toEqual({
      user: {
        id: 1,
        name: 'Ada',
        profile: {
          settings: [{ theme: 'dark' }, { apiKey: REDACTED, label: 'prod' }, [{ deeper: { db_password: REDACTED, id: 2 } }]],
        },
        sessions: REDACTED, // "sessions" contains the fragment "session"
      },
      headers: { Authorization: REDACTED, accept: '*/*' },
      list: [[[{ refreshToken: REDACTED, author: 'me' }]]],
    });
  });

  it('replaces the whole value of a sensitive key, whatever its type', () => {
    const out = redactor.redact({
      auth: { user: 'u', pass: 'p' },
      password: 12345,
      token: ['a', 'b'],
      secret: false,
      cookie: '',
    });
    expect(out).toEqual({ auth: REDACTED, password: REDACTED, token: REDACTED, secret: REDACTED, cookie: REDACTED });
  });

  it('leaves undefined and null values under sensitive keys alone (nothing to hide)', () => {
    const input = { password: undefined, token: null, name: 'n' };
    const out = redactor.redact(input);
    expect(out).toBe(input);
    expect(out.password).toBeUndefined();
    expect(out.token).toBeNull();
  });

  it('masks card numbers in string values at any depth and at the top level', () => {
    expect(redactor.redact(`card ${VISA}`)).toBe(`card ${REDACTED}`);
    expect(redactor.redact({ note: 'paid with 4111 1111 1111 1111', items: [{ memo: '4111-1111-1111-1111' }] })).toEqual({
      note: `paid with ${REDACTED}`,
      items: [{ memo: REDACTED }],
    });
    expect(redactor.redact(['4111111111111112', '1234567890'])).toEqual(['4111111111111112', '1234567890']);
  });

  it('is copy-on-write: never mutates its input', () => {
    const input = {
      headers: { authorization: 'Bearer x', accept: 'json' },
      body: { items: [{ card: VISA }, { ok: true }], password: 'pw' },
      keep: { untouched: { a: 1 } },
    };
    const before = structuredClone(input);
    const out = redactor.redact(input);
    expect(input).toEqual(before);
    expect(out).not.toBe(input);
    expect(out.headers).not.toBe(input.headers);
    expect(out.body.items).not.toBe(input.body.items);
    // untouched branches are shared, not copied
    expect(out.keep).toBe(input.keep);
    expect(out.body.items[1]).toBe(input.body.items[1]);
    expect(out.headers.authorization).toBe(REDACTED);
    expect(out.body.items[0]).toEqual({ card: REDACTED });
  });

  it('returns the very same reference when nothing needs redacting', () => {
    const obj = { a: 1, b: 'text', c: [1, 2, { d: 'e' }], nested: { author: 'x', id: null } };
    const arr = [1, 'two', { three: 3 }];
    expect(redactor.redact(obj)).toBe(obj);
    expect(redactor.redact(arr)).toBe(arr);
    expect(redactor.redact('plain text')).toBe('plain text');
    expect(redactor.redact(42)).toBe(42);
    expect(redactor.redact(null)).toBeNull();
    expect(redactor.redact(undefined)).toBeUndefined();
  });

  it('handles Object.create(null) objects, keeping the null prototype on the copy', () => {
    const input = Object.create(null) as Dict;
    input.password = 'pw';
    input.name = 'n';
    const inner = Object.create(null) as Dict;
    inner.token = 't';
    input.inner = inner;
    const out = redactor.redact(input);
    expect(out).not.toBe(input);
    expect(Object.getPrototypeOf(out)).toBeNull();
    expect(out.password).toBe(REDACTED);
    expect(out.name).toBe('n');
    expect(Object.getPrototypeOf(out.inner)).toBeNull();
    expect((out.inner as Dict).token).toBe(REDACTED);
    expect(input.password).toBe('pw');
    expect(inner.token).toBe('t');

    const clean = Object.create(null) as Dict;
    clean.a = 1;
    expect(redactor.redact(clean)).toBe(clean);
  });

  it('handles arrays: copies only when an element changes', () => {
    const input = [{ token: 't' }, 'x', VISA];
    const out = redactor.redact(input);
    expect(Array.isArray(out)).toBe(true);
    expect(out).toEqual([{ token: REDACTED }, 'x', REDACTED]);
    expect(input).toEqual([{ token: 't' }, 'x', VISA]);
  });

  it('leaves Dates, Buffers and Maps to their own serialisation', () => {
    const date = new Date(0);
    const buf = Buffer.from('password=1');
    const map = new Map([['token', 't']]);
    const input = { date, buf, map, clean: new (class Clean { id = 1 })() };
    const out = redactor.redact(input);
    expect(out).toBe(input);
  });

  it('walks class instances as JSON.stringify would, without mutating them', () => {
    class Account {
      user = 'ann';
      password = 'pw';
    }
    const account = new Account();
    const out = redactor.redact({ account });
    expect(out.account).toEqual({ user: 'ann', password: REDACTED });
    expect(account.password).toBe('pw');
  });

  it('describes nested Errors by the fixed fields of serializeError, never their other properties', () => {
    const err = Object.assign(new Error('boom'), { headers: { Authorization: 'Bearer x' }, code: 'E_BOOM' });
    const out = redactor.redact({ wrapped: { err } }) as unknown as { wrapped: { err: Record<string, unknown> } };
    expect(out.wrapped.err).toEqual({ type: 'Error', message: 'boom', code: 'E_BOOM', stack: expect.stringContaining('boom') });
    expect((err as unknown as { headers: { Authorization: string } }).headers.Authorization).toBe('Bearer x');
  });

  it('still redacts a class instance held under a sensitive key', () => {
    class Creds {
      user = 'u';
    }
    expect(redactor.redact({ credentials: new Creds(), date: new Date(0) })).toEqual({
      credentials: REDACTED,
      date: new Date(0),
    });
  });

  it(`replaces objects nested deeper than MAX_REDACT_DEPTH (${MAX_REDACT_DEPTH}) by "${MAX_DEPTH_MARKER}"`, () => {
    const input = nestObjects(100);
    let out: Dict | undefined;
    expect(() => {
      out = redactor.redact(input);
    }).not.toThrow();
    expect(out).toBeDefined();
    expect(out).not.toBe(input);
    const lastKept = descend(out, 'child', MAX_REDACT_DEPTH - 1);
    expect(typeof lastKept).toBe('object');
    expect(lastKept).not.toBeNull();
    expect(descend(out, 'child', MAX_REDACT_DEPTH)).toBe(MAX_DEPTH_MARKER);
    // the input is untouched
    expect(typeof descend(input, 'child', MAX_REDACT_DEPTH)).toBe('object');
    expect(descend(input, 'child', 100)).toEqual({ leaf: 'x', password: 'deep-secret' });
  });

  it('does not redact/replace anything at exactly MAX_REDACT_DEPTH - 1 levels', () => {
    const input = nestObjects(MAX_REDACT_DEPTH - 1);
    const out = redactor.redact(input);
    expect(descend(out, 'child', MAX_REDACT_DEPTH - 1)).toEqual({ leaf: 'x', password: REDACTED });
  });

  it('applies the depth limit to nested arrays too, and survives very deep input', () => {
    let arr: unknown[] = ['leaf'];
    for (let i = 0; i < 100; i++) arr = [arr];
    const out = redactor.redact(arr);
    let cur: unknown = out;
    for (let i = 0; i < MAX_REDACT_DEPTH; i++) cur = (cur as unknown[])[0];
    expect(cur).toBe(MAX_DEPTH_MARKER);

    const veryDeep = nestObjects(50_000);
    expect(() => redactor.redact(veryDeep)).not.toThrow();
  });

  it('does not throw or hang on a circular plain object', () => {
    const input: Dict = { name: 'n', password: 'pw' };
    input.self = input;
    let out: Dict | undefined;
    expect(() => {
      out = redactor.redact(input);
    }).not.toThrow();
    expect(out).toBeDefined();
    expect(out!.password).toBe(REDACTED);
    expect(out!.name).toBe('n');
    expect(input.password).toBe('pw');
    expect(input.self).toBe(input);
  });

  it('walks a circular graph with several back-references in bounded time', () => {
    // A parent with 20 children, each pointing back to the parent (ORM entities, DOM-like trees).
    // A cycle-aware walk reads each back-reference about once; a depth-only bound re-walks the graph
    // exponentially (with plain data properties, 30 children or 3 self-references take tens of seconds).
    // Property reads are counted through getters; the budget aborts a runaway walk instead of hanging.
    let reads = 0;
    const BUDGET = 100_000;
    const parent: Dict = { name: 'root', token: 't' };
    const children: Dict[] = [];
    for (let i = 0; i < 20; i++) {
      children.push({
        id: i,
        get parent(): Dict {
          reads++;
          if (reads > BUDGET) throw new Error(`runaway walk: more than ${BUDGET} back-reference reads`);
          return parent;
        },
      });
    }
    parent.children = children;
    let out: Dict | undefined;
    expect(() => {
      out = redactor.redact(parent);
    }).not.toThrow();
    expect(reads).toBeLessThanOrEqual(BUDGET);
    expect(out!.token).toBe(REDACTED);
  });

  it('walks an object with three references to itself in bounded time', () => {
    let reads = 0;
    const BUDGET = 100_000;
    const self: Dict = { secret: 's' };
    for (const key of ['a', 'b', 'c']) {
      Object.defineProperty(self, key, {
        enumerable: true,
        get(): Dict {
          reads++;
          if (reads > BUDGET) throw new Error(`runaway walk: more than ${BUDGET} self-reference reads`);
          return self;
        },
      });
    }
    let out: Dict | undefined;
    expect(() => {
      out = redactor.redact(self);
    }).not.toThrow();
    expect(reads).toBeLessThanOrEqual(BUDGET);
    expect(out!.secret).toBe(REDACTED);
  });
});

describe('isPlainObjectAnyRealm and cross-realm objects', () => {
  it('recognises plain objects from this and other realms, and nothing else', () => {
    expect(isPlainObjectAnyRealm({})).toBe(true);
    expect(isPlainObjectAnyRealm(Object.create(null) as object)).toBe(true);
    expect(isPlainObjectAnyRealm(runInNewContext('({ a: 1 })') as object)).toBe(true);
    expect(isPlainObjectAnyRealm(runInNewContext('Object.create(null)') as object)).toBe(true);
    expect(isPlainObjectAnyRealm(new Date())).toBe(false);
    expect(isPlainObjectAnyRealm(new (class Foo {})())).toBe(false);
    expect(isPlainObjectAnyRealm(runInNewContext('new (class Foo {})()') as object)).toBe(false);
    expect(isPlainObjectAnyRealm(runInNewContext('new Date(0)') as object)).toBe(false);
    expect(isPlainObjectAnyRealm(Object.create(Object.create(null) as object) as object)).toBe(false);
  });

  it('redacts plain objects created in another realm (e.g. Node-created req.headers under a sandbox)', () => {
    const redactor = createRedactor();
    const foreign = runInNewContext('({ authorization: "Bearer x", nested: { apiKey: "k", ok: 1 }, list: [{ token: "t" }] })') as Dict;
    const out = redactor.redact(foreign);
    expect(JSON.parse(JSON.stringify(out))).toEqual({
      authorization: REDACTED,
      nested: { apiKey: REDACTED, ok: 1 },
      list: [{ token: REDACTED }],
    });
    expect(foreign.authorization).toBe('Bearer x');
  });

  it('walks class instances from another realm too', () => {
    const foreign = runInNewContext('new (class Account { constructor() { this.password = "pw"; } })()') as Dict;
    const out = createRedactor().redact({ account: foreign });
    expect(out.account).toEqual({ password: REDACTED });
    expect(foreign.password).toBe('pw');
  });
});

describe('createRedactor(extraKeys)', () => {
  it('treats extra keys as sensitive, exactly, ignoring case and separators', () => {
    const r = createRedactor(['customerRef', 'x-internal-id']);
    expect(r.isSensitiveKey('customerRef')).toBe(true);
    expect(r.isSensitiveKey('customer_ref')).toBe(true);
    expect(r.isSensitiveKey('CUSTOMER-REF')).toBe(true);
    expect(r.isSensitiveKey('X_Internal_Id')).toBe(true);
    expect(r.isSensitiveKey('customerRefs')).toBe(false);
    expect(r.isSensitiveKey('ref')).toBe(false);
    // defaults still apply
    expect(r.isSensitiveKey('Authorization')).toBe(true);
    expect(r.redact({ Customer_Ref: 'c', order: { customerRef: 'c2', id: 1 } })).toEqual({
      Customer_Ref: REDACTED,
      order: { customerRef: REDACTED, id: 1 },
    });
  });

  it('does not leak extra keys into other redactors', () => {
    createRedactor(['customerRef']);
    expect(createRedactor().isSensitiveKey('customerRef')).toBe(false);
  });
});

describe('createRedactor().redactUrl', () => {
  const r = createRedactor();

  it.each([
    ['/a?token=abc', `/a?token=${REDACTED}`],
    ['/a?Token=abc', `/a?Token=${REDACTED}`],
    ['/a?TOKEN=abc&x=1', `/a?TOKEN=${REDACTED}&x=1`],
    ['/cb?access_token=eyJhbGciOi.x.y&state=ok', `/cb?access_token=${REDACTED}&state=ok`],
    ['/a?api%5Fkey=secret', `/a?api%5Fkey=${REDACTED}`],
    ['/a?api%5fKey=secret', `/a?api%5fKey=${REDACTED}`],
    ['/a?%70assword=pw', `/a?%70assword=${REDACTED}`],
    ['/a?client+secret=s', `/a?client+secret=${REDACTED}`],
    ['/a?page=2&password=hunter2&sort=asc', `/a?page=2&password=${REDACTED}&sort=asc`],
    ['/a?password=a&password=b', `/a?password=${REDACTED}&password=${REDACTED}`],
    ['https://h.example/p?x-api-key=k', `https://h.example/p?x-api-key=${REDACTED}`],
  ])('redacts the value of a sensitive query key: %s', (url, expected) => {
    expect(r.redactUrl(url)).toBe(expected);
  });

  it.each([
    [`/a?q=${VISA}`, `/a?q=${REDACTED}`],
    ['/a?q=4111+1111+1111+1111', `/a?q=${REDACTED}`],
    ['/a?q=4111%201111%201111%201111&n=1', `/a?q=${REDACTED}&n=1`],
    ['/a?q=4111-1111-1111-1111', `/a?q=${REDACTED}`],
  ])('redacts card numbers in query values: %s', (url, expected) => {
    expect(r.redactUrl(url)).toBe(expected);
  });

  it.each([
    ['/plain/path'],
    ['/a?'],
    ['/a?page=2&sort=asc'],
    ['/a?token='], // empty value: nothing to hide
    ['/a?token'], // key without '='
    ['/a?token&debug'],
    ['/a?q=4111111111111112'], // Luhn-invalid
    ['/a?id=1234567890'],
    ['/a?author=me&name=x'],
  ])('returns %s unchanged', (url) => {
    expect(r.redactUrl(url)).toBe(url);
  });

  it('does not throw on malformed percent-encoding', () => {
    expect(() => r.redactUrl('/a?x=%E0%A4%A')).not.toThrow();
    expect(r.redactUrl('/a?x=%E0%A4%A')).toBe('/a?x=%E0%A4%A');
    expect(() => r.redactUrl('/a?%ZZ=1&%=2&a=%')).not.toThrow();
    expect(r.redactUrl('/a?%ZZ=1&%=2&a=%')).toBe('/a?%ZZ=1&%=2&a=%');
    expect(r.redactUrl('/a?x=%E0%A4%A&token=1')).toBe(`/a?x=%E0%A4%A&token=${REDACTED}`);
    expect(r.redactUrl('/a?token=%E0%A4%A')).toBe(`/a?token=${REDACTED}`);
  });

  it('redacts keys listed as extra keys', () => {
    expect(createRedactor(['sig_v2']).redactUrl('/a?SIG-V2=abc&x=1')).toBe(`/a?SIG-V2=${REDACTED}&x=1`);
  });
});

describe('redactUrl keeps the fragment', () => {
  it('masks the query and keeps what follows #', () => {
    expect(createRedactor().redactUrl('/a?token=abc&x=1#frag')).toBe('/a?token=[REDACTED]&x=1#frag');
  });
});

describe('card-number masking leaves ids alone', () => {
  it.each([
    ['a UUID whose leading groups are digits', '91465625-0051-4bd8-8d25-3675d9344d93'],
    ['an all-digit UUID-shaped id', '12345678-1234-4123-8123-123456789012'],
    ['a snowflake id starting with 1', '1234567890123456789'],
    ['digits glued to letters', 'order4111111111111111'],
    ['an unbroken run starting with 9', '9111111111111116'],
  ])('does not mask %s', (_label, text) => {
    expect(maskCardNumbers(text)).toBe(text);
  });

  it.each([
    ['Visa grouped by dashes', '4111-1111-1111-1111'],
    ['Amex grouped 4-6-5', '3782 822463 10005'],
    ['Mastercard unbroken', '5500000000000004'],
  ])('masks %s', (_label, text) => {
    expect(maskCardNumbers(`paid with ${text}.`)).toBe('paid with [REDACTED].');
  });
});

describe('objects with toJSON', () => {
  const redactor = createRedactor();

  it('redacts what toJSON returns, at any depth (AxiosHeaders-like objects)', () => {
    class Headers {
      constructor(private readonly values: Dict) {}
      toJSON(): Dict {
        return { ...this.values };
      }
    }
    const headers = new Headers({ Authorization: 'Bearer x', 'X-Api-Key': 'k', accept: 'json' });
    const out = redactor.redact({ config: { headers }, list: [headers] });
    expect(JSON.parse(JSON.stringify(out))).toEqual({
      config: { headers: { Authorization: REDACTED, 'X-Api-Key': REDACTED, accept: 'json' } },
      list: [{ Authorization: REDACTED, 'X-Api-Key': REDACTED, accept: 'json' }],
    });
  });

  it('masks a string returned by toJSON, and passes the key to toJSON as JSON.stringify does', () => {
    const keys: string[] = [];
    const card = {
      toJSON(key: string): string {
        keys.push(key);
        return `card ${VISA}`;
      },
    };
    expect(redactor.redact({ payment: card })).toEqual({ payment: `card ${REDACTED}` });
    expect(keys).toEqual(['payment']);
  });

  it('writes a marker for a toJSON that throws, and never throws itself', () => {
    const hostile = {
      toJSON(): never {
        throw new Error('nope');
      },
    };
    let out: unknown;
    expect(() => {
      out = redactor.redact({ hostile, ok: 1 });
    }).not.toThrow();
    expect(out).toEqual({ hostile: '[Unserializable]', ok: 1 });
  });

  it('walks an object whose toJSON returns itself once, without looping', () => {
    let calls = 0;
    const self = {
      password: 'pw',
      name: 'n',
      toJSON(): unknown {
        calls++;
        return this;
      },
    };
    const out = redactor.redact({ self }) as Dict;
    expect(calls).toBe(1);
    expect(JSON.parse(JSON.stringify(out))).toEqual({ self: { password: REDACTED, name: 'n' } });
    expect(self.password).toBe('pw');
  });

  it('walks a toJSON result that refers back to the object in bounded time', () => {
    const node: Dict = { token: 't' };
    node.toJSON = () => ({ me: node, token: 't' });
    let out: unknown;
    expect(() => {
      out = redactor.redact({ node });
    }).not.toThrow();
    expect(JSON.parse(JSON.stringify(out))).toEqual({ node: { me: '[Circular]', token: REDACTED } });
  });
});

describe('card numbers in common written forms', () => {
  it.each([
    ['4111-1111-1111-1111 12/25', `${REDACTED} 12/25`],
    ['3782 822463 10005 12-26', `${REDACTED} 12-26`],
    ['4111 1111-1111 1111', REDACTED],
    ['4111-1111 1111-1111 exp 12/25 cvv 123', `${REDACTED} exp 12/25 cvv 123`],
    ['5500-0000-0000-0004 123', `${REDACTED} 123`],
    ['card 4111 1111 1111 1111 1225', `card ${REDACTED} 1225`],
    ['4111111111111111-12-25', `${REDACTED}-12-25`],
    ['ref 42 4111 1111 1111 1111', `ref 42 ${REDACTED}`],
    ['"pan":"4111 1111 1111 1111"', `"pan":"${REDACTED}"`],
    ['3782-822463-10005', REDACTED],
    ['6011 0000 0000 0004 and 3782 822463 10005', `${REDACTED} and ${REDACTED}`],
  ])('masks %j', (input, expected) => {
    expect(maskCardNumbers(input)).toBe(expected);
  });

  it.each([
    ['a UUID', 'f47ac10b-58cc-4372-a567-0e02b2c3d479'],
    ['an all-digit UUID-shaped id with mixed separators', '41111111-4111 4111-8111-411111111111'],
    ['an ISO timestamp', '2024-01-15T10:30:00.000Z'],
    ['an ISO date and time with a space', '2024-01-15 10:30:00'],
    ['epoch milliseconds', '1700000000000'],
    ['epoch milliseconds in text', 'at 1700000000000 ms'],
    ['an E.164 phone number', '+14155552671'],
    ['a grouped UK phone number', '+44 20 7946 0958'],
    ['a grouped US phone number', '+1 415-555-2671'],
    ['a phone number with mixed separators', '+49 30-1234 5678 90'],
    ['an order number', 'ORD-2024-000123'],
    ['an order number with a long sequence', 'ORD-2024-0004111111111111111'],
    ['a 16-digit non-Luhn id', '4111111111111112'],
    ['a 19-digit non-Luhn id', '4000000000000000001'],
    ['a 13-digit non-Luhn id starting with 5', '5000000000001'],
    ['grouped non-Luhn digits with mixed separators', '4111 1111-1111 1112'],
    ['a card-like number glued to letters', 'ord4111-1111-1111-1111'],
    ['an IBAN-like run', 'DE89 3704 0044 0532 0130 00'],
  ])('does not mask %s', (_label, text) => {
    expect(maskCardNumbers(text)).toBe(text);
  });

  it('masks the card at the end of a 1.6 MB run of separated digits', () => {
    // A scan quadratic in the run's length would take minutes here and fail by the test timeout; the linear scan
    // takes well under a second. How the time grows with the length is measured by no clock in this test.
    const run = '4 1 '.repeat(400_000) + '4111-1111 1111-1111';
    const out = maskCardNumbers(run);
    expect(out.endsWith(REDACTED)).toBe(true);
    expect(out.length).toBe(run.length - '4111-1111 1111-1111'.length + REDACTED.length);
  });
});

describe('bracketed and dotted query and form keys', () => {
  const redactor = createRedactor();

  it.each(['user[password]', 'card[cvv]', 'a[b][token]', 'user[pin]', 'payment[card][cvc]', 'passwords[0]', 'pin[]', 'api[key]'])(
    '%s is sensitive (judged by its segments)',
    (key) => {
      expect(redactor.isSensitiveKey(key)).toBe(true);
    },
  );

  it.each(['user[name]', 'items[0][id]', 'a[b][c]', 'filter[author]', 'sort[]', 'monkey[id]'])('%s is not sensitive', (key) => {
    expect(redactor.isSensitiveKey(key)).toBe(false);
  });

  it('redacts bracketed keys in query strings, encoded or not', () => {
    expect(redactor.redactUrl('/login?user[name]=ann&user[password]=pw&card[cvv]=123')).toBe(
      `/login?user[name]=ann&user[password]=${REDACTED}&card[cvv]=${REDACTED}`,
    );
    expect(redactor.redactUrl('/x?a%5Bb%5D%5Btoken%5D=t&a%5Bb%5D%5Bc%5D=c')).toBe(`/x?a%5Bb%5D%5Btoken%5D=${REDACTED}&a%5Bb%5D%5Bc%5D=c`);
  });

  it('redacts bracketed keys in body objects (urlencoded forms parsed without nesting)', () => {
    expect(redactor.redact({ 'user[name]': 'ann', 'user[password]': 'pw', 'card[cvv]': '123' })).toEqual({
      'user[name]': 'ann',
      'user[password]': REDACTED,
      'card[cvv]': REDACTED,
    });
  });
});

describe('added default sensitive keys', () => {
  const redactor = createRedactor();

  it.each(['key', 'Key', 'KEY', 'sig', 'signature', 'x-signature', 'x-auth', 'X-Auth', 'authentication', 'x-access-key', 'X-Access-Key', 'client_secret', 'refresh_token', 'private_key'])(
    '%s is sensitive',
    (key) => {
      expect(redactor.isSensitiveKey(key)).toBe(true);
    },
  );

  it.each(['monkey', 'keyboard', 'primaryKey', 'keys', 'sigma', 'signal', 'design', 'authenticated', 'x-author', 'accessKeyId'])(
    '%s is not sensitive (key and sig match whole keys only)',
    (key) => {
      expect(redactor.isSensitiveKey(key)).toBe(false);
    },
  );

  it('redacts them in query strings', () => {
    expect(redactor.redactUrl('/s3?key=abc&sig=def&monkey=1')).toBe(`/s3?key=${REDACTED}&sig=${REDACTED}&monkey=1`);
  });
});

/** The rows of the docs table, one per entry of DEFAULT_SENSITIVE_KEYS. */
function sensitiveKeyTableRows(): string[] {
  return DEFAULT_SENSITIVE_KEYS.map((entry) =>
    entry.startsWith('*') ? `| \`${entry}\` | anywhere in the key |` : `| \`${entry}\` | the whole key |`,
  );
}

describe('docs/reference/logging.md lists the default sensitive keys', () => {
  it('has a table whose entries are exactly DEFAULT_SENSITIVE_KEYS, in order', () => {
    const docs = readFileSync(join(__dirname, '..', '..', 'docs', 'reference', 'logging.md'), 'utf8');
    const start = docs.indexOf('<!-- sensitive-keys:start -->');
    const end = docs.indexOf('<!-- sensitive-keys:end -->');
    expect(start).toBeGreaterThan(-1);
    expect(end).toBeGreaterThan(start);
    const table = docs.slice(start, end);
    const rows = table.split('\n').filter((l) => l.startsWith('| `'));
    const entries = rows.map((row) => /^\| `([^`]+)` \|/.exec(row)?.[1]);
    // On a mismatch, the expected table is in the failure message: paste it between the markers.
    expect(rows).toEqual(sensitiveKeyTableRows());
    expect(entries).toEqual([...DEFAULT_SENSITIVE_KEYS]);
  });
});

describe('objects with a hostile toJSON property', () => {
  it('writes "[Unreadable]" for a toJSON getter that throws', () => {
    const hostile = Object.defineProperty({}, 'toJSON', {
      get() {
        throw new Error('no');
      },
    });
    expect(createRedactor().redact({ hostile, ok: 1 })).toEqual({ hostile: '[Unreadable]', ok: 1 });
  });
});
