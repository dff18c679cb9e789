import { Counter, type Registry } from 'prom-client';
import { getRequestContext, requestOf } from '../context/request-context';
import { clientIp } from '../logging/http-summary';
import { FailureCounter } from './brute-force';
import type { AuditTrail } from './trail';
import type { AuditActor, AuditOutcome, AuditTarget, PendingAudit } from './types';

/** Fields every security helper takes besides its own: the actor's and anything else, kept under `details`. */
export interface SecurityEventFields {
  /** The user the event is about. Default: the request field `userId`. */
  readonly userId?: string | number;
  /** The actor, when it is not only `userId` (its `ip` and `userAgent` default to the request's). */
  readonly actor?: AuditActor;
  readonly reason?: string;
  readonly [field: string]: unknown;
}

/** The security helpers of an instance (`obs.security`); each writes one audit record on the `security` channel. */
export interface SecurityEvents {
  /** `auth.login`, outcome success. `method`: `password`, `sso`, `api_key`, ... Resets the user's failure count. */
  loginSucceeded(fields: SecurityEventFields & { readonly method?: string }): PendingAudit;
  /**
   * `auth.login`, outcome failure, severity high. `userId` or `username` (the name tried, for unknown users) and
   * the source address are counted for brute-force detection.
   */
  loginFailed(fields: SecurityEventFields & { readonly username?: string; readonly method?: string }): PendingAudit;
  /** `auth.logout`. */
  logout(fields?: SecurityEventFields): PendingAudit;
  /** `access.denied`, outcome failure, severity high: `resource` (a target) and the `permission` missing. */
  accessDenied(fields: SecurityEventFields & { readonly resource?: AuditTarget | string; readonly permission?: string }): PendingAudit;
  /** `rate_limit.exceeded`, outcome failure: `limit` and `windowMs` of the rule, `key` it counted by. */
  rateLimited(fields?: SecurityEventFields & { readonly limit?: number; readonly windowMs?: number; readonly key?: string }): PendingAudit;
  /** `auth.password.change` (or `auth.password.reset` with `reset: true`), severity high. */
  passwordChanged(fields?: SecurityEventFields & { readonly reset?: boolean; readonly outcome?: AuditOutcome }): PendingAudit;
  /** `auth.2fa.enable` or `auth.2fa.disable`, severity high. */
  twoFactorChanged(fields: SecurityEventFields & { readonly enabled: boolean; readonly method?: string; readonly outcome?: AuditOutcome }): PendingAudit;
  /** `auth.api_key.create`, `.revoke` or `.rotate`, severity high; `keyId` names the key (never the key itself). */
  apiKeyChanged(fields: SecurityEventFields & { readonly change: 'create' | 'revoke' | 'rotate'; readonly keyId?: string; readonly outcome?: AuditOutcome }): PendingAudit;
}

/** Thresholds of brute-force detection. */
export interface BruteForceOptions {
  /** Failed logins of one user in `windowMs` that raise the signal. Default 10. */
  readonly perUser?: number;
  /** Failed logins from one source address in `windowMs` that raise the signal. Default 50 (addresses are shared behind NAT). */
  readonly perAddress?: number;
  /** Default 3600000 (an hour). */
  readonly windowMs?: number;
  /** Users and addresses tracked, each. Default 10000. */
  readonly maxKeys?: number;
}

export const BRUTE_FORCE_DEFAULTS = Object.freeze({ perUser: 10, perAddress: 50, windowMs: 3_600_000, maxKeys: 10_000 });

type Fields = Readonly<Record<string, unknown>>;

function split(fields: Fields | undefined, own: readonly string[]): { actor: AuditActor; reason: unknown; rest: Record<string, unknown> } {
  const input = fields !== null && typeof fields === 'object' ? fields : {};
  const given = input.actor !== null && typeof input.actor === 'object' ? (input.actor as AuditActor) : {};
  const actor: AuditActor = input.userId === undefined ? given : { ...given, id: input.userId as string | number };
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) if (!['userId', 'actor', 'reason', ...own].includes(key)) rest[key] = value;
  return { actor, reason: input.reason, rest };
}

