/// <reference types="vite/client" />
import { describe, expect, it, vi } from "vitest";
import { timingSafeEqualBytes, timingSafeEqualStrings } from "../src/crypto/constant-time";
import {
  ed25519Signer,
  generateEd25519PrivateJwk,
  jwkThumbprint,
  parsePrivateJwk,
  verifyEd25519,
} from "../src/crypto/ed25519";
import { fromBase64Url, fromHex, hexInto, sha256Hex, toBase64Url, toHex, utf8 } from "../src/crypto/encoding";
import { hkdfSha256 } from "../src/crypto/hkdf";
import { hmacSha256, hmacSha256Hex, importHmacKey, verifyHmacSha256 } from "../src/crypto/hmac";
import { canonicalJson, ijsonViolations } from "../src/crypto/jcs";
import {
  auditKeyId,
  downloadLinkKey,
  loadAuditKeyring,
  reportSigningKeyBytes,
  reportVerificationKey,
} from "../src/crypto/keys";
import ed25519Rfc8032 from "./vectors/ed25519-rfc8032.json";
import hmacRfc4231 from "./vectors/hmac-sha256-rfc4231.json";
import es6Numbers from "./vectors/jcs/es6testfile-first10000.txt?raw";
import wycheproofEd25519 from "./vectors/wycheproof/ed25519_test.json";
import wycheproofHmac from "./vectors/wycheproof/hmac_sha256_test.json";

// ?raw keeps the exact text (the expected JCS outputs have no trailing newline).
const jcsInputs = import.meta.glob<string>("./vectors/jcs/input/*.json", { query: "?raw", import: "default", eager: true });
const jcsOutputs = import.meta.glob<string>("./vectors/jcs/output/*.json", { query: "?raw", import: "default", eager: true });
const jcsOutHex = import.meta.glob<string>("./vectors/jcs/outhex/*.txt", { query: "?raw", import: "default", eager: true });
const JCS_NAMES = ["arrays", "french", "structures", "unicode", "values", "weird"];

const SECRET_KEY = "test-secret-key-0123456789abcdef0123456789abcdef";

describe("encoding", () => {
  it("round-trips hex and base64url and rejects malformed input", () => {
    const bytes = new Uint8Array([0, 1, 0x7f, 0x80, 0xfe, 0xff]);
    expect(toHex(bytes)).toBe("00017f80feff");
    expect(toHex(bytes.buffer)).toBe("00017f80feff");
    expect(fromHex("00017F80FEFF")).toEqual(bytes);
    expect(() => fromHex("abc")).toThrow();
    expect(() => fromHex("zz")).toThrow();
    for (const bad of ["0g", "G0", "@0", "0`", "0/", ":0", " 0", "0\u0661", "0\u0141"]) expect(() => fromHex(bad)).toThrow();
    expect(fromHex("09afAF")).toEqual(new Uint8Array([0x09, 0xaf, 0xaf]));
    const shared = new Uint8Array(6);
    expect(hexInto("0aFf", shared.subarray(2))).toBe(true);
    expect(shared).toEqual(new Uint8Array([0, 0, 0x0a, 0xff, 0, 0]));
    expect(hexInto("01zz", shared.subarray(4))).toBe(false);
    expect(toBase64Url(new Uint8Array([0xfb, 0xff]))).toBe("-_8");
    expect(fromBase64Url("-_8")).toEqual(new Uint8Array([0xfb, 0xff]));
    expect(toBase64Url(new Uint8Array())).toBe("");
    expect(() => fromBase64Url("+/8=")).toThrow();
    expect(() => fromBase64Url("abcde")).toThrow();
  });

  it("sha256Hex matches the FIPS 180-2 'abc' vector", async () => {
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(await sha256Hex(utf8("abc"))).toBe(await sha256Hex("abc"));
  });
});

