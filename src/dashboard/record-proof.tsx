import type { Context } from "hono";
import type { FC } from "hono/jsx";
import { inclusionAnswer } from "../audit/proofs/inclusion";
import type { AppEnv } from "../http/context";
import { AppError } from "../http/errors";

type Proof = Awaited<ReturnType<typeof inclusionAnswer>>;

/**
 * The record's inclusion proof, the same the API's proof route answers (signed now if no tree head
 * covers the record yet), or why there is none: the page still shows everything else.
 */
export async function recordProofOf(c: Context<AppEnv>, orgId: string, seq: number): Promise<Proof | { unavailable: string }> {
  try {
    return await inclusionAnswer(c.env, c.get("db"), orgId, seq);
  } catch (err) {
    if (err instanceof AppError) return { unavailable: err.message };
    throw err;
  }
}

/** "Verify this record": what anyone with only the public JWKS key checks it with (docs/protocol.md §8). */
export const VerifyRecord: FC<{ recordId: string; proof: Proof | { unavailable: string } }> = ({ recordId, proof }) => (
  <>
    <h2>Verify this record</h2>
    {"unavailable" in proof ? (
      <p><span class="badge warn">No proof yet</span> {proof.unavailable}</p>
    ) : (
      <>
        <p>
          The record is leaf {proof.leaf_index} of the organization's Merkle tree. Its inclusion proof against the signed tree head of {proof.tree_size}{" "}
          leaves needs no secret to check: only chainproof's public key.
        </p>
        <dl>
          <dt>Leaf hash</dt>
          <dd><code>{proof.leaf_hash}</code></dd>
          <dt>Inclusion proof</dt>
          <dd>
            {proof.inclusion.length === 0 ? (
              "(empty: the record is the whole tree)"
            ) : (
              <ol>
                {proof.inclusion.map((hash) => (
                  <li><code>{hash}</code></li>
                ))}
              </ol>
            )}
          </dd>
        </dl>
        <h3>Signed tree head</h3>
        <pre>{proof.checkpoint}</pre>
        <p>
          Download <a href={`/api/v1/audit/logs/${recordId}/proof?tree_size=${proof.tree_size}`} download="proof.json">the proof</a>,{" "}
          <a href={`/api/v1/audit/logs/${recordId}`} download="record.json">the record</a> and{" "}
          <a href="/.well-known/jwks.json" download="jwks.json">the public keys</a>, then run:
        </p>
        <pre>npx chainproof verify-proof proof.json --jwks jwks.json --record record.json</pre>
      </>
    )}
  </>
);
