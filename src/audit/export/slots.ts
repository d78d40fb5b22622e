import { AppError } from "../../http/errors";

/** Uncapped exports one organization may have pending or running at once. */
export const MAX_CONCURRENT_EXPORTS = 2;
// A slice of an export takes seconds; by then a slot may be free again.
const RETRY_AFTER_SECONDS = 30;

/**
 * The lowest slot that no active export holds, or null when the organization already has its
 * maximum running. An active export from before slots existed (null) counts, without a number.
 */
export function freeExportSlot(taken: (number | null)[]): number | null {
  if (taken.length >= MAX_CONCURRENT_EXPORTS) return null;
  for (let slot = 1; slot <= MAX_CONCURRENT_EXPORTS; slot++) if (!taken.includes(slot)) return slot;
  return null;
}

export const tooManyExports = () =>
  new AppError(
    429,
    "too_many_exports",
    `At most ${MAX_CONCURRENT_EXPORTS} exports may be pending or running per organization; retry when one has completed`, { headers: { "Retry-After": String(RETRY_AFTER_SECONDS) } });