describe("JCS (RFC 8785)", () => {
  it.each(JCS_NAMES)("%s.json canonicalizes to the exact expected bytes", (name) => {
    const input = jcsInputs[`./vectors/jcs/input/${name}.json`];
    const output = jcsOutputs[`./vectors/jcs/output/${name}.json`];
    const outHex = jcsOutHex[`./vectors/jcs/outhex/${name}.txt`];
    expect(input && output && outHex).toBeTruthy();
    const actual = canonicalJson(JSON.parse(input!));
    expect(actual).toBe(output);
    expect(toHex(utf8(actual))).toBe(outHex!.trim().split(/\s+/).join(""));
  });

  it("serializes all 10,000 ES6 number test lines", () => {
    const lines = es6Numbers.split("\n").filter((l) => l !== "");
    expect(lines).toHaveLength(10_000);
    const view = new DataView(new ArrayBuffer(8));
    const failures: string[] = [];
    for (const line of lines) {
      const [bits, expected] = line.split(",");
      view.setBigUint64(0, BigInt(`0x${bits}`));
      const actual = canonicalJson(view.getFloat64(0));
      if (actual !== expected) failures.push(`${line} -> ${actual}`);
    }
    expect(failures).toEqual([]);
  });

  it("rejects values RFC 8785 forbids, at any depth", () => {
    for (const bad of [NaN, Infinity, -Infinity, "\ud800", "a\udead", { x: [1, NaN] }, { "\udc00": 1 }, [{ a: "\ud83d" }]]) {
      expect(() => canonicalJson(bad)).toThrow();
    }
    expect(() => canonicalJson(undefined)).toThrow();
    expect(() => canonicalJson(() => 1)).toThrow();
    expect(canonicalJson("\ud83d\ude02")).toBe('"😂"');
    expect(canonicalJson(-0)).toBe("0");
    // No Unicode normalization: precomposed and decomposed forms stay distinct.
    expect(canonicalJson("\u00e9")).not.toBe(canonicalJson("e\u0301"));
  });

  it("ijsonViolations lists every value that would not survive in every language", () => {
    expect(ijsonViolations({ a: 1, b: 1.5, c: 2 ** 53 - 1, d: -(2 ** 53 - 1), e: "😂", f: null, g: [true] })).toEqual([]);
    expect(ijsonViolations(1.5)).toEqual([]);
    expect(
      ijsonViolations(
        {
          big: 2 ** 53,
          neg: -(2 ** 53),
          huge: 1e300,
          nan: NaN,
          inf: -Infinity,
          a: { b: "\ud800" },
          list: [0, 1, "x\udfff"],
          "bad\ud800key": "fine",
        },
        "metadata",
      ),
    ).toEqual([
      "metadata.big",
      "metadata.neg",
      "metadata.huge",
      "metadata.nan",
      "metadata.inf",
      "metadata.a.b",
      "metadata.list[2]",
      "metadata.bad\ud800key",
    ]);
  });
});

describe("HMAC-SHA256", () => {
  it("matches RFC 4231 test cases 1-7", async () => {
    expect(hmacRfc4231.tests).toHaveLength(7);
    for (const tc of hmacRfc4231.tests) {
      const key = await importHmacKey(fromHex(tc.key), ["sign", "verify"]);
      const mac = await hmacSha256(key, fromHex(tc.data));
      const truncatedBits = (tc as { truncated_bits?: number }).truncated_bits;
      if (truncatedBits) {
        expect(toHex(mac.slice(0, truncatedBits / 8)), `case ${tc.test_case}`).toBe(tc.hmac_sha256);
      } else {
        expect(toHex(mac), `case ${tc.test_case}`).toBe(tc.hmac_sha256);
        expect(await verifyHmacSha256(key, fromHex(tc.data), fromHex(tc.hmac_sha256))).toBe(true);
      }
      if ("data_ascii" in tc) expect(await hmacSha256Hex(key, tc.data_ascii as string)).toBe(toHex(mac));
    }
  });

  it("agrees with every Wycheproof HMAC-SHA256 test", async () => {
    let count = 0;
    const disagreements: string[] = [];
    for (const group of wycheproofHmac.testGroups) {
      const tagBytes = group.tagSize / 8;
      for (const t of group.tests) {
        count++;
        const key = await importHmacKey(fromHex(t.key), ["sign", "verify"]);
        const msg = fromHex(t.msg);
        const tag = fromHex(t.tag);
        const valid = t.result === "valid";
        const prefixMatches = timingSafeEqualBytes((await hmacSha256(key, msg)).slice(0, tagBytes), tag);
        // verifyHmacSha256 accepts only full-length tags, so truncated valid tags must fail it.
        const verified = await verifyHmacSha256(key, msg, tag);
        if (prefixMatches !== valid || verified !== (valid && tagBytes === 32)) {
          disagreements.push(`tcId ${t.tcId} (${t.comment}): result=${t.result} prefix=${prefixMatches} verify=${verified}`);
        }
      }
    }
    expect(count).toBe(wycheproofHmac.numberOfTests);
    expect(disagreements).toEqual([]);
  });
});

