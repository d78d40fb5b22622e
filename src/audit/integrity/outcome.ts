import type { ClientInfo } from "../../http/context";
import { recordSecurityEvent, type SecurityScope } from "../../security/record";
import { type Actor, appendToChain, selfAuditRecord } from "../chain/append";
import type { ValidationResult } from "./validate";

/** Who ran a walk: the caller of the validate API, or the scheduler. */
export type Validator = { caller: Actor; client: ClientInfo };

/**
 * A walk is audited in the organization's chain after it ran (chain_validate); a break also raises
 * a chain_integrity_failure event (risk 100, so an alert). Shared by the API and the cron.
 */
export async function recordValidationOutcome(
  scope: SecurityScope,
  validator: Validator,
  result: ValidationResult,
  range: { start_id: string | null; end_id: string | null },
) {
  const summary = {
    valid: result.valid,
    checked: result.checked,
    broken_at: result.broken_at,
    broken_seq: result.broken_seq,
    broken_reason: result.broken_reason,
    ...range,
  };
  const record = selfAuditRecord(validator.caller, result.organization_id, validator.client, {
    action: "chain_validate",
    resourceType: "audit_log",
    resourceId: null,
    metadata: summary,
  });
  const outcome = await appendToChain(scope.env, { organizationId: result.organization_id, records: [record], effects: [] });
  if (!result.valid) {
    await recordSecurityEvent(scope, {
      organizationId: result.organization_id,
      eventType: "chain_integrity_failure",
      riskScore: 100,
      severity: "critical",
      description: `Audit chain broken at seq ${result.broken_seq}: ${result.broken_reason}`,
      metadata: summary,
    });
  }
  return outcome;
}