/** Builds `obs.security` over a trail. */
export function buildSecurityEvents(trail: AuditTrail, registry: Registry, options: Required<BruteForceOptions>): SecurityEvents {
  const users = new FailureCounter(options.perUser, options.windowMs, options.maxKeys);
  const addresses = new FailureCounter(options.perAddress, options.windowMs, options.maxKeys);
  const suspected = new Counter({
    name: 'security_brute_force_suspected_total',
    help: 'Times the failed logins of one user (kind="user") or from one address (kind="address") reached the threshold within the window.',
    labelNames: ['kind'],
    registers: [registry],
  });
  suspected.inc({ kind: 'user' }, 0);
  suspected.inc({ kind: 'address' }, 0);
  const write = (action: string, fields: Fields | undefined, own: readonly string[], extra: Record<string, unknown>): PendingAudit => {
    const { actor, reason, rest } = split(fields, own);
    return trail.record({ action, actor, reason: reason as string | undefined, ...extra, ...rest }, 'security');
  };
  const ownOutcome = (fields: Fields | undefined): AuditOutcome | undefined => fields?.outcome as AuditOutcome | undefined;

  function signal(kind: 'user' | 'address', key: string, count: number, since: number): void {
    suspected.inc({ kind });
    trail.record(
      {
        action: 'auth.brute_force.suspected',
        outcome: 'unknown',
        severity: 'high',
        target: kind === 'user' ? { type: 'user', id: key } : { type: 'address', id: key },
        reason: `${count} failed logins ${kind === 'user' ? 'for this user' : 'from this address'} within ${options.windowMs} ms`,
        failures: count,
        windowMs: options.windowMs,
        windowStart: new Date(since).toISOString(),
      },
      'security',
    );
  }

  return {
    loginSucceeded(fields) {
      const user = fields?.userId ?? fields?.actor?.id;
      if (user !== undefined) users.reset(String(user).toLowerCase());
      return write('auth.login', fields, ['method'], { outcome: 'success', method: fields?.method });
    },
    loginFailed(fields) {
      const pending = write('auth.login', fields, ['method', 'username'], {
        outcome: 'failure',
        method: fields?.method,
        target: fields?.username === undefined ? undefined : { type: 'user', name: fields.username },
      });
      try {
        const now = Date.now();
        const user = fields?.userId ?? fields?.actor?.id ?? fields?.username;
        if (user !== undefined) {
          // Names tried are counted without case (`Victim` and `victim` are one target).
          const key = String(user).toLowerCase();
          const seen = users.fail(key, now);
          if (seen.crossed) signal('user', key, seen.count, seen.since);
        }
        const ctx = getRequestContext();
        const req = ctx === undefined ? undefined : requestOf(ctx);
        const address = fields?.actor?.ip ?? (req === undefined ? undefined : clientIp(req));
        if (typeof address === 'string' && address !== '') {
          const seen = addresses.fail(address, now);
          if (seen.crossed) signal('address', address, seen.count, seen.since);
        }
      } catch {
        // The record is written; detection must never break the login.
      }
      return pending;
    },
    logout: (fields) => write('auth.logout', fields, [], { outcome: 'success' }),
    accessDenied(fields) {
      const resource = fields?.resource;
      const target = typeof resource === 'string' ? { type: 'resource', id: resource } : resource;
      return write('access.denied', fields, ['resource', 'permission'], { outcome: 'failure', target, permission: fields?.permission });
    },
    rateLimited: (fields) => write('rate_limit.exceeded', fields, [], { outcome: 'failure' }),
    passwordChanged: (fields) =>
      write(fields?.reset === true ? 'auth.password.reset' : 'auth.password.change', fields, ['reset', 'outcome'], { outcome: ownOutcome(fields) ?? 'success' }),
    twoFactorChanged: (fields) =>
      write(fields?.enabled === false ? 'auth.2fa.disable' : 'auth.2fa.enable', fields, ['enabled', 'outcome'], { outcome: ownOutcome(fields) ?? 'success' }),
    apiKeyChanged(fields) {
      const change = fields?.change === 'revoke' || fields?.change === 'rotate' ? fields.change : 'create';
      return write(`auth.api_key.${change}`, fields, ['change', 'keyId', 'outcome'], {
        outcome: ownOutcome(fields) ?? 'success',
        target: fields?.keyId === undefined ? undefined : { type: 'api_key', id: fields.keyId },
      });
    },
  };
}
