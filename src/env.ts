/** Bindings, vars and secrets of the Worker — the one place they are declared. */
export interface Env {
  DB: D1Database;
  ARCHIVE: R2Bucket;
  /** Typed where they are reached: chainOf (audit/chain/append.ts), exportRunnerOf (audit/export/runner.ts). */
  ORG_CHAIN: DurableObjectNamespace;
  EXPORT_RUNNER: DurableObjectNamespace;
  /** Per-organization request budgets (src/rate-limits.ts). */
  EXPORT_BUDGET: RateLimit;
  VALIDATE_BUDGET: RateLimit;
  REPORT_BUDGET: RateLimit;
  SUMMARY_BUDGET: RateLimit;

  ENFORCE_ORG_QUOTAS?: string;
  /** "true" lets webhooks use http and loopback targets: local development and tests only. */
  ALLOW_INSECURE_WEBHOOKS?: string;

  SECRET_KEY: string;
  AUDIT_HMAC_KEY?: string;
  /** JSON array of retired audit keys, kept for verification only. */
  AUDIT_HMAC_RETIRED_KEYS?: string;
  REPORT_SIGNING_KEY?: string;
  /** Ed25519 private key as JWK JSON text. */
  CHECKPOINT_SIGNING_KEY?: string;
  /** JSON array of retired Ed25519 public JWKs, still published in the JWKS. */
  CHECKPOINT_RETIRED_PUBLIC_KEYS?: string;
}
