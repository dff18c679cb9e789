import type { IncomingMessage } from 'node:http';

const kBaseUrl = Symbol('express-observability.baseUrl');
const kBaseTemplate = Symbol('express-observability.baseTemplate');
const kMountStack = Symbol('express-observability.mountStack');
const kRoute = Symbol('express-observability.route');
const kRouteBase = Symbol('express-observability.routeBase');

/** The parts of an Express request that tell which route matched. Typed loosely to serve Express 4 and 5. */
export interface RoutedRequest {
  baseUrl?: string;
  route?: { readonly path?: unknown } | undefined;
  params?: Record<string, unknown>;
}

type TrackedRequest = RoutedRequest & {
  [kBaseUrl]?: string;
  [kBaseTemplate]?: string;
  [kMountStack]?: string[];
  [kRoute]?: { readonly path?: unknown };
  [kRouteBase]?: string;
};

/** Replaces the segments of a mount path that hold route parameter values with `:name`. */
function templatise(removed: string, params: Record<string, unknown> | undefined): string {
  if (params === undefined) return removed;
  const keys = Object.keys(params);
  if (keys.length === 0) return removed;
  const segments = removed.split('/');
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment === '') continue;
    let decoded = segment;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      // keep the raw segment
    }
    for (const key of keys) {
      if (params[key] === decoded) {
        segments[i] = `:${key}`;
        break;
      }
    }
  }
  return segments.join('/');
}

// Express assigns req.baseUrl when a request enters or leaves a mounted router, right after setting req.params
// to the mount's parameters, and assigns req.route when a route matches. Observing those assignments gives the
// full template (mount prefixes with their parameter names, plus the route path) even when an error later
// leaves the router and Express restores req.baseUrl.
const baseUrlDescriptor: PropertyDescriptor = {
  configurable: true,
  enumerable: true,
  get(this: TrackedRequest) {
    return this[kBaseUrl];
  },
  set(this: TrackedRequest, value: string) {
    const previous = this[kBaseUrl] ?? '';
    if (value === previous) return;
    if (typeof value === 'string' && value.length > previous.length && value.startsWith(previous)) {
      const stack = (this[kMountStack] ??= []);
      stack.push(previous, this[kBaseTemplate] ?? previous);
      this[kBaseTemplate] = (this[kBaseTemplate] ?? previous) + templatise(value.slice(previous.length), this.params);
    } else {
      const stack = this[kMountStack];
      let template: string | undefined;
      while (stack !== undefined && stack.length > 0) {
        const savedTemplate = stack.pop()!;
        const savedBase = stack.pop()!;
        if (savedBase === value) {
          template = savedTemplate;
          break;
        }
      }
      this[kBaseTemplate] = template ?? value;
    }
    this[kBaseUrl] = value;
  },
};

const routeDescriptor: PropertyDescriptor = {
  configurable: true,
  enumerable: true,
  get(this: TrackedRequest) {
    return this[kRoute];
  },
  set(this: TrackedRequest, value: { readonly path?: unknown }) {
    this[kRoute] = value;
    this[kRouteBase] = this[kBaseTemplate] ?? this[kBaseUrl] ?? '';
  },
};

/**
 * Starts following which routers and route a request goes through. Call once, early, from app-level
 * middleware; calling it again for the same request does nothing.
 */
export function trackRoute(req: IncomingMessage): void {
  const r = req as IncomingMessage & TrackedRequest;
  if (kBaseUrl in r) return;
  const base = typeof r.baseUrl === 'string' ? r.baseUrl : '';
  r[kBaseUrl] = base;
  r[kBaseTemplate] = base;
  Object.defineProperty(r, 'baseUrl', baseUrlDescriptor);
  Object.defineProperty(r, 'route', routeDescriptor);
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
 * parameter names (`/tenants/:tenantId` + `/users/:id`), or undefined when no route matched. Values come from
 * the application's route definitions, never from the client, so their number is bounded by the code.
 */
export function routeTemplate(req: RoutedRequest): string | undefined {
  const r = req as TrackedRequest;
  const route = r.route;
  if (route === undefined || route === null) return undefined;
  const path = formatPath(route.path);
  if (path === undefined) return undefined;
  const base = kRouteBase in r ? r[kRouteBase]! : (r.baseUrl ?? '');
  if (base === '') return path;
  return path === '/' ? base : base + path;
}
