import { canonicalJson } from './chain';

/** Bounds of what the record keeps of `before` and `after`. */
export const CHANGE_LIMITS = Object.freeze({ maxDepth: 8, maxPaths: 100 });

/** The changed paths of a change, and the values before and after at those paths only. */
export interface Changes {
  readonly changed: string[];
  readonly before: unknown;
  readonly after: unknown;
  /** More paths changed than {@link CHANGE_LIMITS}`.maxPaths`. */
  readonly truncated: boolean;
}

/** A value as JSON data (BigInts as text); `'[Unserializable]'` when JSON cannot write it. */
export function plainData(value: unknown): unknown {
  if (value === undefined) return undefined;
  try {
    const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return '[Unserializable]';
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i]!;
    // Own properties only: `__proto__` read through `node[key]` would be Object.prototype itself.
    let next = Object.hasOwn(node, key) ? node[key] : undefined;
    if (!isObject(next)) {
      next = {};
      Object.defineProperty(node, key, { value: next, enumerable: true, writable: true, configurable: true });
    }
    node = next as Record<string, unknown>;
  }
  Object.defineProperty(node, path[path.length - 1]!, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Compares `before` and `after` (as JSON data: dates as text, functions left out) and keeps only what differs:
 * the dotted paths of the values that changed, were added or removed, and `before`/`after` holding those paths
 * only. Arrays are compared as whole values. Objects deeper than {@link CHANGE_LIMITS}`.maxDepth` are compared as
 * whole values too. Undefined when neither is given.
 */
export function diffChanges(beforeInput: unknown, afterInput: unknown): Changes | undefined {
  if (beforeInput === undefined && afterInput === undefined) return undefined;
  const before = plainData(beforeInput);
  const after = plainData(afterInput);
  if (!isObject(before) || !isObject(after)) {
    if (canonicalJson(before) === canonicalJson(after)) return { changed: [], before: undefined, after: undefined, truncated: false };
    return { changed: [''], before, after, truncated: false };
  }
  const changed: string[] = [];
  const beforeOut: Record<string, unknown> = {};
  const afterOut: Record<string, unknown> = {};
  let truncated = false;
  const walk = (b: Record<string, unknown>, a: Record<string, unknown>, path: string[]): void => {
    const keys = new Set([...Object.keys(b), ...Object.keys(a)]);
    for (const key of [...keys].sort()) {
      if (changed.length >= CHANGE_LIMITS.maxPaths) {
        truncated = true;
        return;
      }
      const bv = Object.hasOwn(b, key) ? b[key] : undefined;
      const av = Object.hasOwn(a, key) ? a[key] : undefined;
      const here = [...path, key];
      if (isObject(bv) && isObject(av) && here.length < CHANGE_LIMITS.maxDepth) {
        walk(bv, av, here);
        continue;
      }
      if (canonicalJson(bv ?? null) === canonicalJson(av ?? null) && (bv === undefined) === (av === undefined)) continue;
      changed.push(here.join('.'));
      if (bv !== undefined) setPath(beforeOut, here, bv);
      if (av !== undefined) setPath(afterOut, here, av);
    }
  };
  walk(before, after, []);
  return { changed, before: beforeOut, after: afterOut, truncated };
}
