import { IncomingMessage } from 'node:http';
import { peekState, stateOf } from './request-state';


/** The parts of an Express request that tell which route matched. Typed loosely to serve Express 4 and 5. */
export interface RoutedRequest {
  baseUrl?: string;
  route?: { readonly path?: unknown } | undefined;
  params?: Record<string, unknown>;
}


function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * Turns the part of the URL a router was mounted on into a template: the values of the mount's own parameters
 * (not those inherited from outer routers with mergeParams) become `:name`, also inside a segment
 * (`/cards/:num.json`), each name used once; the rest is lower-cased, as Express matches paths case-insensitively
 * by default, so `/API/v1` and `/api/v1` give one template.
 */
function templatise(removed: string, params: Record<string, unknown> | undefined, outer: Record<string, unknown> | undefined): string {
  const candidates: [string, string][] = [];
  if (params !== undefined) {
    for (const key of Object.keys(params)) {
      const value = params[key];
      if (typeof value !== 'string' || value === '') continue;
      if (outer !== undefined && outer[key] === value) continue;
      candidates.push([key, value]);
    }
    // Longest values first, so a value contained in another cannot take its place.
    candidates.sort((a, b) => b[1].length - a[1].length);
  }
  const segments = removed.split('/');
  const decoded = segments.map(decode);
  const done: boolean[] = segments.map((segment) => segment === '');
  // First whole segments, then values inside a segment, so `/projects/p` maps `p`, not the `p` of `projects`.
  for (let i = 0; i < segments.length && candidates.length > 0; i++) {
    if (done[i]) continue;
    const c = candidates.findIndex(([, value]) => value === decoded[i]);
    if (c === -1) continue;
    segments[i] = `:${candidates[c]![0]}`;
    done[i] = true;
    candidates.splice(c, 1);
  }
  for (let i = 0; i < segments.length && candidates.length > 0; i++) {
    if (done[i]) continue;
    const lower = decoded[i]!.toLowerCase();
    const c = candidates.findIndex(([, value]) => value.length >= 2 && lower.includes(value.toLowerCase()));
    if (c === -1) continue;
    const [key, value] = candidates[c]!;
    segments[i] = lower.replace(value.toLowerCase(), `:${key}`);
    done[i] = true;
    candidates.splice(c, 1);
  }
  for (let i = 0; i < segments.length; i++) if (!done[i]) segments[i] = segments[i]!.toLowerCase();
  return segments.join('/');
}

// Express assigns req.baseUrl when a request enters or leaves a mounted router, right after setting req.params
// to the mount's parameters, and assigns req.route when a route matches. Observing those assignments gives the
// full template (mount prefixes with their parameter names, plus the route path) even when an error later
// leaves the router and Express restores req.baseUrl.
function setBaseUrl(this: RoutedRequest, value: string): void {
  const state = stateOf(this);
  const previous = state.baseUrl ?? '';
  if (value === previous || typeof value !== 'string') {
    state.baseUrl = value;
    return;
  }
  if (value.length > previous.length && value.startsWith(previous)) {
    const stack = (state.mountStack ??= []);
    const template = state.baseTemplate ?? previous;
    stack.push(previous, template, state.mountParams);
    const params = this.params;
    state.baseTemplate = template + templatise(value.slice(previous.length), params, state.mountParams);
    state.mountParams = params;
  } else {
    const stack = state.mountStack;
    let template: string | undefined;
    while (stack !== undefined && stack.length > 0) {
      const savedParams = stack.pop() as Record<string, unknown> | undefined;
      const savedTemplate = stack.pop() as string;
      const savedBase = stack.pop() as string;
      if (savedBase === value) {
        template = savedTemplate;
        state.mountParams = savedParams;
        break;
      }
    }
    state.baseTemplate = template ?? value;
  }
  state.baseUrl = value;
}

function setRoute(this: RoutedRequest, value: { readonly path?: unknown }): void {
  const state = stateOf(this);
  state.route = value;
  state.routeBase = state.baseTemplate ?? state.baseUrl ?? '';
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
  state.baseTemplate = base;
  state.mountParams = undefined;
  if (ownBase || proto === IncomingMessage.prototype || proto === null) {
    Object.defineProperty(r, 'baseUrl', baseUrlDescriptor);
    Object.defineProperty(r, 'route', routeDescriptor);
    if (ownRoute !== undefined) state.route = ownRoute;
  }
}

function formatPath(path: unknown): string | undefined {
  if (typeof path === 'string') return path;
  if (path instanceof RegExp) return `/${path.source}/`;
  if (Array.isArray(path)) {
    const parts = path.map(formatPath).filter((p): p is string => p !== undefined);
    return parts.length > 0 ? parts.join('|') : undefined;
  }
  return undefined;
}

/**
 * The template of the route that matched, including the prefixes routers were mounted under, with their
 * parameter names (`/tenants/:tenantId` + `/users/:id`), or undefined when no route matched. The route part comes
 * from the application's route definitions; the mount prefixes from the URL with parameter values replaced.
 */
export function routeTemplate(req: RoutedRequest): string | undefined {
  const route = req.route;
  if (route === undefined || route === null) return undefined;
  const path = formatPath(route.path);
  if (path === undefined) return undefined;
  const base = peekState(req)?.routeBase ?? req.baseUrl ?? '';
  if (base === '') return path;
  return path === '/' ? base : base + path;
}