describe("HKDF-SHA256", () => {
  const ikm = fromHex("0b".repeat(22));
  it("matches RFC 5869 test case 1", async () => {
    const okm = await hkdfSha256(ikm, fromHex("000102030405060708090a0b0c"), fromHex("f0f1f2f3f4f5f6f7f8f9"), 42);
    expect(toHex(okm)).toBe(
      "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
    );
  });
  it("matches RFC 5869 test case 3 (empty salt and info)", async () => {
    expect(toHex(await hkdfSha256(ikm, "", "", 42))).toBe(
      "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
    );
  });
});

describe("constant-time comparison", () => {
  it("compares bytes and strings, including length mismatches", () => {
    expect(timingSafeEqualBytes(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]))).toBe(true);
    expect(timingSafeEqualBytes(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4]))).toBe(false);
    expect(timingSafeEqualBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3]))).toBe(false);
    expect(timingSafeEqualBytes(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2]))).toBe(false);
    expect(timingSafeEqualBytes(new Uint8Array(), new Uint8Array())).toBe(true);
    expect(timingSafeEqualStrings("sig-é", "sig-é")).toBe(true);
    expect(timingSafeEqualStrings("sig-é", "sig-e")).toBe(false);
    expect(timingSafeEqualStrings("", "x")).toBe(false);
  });
});

