import { z } from "@hono/zod-openapi";
import { endDate, startDate } from "../../http/query";
import { AUDIT_ACTIONS, RESOURCE_TYPES } from "../chain/enums";
import type { LogFilters } from "../read/filters";

/** The filters both export routes take (the capped one answers inline, the bulk one builds into R2). */
export const ExportFilters = z.object({
  start_date: startDate.optional(),
  end_date: endDate.optional(),
  actions: z.array(z.enum(AUDIT_ACTIONS)).optional(),
  resource_types: z.array(z.enum(RESOURCE_TYPES)).optional(),
});
export const exportFilters = (body: z.infer<typeof ExportFilters>, organizationId: string | undefined, until: string): LogFilters => ({
  organizationId,
  startDate: body.start_date,
  endDate: body.end_date,
  actions: body.actions,
  resourceTypes: body.resource_types,
  recordedUntil: until,
});

/** The filters as the audit record keeps them: only the known ones, never what was ignored. */
export const recordedFilters = (body: z.infer<typeof ExportFilters>) =>
  Object.fromEntries(
    Object.entries({ start_date: body.start_date, end_date: body.end_date, actions: body.actions, resource_types: body.resource_types }).filter(
      ([, v]) => v !== undefined,
    ),
  );
