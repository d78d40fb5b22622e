import { DurableObject } from "cloudflare:workers";
import { OrgTokens } from "../../auth/org-tokens";
import { type AuditKeyring, loadAuditKeyring } from "../../crypto/keys";
import { database } from "../../db/client";
import type { TokenRole } from "../../db/schema";
import type { Env } from "../../env";
import { AppError } from "../../http/errors";
import { IDEMPOTENCY_TTL_MS } from "../../http/idempotency";
import { isoNow } from "../../time";
import { ChainTree } from "./chain-tree";
import { closedKeyIdsBefore } from "./key-epochs";
import type { Checkpoint } from "./checkpoint-statement";
import { issueCheckpoint } from "./checkpoints";
import { InconsistentTreeHead } from "./tree-witness";
import { recordSecurityEvent } from "../../security/record";
import { type ReceiptClaim, receiptClaim, receiptClaimOfRecords } from "./receipt";
import { type AuditRecord, type PendingRecord } from "./record";
import { recordFromRow } from "./stored-row";
import { type Sealed, sealAfter } from "./seal";
import {
  type ChainHead,
  deleteExpiredIdempotencyKeysStatement,
  findIdempotencyKey,
  insertIdempotencyKeyStatement,
  insertRowStatements,
  readHead,
  rowsInSeqRange,
} from "./store";

/** A statement that must commit atomically with the records (e.g. the user row a record audits). */
export type SqlEffect = { sql: string; params: unknown[] };

export type AppendRequest = {
  organizationId: string;
  records: PendingRecord[];
  idempotency?: { key: string; requestHash: string };
  effects?: SqlEffect[];
  /** A bearer token the Worker has not checked: the append happens only if it is live here with one of `roles`. */
  token?: { tokenHash: string; roles: readonly TokenRole[] };
  /** The effects create or revoke an API token of the organization. */
  tokensChanged?: boolean;
};

export type AppendOutcome =
  | { ok: true; records: AuditRecord[]; replayed: boolean; bookmark: string | null; receipt: ReceiptClaim | null }
  | { ok: false; code: "idempotency_mismatch" | "conflict" | "write_failed" | "interrupted" | "unauthorized"; message: string };

type Pending = { request: AppendRequest; resolve: (outcome: AppendOutcome) => void };

const CHECKPOINT_INTERVAL_MS = 60 * 1000;
// Bounds one D1 batch; whatever queues beyond it goes in the next.
const MAX_ROWS_PER_COMMIT = 5000;
// Under load a commit's callers answer and send again within a few milliseconds: waiting that long
// for them when fewer are queued than the last commit carried makes one D1 batch of what would be
// several, and D1 runs one batch at a time for every organization. A lone client never waits.
const GATHER_MS = 2;
// A lagging tree is caught up this many rows per D1 batch, for at most this long per alarm.
const BACKFILL_ROWS_PER_STEP = 2000;
const BACKFILL_MS_PER_ALARM = 10_000;
const BACKFILL_RETRY_MS = 30_000;

/**
 * The only writer of one organization's chain. D1 calls do not serialize a Durable Object, so
 * appends go through an explicit queue: one flush loop seals everything queued from the in-memory
 * head, writes it in one D1 batch, then answers every caller (group commit).
 */
export class OrgChain extends DurableObject<Env> {
  #db = database(this.env.DB);
  #orgId: string | null = null;
  #head: ChainHead | null = null;
  #headLoaded: Promise<void> | null = null;
  #queue: Pending[] = [];
  #flushing = false;
  #lastGroupRequests = 0;
  #inFlight = new Map<string, { requestHash: string; outcome: Promise<AppendOutcome> }>();
  #alarmScheduled = false;
  #tokens: OrgTokens | null = null;
  #tree: ChainTree | null = null;
  // Commits and tree backfill steps run one at a time: both move the tree's edge.
  #writeLock: Promise<unknown> = Promise.resolve();

