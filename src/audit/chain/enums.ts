export const AUDIT_ACTIONS = [
  "create", "read", "update", "delete", "login", "logout", "login_failed", "password_change",
  "permission_grant", "permission_revoke", "role_change", "token_create", "token_revoke", "export",
  "import", "config_change", "deploy", "backup", "restore", "access_denied", "chain_validate",
  "retention_prune", "key_rotate", "report_generate",
] as const;

export const RESOURCE_TYPES = [
  "organization", "site", "user", "api_token", "service", "device", "network", "firewall_rule",
  "policy", "backup", "audit_log", "security_event", "report", "export", "setting",
] as const;

export const SECURITY_EVENT_TYPES = [
  "login_success", "login_failed", "account_locked", "password_reset", "mfa_failed",
  "privilege_escalation_attempt", "cross_tenant_access_attempt", "token_misuse", "rate_limited",
  "suspicious_ip", "brute_force_detected", "data_exfiltration_suspected", "chain_integrity_failure",
] as const;

/**
 * What only chainproof itself can observe: its own lockouts, its tenancy checks, its chain
 * validation. A client may not post these (they would inflate the lockout count or fake a
 * chain break). Logins are not here: platforms report their own users' logins.
 */
export const CHAINPROOF_ONLY_EVENT_TYPES = ["account_locked", "cross_tenant_access_attempt", "chain_integrity_failure"] as const;

export const REPORTABLE_EVENT_TYPES = SECURITY_EVENT_TYPES.filter(
  (t): t is Exclude<(typeof SECURITY_EVENT_TYPES)[number], (typeof CHAINPROOF_ONLY_EVENT_TYPES)[number]> =>
    !(CHAINPROOF_ONLY_EVENT_TYPES as readonly string[]).includes(t),
);

export type AuditAction = (typeof AUDIT_ACTIONS)[number];
export type ResourceType = (typeof RESOURCE_TYPES)[number];
