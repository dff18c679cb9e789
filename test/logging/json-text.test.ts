import { jsonMillis, jsonNumber, jsonOptionalString, jsonString } from '../../src/logging/json-text';

describe('JSON text pieces give exactly what JSON.stringify gives', () => {
  it('jsonString: plain, quoted, escaped, control characters, non-ASCII, surrogate pairs and lone surrogates', () => {
    const samples = [
      '', 'plain', '/users/42?page=2', 'a"b', 'back\\slash', 'tab\there', 'new\nline', '\u0000\u001f\u007f', 'é ü 漢字', '😀 pair',
      '\ud800 lone high', 'lone low \udc00', '\u2028\u2029', '</script>', 'x'.repeat(5000),
    ];
    for (const s of samples) expect(jsonString(s)).toBe(JSON.stringify(s));
    // Every single UTF-16 code unit, and each after a high surrogate.
    const wrong: string[] = [];
    for (let c = 0; c < 0x10000; c++) {
      const s = String.fromCharCode(c);
      if (jsonString(s) !== JSON.stringify(s)) wrong.push(s);
      if (jsonString(`\ud83d${s}`) !== JSON.stringify(`\ud83d${s}`)) wrong.push(`\ud83d${s}`);
    }
    expect(wrong).toEqual([]);
    expect(jsonOptionalString(undefined)).toBeUndefined();
    expect(jsonOptionalString('a"')).toBe(JSON.stringify('a"'));
  });

  it('jsonNumber: integers, fractions, NaN and the infinities (null, as JSON writes them)', () => {
    for (const n of [0, -0, 1, -1, 59, 2 ** 53, 1.5, 0.1 + 0.2, 1e21, 1e-7, Number.NaN, Infinity, -Infinity]) {
      expect(jsonNumber(n)).toBe(JSON.stringify(n));
    }
  });

  it('jsonMillis: the duration rounded to the microsecond, for 300,000 random durations, every microsecond of the first second and the edges', () => {
    // Compared in a plain loop, the mismatches listed at the end (an expect per value would take minutes).
    const wrong: number[] = [];
    const check = (ms: number): void => {
      if (jsonMillis(ms) !== JSON.stringify(Math.round(ms * 1000) / 1000)) wrong.push(ms);
    };
    for (const ms of [8796093022208.03, 2 ** 42 + 0.001, 2 ** 43 + 0.03, 4398046511103.999, 0, -0, 0.0004, 0.0005, 0.001, 0.01, 0.1, 0.081, 0.1005, 1, 1.5, 1.05, 1.005, 10.2, 999.999, 1000, 123456.789, -0.0004, -1.25, 2 ** 40 + 0.5, 9e12, 1e16, Number.NaN, Infinity]) {
      check(ms);
    }
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 300_000; i++) {
      const scale = 10 ** Math.floor(random() * 8 - 2);
      check(random() * scale);
    }
    // Around 2^42 ms and beyond, where neighbouring microseconds start to share a double.
    for (let e = 38; e <= 50; e++) for (let k = 0; k < 2000; k++) check(2 ** e + k * 0.001 + random() * 0.001);
    // Every microsecond of the first second.
    for (let micros = 0; micros < 1_000_000; micros++) check(micros / 1000);
    expect(wrong).toEqual([]);
  });
});
