import { describe, expect, it } from "vitest";
import { ed25519Signer, generateEd25519PrivateJwk } from "../src/crypto/ed25519";
import { fromHex, toHex, utf8 } from "../src/crypto/encoding";
import { CompactRange, foldRight } from "../src/crypto/merkle/compact-range";
import { emptyRoot, leafHashOf, nodeHash } from "../src/crypto/merkle/hash";
import { hashRanges, nodesOf } from "../src/crypto/merkle/proof";
import { TILE_WIDTH, type Tile, TreeEdge } from "../src/crypto/merkle/tiles";
import { completeNodes, consistencyRanges, inclusionRanges, type NodeId } from "../src/crypto/merkle/ranges";
import { signTreeHead, verifyTreeHead } from "../src/crypto/merkle/tree-head";
import { verifyConsistency, verifyInclusion } from "../src/crypto/merkle/verify";
import vectors from "./vectors/merkle-rfc6962.json";

// RFC 6962 §2.1 written out as the RFC gives it: the reference the tiled, range-based code must match.
const sha = async (bytes: Uint8Array) => new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
};
const k = (n: number) => 2 ** Math.ceil(Math.log2(n) - 1);
// Memoized per leaf array: the reference recursion is quadratic otherwise.
const memo = new WeakMap<Uint8Array[], Map<string, Promise<Uint8Array>>>();
function mth(leaves: Uint8Array[], lo = 0, hi = leaves.length): Promise<Uint8Array> {
  let cache = memo.get(leaves);
  if (!cache) memo.set(leaves, (cache = new Map()));
  const key = `${lo}:${hi}`;
  let hash = cache.get(key);
  if (!hash) {
    hash = (async () => {
      if (hi === lo) return sha(new Uint8Array());
      if (hi - lo === 1) return sha(concat(new Uint8Array([0]), leaves[lo]!));
      const split = lo + k(hi - lo);
      return sha(concat(new Uint8Array([1]), await mth(leaves, lo, split), await mth(leaves, split, hi)));
    })();
    cache.set(key, hash);
  }
  return hash;
}
async function path(m: number, leaves: Uint8Array[], lo = 0, hi = leaves.length): Promise<Uint8Array[]> {
  if (hi - lo <= 1) return [];
  const split = lo + k(hi - lo);
  return m < split
    ? [...(await path(m, leaves, lo, split)), await mth(leaves, split, hi)]
    : [...(await path(m, leaves, split, hi)), await mth(leaves, lo, split)];
}
async function subproof(m: number, leaves: Uint8Array[], complete: boolean, lo = 0, hi = leaves.length): Promise<Uint8Array[]> {
  if (m === hi - lo) return complete ? [] : [await mth(leaves, lo, hi)];
  const split = k(hi - lo);
  return m <= split
    ? [...(await subproof(m, leaves, complete, lo, lo + split)), await mth(leaves, lo + split, hi)]
    : [...(await subproof(m - split, leaves, false, lo + split, hi)), await mth(leaves, lo, lo + split)];
}

const hexes = (list: Uint8Array[]) => list.map(toHex);
const leafData = Array.from({ length: 64 }, (_, i) => utf8(`leaf ${i}`));

/** Complete-subtree hashes as storage holds them, from the reference MTH. */
async function nodeTable(leaves: Uint8Array[], size = leaves.length) {
  const table = new Map<string, Uint8Array>();
  for (let level = 0; 2 ** level <= size; level++) {
    for (let index = 0; (index + 1) * 2 ** level <= size; index++) {
      table.set(`${level}:${index}`, await mth(leaves, index * 2 ** level, (index + 1) * 2 ** level));
    }
  }
  return (id: NodeId) => table.get(`${id.level}:${id.index}`)!;
}

