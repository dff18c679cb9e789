import { ObservabilityError } from '../errors/obs-error';
import type { AuditOutcome, AuditSeverity } from './types';

/**
 * How the severity of an audit record is decided when the call does not say (see docs/reference/audit.md): the first
 * matching rule of the `auditSeverityRules` option, then these built-in rules, on the words of the action (split at
 * `.`, `_`, `-`, `:` and `/`, compared without case):
 *
 * - **high**: an authentication failure (`login`, `signin`, `authenticate`, `auth`, `mfa`, `2fa`, `otp` with
 *   outcome `failure`); a change of roles or permissions (`role`, `permission`, `privilege`, `grant`, `revoke`,
 *   `acl`, `promote`, `demote`, `impersonate`, `elevate`, `escalate`, `sudo`); a deletion (`delete`, `remove`, `destroy`, `purge`, `erase`); a change of a secret or key
 *   (`password`, `secret`, `credential`, `token`, `api_key`/`apikey`/`key`, `mfa`, `2fa`); access refused (`denied`,
 *   `forbidden`, `unauthorized`).
 * - **low**: a read (`read`, `view`, `get`, `list`, `search`, `show`), when no high rule applies.
 * - **medium**: anything else (changes of other data, logins that succeed, suspensions, settings).
 */

/** A rule of the `auditSeverityRules` option. */
export interface AuditSeverityRule {
  /** The action: exact text, a pattern with `*` (any run of characters, `user.*`), or a RegExp. */
  readonly action: string | RegExp;
  /** Only for this outcome. Default: any. */
  readonly outcome?: AuditOutcome;
  readonly severity: AuditSeverity;
}

const AUTH_WORDS = new Set(['login', 'signin', 'logon', 'authenticate', 'authentication', 'auth', 'mfa', '2fa', 'otp', 'sso']);
const PRIVILEGE_WORDS = new Set(['role', 'roles', 'permission', 'permissions', 'privilege', 'privileges', 'grant', 'revoke', 'acl', 'promote', 'demote', 'impersonate', 'impersonation', 'elevate', 'escalate', 'sudo']);
const DELETE_WORDS = new Set(['delete', 'deleted', 'remove', 'removed', 'destroy', 'destroyed', 'purge', 'purged', 'erase', 'erased']);
const SECRET_WORDS = new Set(['password', 'passwd', 'secret', 'secrets', 'credential', 'credentials', 'token', 'tokens', 'apikey', 'key', 'keys', 'mfa', '2fa', 'totp']);
const DENIED_WORDS = new Set(['denied', 'forbidden', 'unauthorized', 'unauthorised']);
const READ_WORDS = new Set(['read', 'view', 'viewed', 'get', 'list', 'search', 'show', 'lookup']);
export const SEVERITIES: readonly AuditSeverity[] = ['low', 'medium', 'high'];

function wordsOf(action: string): string[] {
  return action.toLowerCase().replace(/api[_-]key/g, 'apikey').split(/[._:/-]+/).filter((w) => w !== '');
}

/** The built-in rules (see the module comment). */
export function builtInSeverity(action: string, outcome: AuditOutcome): AuditSeverity {
  const words = wordsOf(action);
  const has = (set: ReadonlySet<string>): boolean => words.some((w) => set.has(w));
  if (outcome === 'failure' && has(AUTH_WORDS)) return 'high';
  if (has(PRIVILEGE_WORDS) || has(DELETE_WORDS) || has(SECRET_WORDS) || has(DENIED_WORDS)) return 'high';
  if (has(READ_WORDS)) return 'low';
  return 'medium';
}

type CompiledRule = { readonly test: (action: string) => boolean; readonly outcome: AuditOutcome | undefined; readonly severity: AuditSeverity };

function globTest(pattern: string): (action: string) => boolean {
  if (!pattern.includes('*')) return (action) => action === pattern;
  const source = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  const re = new RegExp(`^${source}$`);
  return (action) => re.test(action);
}

/**
 * Compiles the `auditSeverityRules` option.
 * @throws {ObservabilityError} `OBS_ERR_OPTIONS_INVALID_VALUE` for a rule that is not `{ action, severity, outcome? }`.
 */
export function compileSeverityRules(rules: readonly AuditSeverityRule[] | undefined): (action: string, outcome: AuditOutcome) => AuditSeverity {
  const compiled: CompiledRule[] = (rules ?? []).map((rule, i) => {
    const where = `option "auditSeverityRules[${i}]"`;
    if (rule === null || typeof rule !== 'object') throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', `${where} must be { action, severity, outcome? }`, 'auditSeverityRules');
    const { action, outcome, severity } = rule;
    if (!(typeof action === 'string' && action !== '') && !(action instanceof RegExp)) {
      throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', `${where}.action must be a non-empty string or a RegExp`, 'auditSeverityRules');
    }
    if (!SEVERITIES.includes(severity)) {
      throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', `${where}.severity must be one of ${SEVERITIES.join(', ')}`, 'auditSeverityRules');
    }
    if (outcome !== undefined && !(['success', 'failure', 'unknown'] as const).includes(outcome)) {
      throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', `${where}.outcome must be success, failure or unknown`, 'auditSeverityRules');
    }
    const test =
      typeof action === 'string'
        ? globTest(action)
        : ((re: RegExp) => (value: string) => {
            re.lastIndex = 0;
            return re.test(value);
          })(new RegExp(action.source, action.flags.replace(/[gy]/g, '')));
    return { test, outcome, severity };
  });
  return function classify(action, outcome) {
    for (const rule of compiled) {
      if ((rule.outcome === undefined || rule.outcome === outcome) && rule.test(action)) return rule.severity;
    }
    return builtInSeverity(action, outcome);
  };
}
