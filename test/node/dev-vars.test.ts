import { describe, expect, it } from "vitest";
import { ed25519Signer, generateEd25519PrivateJwk, parsePrivateJwk } from "../../src/crypto/ed25519";
import { freshDevVars, withCheckpointKey } from "../../scripts/dev-vars";

const JWK = '{"kty":"OKP","crv":"Ed25519","d":"d","x":"x"}';
const KEY_LINE = `CHECKPOINT_SIGNING_KEY='${JWK}'`;

describe("npm start's .dev.vars", () => {
  it("a new file sets every secret, the checkpoint key included, as a usable Ed25519 JWK", async () => {
    let n = 0;
    const jwk = JSON.stringify(await generateEd25519PrivateJwk());
    const text = freshDevVars(() => `secret-${n++}`, jwk);
    expect(text.split("\n").filter((l) => l && !l.startsWith("#"))).toEqual([
      "SECRET_KEY=secret-0",
      "AUDIT_HMAC_KEY=secret-1",
      "AUDIT_HMAC_RETIRED_KEYS=[]",
      "REPORT_SIGNING_KEY=secret-2",
      `CHECKPOINT_SIGNING_KEY='${jwk}'`,
      "ALLOW_INSECURE_WEBHOOKS=true",
    ]);
    expect(withCheckpointKey(text, JWK)).toBeNull();
    const value = /^CHECKPOINT_SIGNING_KEY='(.*)'$/m.exec(text)![1]!;
    expect((await ed25519Signer(parsePrivateJwk(value))).kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("an existing file without the key gets it, every other line kept byte for byte", () => {
    const old = "# mine\nSECRET_KEY=abc\nREPORT_SIGNING_KEY='x y'\nAUDIT_HMAC_KEY=def";
    expect(withCheckpointKey(old, JWK)).toBe(`${old}\n# Added by \`npm start\`: signs checkpoints and report attestations.\n${KEY_LINE}\n`);
    expect(withCheckpointKey("SECRET_KEY=abc\n", JWK)).toBe(`SECRET_KEY=abc\n# Added by \`npm start\`: signs checkpoints and report attestations.\n${KEY_LINE}\n`);
    // A commented-out key or a similar name is not the key.
    const commented = "# CHECKPOINT_SIGNING_KEY='old'\nMY_CHECKPOINT_SIGNING_KEY=1\n";
    expect(withCheckpointKey(commented, JWK)).toContain(`${commented}# Added by`);
  });

  it("an empty key is filled in where it stands; a set one is never replaced", () => {
    for (const empty of ["CHECKPOINT_SIGNING_KEY=", "CHECKPOINT_SIGNING_KEY=''", 'CHECKPOINT_SIGNING_KEY = ""  ', "export CHECKPOINT_SIGNING_KEY="]) {
      expect(withCheckpointKey(`SECRET_KEY=abc\n${empty}\nALLOW_INSECURE_WEBHOOKS=true\n`, JWK)).toBe(`SECRET_KEY=abc\n${KEY_LINE}\nALLOW_INSECURE_WEBHOOKS=true\n`);
    }
    expect(withCheckpointKey("SECRET_KEY=abc\r\nCHECKPOINT_SIGNING_KEY=\r\n", JWK)).toBe(`SECRET_KEY=abc\r\n${KEY_LINE}\r\n`);
    for (const set of ["CHECKPOINT_SIGNING_KEY='{\"kty\":\"OKP\"}'\n", "  CHECKPOINT_SIGNING_KEY={}\n", "export CHECKPOINT_SIGNING_KEY=x\r\n"]) {
      expect(withCheckpointKey(`SECRET_KEY=abc\n${set}`, JWK)).toBeNull();
    }
  });
});