describe("RFC 6962 hashing against the published vectors", () => {
  it("leaf and node hashes, and the roots of sizes 0-8", async () => {
    const leaves = vectors.leaf_inputs.map(fromHex);
    expect(hexes(await Promise.all(leaves.map(leafHashOf)))).toEqual(vectors.leaf_hashes);
    for (const [level, hashes] of vectors.node_hashes_by_level.levels.entries()) {
      for (const [index, hash] of hashes.entries()) {
        expect(toHex(await mth(leaves, index * 2 ** level, (index + 1) * 2 ** level))).toBe(hash);
      }
    }
    expect(toHex(await emptyRoot())).toBe(vectors.roots[0]!.root);
    for (const { tree_size, root } of vectors.roots) {
      const range = new CompactRange(0, []);
      for (const leaf of leaves.slice(0, tree_size)) await range.append(await leafHashOf(leaf), () => {});
      expect(toHex(await range.root())).toBe(root);
    }
  });

  it("the hasher's known answers", async () => {
    for (const answer of vectors.hasher_known_answers) {
      const a = answer as { input?: string; leaf_input?: string; left?: string; right?: string; hash: string };
      if (a.leaf_input !== undefined) expect(toHex(await leafHashOf(fromHex(a.leaf_input)))).toBe(a.hash);
      else if (a.left !== undefined) expect(toHex(await nodeHash(fromHex(a.left), fromHex(a.right!)))).toBe(a.hash);
      else expect(toHex(await emptyRoot())).toBe(a.hash);
    }
  });

  it("makes and checks every published and derived inclusion proof", async () => {
    const leaves = vectors.leaf_inputs.map(fromHex);
    for (const p of [...vectors.published_inclusion_proofs, ...vectors.derived_all_inclusion_proofs]) {
      const node = await nodeTable(leaves, p.tree_size);
      expect(hexes(await hashRanges(inclusionRanges(p.leaf_index, p.tree_size), node))).toEqual(p.proof);
      expect(await verifyInclusion(p.leaf_index, p.tree_size, fromHex(p.leaf_hash), p.proof.map(fromHex), fromHex(p.root))).toBe(true);
    }
  });

  it("makes and checks every published and derived consistency proof", async () => {
    const leaves = vectors.leaf_inputs.map(fromHex);
    for (const p of [...vectors.published_consistency_proofs, ...vectors.derived_all_consistency_proofs]) {
      const node = await nodeTable(leaves, p.size2);
      expect(hexes(await hashRanges(consistencyRanges(p.size1, p.size2), node))).toEqual(p.proof);
      expect(await verifyConsistency(p.size1, p.size2, fromHex(p.root1), fromHex(p.root2), p.proof.map(fromHex))).toBe(true);
    }
  });
});

describe("every size 1..64 against the RFC's definitions", () => {
  it("compact ranges, complete nodes, inclusion and consistency proofs", { timeout: 60_000 }, async () => {
    const hashes: Uint8Array[] = [];
    const emitted = new Map<string, string>();
    const range = new CompactRange(0, []);
    for (let n = 1; n <= 64; n++) {
      await range.append(await leafHashOf(leafData[n - 1]!), (id, hash) => emitted.set(`${id.level}:${id.index}`, toHex(hash)));
      hashes.push(await leafHashOf(leafData[n - 1]!));
      const root = await mth(leafData, 0, n);
      expect(toHex(await range.root())).toBe(toHex(root));
      // The ranges' complete subtrees are exactly what appending emitted, so storage holds every one.
      const node = await nodeTable(leafData, n);
      for (const id of completeNodes([0, n])) expect(emitted.get(`${id.level}:${id.index}`)).toBe(toHex(node(id)));
      expect(toHex(await foldRight(range.hashes()))).toBe(toHex(root));
      for (let m = 0; m < n; m++) {
        const ranges = inclusionRanges(m, n);
        const proof = await hashRanges(ranges, node);
        expect(hexes(proof)).toEqual(hexes(await path(m, leafData, 0, n)));
        expect(nodesOf(ranges).every((id) => emitted.has(`${id.level}:${id.index}`))).toBe(true);
        expect(await verifyInclusion(m, n, hashes[m]!, proof, root)).toBe(true);
        expect(await verifyInclusion(m, n, hashes[(m + 1) % n]!, proof, root)).toBe(n === 1);
      }
      for (let m = 1; m <= n; m++) {
        const proof = await hashRanges(consistencyRanges(m, n), node);
        expect(hexes(proof)).toEqual(m === n ? [] : hexes(await subproof(m, leafData, true, 0, n)));
        const oldRoot = await mth(leafData, 0, m);
        expect(await verifyConsistency(m, n, oldRoot, root, proof)).toBe(true);
        if (m < n) expect(await verifyConsistency(m, n, await mth(leafData, 1, m + 1), root, proof)).toBe(false);
      }
    }
  });
});

