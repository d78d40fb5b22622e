import { describe, expect, it } from "vitest";
import { closedByRotations } from "../src/audit/chain/key-epochs";
import { type ChainLink, ChainWalker, keyRotationOf } from "../src/audit/chain/walker";

const ORG = "org-1";
const link = (seq: number, keyId: string, rotation: ChainLink["rotation"] = null): ChainLink => ({
  id: `row-${seq}`,
  organization_id: ORG,
  seq,
  key_id: keyId,
  prev_hash: seq === 1 ? null : `hmac-${seq - 1}`,
  row_hmac: `hmac-${seq}`,
  rotation,
});

/** Feeds links whose seals the caller already checked as valid; returns the first break. */
function walk(links: ChainLink[], epochKeyId?: string, closedKeyIds?: string[]) {
  const first = links[0]!;
  const walker = new ChainWalker({ organizationId: ORG, seq: first.seq!, prevHash: first.prev_hash, epochKeyId, closedKeyIds }, () => null);
  for (const l of links) if (walker.pushSealed(l, "valid")) break;
  return walker.broken;
}

describe("key epochs in the walk", () => {
  it("a rotation record opens the new key's epoch; rows after it must use that key", () => {
    const rotate = { previous_key_id: "old", new_key_id: "new" };
    expect(walk([link(1, "old"), link(2, "old"), link(3, "new", rotate), link(4, "new")])).toBeNull();
    expect(walk([link(1, "old"), link(2, "new", rotate), link(3, "old")])).toEqual({ id: "row-3", seq: 3, reason: "key_id out of epoch" });
  });

  it("a key change without a rotation record, or a rotation from another key, is out of epoch", () => {
    expect(walk([link(1, "old"), link(2, "new")])).toEqual({ id: "row-2", seq: 2, reason: "key_id out of epoch" });
    const fromElsewhere = { previous_key_id: "other", new_key_id: "new" };
    expect(walk([link(1, "old"), link(2, "new", fromElsewhere)])).toEqual({ id: "row-2", seq: 2, reason: "key_id out of epoch" });
    const toAnother = { previous_key_id: "old", new_key_id: "third" };
    expect(walk([link(1, "old"), link(2, "new", toAnother)])).toEqual({ id: "row-2", seq: 2, reason: "key_id out of epoch" });
  });

  it("a walk that starts mid-chain is held to the epoch it is given", () => {
    expect(walk([link(5, "new")], "old")).toEqual({ id: "row-5", seq: 5, reason: "key_id out of epoch" });
    expect(walk([link(5, "old")], "old")).toBeNull();
  });

  it("no rotation reopens a closed epoch, rotates into its own key or is sealed with another key than it opens", () => {
    const there = { previous_key_id: "a", new_key_id: "b" };
    const back = { previous_key_id: "b", new_key_id: "a" };
    expect(walk([link(1, "a"), link(2, "b", there), link(3, "a", back)])).toEqual({ id: "row-3", seq: 3, reason: "key_id out of epoch" });
    expect(walk([link(1, "a"), link(2, "a", { previous_key_id: "a", new_key_id: "a" })])).toEqual({ id: "row-2", seq: 2, reason: "key_id out of epoch" });
    expect(walk([link(1, "a"), link(2, "a", there)])).toEqual({ id: "row-2", seq: 2, reason: "key_id out of epoch" });
    // Closed before the walk's start (the derived fallback, or an earlier rotation's previous key).
    expect(walk([link(5, "c", { previous_key_id: "b", new_key_id: "c" })], "b", ["c"])).toEqual({ id: "row-5", seq: 5, reason: "key_id out of epoch" });
    expect(walk([link(5, "c", { previous_key_id: "b", new_key_id: "c" })], "b", ["a"])).toBeNull();
  });

  it("only rotations the walk would accept close a key: a forged one cannot close the key in force", () => {
    const rotate = (from: string, to: string) => ({ previous_key_id: from, new_key_id: to });
    expect(closedByRotations(["derived"], [rotate("a", "b"), rotate("b", "c")]).sort()).toEqual(["a", "b", "derived"]);
    expect(closedByRotations(["derived"], [rotate("a", "b"), rotate("b", "a")]).sort()).toEqual(["a", "derived"]);
    expect(closedByRotations(["derived"], [rotate("a", "derived")])).toEqual(["derived"]);
    expect(closedByRotations([], [rotate("a", "b"), rotate("x", "c")]).sort()).toEqual(["a"]);
  });

  it("only chainproof's own key_rotate records state a rotation", () => {
    const own = { source: "chainproof", previous_key_id: "a", new_key_id: "b" };
    expect(keyRotationOf("key_rotate", own)).toEqual({ previous_key_id: "a", new_key_id: "b" });
    expect(keyRotationOf("key_rotate", { ...own, source: "platform" })).toBeNull();
    expect(keyRotationOf("update", own)).toBeNull();
    expect(keyRotationOf("key_rotate", { source: "chainproof", previous_key_id: 1, new_key_id: "b" })).toBeNull();
  });
});
