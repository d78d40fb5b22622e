import { z } from "@hono/zod-openapi";
import { fromBase64Url, toBase64Url, utf8 } from "../../crypto/encoding";
import type { NewestFirstCursor } from "./order";

/**
 * The `cursor` of a newest-first list: the (timestamp, seq, id) of the last record a page held,
 * base64url JSON. It is only a position: the filters and the caller's organization still apply
 * to every page, so an edited cursor can move within what the caller may read and nothing more.
 * That is why it is validated rather than signed.
 */
const Position = z.tuple([
  z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
  z.number().int().min(1).nullable(),
  z.string().min(1).max(200),
]);

export const encodeCursor = (c: NewestFirstCursor) => toBase64Url(utf8(JSON.stringify([c.timestamp, c.seq, c.id])));

export function decodeCursor(text: string): NewestFirstCursor | null {
  try {
    const parsed = Position.safeParse(JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(fromBase64Url(text))));
    if (!parsed.success) return null;
    const [timestamp, seq, id] = parsed.data;
    return { timestamp, seq, id };
  } catch {
    return null;
  }
}

export const CursorParam = z
  .string()
  .max(400)
  .transform((text, ctx) => {
    const cursor = decodeCursor(text);
    if (cursor) return cursor;
    ctx.addIssue({ code: "custom", message: "is not a cursor this API issued; pass next_cursor from the previous page unchanged" });
    return z.NEVER;
  })
  .openapi({
    type: "string",
    description:
      "Keyset paging: the `next_cursor` of the previous page. Every page then costs the same however deep it is; use either `cursor` or `page`, not both.",
  });
