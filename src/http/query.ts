import { z } from "@hono/zod-openapi";
import { invalid } from "./errors";
import { isoNow, parseIsoDateTime } from "../time";

/** The query and body vocabulary every domain shares: dates, date ranges, paging, free-text search. */

export const MAX_PER_PAGE = 200;
export const MAX_SEARCH = 128;
/**
 * OFFSET paging makes D1 read and skip every row before the page, so page × per_page is capped:
 * one request cannot make D1 scan millions of rows. Deeper reads narrow the filters instead.
 */
export const MAX_PAGE_DEPTH = 10_000;

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
// It checks each month's length and leap years: Date.parse alone would roll 2026-02-30 over into March.
const calendarDate = z.iso.date();

const isDateOrDateTime = (v: string) => calendarDate.safeParse(v).success || parseIsoDateTime(v) !== null;

/** ISO 8601 date or date-time; a bare date means that whole UTC day (start or end of it). */
const dateBound = (end: boolean) =>
  z
    .string()
    .refine(isDateOrDateTime, { message: "must be an ISO 8601 date or date-time with a time zone, on a real calendar day" })
    .transform((v) => (DATE_ONLY.test(v) ? `${v}T${end ? "23:59:59.999" : "00:00:00.000"}Z` : isoNow(parseIsoDateTime(v)!)));

export const startDate = dateBound(false);
export const endDate = dateBound(true);

/**
 * A whole number in a query string, written as plain digits: "9", not "9.0", "09", "1e1" or "0x9",
 * which a number coercion would all read as 9 (or 10, or 16) without a word.
 */
export const queryInteger = (min: number, max: number) =>
  z
    .string()
    .regex(/^(0|[1-9][0-9]{0,15})$/, { message: "must be a whole number written in plain digits", abort: true })
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .openapi({ type: "integer", minimum: min, maximum: max });

/** `page` and `per_page` of every OFFSET-paged list; the object using them refines with `pageDepth`. */
export const pagingParams = {
  page: queryInteger(1, Number.MAX_SAFE_INTEGER).default(1).openapi({ description: `1-based; page × per_page must not exceed ${MAX_PAGE_DEPTH}` }),
  per_page: queryInteger(1, MAX_PER_PAGE).default(50),
};

export const pageDepth: [(q: { page: number; per_page: number }) => boolean, { message: string; path: string[] }] = [
  (q) => q.page * q.per_page <= MAX_PAGE_DEPTH,
  {
    message: `page × per_page must not exceed ${MAX_PAGE_DEPTH}; narrow the filters (e.g. start_date and end_date) to reach older records`,
    path: ["page"],
  },
];

/** Any ISO 8601 date-time with a time zone (`parseIsoDateTime`); stored as UTC with exactly three fractional digits. */
export const isoTimestamp = z
  .string()
  .transform((value, ctx) => {
    const ms = parseIsoDateTime(value);
    if (ms === null) {
      ctx.addIssue({ code: "custom", message: "must be an ISO 8601 date-time with a time zone, e.g. 2026-01-31T12:00:00Z" });
      return z.NEVER;
    }
    if (ms < 0 || ms > Date.parse("9999-12-31T23:59:59.999Z")) {
      ctx.addIssue({ code: "custom", message: "must lie between 1970 and 9999" });
      return z.NEVER;
    }
    return isoNow(ms);
  })
  .openapi({ type: "string", format: "date-time", description: "Any ISO 8601 date-time with a time zone (extended or basic format); stored as UTC with milliseconds" });

/** How far ahead of the server's clock a client may date what happened: clocks drift, events do not happen tomorrow. */
export const MAX_CLOCK_SKEW_MS = 24 * 60 * 60 * 1000;

/**
 * When a record's or an event's action happened, as the client says: an isoTimestamp at most
 * MAX_CLOCK_SKEW_MS ahead of now. One dated years ahead would head every newest-first view forever.
 */
export const occurredAt = isoTimestamp.refine((iso) => Date.parse(iso) <= Date.now() + MAX_CLOCK_SKEW_MS, {
  message: "must not be more than 24 hours in the future",
});

const RANGE_BACKWARDS = "must not be after end_date";

/** A request's date range must not run backwards: the one check, for schemas (`.refine(...rangeInOrder)`). */
export const rangeInOrder: [(q: { start_date?: string; end_date?: string }) => boolean, { message: string; path: string[] }] = [
  (q) => !q.start_date || !q.end_date || q.start_date <= q.end_date,
  { message: RANGE_BACKWARDS, path: ["start_date"] },
];

/** The same check for a range whose ends were defaulted after parsing. */
export function assertRangeInOrder(start: string | undefined, end: string | undefined) {
  if (start && end && start > end) throw invalid([{ field: "start_date", message: RANGE_BACKWARDS }]);
}
