import { timingSafeEqualStrings } from "../crypto/constant-time";
import type { Database } from "../db/client";
import type { TokenRole } from "../db/schema";
import { isoNow } from "../time";
import { findLiveTokenByHash, liveOrgTokens, touchToken } from "./store";

type LiveToken = { id: string; role: TokenRole; tokenHash: string; lastUsedAt: number };

// last_used_at is kept to the minute: a write per request would double an ingest token's D1 work.
export const LAST_USED_RESOLUTION_MS = 60 * 1000;

/**
 * One organization's live API tokens, held by its chain object so that an append needs no D1 read
 * to check its token. Every creation and revocation made through chainproof commits through that
 * same object, which calls `changed()` before it answers: a revoked token is refused from then on.
 * A digest it does not hold is looked up in D1 (a token written some other way), like the Worker did.
 */
export class OrgTokens {
  #tokens: Map<string, LiveToken> | null = null;
  // Bumped by every change, so a D1 read that started before it cannot bring a revoked token back.
  #generation = 0;
  #touched = new Map<string, string>();

  constructor(
    private readonly db: Database,
    private readonly orgId: string,
  ) {}

  /** The live token with this digest, or undefined; notes its use for last_used_at. */
  async check(tokenHash: string, now = Date.now()): Promise<LiveToken | undefined> {
    const tokens = await this.#all();
    let token = tokens.get(tokenHash);
    if (!token) {
      const generation = this.#generation;
      const row = await findLiveTokenByHash(this.db, tokenHash);
      if (!row || row.organizationId !== this.orgId) return undefined;
      token = { id: row.id, role: row.role, tokenHash: row.tokenHash, lastUsedAt: row.lastUsedAt ? Date.parse(row.lastUsedAt) : 0 };
      if (generation === this.#generation) this.#tokens?.set(tokenHash, token);
    }
    // The lookup is by digest; the compare keeps the final decision constant-time as well.
    if (!timingSafeEqualStrings(token.tokenHash, tokenHash)) return undefined;
    if (now - token.lastUsedAt >= LAST_USED_RESOLUTION_MS) {
      token.lastUsedAt = now;
      this.#touched.set(token.id, isoNow(now));
    }
    return token;
  }

  /** A token of the organization was created or revoked: forget them all, read them again when next asked. */
  changed() {
    this.#generation++;
    this.#tokens = null;
  }

  /** The last_used_at updates noted since the last call, as statements for the next commit's batch. */
  takeTouches() {
    const statements = [...this.#touched].map(([id, at]) => touchToken(this.db, id, at).toSQL());
    this.#touched.clear();
    return statements;
  }

  async #all() {
    if (this.#tokens) return this.#tokens;
    const generation = this.#generation;
    const rows = await liveOrgTokens(this.db, this.orgId);
    const tokens = new Map(rows.map((r) => [r.tokenHash, { ...r, lastUsedAt: r.lastUsedAt ? Date.parse(r.lastUsedAt) : 0 }]));
    if (generation === this.#generation) this.#tokens = tokens;
    return tokens;
  }
}