  async append(request: AppendRequest): Promise<AppendOutcome> {
    await this.#ready(request.organizationId);
    if (request.token && !(await this.#tokenIsLive(request.token.tokenHash, request.token.roles))) return unauthorized();
    const idempotency = request.idempotency;
    if (!idempotency) return this.#enqueue(request);

    const running = this.#inFlight.get(idempotency.key);
    if (running) {
      if (running.requestHash !== idempotency.requestHash) return mismatch();
      const first = await running.outcome;
      return first.ok ? { ...first, replayed: true } : first;
    }
    const outcome = this.#appendOnce(request, idempotency);
    this.#inFlight.set(idempotency.key, { requestHash: idempotency.requestHash, outcome });
    try {
      return await outcome;
    } finally {
      this.#inFlight.delete(idempotency.key);
    }
  }

  /** Whether the bearer token with this digest is live for the organization with one of `roles`. */
  async tokenIsLive(organizationId: string, tokenHash: string, roles: readonly TokenRole[]) {
    await this.#ready(organizationId);
    return this.#tokenIsLive(tokenHash, roles);
  }

  async #tokenIsLive(tokenHash: string, roles: readonly TokenRole[]) {
    const token = await this.#tokens!.check(tokenHash);
    return token !== undefined && roles.includes(token.role);
  }

  /** Signs a checkpoint of the current head now (null for an empty chain); refused when its tree head is inconsistent with the witness. */
  async checkpointNow(organizationId: string): Promise<{ ok: true; checkpoint: Checkpoint | null } | { ok: false; code: "tree_inconsistent"; message: string }> {
    await this.#ready(organizationId);
    if (!this.#head) return { ok: true, checkpoint: null };
    try {
      return { ok: true, checkpoint: await this.#checkpoint(this.#head) };
    } catch (err) {
      // Raised as a security event already; the caller answers it (errors lose their class over RPC).
      if (err instanceof InconsistentTreeHead) return { ok: false, code: "tree_inconsistent", message: err.message };
      throw err;
    }
  }

  /**
   * Builds the tree of a chain sealed before trees existed, `BACKFILL_ROWS_PER_STEP` rows per D1
   * batch, for at most `budgetMs`; each step commits, so an interrupted build resumes where it
   * stopped. Answers the tree's size and whether it now reaches the head.
   */
  async buildTree(organizationId: string, budgetMs = BACKFILL_MS_PER_ALARM) {
    await this.#ready(organizationId);
    const until = Date.now() + budgetMs;
    // Rows may have reached D1 by another way (a restore, a migration): build to the head D1 has.
    await this.#locked(() => (this.#headLoaded = this.#loadHead()));
    let done = !this.#tree!.lags(this.#head?.seq ?? 0);
    while (!done && Date.now() < until) {
      done = await this.#locked(() => this.#tree!.backfill(this.#head?.seq ?? 0, BACKFILL_ROWS_PER_STEP));
    }
    return { tree_size: (await this.#tree!.head())!.size, complete: done };
  }

  override async alarm() {
    this.#alarmScheduled = false;
    const orgId = this.#orgId ?? (await this.ctx.storage.get<string>("organization_id"));
    if (!orgId) return;
    await this.#ready(orgId);
    const built = await this.buildTree(orgId).catch((err: unknown) => {
      console.error(`organization ${orgId}: building the Merkle tree failed; retried in ${BACKFILL_RETRY_MS / 1000} s: ${err instanceof Error ? err.message : err}`);
      return { complete: false, retryInMs: BACKFILL_RETRY_MS };
    });
    if (!built.complete) await this.#scheduleAlarm("retryInMs" in built ? built.retryInMs : 0);
    const lastSeq = await this.ctx.storage.get<number>("checkpoint_seq");
    if (!this.#head || this.#head.seq === lastSeq) return;
    try {
      await this.#checkpoint(this.#head);
    } catch (err) {
      // Without a signing key there is nothing to retry, nor for a refused tree head (raised, and
      // tried again at the next commit); anything else is retried by the runtime.
      if (err instanceof AppError && err.code === "not_configured") return console.warn(err.message);
      if (err instanceof InconsistentTreeHead) return;
      throw err;
    }
  }

  async #checkpoint(head: ChainHead) {
    const tree = this.#tree!.inStep(head.seq) ? await this.#tree!.head() : null;
    const checkpoint = await issueCheckpoint(this.env, this.#db, {
      organizationId: this.#orgId!,
      seq: head.seq,
      rowHmac: head.rowHmac,
      kind: "head",
      treeRoot: tree?.root ?? null,
    }).catch(async (err: unknown) => {
      if (err instanceof InconsistentTreeHead) await this.#raiseInconsistentTree(err);
      throw err;
    });
    await this.ctx.storage.put("checkpoint_seq", head.seq);
    return checkpoint;
  }

  /** The tree no longer extends what the witness signed: someone rewrote rows or tiles. Raised, never signed. */
  async #raiseInconsistentTree(err: InconsistentTreeHead) {
    console.error(`organization ${this.#orgId}: ${err.message}`);
    await recordSecurityEvent({ db: this.#db, env: this.env, waitUntil: (p) => this.ctx.waitUntil(p) }, {
      organizationId: this.#orgId!,
      eventType: "chain_integrity_failure",
      riskScore: 100,
      severity: "critical",
      description: `Signed tree head refused: ${err.message}`,
      metadata: { job: "checkpoint", reason: "inconsistent tree head" },
    });
  }

  /**
   * The tree holds leaves past the chain's head. It stops growing until the chain reaches it again
   * (appends go on; no tree head is signed meanwhile), and the state is raised once: a restart that
   * finds the same sizes does not raise it again.
   */
  async #raiseTreeAhead(headSeq: number) {
    const treeSize = this.#tree!.size!;
    const state = `${treeSize}:${headSeq}`;
    if ((await this.ctx.storage.get("tree_ahead_raised")) === state) return;
    const found = `the Merkle tree holds ${treeSize} leaves but the chain ends at seq ${headSeq}`;
    console.error(`organization ${this.#orgId}: ${found}`);
    await recordSecurityEvent({ db: this.#db, env: this.env, waitUntil: (p) => this.ctx.waitUntil(p) }, {
      organizationId: this.#orgId!,
      eventType: "chain_integrity_failure",
      riskScore: 100,
      severity: "critical",
      description: `Merkle tree ahead of the chain: ${found} (rows removed from the chain's end, or tiles written outside chainproof)`,
      metadata: { job: "chain load", reason: "tree ahead of chain", tree_size: treeSize, head_seq: headSeq },
    });
    await this.ctx.storage.put("tree_ahead_raised", state);
  }

  async #ready(organizationId: string) {
    if (this.#orgId === null) {
      this.#orgId = organizationId;
      this.#tokens = new OrgTokens(this.#db, organizationId);
      this.#tree = new ChainTree(this.env.DB, this.#db, this.env.ARCHIVE, organizationId);
      await this.ctx.storage.put("organization_id", organizationId);
    } else if (this.#orgId !== organizationId) {
      throw new Error("This chain object belongs to another organization");
    }
    this.#headLoaded ??= this.#loadHead();
    await this.#headLoaded;
  }

  #loadHead() {
    return readHead(this.#db, this.#orgId!).then(
      async (head) => {
        this.#head = head;
        await this.#tree!.load();
        if (this.#tree!.lags(head?.seq ?? 0)) await this.#scheduleAlarm(0);
        if (this.#tree!.isAheadOf(head?.seq ?? 0)) await this.#raiseTreeAhead(head?.seq ?? 0);
      },
      (err: unknown) => {
        this.#headLoaded = null;
        throw err;
      },
    );
  }

  async #appendOnce(request: AppendRequest, idempotency: { key: string; requestHash: string }): Promise<AppendOutcome> {
    const previous = await findIdempotencyKey(this.#db, request.organizationId, idempotency.key, isoNow());
    if (!previous) return this.#enqueue(request);
    if (previous.requestHash !== idempotency.requestHash) return mismatch();
    const rows = await rowsInSeqRange(this.#db, request.organizationId, previous.seqFrom, previous.seqTo, previous.seqTo - previous.seqFrom + 1);
    const records = rows.map(recordFromRow);
    return { ok: true, records, replayed: true, bookmark: null, receipt: await receiptClaimOfRecords(request.organizationId, records) };
  }

  #enqueue(request: AppendRequest) {
    return new Promise<AppendOutcome>((resolve) => {
      this.#queue.push({ request, resolve });
      if (!this.#flushing) void this.#flush();
    });
  }

  async #flush() {
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) {
        if (this.#queue.length < this.#lastGroupRequests) await new Promise((resolve) => setTimeout(resolve, GATHER_MS));
        let rows = 0;
        let take = 0;
        while (take < this.#queue.length && (take === 0 || rows + this.#queue[take]!.request.records.length <= MAX_ROWS_PER_COMMIT)) {
          rows += this.#queue[take]!.request.records.length;
          take++;
        }
        const group = this.#queue.splice(0, take);
        this.#lastGroupRequests = group.length;
        await this.#locked(() => this.#commit(group));
      }
    } finally {
      this.#flushing = false;
    }
  }

  #locked<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#writeLock.then(work);
    this.#writeLock = run.catch(() => undefined);
    return run;
  }

