import type { Context } from "hono";
import { CappedExportBody, cappedExport } from "../audit/export/capped-routes";
import type { AppEnv } from "../http/context";
import { invalid } from "../http/errors";
import { formBody, listOf, parseWith } from "./form-input";
import { urlId } from "./page-org";

/** POST /logs/export: the API's capped export of the posted filters, the same stream and the same audit record. */
export async function exportLogs(c: Context<AppEnv>) {
  const form = await formBody(c);
  const parsed = parseWith(CappedExportBody, {
    start_date: form.start_date,
    end_date: form.end_date,
    actions: listOf(form.actions),
    resource_types: listOf(form.resource_types),
    format: form.format,
  });
  if (!parsed.ok) throw invalid(parsed.errors);
  const orgId = typeof form.organization_id === "string" ? urlId(form.organization_id) : undefined;
  return cappedExport(c, parsed.value, orgId);
}