describe("Ed25519", () => {
  const rfc8037X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

  it("jwkThumbprint matches RFC 8037 Appendix A.3", async () => {
    expect(await jwkThumbprint({ kty: "OKP", crv: "Ed25519", x: rfc8037X })).toBe(
      "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",
    );
  });

  it("signs the RFC 8032 §7.1 vectors byte for byte", async () => {
    expect(ed25519Rfc8032.tests).toHaveLength(5);
    for (const tc of ed25519Rfc8032.tests) {
      const x = toBase64Url(fromHex(tc.public_key));
      const signer = await ed25519Signer({ kty: "OKP", crv: "Ed25519", d: toBase64Url(fromHex(tc.secret_key)), x });
      const message = fromHex(tc.message);
      const signature = await signer.sign(message);
      expect(toHex(fromBase64Url(signature)), tc.name).toBe(tc.signature);
      expect(await verifyEd25519({ x }, message, signature), tc.name).toBe(true);
      expect(signer.publicJwk).toEqual({ kty: "OKP", crv: "Ed25519", x, kid: signer.kid, alg: "EdDSA", use: "sig" });
      if (tc.name === "TEST 1") expect(signer.kid).toBe("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }
  });

  it("agrees with every Wycheproof Ed25519 test", async () => {
    let count = 0;
    const disagreements: string[] = [];
    for (const group of wycheproofEd25519.testGroups) {
      const x = toBase64Url(fromHex(group.publicKey.pk));
      for (const t of group.tests) {
        count++;
        const ok = await verifyEd25519({ x }, fromHex(t.msg), toBase64Url(fromHex(t.sig)));
        if (ok !== (t.result === "valid")) {
          disagreements.push(`tcId ${t.tcId} [${t.flags.join(",")}] ${t.comment}: expected ${t.result}, got ${ok}`);
        }
      }
    }
    if (disagreements.length) console.error("Wycheproof Ed25519 disagreements:\n" + disagreements.join("\n"));
    expect(count).toBe(wycheproofEd25519.numberOfTests);
    expect(disagreements).toEqual([]);
  });

  it("the runtime's own Ed25519 verify agrees with Wycheproof on every 64-byte signature", async () => {
    // Pins the runtime's strictness (S < L, canonical R, small-order points) independently of
    // verifyEd25519's length check; wrong-length signatures throw in workerd instead of returning false.
    const disagreements: number[] = [];
    for (const group of wycheproofEd25519.testGroups) {
      const key = await crypto.subtle.importKey("raw", fromHex(group.publicKey.pk), { name: "Ed25519" }, false, ["verify"]);
      for (const t of group.tests.filter((t) => t.sig.length === 128)) {
        const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, fromHex(t.sig), fromHex(t.msg));
        if (ok !== (t.result === "valid")) disagreements.push(t.tcId);
      }
    }
    expect(disagreements).toEqual([]);
  });

  it("verifyEd25519 returns false instead of throwing on malformed input", async () => {
    const signer = await ed25519Signer(await generateEd25519PrivateJwk());
    const sig = await signer.sign("hello");
    expect(await verifyEd25519(signer.publicJwk, "hello", sig)).toBe(true);
    expect(await verifyEd25519(signer.publicJwk, "hellO", sig)).toBe(false);
    expect(await verifyEd25519(signer.publicJwk, "hello", `${sig}=`)).toBe(false);
    expect(await verifyEd25519(signer.publicJwk, "hello", sig.slice(0, -1))).toBe(false);
    expect(await verifyEd25519(signer.publicJwk, "hello", "!!!")).toBe(false);
    expect(await verifyEd25519(signer.publicJwk, "hello", "")).toBe(false);
    expect(await verifyEd25519({ x: "!!" }, "hello", sig)).toBe(false);
    expect(await verifyEd25519({ x: signer.publicJwk.x.slice(0, 20) }, "hello", sig)).toBe(false);
    expect(await verifyEd25519({ x: undefined as unknown as string }, "hello", sig)).toBe(false);
    // Non-canonical base64url (last char's unused bits set) names the same bytes; refuse it.
    const last = sig.at(-1)!;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const twin = sig.slice(0, -1) + alphabet[alphabet.indexOf(last) + 1];
    expect(fromBase64Url(twin)).toEqual(fromBase64Url(sig));
    expect(await verifyEd25519(signer.publicJwk, "hello", twin)).toBe(false);
  });

  it("generates, parses and rejects private JWKs", async () => {
    const jwk = await generateEd25519PrivateJwk();
    expect(Object.keys(jwk).sort()).toEqual(["crv", "d", "kty", "x"]);
    expect(parsePrivateJwk(JSON.stringify({ ...jwk, key_ops: ["sign"] }))).toEqual(jwk);
    const secretD = jwk.d;
    for (const bad of [
      "not json " + secretD,
      "[]",
      JSON.stringify({ ...jwk, kty: "EC" }),
      JSON.stringify({ ...jwk, crv: "Ed448" }),
      JSON.stringify({ kty: "OKP", crv: "Ed25519", x: jwk.x }),
      JSON.stringify({ ...jwk, d: "short" }),
      JSON.stringify({ ...jwk, x: 42 }),
    ]) {
      let message = "";
      try {
        parsePrivateJwk(bad);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message, bad).toMatch(/Ed25519 private key/);
      expect(message).not.toContain(secretD);
    }
  });

  it("refuses a JWK whose x is not the public key of d", async () => {
    const a = await generateEd25519PrivateJwk();
    const b = await generateEd25519PrivateJwk();
    await expect(ed25519Signer({ ...a, x: b.x })).rejects.toThrow(/Ed25519 private key JWK.*public key of "d"/);
  });
});

describe("audit keyring and derived keys", () => {
  // Independent key id: the WebCrypto steps of docs/protocol.md §2 written out.
  async function expectedKeyId(keyBytes: Uint8Array): Promise<string> {
    const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode("chainproof key id")));
    return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join("").slice(0, 16);
  }

  it("warns once, without key material, when deriving from SECRET_KEY", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const derived = await loadAuditKeyring({ SECRET_KEY });
      await loadAuditKeyring({ SECRET_KEY: "another-secret" });
      expect(derived.derivedFromSecret).toBe(true);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0]).toEqual(["AUDIT_HMAC_KEY is not set; sealing with a key derived from SECRET_KEY"]);
    } finally {
      warn.mockRestore();
    }
  });

  it("computes key ids per docs/protocol.md §2", async () => {
    const bytes = utf8("audit-key-one");
    expect(await auditKeyId(bytes)).toBe(await expectedKeyId(bytes));
    // Cross-checked with Python hmac/hashlib.
    expect(await auditKeyId(bytes)).toBe("4d94112d0cf13f12");
  });

  it("uses AUDIT_HMAC_KEY when set and a different, HKDF-derived key otherwise", async () => {
    const explicit = await loadAuditKeyring({ SECRET_KEY, AUDIT_HMAC_KEY: "audit-key-one" });
    expect(explicit.derivedFromSecret).toBe(false);
    expect(explicit.current.id).toBe("4d94112d0cf13f12");
    // The SECRET_KEY-derived key stays for verification: rows sealed before AUDIT_HMAC_KEY was set keep verifying.
    expect([...explicit.byId.keys()].sort()).toEqual(["4d94112d0cf13f12", "4d9701e299b38624"]);

    const derived = await loadAuditKeyring({ SECRET_KEY });
    const derivedBytes = await hkdfSha256(SECRET_KEY, "chainproof", "audit-hmac-key", 32);
    expect(derived.current.id).toBe(await expectedKeyId(derivedBytes));
    expect(derived.current.id).toBe("4d9701e299b38624"); // Python cross-check
    expect(derived.current.id).not.toBe(explicit.current.id);
    // Empty counts as unset.
    expect((await loadAuditKeyring({ SECRET_KEY, AUDIT_HMAC_KEY: "" })).current.id).toBe(derived.current.id);

    // The current key seals exactly like a plain HMAC with K.
    const plain = await importHmacKey("audit-key-one");
    expect(await hmacSha256Hex(explicit.current.key, "row")).toBe(await hmacSha256Hex(plain, "row"));
    expect(await verifyHmacSha256(explicit.current.key, "row", await hmacSha256(plain, "row"))).toBe(true);
  });

  it("caches the keyring per isolate for the same secrets", async () => {
    const secrets = { SECRET_KEY, AUDIT_HMAC_KEY: "cache-me", AUDIT_HMAC_RETIRED_KEYS: '["x"]' };
    expect(await loadAuditKeyring(secrets)).toBe(await loadAuditKeyring({ ...secrets }));
    expect(await loadAuditKeyring(secrets)).not.toBe(await loadAuditKeyring({ ...secrets, AUDIT_HMAC_KEY: "other" }));
  });

  it("puts retired keys in byId for verification", async () => {
    const ring = await loadAuditKeyring({
      SECRET_KEY,
      AUDIT_HMAC_KEY: "audit-key-two",
      AUDIT_HMAC_RETIRED_KEYS: '["audit-key-one", "older-key"]',
    });
    expect(ring.current.id).toBe(await expectedKeyId(utf8("audit-key-two")));
    expect(new Set(ring.byId.keys())).toEqual(
      new Set([ring.current.id, "4d94112d0cf13f12", await expectedKeyId(utf8("older-key")), "4d9701e299b38624"]),
    );
    const retired = ring.byId.get("4d94112d0cf13f12")!;
    const plain = await importHmacKey("audit-key-one");
    expect(await verifyHmacSha256(retired, "old row", await hmacSha256(plain, "old row"))).toBe(true);
  });

  it("rejects AUDIT_HMAC_RETIRED_KEYS that is not a JSON array of strings", async () => {
    for (const bad of ["not-json-secret", '{"k":"v"}', '"just-a-string"', "[1]", '["ok", null]', '[""]']) {
      const attempt = loadAuditKeyring({ SECRET_KEY, AUDIT_HMAC_KEY: "k", AUDIT_HMAC_RETIRED_KEYS: bad });
      await expect(attempt, bad).rejects.toThrow(/AUDIT_HMAC_RETIRED_KEYS must be a JSON array/);
      await attempt.catch((e: Error) => expect(e.message).not.toContain("secret"));
    }
  });

  it("derives report and download-link keys per docs/protocol.md §7-8 (Python cross-checked)", async () => {
    const kReport = await reportSigningKeyBytes({ SECRET_KEY });
    expect(toHex(kReport)).toBe(toHex(await hkdfSha256(SECRET_KEY, "chainproof", "report-signing-key")));
    expect(await reportVerificationKey(kReport, "org_123")).toBe(
      "07ab663310305bc016e3daf3c2e5a23b12f6a863c061fa86939c5467a91a9a32",
    );
    const explicit = await reportSigningKeyBytes({ SECRET_KEY, REPORT_SIGNING_KEY: "report-key" });
    expect(explicit).toEqual(utf8("report-key"));
    expect(await reportVerificationKey(explicit, "org_123")).toBe(
      "fdceeb6f8b01b32d3342de9108b292e7532334eaf84da6ce342fe36d79f78662",
    );

    const linkKey = await downloadLinkKey(SECRET_KEY);
    const sig = await hmacSha256(linkKey, "exp_1.1700000000");
    expect(toBase64Url(sig)).toBe("rqVWcjmuBWl_d8Sm663iB5YjdwwPzhpO5vCYDQ063do");
    expect(await verifyHmacSha256(linkKey, "exp_1.1700000000", sig)).toBe(true);
  });
});
