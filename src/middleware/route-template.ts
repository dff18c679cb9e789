import { IncomingMessage } from 'node:http';
import { peekState, stateOf } from './request-state';
import { formatPath } from '../logging/http-summary';

/** The parts of an Express request that tell which route matched. Typed loosely to serve Express 4 and 5. */
export interface RoutedRequest {
  baseUrl?: string;
  route?: { readonly path?: unknown } | undefined;
  params?: Record<string, unknown>;
}


/** What the library reads of an Express router layer (Express 4's `lib/router/layer.js`, Express 5's `router`). */
interface LayerLike {
  readonly handle?: unknown;
  readonly route?: unknown;
  /** router >= 2.3 (Express 5): the path given to `use()`, as written. */
  readonly rawPath?: unknown;
  /** router 2.x (Express 5): one stateless matcher per path. */
  readonly matchers?: unknown;
  /** router 2.x: mounted without a path. */
  readonly slash?: unknown;
  /** Express 4: the compiled path, with `fast_slash` when mounted without a path and `fast_star` for `'*'`. */
  readonly regexp?: unknown;
  readonly keys?: unknown;
}

interface RouterLike {
  readonly stack: readonly LayerLike[];
}

/** A mount layer: how much of a path it matches, and its template, computed once from the layer. */
interface MountCandidate {
  readonly layer: LayerLike;
  readonly template: string;
  readonly routerInside: RouterLike | undefined;
  readonly subApp: boolean;
  /** Length of the prefix of `path` the layer matches, or -1. */
  matchLength(path: string): number;
}

/** One mounted router the request is inside, outermost first. */
interface MountFrame {
  /** req.baseUrl inside it. */
  readonly base: string;
  readonly template: string;
  /** Where the mounts it contains are looked up; undefined when the layer's handle is not a router. */
  router: RouterLike | undefined;
  /** The application when the frame was entered, to recognise a sub-application taking over. */
  app: unknown;
  /** Index in the router's candidates after the layer entered last: Express tries layers in order. */
  next: number;
}

/**
 * The template of a mount whose pattern cannot be read (a router package older than 2.3 under Express 5, a router
 * called from a function of the application's own): a fixed text, so that clients cannot vary it.
 */
export const UNKNOWN_MOUNT_TEMPLATE = '/*';

function routerOf(handle: unknown): RouterLike | undefined {
  return typeof handle === 'function' && Array.isArray((handle as { stack?: unknown }).stack) ? (handle as unknown as RouterLike) : undefined;
}

/** The router of an Express application: `_router` in Express 4 (whose `app.router` throws), `router` in 5. */
function appRouter(app: unknown): RouterLike | undefined {
  if (typeof app !== 'function') return undefined;
  const own = (app as { _router?: unknown })._router;
  if (own !== undefined) return routerOf(own);
  try {
    return routerOf((app as { router?: unknown }).router);
  } catch {
    return undefined;
  }
}

function isPathless(layer: LayerLike): boolean {
  if (layer.slash === true) return true;
  const re = layer.regexp as { fast_slash?: unknown } | undefined;
  return re !== undefined && re !== null && re.fast_slash === true;
}

// --- Express 4: the path given to use() is not kept, only what path-to-regexp 0.1 compiled it to. Its output for
// a string path is read back (`^\/api\/(?:([^\/]+?))-(?:([^\/]+?))\/?(?=\/|$)` is `/api/:from-:to`); anything
// else, a RegExp mount included, is shown as the regular expression.

// RegExp#source escapes "/" outside character classes only.
const DEFAULT_CAPTURES = new Set(['[^/]+?', '[^/\\.]+?', '[^\\/]+?', '[^\\/\\.]+?']);
const STAR_GROUPS = new Set(['((?:[/].+?)?)', '((?:[/\\.].+?)?)', '((?:[\\/].+?)?)', '((?:[\\/\\.].+?)?)']);
const MOUNT_SUFFIXES = ['\\/?(?=\\/|$)', '(?=\\/|$)', '\\/?(?:\\/|$)', '(?:\\/|$)', '\\/?$', '$'];

