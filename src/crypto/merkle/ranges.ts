/**
 * Which subtrees a proof is made of (RFC 9162 §2.1.3.1 PATH and §2.1.4.1 SUBPROOF), as leaf ranges
 * [lo, hi). Every range the recursion produces starts at a multiple of a power of two at least its
 * size, so each one is the hash of a few complete subtrees (`completeNodes`), which storage keeps.
 */
export type LeafRange = readonly [lo: number, hi: number];

/** A complete subtree: the 2^level leaves from index·2^level. */
export type NodeId = { level: number; index: number };

/** The largest power of two strictly less than n (n ≥ 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The audit path of leaf m in the tree of size n, nearest sibling first. */
export function inclusionRanges(m: number, n: number): LeafRange[] {
  let lo = 0;
  let hi = n;
  const siblings: LeafRange[] = [];
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (m < lo + k) {
      siblings.push([lo + k, hi]);
      hi = lo + k;
    } else {
      siblings.push([lo, lo + k]);
      lo += k;
    }
  }
  // The recursion emits the deepest sibling first.
  return siblings.reverse();
}

/** The consistency proof from size m to size n (0 < m ≤ n); empty when m = n. */
export function consistencyRanges(m: number, n: number): LeafRange[] {
  const outer: LeafRange[] = [];
  let lo = 0;
  let hi = n;
  let complete = true;
  let rest = m;
  let head: LeafRange | null = null;
  while (rest !== hi - lo) {
    const k = splitPoint(hi - lo);
    if (rest <= k) {
      outer.push([lo + k, hi]);
      hi = lo + k;
    } else {
      outer.push([lo, lo + k]);
      lo += k;
      rest -= k;
      complete = false;
    }
  }
  if (!complete) head = [lo, hi];
  const proof: LeafRange[] = head ? [head] : [];
  for (let i = outer.length - 1; i >= 0; i--) proof.push(outer[i]!);
  return proof;
}

/** The complete subtrees whose hashes make MTH(range), largest first. */
export function completeNodes([lo, hi]: LeafRange): NodeId[] {
  const nodes: NodeId[] = [];
  let start = lo;
  while (start < hi) {
    let size = 1;
    while (start % (size * 2) === 0 && start + size * 2 <= hi) size *= 2;
    nodes.push({ level: Math.log2(size), index: start / size });
    start += size;
  }
  return nodes;
}

/** The complete subtrees a tree of size n is made of (its compact range), largest first. */
export const compactRangeNodes = (n: number) => completeNodes([0, n]);