type InclusionProbe = { leafIdx: number; treeSize: number; root: string; leafHash: string; proof: string[] | null; desc: string; wantErr: boolean };
type ConsistencyProbe = { size1: number; size2: number; root1: string; root2: string; proof: string[] | null; desc: string; wantErr: boolean };
const probes = import.meta.glob<{ default: InclusionProbe | ConsistencyProbe }>("./vectors/merkle/transparency-dev-testdata/**/*.json", { eager: true });
const b64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

describe("transparency-dev's negative and edge-case probes", () => {
  it("agrees with wantErr on all 196", async () => {
    const results = await Promise.all(
      Object.entries(probes).map(async ([file, { default: p }]) => {
        const ok =
          "leafIdx" in p
            ? await verifyInclusion(p.leafIdx, p.treeSize, b64(p.leafHash), (p.proof ?? []).map(b64), b64(p.root))
            : await verifyConsistency(p.size1, p.size2, b64(p.root1), b64(p.root2), (p.proof ?? []).map(b64));
        return { file, ok, wantErr: p.wantErr };
      }),
    );
    expect(results).toHaveLength(196);
    expect(results.filter((r) => r.ok === r.wantErr)).toEqual([]);
  });
});

describe("appending many leaves at once, and the tiles that hold them", () => {
  it("hashes level by level exactly as the RFC, across tile boundaries, whatever the chunks", { timeout: 60_000 }, async () => {
    const SIZE = 2 * TILE_WIDTH + 70;
    const data = Array.from({ length: SIZE }, (_, i) => utf8(`row ${i}`));
    const leafHashes = await Promise.all(data.map(leafHashOf));
    // Chunks of 1, 2, 3, … leaves, then one of 200: odd and even starts at every level.
    const chunks: number[] = [];
    for (let n = 1, at = 0; at < SIZE; n = n === 24 ? 200 : n + 1) chunks.push(Math.min(n, SIZE - at)), (at += chunks.at(-1)!);
    let edge = TreeEdge.fromLastTiles([]);
    const stored = new Map<string, Uint8Array>();
    let at = 0;
    for (const n of chunks) {
      for (const tile of await edge.append(leafHashes.slice(at, at + n))) {
        const key = `${tile.level}:${tile.tileIndex}`;
        stored.set(key, concat(stored.get(key) ?? new Uint8Array(), tile.added));
      }
      at += n;
      expect(toHex(await edge.range.root())).toBe(toHex(await mth(data, 0, at)));
      // What storage holds is enough to pick the edge up again (a chain object that restarts).
      const lastTiles = new Map<number, Tile>();
      for (const [key, hashes] of stored) {
        const [level, tileIndex] = key.split(":").map(Number) as [number, number];
        if ((lastTiles.get(level)?.tileIndex ?? -1) < tileIndex) lastTiles.set(level, { level, tileIndex, hashes });
      }
      edge = TreeEdge.fromLastTiles([...lastTiles.values()]);
      expect(edge.size).toBe(at);
    }
    // Every stored hash is the RFC's hash of its complete subtree, and every complete subtree is stored.
    for (let level = 0; 2 ** level <= SIZE; level++) {
      const count = Math.floor(SIZE / 2 ** level);
      for (let tileIndex = 0; tileIndex * TILE_WIDTH < count; tileIndex++) {
        const expected = [];
        for (let i = tileIndex * TILE_WIDTH; i < Math.min(count, (tileIndex + 1) * TILE_WIDTH); i++) expected.push(await mth(data, i * 2 ** level, (i + 1) * 2 ** level));
        expect(toHex(stored.get(`${level}:${tileIndex}`) ?? new Uint8Array())).toBe(toHex(concat(...expected)));
      }
    }
  });
});

