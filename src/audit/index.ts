export { auditCapability, AUDIT_OPTION_SCHEMA, type AuditMembers, type AuditOptions } from './capability';
export { canonicalJson, GENESIS_HASH, recordHash, type ChainHead, type HashAlgorithm } from './chain';
export { CHANGE_LIMITS } from './changes';
export { BRUTE_FORCE_DEFAULTS, type BruteForceOptions, type SecurityEventFields, type SecurityEvents } from './security';
export { builtInSeverity, type AuditSeverityRule } from './severity';
export type { AuditActor, AuditEvent, AuditOutcome, AuditReceipt, AuditSeverity, AuditTarget, PendingAudit } from './types';
export { verifyAuditTrail, type AuditChainSummary, type AuditTrailProblem, type AuditTrailProblemKind, type AuditVerification, type VerifyAuditOptions } from './verify';
export { AUDIT_DATABASE_DEFAULTS, auditTableStatements, type AuditDatabaseOptions, type AuditQuery, type QueryablePool } from './postgres-sink';
