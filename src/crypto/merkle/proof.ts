import { foldRight } from "./compact-range";
import { completeNodes, type LeafRange, type NodeId } from "./ranges";

/** The complete subtrees a set of ranges needs, each once. */
export function nodesOf(ranges: readonly LeafRange[]): NodeId[] {
  const seen = new Map<string, NodeId>();
  for (const range of ranges) for (const node of completeNodes(range)) seen.set(`${node.level}:${node.index}`, node);
  return [...seen.values()];
}

/** The proof's hashes: each range's MTH from its complete subtrees. */
export function hashRanges(ranges: readonly LeafRange[], node: (id: NodeId) => Uint8Array): Promise<Uint8Array[]> {
  return Promise.all(ranges.map((range) => foldRight(completeNodes(range).map(node))));
}