describe("signed tree heads (C2SP checkpoint notes)", () => {
  it("signs the three-line body and verifies only with the right key and untouched text", async () => {
    const signer = await ed25519Signer(await generateEd25519PrivateJwk());
    const other = await ed25519Signer(await generateEd25519PrivateJwk());
    const root = fromHex(vectors.roots[8]!.root);
    const note = await signTreeHead({ organizationId: "org-1", size: 8, root }, signer);
    const [body, signatureLine] = note.split("\n\n");
    expect(`${body}\n`).toBe(`chainproof/org-1\n8\n${btoa(String.fromCharCode(...root))}\n`);
    expect(signatureLine).toMatch(/^\u2014 chainproof [A-Za-z0-9+/]{91}=\n$/);
    // key_hash prefix: SHA-256("chainproof\n\x01" || raw public key), first 4 bytes.
    const raw = Uint8Array.from(atob(signer.publicJwk.x.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
    const keyHash = await sha(concat(utf8("chainproof\n\u0001"), raw));
    expect(b64(signatureLine!.slice("\u2014 chainproof ".length, -1)).slice(0, 4)).toEqual(keyHash.slice(0, 4));

    const checked = await verifyTreeHead(note, [other.publicJwk, signer.publicJwk]);
    expect(checked).toEqual({ ok: true, head: { organizationId: "org-1", size: 8, root } });
    expect((await verifyTreeHead(note, [other.publicJwk])).ok).toBe(false);
    expect((await verifyTreeHead(note.replace("\n8\n", "\n9\n"), [signer.publicJwk])).ok).toBe(false);
    expect((await verifyTreeHead(note.replace("org-1", "org-2"), [signer.publicJwk])).ok).toBe(false);
    expect((await verifyTreeHead(note.slice(0, -1), [signer.publicJwk])).ok).toBe(false);
    expect((await verifyTreeHead(note.replace("\n8\n", "\n08\n"), [signer.publicJwk])).ok).toBe(false);
  });

  it("refuses a note with a malformed line after its valid signature, or a failing signature of a known key (C2SP signed-note)", async () => {
    const signer = await ed25519Signer(await generateEd25519PrivateJwk());
    const note = await signTreeHead({ organizationId: "org-1", size: 8, root: fromHex(vectors.roots[8]!.root) }, signer);
    const [body, signatureLine] = note.split("\n\n") as [string, string];
    const malformed = [`${note}appended text\n`, `${note}\u2014 other AAAA\n`, `${note}\u2014 a+b ${btoa("12345")}\n`, `${note}\u2014 other not-base64!\n`];
    for (const text of malformed) {
      expect(await verifyTreeHead(text, [signer.publicJwk]), JSON.stringify(text)).toEqual({ ok: false, reason: "a signature line is malformed" });
    }
    // A line of another key name is ignored, as signed-note says: the note still verifies.
    expect((await verifyTreeHead(`${note}\u2014 witness.example ${btoa("12345678")}\n`, [signer.publicJwk])).ok).toBe(true);
    // The chainproof key's line with a bad signature, then a good one: the bad one decides.
    const blob = b64(signatureLine.slice("\u2014 chainproof ".length, -1));
    blob[10]! ^= 1;
    const forged = `\u2014 chainproof ${btoa(String.fromCharCode(...blob))}\n`;
    expect((await verifyTreeHead(`${body}\n\n${forged}${signatureLine}`, [signer.publicJwk])).ok).toBe(false);
  });
});
