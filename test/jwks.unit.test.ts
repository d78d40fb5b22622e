import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { publicKeys } from "../src/audit/chain/checkpoints";
import { generateEd25519PrivateJwk, jwkThumbprint } from "../src/crypto/ed25519";

// CRYPTO: the JWKS serves OKP/Ed25519 public JWKs with kid = RFC 7638 thumbprint, retired keys included.
describe("the JWKS's retired checkpoint keys", () => {
  it("are published with their public members only and their thumbprint as kid, whatever the configured entry holds", async () => {
    const old = await generateEd25519PrivateJwk();
    const thumbprint = await jwkThumbprint({ kty: "OKP", crv: "Ed25519", x: old.x });
    // The old private JWK moved over as is, and a hand-written kid.
    const configured = [{ ...old, kid: "checkpoint-key-2025", alg: "EdDSA", use: "sig" }];
    const keys = await publicKeys({ ...env, CHECKPOINT_RETIRED_PUBLIC_KEYS: JSON.stringify(configured) });
    const retired = keys.find((k) => k.x === old.x);
    expect(retired).toEqual({ kty: "OKP", crv: "Ed25519", x: old.x, kid: thumbprint, alg: "EdDSA", use: "sig" });
    expect(JSON.stringify(keys)).not.toContain(old.d);
  });
});