/** Index just past the group opening at `start` (`(`), skipping escapes and character classes; -1 if unbalanced. */
function groupEnd(src: string, start: number): number {
  let depth = 0;
  let inClass = false;
  for (let i = start; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  return -1;
}

/** Top-level alternatives of a regular expression source. */
function alternatives(src: string): string[] {
  const parts: string[] = [];
  let from = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') i++;
    else if (c === '(' || c === '[') {
      const end = c === '(' ? groupEnd(src, i) : src.indexOf(']', i + 1) + 1;
      if (end <= 0) return [src];
      i = end - 1;
    } else if (c === '|') {
      parts.push(src.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(src.slice(from));
  return parts;
}

function readPathToRegexp01(src: string, keys: readonly { name?: unknown }[], keyIndex: { i: number }): string | undefined {
  if (!src.startsWith('^')) return undefined;
  let body = src.slice(1);
  const suffix = MOUNT_SUFFIXES.find((s) => body.endsWith(s));
  if (suffix !== undefined) body = body.slice(0, body.length - suffix.length);
  const keyName = () => {
    const key = keys[keyIndex.i++];
    return key === undefined ? undefined : String(key.name);
  };
  let out = '';
  for (let i = 0; i < body.length; ) {
    const c = body[i]!;
    if (c === '\\') {
      const next = body[i + 1];
      if (next === undefined || /[A-Za-z0-9]/.test(next)) return undefined;
      out += next;
      i += 2;
      continue;
    }
    if (c === '(') {
      const end = groupEnd(body, i);
      if (end === -1) return undefined;
      const optional = body[end] === '?';
      if (body.startsWith('(?:', i)) {
        let inner = body.slice(i + 3, end - 1);
        let prefix = '';
        if (inner.startsWith('\\.')) {
          prefix += '.';
          inner = inner.slice(2);
        }
        if (inner.startsWith('\\/')) {
          prefix += '/';
          inner = inner.slice(2);
        }
        if (!inner.startsWith('(') || inner.startsWith('(?')) return undefined;
        const captureEnd = groupEnd(inner, 0);
        if (captureEnd === -1) return undefined;
        const capture = inner.slice(1, captureEnd - 1);
        const rest = inner.slice(captureEnd);
        if (rest !== '' && !STAR_GROUPS.has(rest)) return undefined;
        const name = keyName();
        if (name === undefined) return undefined;
        if (rest !== '') keyName();
        const custom = DEFAULT_CAPTURES.has(capture) || /^\(\?:\(\?!\\?\/\|.*\)\.\)\+\?$/.test(capture) ? '' : `(${capture})`;
        out += `${prefix}:${name}${custom}${rest !== '' ? '*' : ''}${optional ? '?' : ''}`;
      } else {
        if (body.slice(i, end) !== '(.*)' || optional || keyName() === undefined) return undefined;
        out += '*';
      }
      i = end + (optional ? 1 : 0);
      continue;
    }
    if ('.*+?|[]{}^$)'.includes(c)) return undefined;
    out += c;
    i++;
  }
  return out;
}

function express4Template(re: RegExp, keys: unknown): string {
  const list = Array.isArray(keys) ? (keys as { name?: unknown }[]) : [];
  const keyIndex = { i: 0 };
  const parts: string[] = [];
  for (const alternative of alternatives(re.source)) {
    const part = readPathToRegexp01(alternative, list, keyIndex);
    if (part === undefined) return `/${re.source}/`;
    parts.push(part);
  }
  return parts.join('|');
}

const candidates = new WeakMap<object, MountCandidate>();

function candidateOf(layer: LayerLike): MountCandidate {
  let found = candidates.get(layer);
  if (found !== undefined) return found;
  let template = UNKNOWN_MOUNT_TEMPLATE;
  let matchLength: (path: string) => number = () => -1;
  const matchers = layer.matchers;
  const re = layer.regexp;
  if (Array.isArray(matchers)) {
    if ('rawPath' in layer) template = formatPath(layer.rawPath) ?? UNKNOWN_MOUNT_TEMPLATE;
    matchLength = (path) => {
      for (const matcher of matchers as unknown[]) {
        if (typeof matcher !== 'function') continue;
        const m = (matcher as (p: string) => { path?: unknown } | false)(path);
        if (m && typeof m.path === 'string') return m.path.length;
      }
      return -1;
    };
  } else if (re instanceof RegExp) {
    const star = (re as { fast_star?: unknown }).fast_star === true;
    template = star ? '*' : express4Template(re, layer.keys);
    matchLength = (path) => {
      if (star) return path.length;
      const m = re.exec(path);
      return m === null ? -1 : m[0].length;
    };
  }
  const handle = layer.handle;
  found = {
    layer,
    template,
    routerInside: routerOf(handle),
    subApp: typeof handle === 'function' && handle.name === 'mounted_app',
    matchLength(path) {
      try {
        return matchLength(path);
      } catch {
        return -1; // a parameter that does not decode: Express does not enter the layer either
      }
    },
  };
  candidates.set(layer, found);
  return found;
}

/** The mount layers of a router in the order Express tries them, looking into routers mounted without a path. */
interface FlatMounts {
  readonly list: MountCandidate[];
  /** Each router's stack and its length when read: a layer added later invalidates the list. */
  readonly stacks: (readonly LayerLike[] | number)[];
}

const flattened = new WeakMap<object, FlatMounts>();

function collectMounts(router: RouterLike, into: FlatMounts, depth: number): void {
  const stack = router.stack;
  into.stacks.push(stack, stack.length);
  for (const layer of stack) {
    if (layer === null || typeof layer !== 'object' || (layer.route !== undefined && layer.route !== null)) continue;
    if (isPathless(layer)) {
      const inner = routerOf(layer.handle);
      if (inner !== undefined && depth < 16) collectMounts(inner, into, depth + 1);
      continue;
    }
    into.list.push(candidateOf(layer));
  }
}

function mountsOf(router: RouterLike): MountCandidate[] {
  let flat = flattened.get(router);
  if (flat !== undefined) {
    const stacks = flat.stacks;
    let fresh = true;
    for (let i = 0; i < stacks.length; i += 2) if ((stacks[i] as readonly LayerLike[]).length !== stacks[i + 1]) fresh = false;
    if (fresh) return flat.list;
  }
  flat = { list: [], stacks: [] };
  collectMounts(router, flat, 0);
  flattened.set(router, flat);
  return flat.list;
}

/** The path part of a request target (Express matches layers against it, percent-encoded). */
function pathnameOf(url: string): string {
  let start = 0;
  if (url.charCodeAt(0) !== 47) {
    const scheme = url.indexOf('://');
    if (scheme !== -1) {
      const slash = url.indexOf('/', scheme + 3);
      start = slash === -1 ? url.length : slash;
    }
  }
  const query = url.indexOf('?', start);
  return url.slice(start, query === -1 ? url.length : query);
}

/** The template of what the request's application was mounted on, from the applications' mount paths. */
function appMountTemplate(app: unknown): string {
  let template = '';
  let current = app as { mountpath?: unknown; parent?: unknown } | undefined;
  for (let depth = 0; current !== undefined && current !== null && current.parent !== undefined && depth < 16; depth++) {
    const part = formatPath(current.mountpath);
    if (part === undefined) return UNKNOWN_MOUNT_TEMPLATE;
    template = (part === '/' ? '' : part) + template;
    current = current.parent as typeof current;
  }
  return template === '' ? UNKNOWN_MOUNT_TEMPLATE : template;
}

/** The applications from the one serving the request up to the outermost, outermost first. */
function appChain(app: unknown): unknown[] {
  const chain: unknown[] = [];
  let current = app;
  for (let depth = 0; typeof current === 'function' && depth < 16; depth++) {
    chain.unshift(current);
    current = (current as { parent?: unknown }).parent;
  }
  return chain;
}

/**
 * The mounts a request is inside when observation begins with `req.baseUrl` already set (the middleware mounted
 * under a path, in a mounted router or in a sub-application): the layers Express entered are found again by
 * matching `base` from the outermost application's router down, trying them in order as Express does. Returns the
 * frames, outermost first, or undefined when no chain of layers the library can read gives `base`.
 */
function framesFor(req: TrackedRequest, base: string): MountFrame[] | undefined {
  const apps = appChain(req.app);
  const root = appRouter(apps[0]);
  if (root === undefined) return undefined;
  const path = base + pathnameOf(typeof req.url === 'string' ? req.url : '');
  const frames: MountFrame[] = [{ base: '', template: '', router: root, app: apps[0], next: 0 }];
  const descend = (frame: MountFrame, appIndex: number, depth: number): boolean => {
    const consumed = frame.base.length;
    if (consumed === base.length) return true;
    if (frame.router === undefined || depth >= 16) return false;
    const rest = path.slice(consumed);
    const list = mountsOf(frame.router);
    for (let i = 0; i < list.length; i++) {
      const candidate = list[i]!;
      const length = candidate.matchLength(rest);
      if (length <= 0) continue;
      // Express sets req.baseUrl to what the layer matched, without a trailing slash.
      const end = consumed + (rest.charCodeAt(length - 1) === 47 ? length - 1 : length);
      if (end <= consumed || end > base.length || (end < base.length && base.charCodeAt(end) !== 47)) continue;
      let router = candidate.routerInside;
      let app = frame.app;
      let nextApp = appIndex;
      if (candidate.subApp) {
        nextApp = appIndex + 1;
        if (nextApp >= apps.length) continue;
        app = apps[nextApp];
        router = appRouter(app);
      }
      const part = candidate.template;
      const entered: MountFrame = { base: base.slice(0, end), template: frame.template + (part === '/' ? '' : part), router, app, next: 0 };
      frames.push(entered);
      if (descend(entered, nextApp, depth + 1)) {
        frame.next = i + 1;
        return true;
      }
      frames.pop();
    }
    // A sub-application mounted without a path is not among the mounts: its router continues at the same base.
    const inner = apps[appIndex + 1] as { mountpath?: unknown } | undefined;
    if (inner !== undefined && inner.mountpath === '/') {
      const { router, app, next } = frame;
      frame.router = appRouter(inner);
      frame.app = inner;
      frame.next = 0;
      if (descend(frame, appIndex + 1, depth + 1)) return true;
      Object.assign(frame, { router, app, next });
    }
    return false;
  };
  return descend(frames[0]!, 0, 0) ? frames : undefined;
}

type TrackedRequest = RoutedRequest & { app?: unknown; url?: string };

/** Finds the layer Express entered when it set req.baseUrl from `previous` to `value`, and returns its frame. */
function enterMount(req: TrackedRequest, stack: MountFrame[], previous: string, value: string, template: string): MountFrame {
  const app = req.app;
  let frame = stack[stack.length - 1];
  if (frame === undefined) {
    frame = { base: previous, template, router: appRouter(app), app, next: 0 };
    stack.push(frame);
  } else if (frame.router === undefined && app !== frame.app) {
    // A sub-application took over: its router holds the next mounts.
    frame.router = appRouter(app);
    frame.app = app;
  }
  const removed = value.slice(previous.length);
  const path = removed + pathnameOf(typeof req.url === 'string' ? req.url : '');
  let entered: MountCandidate | undefined;
  if (frame.router !== undefined) {
    const list = mountsOf(frame.router);
    for (let i = frame.next; i < list.length; i++) {
      const length = list[i]!.matchLength(path);
      if (length === removed.length || (length === removed.length + 1 && path.charCodeAt(removed.length) === 47)) {
        entered = list[i];
        frame.next = i + 1;
        break;
      }
    }
  }
  if (entered?.subApp === true) {
    // A sub-application puts its own request prototype in place, which lacks the accessors: keep them on the request.
    Object.defineProperty(req, 'baseUrl', baseUrlDescriptor);
    Object.defineProperty(req, 'route', routeDescriptor);
  }
  const part = entered === undefined ? UNKNOWN_MOUNT_TEMPLATE : entered.template;
  return { base: value, template: template + (part === '/' ? '' : part), router: entered?.routerInside, app, next: 0 };
}

// Express assigns req.baseUrl when a request enters or leaves a mounted router and req.route when a route
// matches. Observing those assignments, and reading the pattern of the layer entered from the router's stack,
// gives the full template (mount patterns as written, plus the route path) from the application's code only,
// even when an error later leaves the router and Express restores req.baseUrl.
function setBaseUrl(this: TrackedRequest, value: string): void {
  const state = stateOf(this);
  const previous = state.baseUrl ?? '';
  // Before trackRoute() (Express 5 sets req.baseUrl through an already prepared prototype before the library's
  // middleware runs), only the value is kept: trackRoute() works out the mounts from it.
  if (!state.tracked || value === previous || typeof value !== 'string') {
    state.baseUrl = value;
    return;
  }
  const stack = (state.mountStack ??= []) as MountFrame[];
  if (value.length > previous.length && value.startsWith(previous)) {
    const frame = enterMount(this, stack, previous, value, state.baseTemplate ?? UNKNOWN_MOUNT_TEMPLATE);
    stack.push(frame);
    state.baseTemplate = frame.template;
  } else {
    let template: string | undefined;
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      if (frame.base === value) {
        template = frame.template;
        break;
      }
      stack.pop();
    }
    state.baseTemplate = template ?? (value === '' ? '' : UNKNOWN_MOUNT_TEMPLATE);
  }
  state.baseUrl = value;
}

function setRoute(this: RoutedRequest, value: { readonly path?: unknown }): void {
  const state = stateOf(this);
  state.route = value;
  state.routeBase = state.baseTemplate ?? (state.baseUrl ? UNKNOWN_MOUNT_TEMPLATE : '');
}

const baseUrlDescriptor: PropertyDescriptor = {
  configurable: true,
  enumerable: true,
  get(this: RoutedRequest) {
    return peekState(this)?.baseUrl;
  },
  set: setBaseUrl,
};
const routeDescriptor: PropertyDescriptor = {
  configurable: true,
  enumerable: true,
  get(this: RoutedRequest) {
    return peekState(this)?.route;
  },
  set: setRoute,
};

/** Express's per-application request prototypes that already carry the accessors. */
const preparedPrototypes = new WeakSet<object>();

/**
 * Starts following which routers and route a request goes through. Call once, early, from app-level middleware.
 *
 * The accessors go on the application's own request prototype (Express gives each app one, `app.request`), so
 * requests keep V8's fast property layout; only a request that already carries its own `baseUrl` (the first one
 * of each app) gets them on itself. Node's shared `IncomingMessage.prototype` is never touched.
 */
export function trackRoute(req: IncomingMessage): void {
  const r = req as IncomingMessage & RoutedRequest;
  const state = stateOf(r);
  if (state.tracked) return;
  state.tracked = true;
  const proto = Object.getPrototypeOf(r) as object | null;
  if (proto !== null && proto !== IncomingMessage.prototype && !preparedPrototypes.has(proto)) {
    preparedPrototypes.add(proto);
    Object.defineProperty(proto, 'baseUrl', baseUrlDescriptor);
    Object.defineProperty(proto, 'route', routeDescriptor);
  }
  const ownBase = Object.prototype.hasOwnProperty.call(r, 'baseUrl');
  const ownRoute = Object.prototype.hasOwnProperty.call(r, 'route') ? r.route : undefined;
  const base = typeof r.baseUrl === 'string' ? r.baseUrl : '';
  state.baseUrl = base;
  if (base === '') {
    state.mountStack = undefined;
    state.baseTemplate = '';
  } else {
    // Mounted under a path: the frames let a later restore of req.baseUrl find the outer templates again.
    const frames = framesFor(r as TrackedRequest, base);
    state.mountStack = frames;
    state.baseTemplate = frames === undefined ? appMountTemplate((r as TrackedRequest).app) : frames[frames.length - 1]!.template;
  }
  if (ownBase || proto === IncomingMessage.prototype || proto === null) {
    Object.defineProperty(r, 'baseUrl', baseUrlDescriptor);
    Object.defineProperty(r, 'route', routeDescriptor);
    if (ownRoute !== undefined) state.route = ownRoute;
  }
}

/**
 * The template of the route that matched, including the patterns routers were mounted on
 * (`/tenants/:tenantId` + `/users/:id`), or undefined when no route matched. Every part comes from the
 * application's code (route and mount paths as written), never from the request's path, so clients cannot create
 * route labels; docs/reference/metrics.md says how each kind of path is written.
 */
export function routeTemplate(req: RoutedRequest): string | undefined {
  const route = req.route;
  if (route === undefined || route === null) return undefined;
  const path = formatPath(route.path);
  if (path === undefined) return undefined;
  const base = peekState(req)?.routeBase ?? (req.baseUrl ? UNKNOWN_MOUNT_TEMPLATE : '');
  if (base === '') return path;
  return path === '/' ? base : base + path;
}
