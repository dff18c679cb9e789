/** Whether what an audit record describes worked (ECS `event.outcome`). */
export type AuditOutcome = 'success' | 'failure' | 'unknown';

/** How much an audit record matters to a security review. */
export type AuditSeverity = 'low' | 'medium' | 'high';

/** Who did it (ECS `user.*`, `source.ip`, `user_agent.original`). */
export interface AuditActor {
  /** The user or service id (ECS `user.id`). Default: the request field `userId`, when set. */
  readonly id?: string | number;
  /** `user`, `service`, `admin`, `system`, ... */
  readonly type?: string;
  /** The role it acted with (ECS `user.roles`). */
  readonly role?: string;
  /** Its address (ECS `source.ip`). Default: the current request's client address (`req.ip`). */
  readonly ip?: string;
  /** Its user agent (ECS `user_agent.original`). Default: the current request's `User-Agent`. */
  readonly userAgent?: string;
  /** Its session id. Default: the request field `sessionId`, when set. */
  readonly sessionId?: string;
  readonly [field: string]: unknown;
}

/** What it was done to (ECS `user.target.*` for a user, else the resource). */
export interface AuditTarget {
  readonly type?: string;
  readonly id?: string | number;
  readonly [field: string]: unknown;
}

/** One audit event, as given to `obs.audit()`. */
export interface AuditEvent {
  /** What was done, as `resource.verb` (`user.suspend`, `auth.login`, `apikey.revoke`): ECS `event.action`. */
  readonly action: string;
  readonly actor?: AuditActor;
  readonly target?: AuditTarget;
  /** Default `'success'`. */
  readonly outcome?: AuditOutcome;
  /** Why (a suspension's reason, a failure's cause). */
  readonly reason?: string;
  /** The state before the change; the record keeps only the paths that differ from `after`. */
  readonly before?: unknown;
  /** The state after the change. */
  readonly after?: unknown;
  /** Default: classified from the action and outcome (see docs/reference/audit.md). */
  readonly severity?: AuditSeverity;
  /** Anything else, kept under `details`, redacted. */
  readonly [field: string]: unknown;
}

/** What `await obs.audit(...)` resolves to. */
export interface AuditReceipt {
  /** The record's sequence number in its channel's chain. */
  readonly seq: number;
  /** The record's hash. */
  readonly hash: string;
  readonly channel: string;
  /**
   * True when the record is on the disk (its file synced) and, with a database sink, stored there; false when a
   * destination could not take it in time (it stays buffered and is retried, or was dropped and counted).
   */
  readonly durable: boolean;
}

/**
 * What `obs.audit()` returns at once: the record is already written to its channel (buffered like other lines).
 * Awaiting it (it is a thenable, and never rejects) waits until the record is durable.
 */
export interface PendingAudit extends PromiseLike<AuditReceipt> {
  readonly seq: number;
  readonly hash: string;
  readonly channel: string;
}