  async #commit(group: Pending[], retried = false): Promise<void> {
    let sealed: Sealed | undefined;
    let grown: Awaited<ReturnType<ChainTree["grow"]>> = null;
    const session = this.env.DB.withSession("first-primary");
    try {
      await this.#headLoaded;
      const keyring = await loadAuditKeyring(this.env);
      await this.#refuseClosedEpoch(keyring);
      sealed = await sealAfter(this.#head, keyring.current, this.#orgId!, isoNow(), group.map((p) => p.request.records));
      grown = await this.#tree!.grow(this.#head?.seq ?? 0, sealed.leaves);
      await session.batch([...this.#statements(group, sealed), ...(grown?.statements ?? [])]);
    } catch (err) {
      if (err instanceof ClosedKeyEpoch) {
        for (const pending of group) pending.resolve({ ok: false, code: "write_failed", message: err.message });
        return;
      }
      this.#tokensMayHaveChanged(group);
      // After any failure the head is re-read from D1 before anything else is sealed.
      this.#headLoaded = this.#loadHead();
      const landed = await this.#headLoaded.then(
        () => sealed !== undefined && this.#head?.seq === sealed.head.seq && this.#head.rowHmac === sealed.head.rowHmac,
        () => undefined,
      );
      if (landed === undefined) {
        // D1 cannot say whether the batch committed: never seal it again, let the callers retry
        // with their Idempotency-Key once the head can be read.
        for (const pending of group) pending.resolve(interrupted());
        return;
      }
      if (!landed) {
        if (group.length > 1) {
          // One caller's bad effect must not fail the others: retry each alone.
          for (const pending of group) await this.#commit([pending]);
        } else if (!retried) {
          // The head may have been stale (a row written behind our back); seal once more after it.
          await this.#commit(group, true);
        } else {
          group[0]!.resolve(failure(err));
        }
        return;
      }
    }
    this.#head = sealed!.head;
    if (grown) this.#tree!.accept(grown.edge);
    // Before anyone is answered: once a revocation is answered, its token is refused.
    this.#tokensMayHaveChanged(group);
    const bookmark = session.getBookmark();
    const receipts = await Promise.all(group.map((_, i) => receiptClaim(this.#orgId!, sealed!.perRequest[i]!, sealed!.perRequestLeaves[i]!)));
    group.forEach((pending, i) => pending.resolve({ ok: true, records: sealed!.perRequest[i]!, replayed: false, bookmark, receipt: receipts[i]! }));
    // Everyone is answered; a failure to schedule the checkpoint must not stall the queue behind.
    await this.#scheduleCheckpoint().catch(() => {
      this.#alarmScheduled = false;
      console.warn("could not schedule the head checkpoint; the next commit tries again");
    });
  }

  /**
   * Sealing with a key other than the head's writes a key_rotate record first; one into a key whose
   * epoch a rotation closed, or into the SECRET_KEY-derived fallback, would be a broken row
   * (docs/protocol.md §2), so nothing is sealed until the operator sets a new AUDIT_HMAC_KEY.
   */
  async #refuseClosedEpoch(keyring: AuditKeyring) {
    const head = this.#head;
    if (!head || head.keyId === keyring.current.id) return;
    if (!(await closedKeyIdsBefore(this.#db, keyring, this.#orgId!, head.seq + 1)).includes(keyring.current.id)) return;
    console.error(`organization ${this.#orgId}: the current audit key ${keyring.current.id} cannot open an epoch (closed before, or derived from SECRET_KEY); set a new AUDIT_HMAC_KEY`);
    throw new ClosedKeyEpoch();
  }

  #tokensMayHaveChanged(group: Pending[]) {
    if (group.some((pending) => pending.request.tokensChanged)) this.#tokens!.changed();
  }

  #statements(group: Pending[], sealed: Sealed): D1PreparedStatement[] {
    const d1 = this.env.DB;
    const now = Date.now();
    const statements = insertRowStatements(d1, sealed.rows);
    group.forEach((pending, i) => {
      const rows = sealed.perRequest[i]!;
      for (const effect of pending.request.effects ?? []) statements.push(d1.prepare(effect.sql).bind(...effect.params));
      const idempotency = pending.request.idempotency;
      if (idempotency && rows.length > 0) {
        statements.push(
          insertIdempotencyKeyStatement(d1, {
            organizationId: this.#orgId!,
            key: idempotency.key,
            requestHash: idempotency.requestHash,
            seqFrom: rows[0]!.seq!,
            seqTo: rows.at(-1)!.seq!,
            createdAt: isoNow(now),
            expiresAt: isoNow(now + IDEMPOTENCY_TTL_MS),
          }),
        );
      }
    });
    // Expired keys are swept when new ones are written, so key-less traffic pays nothing for them.
    if (group.some((pending) => pending.request.idempotency)) {
      statements.push(deleteExpiredIdempotencyKeysStatement(d1, this.#orgId!, isoNow(now)));
    }
    // Tokens' last use rides along with the records: no write of its own.
    for (const touch of this.#tokens!.takeTouches()) statements.push(d1.prepare(touch.sql).bind(...touch.params));
    return statements;
  }

  async #scheduleCheckpoint() {
    if (this.#alarmScheduled) return;
    this.#alarmScheduled = true;
    await this.#scheduleAlarm(CHECKPOINT_INTERVAL_MS);
  }

  async #scheduleAlarm(inMs: number) {
    const at = await this.ctx.storage.getAlarm();
    if (at === null || at > Date.now() + inMs) await this.ctx.storage.setAlarm(Date.now() + inMs);
  }
}

class ClosedKeyEpoch extends Error {
  constructor() {
    super("The current audit key cannot seal new rows: its key epoch was closed (or it is the key derived from SECRET_KEY); nothing was appended");
  }
}

const interrupted = (): AppendOutcome => ({
  ok: false,
  code: "interrupted",
  message: "The append was interrupted and may or may not have been stored; retry it with the same Idempotency-Key",
});

const unauthorized = (): AppendOutcome => ({ ok: false, code: "unauthorized", message: "Invalid or revoked token" });

const mismatch = (): AppendOutcome => ({
  ok: false,
  code: "idempotency_mismatch",
  message: "This Idempotency-Key was used with a different request",
});

function failure(err: unknown): AppendOutcome {
  const text = err instanceof Error ? `${err.message} ${String(err.cause ?? "")}` : String(err);
  // A clash on (organization_id, seq) is the chain's own guard (a stale head), not the caller's conflict.
  if (text.includes("UNIQUE constraint failed") && !text.includes("audit_logs.seq")) {
    return { ok: false, code: "conflict", message: "The change conflicts with existing data" };
  }
  console.error(`chain append failed: ${err instanceof Error ? err.name : "error"}`);
  return { ok: false, code: "write_failed", message: "The records could not be written; nothing was appended" };
}
